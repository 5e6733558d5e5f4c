/**
 * Stateless signed tokens for the trigger's own URLs (SPEC §3):
 * - reply callbacks (`…/reply?token=`): who to answer, from which business number, which
 *   message is answered, until when (default 24 h: WhatsApp's customer-service window);
 * - media links (`…/media?token=`): which Meta media id to stream, until when (default 1 h:
 *   an agent fetches an image within seconds, and a leaked link should not expose a
 *   customer's photo for long; Meta keeps inbound media ids 7 days, so a longer lifetime
 *   can be configured).
 *
 * Format: `<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, first part))>`. Each purpose
 * has its own key, HMAC(secret, "whatsapp-agent:<purpose>:v1"), so a media link can never
 * be replayed as a reply callback. Nothing is stored: any n8n process that has the same
 * credential (queue mode: webhook processes, workers, main) verifies any token.
 */
import { createHmac, timingSafeEqual } from 'crypto';

export type TokenPurpose = 'reply-callback' | 'media-link';

export const DEFAULT_TOKEN_TTL_SECONDS: Record<TokenPurpose, number> = {
	'reply-callback': 24 * 60 * 60,
	'media-link': 60 * 60,
};

export interface ReplyCallbackClaims {
	/** The customer: `+digits`, or a business-scoped user id. */
	to: string;
	/** The business phone number id the customer wrote to (the sender of the reply). */
	phoneNumberId: string;
	/** The customer's message id (wamid) the reply answers. */
	replyTo: string;
}

export interface MediaLinkClaims {
	mediaId: string;
	mimeType?: string;
	/** Business phone number id the media belongs to (Meta checks it when given). */
	phoneNumberId?: string;
}

/** Claims plus the expiry, unix seconds. */
export type Verified<T> = T & { expiresAt: number };

export type TokenFailure = 'malformed' | 'forged' | 'expired';

export type TokenVerification<T> = { ok: true; payload: Verified<T> } | { ok: false; reason: TokenFailure };

const SIGNATURE_LENGTH = 43; // 32 bytes in unpadded base64url

/**
 * Longest token made or accepted. Real claims (wamids ≤ 128 characters, phone ids) give
 * ~250 characters; a longer one would come from a malformed webhook and make a URL that
 * proxies truncate, so none is made.
 */
export const MAX_TOKEN_LENGTH = 4096;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function deriveTokenKey(secret: string, purpose: TokenPurpose): Buffer {
	return createHmac('sha256', secret).update(`whatsapp-agent:${purpose}:v1`).digest();
}

/**
 * Derived keys of the last few secrets, so a webhook request does not pay two HMACs before
 * its first link. Bounded (a process serves few credentials); held only in this process's
 * memory, where n8n already holds the decrypted credential.
 */
const KEY_CACHE_SIZE = 32;
const keyCache = new Map<string, Buffer>();

function cachedKey(secret: string, purpose: TokenPurpose): Buffer {
	const id = `${purpose}\u0000${secret}`;
	let key = keyCache.get(id);
	if (key === undefined) {
		if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
		key = deriveTokenKey(secret, purpose);
		keyCache.set(id, key);
	}
	return key;
}

/**
 * The secret tokens are signed with: the webhook credential's App Secret; when it is empty
 * (only usable with "Skip Signature Check (Testing Only)"), its Verify Token. Undefined when
 * both are empty: then no links are made and every token is refused.
 */
export function tokenSecret(credential: { appSecret?: unknown; verifyToken?: unknown }): string | undefined {
	if (typeof credential.appSecret === 'string' && credential.appSecret !== '') return credential.appSecret;
	if (typeof credential.verifyToken === 'string' && credential.verifyToken !== '') return `verify-token:${credential.verifyToken}`;
	return undefined;
}

type Encoded = Record<string, string | number>;

function signPart(key: Buffer, body: string): string {
	return createHmac('sha256', key).update(body).digest('base64url');
}

function encode(key: Buffer, claims: Encoded): string | null {
	const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
	if (body.length + 1 + SIGNATURE_LENGTH > MAX_TOKEN_LENGTH) return null;
	return `${body}.${signPart(key, body)}`;
}

/** Structure → signature → JSON → expiry, so a tampered token is "forged" even when also expired. */
function decode(key: Buffer, token: unknown, nowMs: number): { ok: true; claims: Encoded } | { ok: false; reason: TokenFailure } {
	if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
	const dot = token.indexOf('.');
	if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'malformed' };
	const body = token.slice(0, dot);
	const signature = token.slice(dot + 1);
	if (!BASE64URL.test(body) || signature.length !== SIGNATURE_LENGTH || !BASE64URL.test(signature)) {
		return { ok: false, reason: 'malformed' };
	}
	// Compared as canonical base64url text (equal lengths), so no other spelling of the
	// same bytes is accepted.
	const received = Buffer.from(signature, 'ascii');
	const expected = Buffer.from(signPart(key, body), 'ascii');
	if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
		return { ok: false, reason: 'forged' };
	}
	let claims: unknown;
	try {
		claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
	} catch {
		claims = undefined;
	}
	if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return { ok: false, reason: 'malformed' };
	const exp = (claims as Encoded).exp;
	if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, reason: 'malformed' };
	if (nowMs >= exp * 1000) return { ok: false, reason: 'expired' };
	return { ok: true, claims: claims as Encoded };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Signs and verifies both kinds of token under keys derived from one secret. Keep one per
 * credential (the trigger keeps it with the credential): its two keys are derived once, on
 * first use. `now` returns milliseconds and is injectable for tests.
 */
export class SignedTokens {
	private readonly secret: string;

	private readonly now: () => number;

	constructor(options: { secret: string; now?: () => number }) {
		this.secret = options.secret;
		this.now = options.now ?? Date.now;
	}

	private replyKeyBuffer: Buffer | undefined;

	private mediaKeyBuffer: Buffer | undefined;

	// Looked up once per instance (one per credential), not once per token.
	private get replyKey(): Buffer {
		return (this.replyKeyBuffer ??= cachedKey(this.secret, 'reply-callback'));
	}

	private get mediaKey(): Buffer {
		return (this.mediaKeyBuffer ??= cachedKey(this.secret, 'media-link'));
	}

	private expiry(purpose: TokenPurpose, ttlSeconds: number | undefined): number {
		const ttl = ttlSeconds !== undefined && Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds : DEFAULT_TOKEN_TTL_SECONDS[purpose];
		return Math.floor(this.now() / 1000) + Math.round(ttl);
	}

	/** The token, or null when the claims are too long for a URL (never for real Meta ids). */
	replyCallbackToken(claims: ReplyCallbackClaims, ttlSeconds?: number): string | null {
		return encode(this.replyKey, {
			p: 'r',
			to: claims.to,
			pn: claims.phoneNumberId,
			re: claims.replyTo,
			exp: this.expiry('reply-callback', ttlSeconds),
		});
	}

	verifyReplyCallbackToken(token: unknown): TokenVerification<ReplyCallbackClaims> {
		const decoded = decode(this.replyKey, token, this.now());
		if (!decoded.ok) return decoded;
		const { p, to, pn, re, exp } = decoded.claims;
		if (p !== 'r' || text(to) === undefined || text(pn) === undefined || text(re) === undefined) {
			return { ok: false, reason: 'malformed' };
		}
		return { ok: true, payload: { to: to as string, phoneNumberId: pn as string, replyTo: re as string, expiresAt: exp as number } };
	}

	/** The token, or null when the claims are too long for a URL. */
	mediaLinkToken(claims: MediaLinkClaims, ttlSeconds?: number): string | null {
		const encoded: Encoded = { p: 'm', id: claims.mediaId };
		if (claims.mimeType) encoded.mt = claims.mimeType;
		if (claims.phoneNumberId) encoded.pn = claims.phoneNumberId;
		encoded.exp = this.expiry('media-link', ttlSeconds);
		return encode(this.mediaKey, encoded);
	}

	verifyMediaLinkToken(token: unknown): TokenVerification<MediaLinkClaims> {
		const decoded = decode(this.mediaKey, token, this.now());
		if (!decoded.ok) return decoded;
		const { p, id, mt, pn, exp } = decoded.claims;
		if (p !== 'm' || text(id) === undefined) return { ok: false, reason: 'malformed' };
		const payload: Verified<MediaLinkClaims> = { mediaId: id as string, expiresAt: exp as number };
		if (text(mt) !== undefined) payload.mimeType = mt as string;
		if (text(pn) !== undefined) payload.phoneNumberId = pn as string;
		return { ok: true, payload };
	}
}
