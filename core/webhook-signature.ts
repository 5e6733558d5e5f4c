/**
 * Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex>`, the lowercase hex
 * HMAC-SHA256 of the request body keyed with the app's App Secret (reference §1.2).
 *
 * Checked on the raw bytes as received (never on re-serialised JSON), compared in constant
 * time, and fail closed: no header, a malformed header or an empty secret is a refusal.
 * Meta signs an "escaped unicode" form of the body (non-ASCII as `\uXXXX`, lowercase hex);
 * its wire body is that form, so the raw bytes normally match. If a body arrives with raw
 * UTF-8 instead, the escaped form of those bytes is tried as a fallback.
 *
 * Reasons are written for the person who has to fix the setup, and never contain the
 * secret or the expected signature.
 */
import { createHmac, timingSafeEqual } from 'crypto';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

export type SignatureCheck =
	| {
			ok: true;
			/** True when only the `\uXXXX`-escaped form of the body matched. */
			escaped: boolean;
	  }
	| { ok: false; reason: string };

export const SIGNATURE_REASONS = {
	missing: 'no X-Hub-Signature-256 header: the request was not signed by Meta',
	malformed: 'malformed header: X-Hub-Signature-256 must be "sha256=" followed by 64 hex characters',
	emptySecret:
		'app secret is empty: add the App Secret to the WhatsApp Webhook credential (App Settings → Basic in your Meta app), or turn on "Skip Signature Check (Testing Only)"',
	mismatch:
		'signature does not match: check the App Secret in the WhatsApp Webhook credential (App Settings → Basic in your Meta app)',
} as const;

const HEX_64 = /^[0-9a-f]{64}$/i;

/** Reads the hex digest out of the header value, or undefined when it is not well-formed. */
function parseHeader(value: string): Buffer | undefined {
	const trimmed = value.trim();
	const separator = trimmed.indexOf('=');
	if (separator < 0) return undefined;
	if (trimmed.slice(0, separator).toLowerCase() !== 'sha256') return undefined;
	const hex = trimmed.slice(separator + 1);
	if (!HEX_64.test(hex)) return undefined;
	return Buffer.from(hex, 'hex');
}

function digest(appSecret: string, body: Buffer | string): Buffer {
	return createHmac('sha256', appSecret).update(body).digest();
}

/** True when the buffer holds a byte ≥ 0x80, i.e. something the escaped form would change. */
function hasNonAscii(body: Buffer): boolean {
	for (let index = 0; index < body.length; index++) {
		if (body[index] > 0x7f) return true;
	}
	return false;
}

/**
 * Every non-ASCII UTF-16 code unit as `\uXXXX` with lowercase hex, so characters outside the
 * BMP (emoji) become a surrogate pair: what Meta signs.
 */
export function escapeNonAscii(text: string): string {
	let out = '';
	let start = 0;
	for (let index = 0; index < text.length; index++) {
		const code = text.charCodeAt(index);
		if (code > 0x7f) {
			out += text.slice(start, index) + '\\u' + code.toString(16).padStart(4, '0');
			start = index + 1;
		}
	}
	return start === 0 ? text : out + text.slice(start);
}

/** `sha256=<lowercase hex>` of these exact bytes: what Meta puts in the header. */
export function signWebhookBody(body: Buffer | string, appSecret: string): string {
	return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * Checks `X-Hub-Signature-256` against the raw request body.
 * @param header the header value as received (n8n gives a string; an array is refused)
 */
export function verifyWebhookSignature(
	rawBody: Buffer,
	header: string | string[] | undefined,
	appSecret: string | undefined,
): SignatureCheck {
	if (typeof appSecret !== 'string' || appSecret.length === 0) {
		return { ok: false, reason: SIGNATURE_REASONS.emptySecret };
	}
	if (header === undefined || header === '') return { ok: false, reason: SIGNATURE_REASONS.missing };
	if (typeof header !== 'string') return { ok: false, reason: SIGNATURE_REASONS.malformed };
	const received = parseHeader(header);
	if (!received) return { ok: false, reason: SIGNATURE_REASONS.malformed };

	// Both sides are 32-byte SHA-256 digests, so timingSafeEqual compares equal lengths.
	if (timingSafeEqual(digest(appSecret, rawBody), received)) return { ok: true, escaped: false };
	if (hasNonAscii(rawBody)) {
		const escaped = escapeNonAscii(rawBody.toString('utf8'));
		if (timingSafeEqual(digest(appSecret, escaped), received)) return { ok: true, escaped: true };
	}
	return { ok: false, reason: SIGNATURE_REASONS.mismatch };
}

/**
 * What is wrong with a webhook credential, in words a user can act on; empty when it
 * looks right. Meta's App Secrets are 32 lowercase hex characters.
 */
export function webhookCredentialProblems(credential: { verifyToken?: unknown; appSecret?: unknown }): string[] {
	const problems: string[] = [];
	const verifyToken = typeof credential.verifyToken === 'string' ? credential.verifyToken : '';
	const appSecret = typeof credential.appSecret === 'string' ? credential.appSecret : '';
	if (verifyToken.trim() === '') {
		problems.push('Verify Token is empty: make up a phrase and paste the same phrase into "Verify token" in your Meta app (WhatsApp → Configuration → Webhook).');
	}
	if (appSecret === '') {
		problems.push('App Secret is empty: copy it from App Settings → Basic → App Secret in your Meta app. Without it every message is refused.');
	} else if (!/^[0-9a-f]{32}$/i.test(appSecret.trim())) {
		problems.push('App Secret does not look like a Meta App Secret (32 characters, 0-9 and a-f). Copy it again from App Settings → Basic → App Secret → Show; a wrong secret makes every message fail the signature check.');
	} else if (appSecret !== appSecret.trim()) {
		problems.push('App Secret has spaces before or after it: remove them.');
	}
	return problems;
}
