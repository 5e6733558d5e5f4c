import { createHash, createHmac } from 'crypto';
import fc from 'fast-check';

import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_LENGTH, SignedTokens, deriveTokenKey, tokenSecret } from '../../core/signed-token';

/** A 32-hex-character test value shaped like a Meta App Secret. */
const SECRET = createHash('md5').update('test app secret').digest('hex');
const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);
const CLAIMS = { to: '+16505551234', phoneNumberId: '106540352242922', replyTo: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=' };

function clock(start = T0) {
	let now = start;
	return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** Re-encodes a token's claims and re-signs them with the given key (a forger who knows or guesses a key). */
function resign(token: string | null, key: Buffer, change: (claims: Record<string, unknown>) => void): string {
	const claims = JSON.parse(Buffer.from(token!.split('.')[0], 'base64url').toString('utf8'));
	change(claims);
	const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
	return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

describe('SignedTokens: reply callbacks', () => {
	it('round-trips the claims with a 24 h default expiry', () => {
		const time = clock();
		const tokens = new SignedTokens({ secret: SECRET, now: time.now });
		const token = tokens.replyCallbackToken(CLAIMS);
		expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
		expect(tokens.verifyReplyCallbackToken(token)).toEqual({
			ok: true,
			payload: { ...CLAIMS, expiresAt: T0 / 1000 + 24 * 3600 },
		});
		expect(DEFAULT_TOKEN_TTL_SECONDS['reply-callback']).toBe(86400);
	});

	it('is verified by another instance with the same secret (another process in queue mode)', () => {
		const token = new SignedTokens({ secret: SECRET, now: () => T0 }).replyCallbackToken(CLAIMS);
		expect(new SignedTokens({ secret: SECRET, now: () => T0 + 1000 }).verifyReplyCallbackToken(token).ok).toBe(true);
	});

	it('expires exactly at the end of its lifetime', () => {
		const time = clock();
		const tokens = new SignedTokens({ secret: SECRET, now: time.now });
		const token = tokens.replyCallbackToken(CLAIMS, 60);
		time.advance(59_999);
		expect(tokens.verifyReplyCallbackToken(token).ok).toBe(true);
		time.advance(1);
		expect(tokens.verifyReplyCallbackToken(token)).toEqual({ ok: false, reason: 'expired' });
	});

	it('calls a token signed with another secret forged', () => {
		const token = new SignedTokens({ secret: 'another-secret', now: () => T0 }).replyCallbackToken(CLAIMS);
		expect(new SignedTokens({ secret: SECRET, now: () => T0 }).verifyReplyCallbackToken(token)).toEqual({ ok: false, reason: 'forged' });
	});

	it('calls tampered claims forged, even when the tampered token is also expired', () => {
		const time = clock();
		const tokens = new SignedTokens({ secret: SECRET, now: time.now });
		const token = tokens.replyCallbackToken(CLAIMS)!;
		const [, signature] = token.split('.');
		const claims = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
		claims.to = '+19995550000';
		const tampered = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
		expect(tokens.verifyReplyCallbackToken(tampered)).toEqual({ ok: false, reason: 'forged' });
		time.advance(48 * 3600 * 1000);
		expect(tokens.verifyReplyCallbackToken(tampered)).toEqual({ ok: false, reason: 'forged' });
		expect(tokens.verifyReplyCallbackToken(token)).toEqual({ ok: false, reason: 'expired' });
	});

	it('keeps purposes apart: a media link is not a reply callback', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		const media = tokens.mediaLinkToken({ mediaId: '1003383421387256' });
		expect(tokens.verifyReplyCallbackToken(media)).toEqual({ ok: false, reason: 'forged' });
		const reply = tokens.replyCallbackToken(CLAIMS);
		expect(tokens.verifyMediaLinkToken(reply)).toEqual({ ok: false, reason: 'forged' });
		// Even re-signed under the right key, a token of the other kind is refused.
		const crossed = resign(reply, deriveTokenKey(SECRET, 'media-link'), () => undefined);
		expect(tokens.verifyMediaLinkToken(crossed)).toEqual({ ok: false, reason: 'malformed' });
	});

	it('does not accept a token signed with the app secret itself instead of the derived key', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		const token = resign(tokens.replyCallbackToken(CLAIMS), Buffer.from(SECRET), () => undefined);
		expect(tokens.verifyReplyCallbackToken(token)).toEqual({ ok: false, reason: 'forged' });
	});

	it.each([
		['not a string', 42],
		['empty', ''],
		['no dot', 'abc'],
		['two dots', 'a.b.c'],
		['empty body', `.${'a'.repeat(43)}`],
		['short signature', 'eyJhIjoxfQ.abc'],
		['bad characters', `ey+J.${'a'.repeat(43)}`],
		['huge', `${'a'.repeat(5000)}.${'a'.repeat(43)}`],
	])('calls a structurally broken token malformed (%s)', (_name, token) => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		expect(tokens.verifyReplyCallbackToken(token)).toEqual({ ok: false, reason: 'malformed' });
	});

	it('calls correctly signed but unusable claims malformed', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		const key = deriveTokenKey(SECRET, 'reply-callback');
		const good = tokens.replyCallbackToken(CLAIMS);
		expect(tokens.verifyReplyCallbackToken(resign(good, key, (c) => delete c.exp))).toEqual({ ok: false, reason: 'malformed' });
		expect(tokens.verifyReplyCallbackToken(resign(good, key, (c) => (c.to = 7)))).toEqual({ ok: false, reason: 'malformed' });
		const notJson = Buffer.from('not json').toString('base64url');
		expect(tokens.verifyReplyCallbackToken(`${notJson}.${createHmac('sha256', key).update(notJson).digest('base64url')}`)).toEqual({ ok: false, reason: 'malformed' });
	});

	it('never verifies a random or mutated token (property)', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		const good = tokens.replyCallbackToken(CLAIMS)!;
		fc.assert(
			fc.property(fc.string(), (candidate) => tokens.verifyReplyCallbackToken(candidate).ok === false),
			{ numRuns: 500 },
		);
		fc.assert(
			fc.property(fc.nat(good.length - 1), fc.constantFrom(...'ABCabc012_-'.split('')), (index, char) => {
				fc.pre(good[index] !== char && good[index] !== '.');
				const mutated = good.slice(0, index) + char + good.slice(index + 1);
				return tokens.verifyReplyCallbackToken(mutated).ok === false;
			}),
			{ numRuns: 500 },
		);
	});
});

describe('SignedTokens: size', () => {
	it('makes no token for claims too long for a URL (only a malformed webhook has those)', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		expect(tokens.replyCallbackToken({ ...CLAIMS, phoneNumberId: '1'.repeat(5000) })).toBeNull();
		expect(tokens.mediaLinkToken({ mediaId: 'x'.repeat(5000) })).toBeNull();
		const longest = tokens.replyCallbackToken({ ...CLAIMS, replyTo: 'w'.repeat(128) });
		expect(longest!.length).toBeLessThan(MAX_TOKEN_LENGTH);
		expect(tokens.verifyReplyCallbackToken(longest).ok).toBe(true);
	});
});

describe('SignedTokens: media links', () => {
	it('round-trips with a 1 h default expiry and optional fields', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		const full = tokens.mediaLinkToken({ mediaId: '1003383421387256', mimeType: 'image/jpeg', phoneNumberId: '106540352242922' });
		expect(tokens.verifyMediaLinkToken(full)).toEqual({
			ok: true,
			payload: { mediaId: '1003383421387256', mimeType: 'image/jpeg', phoneNumberId: '106540352242922', expiresAt: T0 / 1000 + 3600 },
		});
		const bare = tokens.mediaLinkToken({ mediaId: '1' }, 120);
		expect(tokens.verifyMediaLinkToken(bare)).toEqual({ ok: true, payload: { mediaId: '1', expiresAt: T0 / 1000 + 120 } });
	});

	it('ignores a nonsensical lifetime and uses the default', () => {
		const tokens = new SignedTokens({ secret: SECRET, now: () => T0 });
		for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
			const result = tokens.verifyMediaLinkToken(tokens.mediaLinkToken({ mediaId: '1' }, ttl));
			expect(result.ok && result.payload.expiresAt).toBe(T0 / 1000 + 3600);
		}
	});
});

describe('tokenSecret', () => {
	it('uses the app secret, else the verify token, else nothing', () => {
		expect(tokenSecret({ appSecret: SECRET, verifyToken: 'v' })).toBe(SECRET);
		const fromVerify = tokenSecret({ appSecret: '', verifyToken: 'v' });
		expect(fromVerify).toBeDefined();
		expect(fromVerify).not.toBe(SECRET);
		expect(tokenSecret({ appSecret: '', verifyToken: '' })).toBeUndefined();
		expect(tokenSecret({})).toBeUndefined();
	});

	it('a token made under the verify-token fallback is not valid under an app secret equal to that phrase', () => {
		const fallback = new SignedTokens({ secret: tokenSecret({ verifyToken: 'phrase' })!, now: () => T0 });
		const asSecret = new SignedTokens({ secret: tokenSecret({ appSecret: 'phrase' })!, now: () => T0 });
		expect(asSecret.verifyReplyCallbackToken(fallback.replyCallbackToken(CLAIMS))).toEqual({ ok: false, reason: 'forged' });
	});
});
