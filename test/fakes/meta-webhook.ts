/**
 * Plays Meta's part of a webhook delivery: serialises a body the way Meta does (JSON with
 * every non-ASCII character escaped as `\uXXXX`, lowercase hex, emoji as surrogate pairs;
 * reference §1.2), signs those exact bytes (`X-Hub-Signature-256: sha256=<hex>` keyed with
 * the App Secret) and posts them. Also loads the Meta-shaped fixtures.
 *
 * Deliberately independent of core/webhook-signature.ts (its own escaping and HMAC), so a
 * bug there cannot hide itself. No jest imports: the real-n8n end-to-end suite uses it too.
 */
import { createHmac } from 'crypto';
import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';

export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'webhooks');

/** The metadata used by every fixture unless it says otherwise. */
export const FIXTURE_PHONE_NUMBER_ID = '106540352242922';
export const FIXTURE_DISPLAY_PHONE_NUMBER = '15550783881';
export const FIXTURE_BUSINESS_ACCOUNT_ID = '102290129340398';

export function fixtureNames(): string[] {
	return readdirSync(FIXTURE_DIR)
		.filter((file) => file.endsWith('.json'))
		.map((file) => file.slice(0, -'.json'.length))
		.sort();
}

/** A fresh copy of `test/fixtures/webhooks/<name>.json`. */
export function loadFixture<T = any>(name: string): T {
	return JSON.parse(readFileSync(join(FIXTURE_DIR, `${name}.json`), 'utf8')) as T;
}

/** JSON text with non-ASCII as `\uXXXX` (lowercase hex): Meta's wire form. */
export function serializeLikeMeta(body: unknown): string {
	return JSON.stringify(body).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `sha256=<lowercase hex HMAC-SHA256 of the bytes>`. */
export function signLikeMeta(raw: string | Buffer, appSecret: string): string {
	return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

export interface MetaDelivery {
	/** The exact bytes to send. */
	body: string;
	headers: Record<string, string>;
}

export interface DeliveryOptions {
	/** Escape non-ASCII as Meta does (default true). False sends raw UTF-8 but still signs the escaped form, like Meta would. */
	escape?: boolean;
	/** Replace the signature header (e.g. a wrong one); null leaves it out. */
	signature?: string | null;
	contentType?: string;
}

/** Body + headers of one Meta delivery. */
export function metaDelivery(body: unknown, appSecret: string, options: DeliveryOptions = {}): MetaDelivery {
	const escaped = typeof body === 'string' ? body : serializeLikeMeta(body);
	const wire = options.escape === false && typeof body !== 'string' ? JSON.stringify(body) : escaped;
	const headers: Record<string, string> = {
		'content-type': options.contentType ?? 'application/json',
		'user-agent': 'facebookexternalua',
	};
	const signature = options.signature === undefined ? signLikeMeta(escaped, appSecret) : options.signature;
	if (signature !== null) headers['x-hub-signature-256'] = signature;
	return { body: wire, headers };
}

/** POSTs one signed delivery to a webhook URL, as Meta does. */
export async function deliverToWebhook(
	url: string,
	body: unknown,
	appSecret: string,
	options: DeliveryOptions = {},
): Promise<Response> {
	const delivery = metaDelivery(body, appSecret, options);
	return fetch(url, { method: 'POST', headers: delivery.headers, body: delivery.body });
}

/** Meta's verification GET (`hub.mode`, `hub.challenge`, `hub.verify_token`). */
export async function verifyWebhook(
	url: string,
	verifyToken: string | undefined,
	challenge = '1158201444',
	mode = 'subscribe',
): Promise<Response> {
	const query = new URLSearchParams({ 'hub.mode': mode, 'hub.challenge': challenge });
	if (verifyToken !== undefined) query.set('hub.verify_token', verifyToken);
	return fetch(`${url}?${query.toString()}`);
}

export interface InboundBodyOptions {
	phoneNumberId?: string;
	displayPhoneNumber?: string;
	businessAccountId?: string;
	contacts?: unknown[];
	messages?: unknown[];
	statuses?: unknown[];
	errors?: unknown[];
}

/** A one-entry, one-change `messages` webhook body around the given arrays. */
export function webhookBody(options: InboundBodyOptions): Record<string, unknown> {
	const value: Record<string, unknown> = {
		messaging_product: 'whatsapp',
		metadata: {
			display_phone_number: options.displayPhoneNumber ?? FIXTURE_DISPLAY_PHONE_NUMBER,
			phone_number_id: options.phoneNumberId ?? FIXTURE_PHONE_NUMBER_ID,
		},
	};
	for (const key of ['contacts', 'messages', 'statuses', 'errors'] as const) {
		if (options[key] !== undefined) value[key] = options[key];
	}
	return {
		object: 'whatsapp_business_account',
		entry: [{ id: options.businessAccountId ?? FIXTURE_BUSINESS_ACCOUNT_ID, changes: [{ value, field: 'messages' }] }],
	};
}

let sequence = 0;

/** A text message from `from` (digits), with a unique wamid unless `id` is given. */
export function textMessageBody(
	text: string,
	options: { from?: string; name?: string; id?: string; timestamp?: string; phoneNumberId?: string } = {},
): Record<string, unknown> {
	const from = options.from ?? '16505551234';
	sequence += 1;
	return webhookBody({
		phoneNumberId: options.phoneNumberId,
		contacts: [{ profile: { name: options.name ?? 'Sheena Nelson' }, wa_id: from }],
		messages: [
			{
				from,
				id: options.id ?? `wamid.TEST${Date.now().toString(36)}${sequence.toString().padStart(8, '0')}`,
				timestamp: options.timestamp ?? String(Math.floor(Date.now() / 1000)),
				type: 'text',
				text: { body: text },
			},
		],
	});
}
