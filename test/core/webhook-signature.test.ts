import { createHash, createHmac } from 'crypto';

import {
	SIGNATURE_REASONS,
	escapeNonAscii,
	signWebhookBody,
	verifyWebhookSignature,
	webhookCredentialProblems,
} from '../../core/webhook-signature';
import { loadFixture, metaDelivery, serializeLikeMeta, signLikeMeta } from '../fakes/meta-webhook';

/** A 32-hex-character test value shaped like a Meta App Secret. */
const SECRET = createHash('md5').update('test app secret').digest('hex');

describe('verifyWebhookSignature', () => {
	it('accepts the signature Meta computes over the bytes as received', () => {
		const delivery = metaDelivery(loadFixture('text'), SECRET);
		const result = verifyWebhookSignature(Buffer.from(delivery.body), delivery.headers['x-hub-signature-256'], SECRET);
		expect(result).toEqual({ ok: true, escaped: false });
	});

	it('accepts bodies with emoji and umlauts sent escaped (\\uXXXX), as Meta sends them', () => {
		const delivery = metaDelivery(loadFixture('non-ascii'), SECRET);
		expect(delivery.body).toContain('\\u00fc'); // ü
		expect(delivery.body).toContain('\\ud83d\\udc4b'); // 👋 as a surrogate pair
		expect([...delivery.body].every((char) => char.charCodeAt(0) < 0x80)).toBe(true);
		expect(verifyWebhookSignature(Buffer.from(delivery.body), delivery.headers['x-hub-signature-256'], SECRET)).toEqual({ ok: true, escaped: false });
	});

	it('falls back to the escaped form when the body arrives as raw UTF-8 but was signed escaped', () => {
		const delivery = metaDelivery(loadFixture('non-ascii'), SECRET, { escape: false });
		expect(delivery.body).toContain('Grüße');
		expect(verifyWebhookSignature(Buffer.from(delivery.body, 'utf8'), delivery.headers['x-hub-signature-256'], SECRET)).toEqual({ ok: true, escaped: true });
	});

	it('accepts raw UTF-8 bodies signed as they are', () => {
		const raw = Buffer.from(JSON.stringify(loadFixture('non-ascii')), 'utf8');
		expect(verifyWebhookSignature(raw, signLikeMeta(raw, SECRET), SECRET)).toEqual({ ok: true, escaped: false });
	});

	it('verifies the raw bytes, not re-serialised JSON: whitespace matters', () => {
		const raw = '{"object": "whatsapp_business_account",  "entry": []}';
		const signature = signLikeMeta(raw, SECRET);
		expect(verifyWebhookSignature(Buffer.from(raw), signature, SECRET).ok).toBe(true);
		const reserialised = JSON.stringify(JSON.parse(raw));
		expect(verifyWebhookSignature(Buffer.from(reserialised), signature, SECRET)).toEqual({ ok: false, reason: SIGNATURE_REASONS.mismatch });
	});

	it('refuses a signature made with another secret or over other bytes', () => {
		const body = Buffer.from(serializeLikeMeta(loadFixture('text')));
		expect(verifyWebhookSignature(body, signLikeMeta(body, 'another-secret'), SECRET)).toEqual({ ok: false, reason: SIGNATURE_REASONS.mismatch });
		const tampered = Buffer.from(body.toString().replace('another color', 'another colour'));
		expect(verifyWebhookSignature(tampered, signLikeMeta(body, SECRET), SECRET).ok).toBe(false);
	});

	it('fails closed: no header, empty header, empty or missing secret', () => {
		const body = Buffer.from('{}');
		const signature = signLikeMeta(body, SECRET);
		expect(verifyWebhookSignature(body, undefined, SECRET)).toEqual({ ok: false, reason: SIGNATURE_REASONS.missing });
		expect(verifyWebhookSignature(body, '', SECRET)).toEqual({ ok: false, reason: SIGNATURE_REASONS.missing });
		expect(verifyWebhookSignature(body, signLikeMeta(body, ''), '')).toEqual({ ok: false, reason: SIGNATURE_REASONS.emptySecret });
		expect(verifyWebhookSignature(body, signature, undefined)).toEqual({ ok: false, reason: SIGNATURE_REASONS.emptySecret });
	});

	it.each([
		['no prefix', () => createHmac('sha256', SECRET).update('{}').digest('hex')],
		['sha1 prefix', () => `sha1=${createHmac('sha1', SECRET).update('{}').digest('hex')}`],
		['short hex', () => 'sha256=abcdef'],
		['non-hex', () => `sha256=${'z'.repeat(64)}`],
		['too long', () => `${signLikeMeta('{}', SECRET)}00`],
		['two signatures joined', () => `${signLikeMeta('{}', SECRET)}, ${signLikeMeta('{}', SECRET)}`],
	])('refuses a malformed header (%s)', (_name, header) => {
		expect(verifyWebhookSignature(Buffer.from('{}'), header(), SECRET)).toEqual({ ok: false, reason: SIGNATURE_REASONS.malformed });
	});

	it('refuses a header given as an array (a duplicated header)', () => {
		const signature = signLikeMeta('{}', SECRET);
		expect(verifyWebhookSignature(Buffer.from('{}'), [signature, signature], SECRET).ok).toBe(false);
	});

	it('tolerates uppercase hex, an uppercase prefix and surrounding spaces', () => {
		const signature = signLikeMeta('{}', SECRET);
		expect(verifyWebhookSignature(Buffer.from('{}'), ` SHA256=${signature.slice(7).toUpperCase()} `, SECRET).ok).toBe(true);
	});

	it('never echoes the secret or the expected signature in a reason', () => {
		const body = Buffer.from('{"a":1}');
		const expected = signLikeMeta(body, SECRET).slice(7);
		for (const header of [undefined, 'garbage', signLikeMeta(body, 'wrong')]) {
			const result = verifyWebhookSignature(body, header, SECRET);
			expect(result.ok).toBe(false);
			const reason = (result as { reason: string }).reason;
			expect(reason).not.toContain(SECRET);
			expect(reason).not.toContain(expected);
		}
	});

	it('gives reasons a user can act on', () => {
		expect(SIGNATURE_REASONS.mismatch).toMatch(/App Secret.*App Settings → Basic/);
		expect(SIGNATURE_REASONS.emptySecret).toMatch(/Skip Signature Check \(Testing Only\)/);
		expect(SIGNATURE_REASONS.missing).toMatch(/^no X-Hub-Signature-256 header/);
	});
});

describe('escapeNonAscii / signWebhookBody', () => {
	it('escapes like Meta: lowercase hex, surrogate pairs, ASCII untouched', () => {
		expect(escapeNonAscii('äöå')).toBe('\\u00e4\\u00f6\\u00e5');
		expect(escapeNonAscii('hi 👋')).toBe('hi \\ud83d\\udc4b');
		expect(escapeNonAscii('plain "ascii" \\ text')).toBe('plain "ascii" \\ text');
		expect(escapeNonAscii('€')).toBe('\\u20ac');
	});

	it('matches the independent test helper on every fixture', () => {
		for (const name of ['non-ascii', 'reaction', 'contacts']) {
			const body = loadFixture(name);
			expect(escapeNonAscii(JSON.stringify(body))).toBe(serializeLikeMeta(body));
		}
	});

	it('signs as Meta does', () => {
		expect(signWebhookBody('{}', SECRET)).toBe(signLikeMeta('{}', SECRET));
	});
});

describe('webhookCredentialProblems', () => {
	it('accepts a verify token and a 32-hex-character app secret', () => {
		expect(webhookCredentialProblems({ verifyToken: 'my phrase', appSecret: SECRET })).toEqual([]);
	});

	it('names each problem in plain words', () => {
		expect(webhookCredentialProblems({ verifyToken: '', appSecret: '' })).toEqual([
			expect.stringMatching(/^Verify Token is empty/),
			expect.stringMatching(/^App Secret is empty/),
		]);
		// What users paste by mistake: an access token (built at run time so it does not look like a real one in source).
		const accessTokenPastedInstead = ['EAAG', 'm0PX4ZCpsBAKtoken'].join('');
		expect(webhookCredentialProblems({ verifyToken: 'x', appSecret: accessTokenPastedInstead })).toEqual([
			expect.stringMatching(/does not look like a Meta App Secret/),
		]);
		expect(webhookCredentialProblems({ verifyToken: 'x', appSecret: ` ${SECRET}` })).toEqual([expect.stringMatching(/spaces/)]);
	});

	it('never repeats the secret', () => {
		const problems = webhookCredentialProblems({ verifyToken: 'x', appSecret: 'not-a-secret-value' });
		expect(problems.join(' ')).not.toContain('not-a-secret-value');
	});
});
