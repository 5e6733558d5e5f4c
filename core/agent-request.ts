/**
 * The request Call External Agent sends to the user's agent (SPEC §4): the "bring your own
 * agent" body built from a trigger Messages item, serialised once, and the optional
 * signature headers over those exact bytes.
 *
 * Signing (when the credential has a signing secret), per request attempt:
 * - `X-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`: the exact body bytes, as SPEC §4
 *   says (the same scheme Meta uses for its webhooks, so agents may already have the code);
 * - `X-Timestamp: <unix seconds>` when the request was sent;
 * - `X-Timestamp-Signature-256: sha256=<hex HMAC-SHA256(secret, "<X-Timestamp>.<body>")>`:
 *   binds the timestamp to the body. Without it, a captured request could be replayed with a
 *   fresh `X-Timestamp` and its body signature would still verify.
 *
 * How an agent refuses replays: check both signatures and that `X-Timestamp` is within a few
 * minutes of its clock; then a replay is only possible inside that window, and remembering
 * the `message_id`s of that window (the body carries it, and it is also sent as
 * `Idempotency-Key`) refuses those too. Retries of one call send the same body (same
 * `message_id`) with a new timestamp. `verifyAgentSignature` below does the checks; the
 * example agent (examples/agent/server.js) carries its own copy for users to take.
 */
import { createHmac, timingSafeEqual } from 'crypto';

import type { HistoryTurn } from './conversation-history';

/** The body posted to the agent. Every field is present; a missing value is `null`, never absent. */
export interface AgentRequestBody {
	/** BYOA: the customer's text (text body, caption, button/list title, or a readable summary); "" if none. */
	message: string;
	/** BYOA: a fetchable URL of the image the customer sent, or null. */
	image: string | null;
	/** BYOA: the customer, `+<digits>` (or their business-scoped user id when they hide their number). */
	phone_number: string | null;
	/** BYOA: a URL the agent may POST more replies to, later (24 h by default). */
	reply_callback: string | null;
	message_id: string | null;
	/** WhatsApp message type: text, image, audio, location, interactive, … */
	type: string | null;
	/** The customer's WhatsApp profile name. */
	name: string | null;
	/** When the customer sent it, ISO 8601. */
	timestamp: string | null;
	media: Record<string, unknown> | null;
	location: Record<string, unknown> | null;
	contacts: unknown[] | null;
	interactive: Record<string, unknown> | null;
	button: Record<string, unknown> | null;
	reaction: Record<string, unknown> | null;
	order: Record<string, unknown> | null;
	referral: Record<string, unknown> | null;
	/** The message this one replies to or quotes: `{messageId, from, forwarded, frequentlyForwarded}`. */
	context: Record<string, unknown> | null;
	/** One conversation per customer: the customer's phone number. */
	conversation_id: string | null;
	/** The business number that received the message (Meta's phone number id) and its display form. */
	phone_number_id: string | null;
	display_phone_number: string | null;
	/**
	 * SPEC §10: every customer message this call answers (trigger Messages items, oldest
	 * first): one, or the whole burst when messages were buffered; `message` then holds their
	 * texts joined. Without Meta's `raw` unless the node's option asks for it.
	 */
	messages: Array<Record<string, unknown>>;
	/** SPEC §10: the conversation's earlier turns, oldest first, when the node keeps conversations; else null. */
	history: HistoryTurn[] | null;
	/** Meta's original message object, only when the node's option asks for it. */
	raw?: unknown;
}

export const SIGNATURE_HEADER = 'X-Signature-256';
export const TIMESTAMP_HEADER = 'X-Timestamp';
export const TIMESTAMP_SIGNATURE_HEADER = 'X-Timestamp-Signature-256';

type Item = Record<string, unknown>;

function text(value: unknown): string | null {
	if (typeof value === 'string') return value.trim() === '' ? null : value;
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return null;
}

function object(value: unknown): Record<string, unknown> | null {
	return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function first(item: Item, ...keys: string[]): unknown {
	for (const key of keys) {
		if (item[key] !== undefined && item[key] !== null) return item[key];
	}
	return undefined;
}

/**
 * Why this item cannot be sent to an agent, in words a user can act on, or undefined when it
 * can. Catches the usual wiring mistakes: the trigger's Statuses output (or an agent
 * callback) connected instead of Messages, or an item from an unrelated node.
 */
export function missingCustomerReason(item: Item): string | undefined {
	const phone = text(first(item, 'phone_number', 'phoneNumber'));
	if (phone !== null) return undefined;
	if (typeof item.status === 'string' && ('recipient' in item || 'errors' in item)) {
		return `this item is a status update ("${item.status}"), not a customer message: connect the WhatsApp Agent Trigger's Messages output to this node, not its Statuses output`;
	}
	if (Array.isArray(item.messages) && 'callback' in item) {
		return "this item is an agent callback (a reply the agent already sent): connect the trigger's Agent Callbacks output to Send WhatsApp, not to this node";
	}
	const keys = Object.keys(item);
	return `this item has no phone_number (the customer's number): connect the WhatsApp Agent Trigger's Messages output to this node, or set a phone_number field before it${keys.length ? ` (the item has: ${keys.slice(0, 12).join(', ')})` : ' (the item is empty)'}`;
}

/**
 * Builds the BYOA body from a trigger Messages item (SPEC §3 field names). Tolerates items
 * that lack fields, and items already in the agent's snake_case (e.g. from a Set node).
 */
export interface AgentRequestOptions {
	includeRaw?: boolean;
	/** The burst this call answers, oldest first, `item` (its newest message) included; default `[item]`. */
	burst?: Item[];
	/** The conversation's earlier turns (null: the node keeps no conversations). */
	history?: HistoryTurn[] | null;
}

/** A Messages item as the request's `messages` carries it. */
function inboundMessage(item: Item, includeRaw: boolean): Item {
	if (includeRaw || !('raw' in item)) return item;
	const rest = { ...item };
	delete rest.raw;
	return rest;
}

function messageText(item: Item): string {
	const message = first(item, 'message', 'text');
	return typeof message === 'string' ? message : '';
}

export function buildAgentRequestBody(item: Item, options: AgentRequestOptions = {}): AgentRequestBody {
	const phone = text(first(item, 'phone_number', 'phoneNumber'));
	const burst = options.burst && options.burst.length > 0 ? options.burst : [item];
	const message =
		burst.length === 1
			? messageText(burst[0])
			: burst
					.map(messageText)
					.filter((part) => part.trim() !== '')
					.join('\n');
	const contacts = item.contacts;
	const body: AgentRequestBody = {
		message,
		image: text(item.image) ?? burst.map((entry) => text(entry.image)).find((url) => url !== null) ?? null,
		phone_number: phone,
		reply_callback: text(first(item, 'reply_callback', 'replyCallback')),
		message_id: text(first(item, 'messageId', 'message_id')),
		type: text(item.type),
		name: text(first(item, 'contactName', 'name')),
		timestamp: text(item.timestamp),
		media: object(item.media),
		location: object(item.location),
		contacts: Array.isArray(contacts) ? contacts : null,
		interactive: object(item.interactive),
		button: object(item.button),
		reaction: object(item.reaction),
		order: object(item.order),
		referral: object(item.referral),
		context: object(item.context),
		conversation_id: text(first(item, 'conversation_id', 'conversationId')) ?? phone,
		phone_number_id: text(first(item, 'phoneNumberId', 'phone_number_id')),
		display_phone_number: text(first(item, 'displayPhoneNumber', 'display_phone_number')),
		messages: burst.map((entry) => inboundMessage(entry, options.includeRaw === true)),
		history: options.history ?? null,
	};
	if (options.includeRaw) body.raw = item.raw ?? null;
	return body;
}

/** The one serialisation: these exact characters are sent and signed. */
export function serializeAgentRequestBody(body: AgentRequestBody): string {
	return JSON.stringify(body);
}

function hmacHex(secret: string, data: string | Buffer): string {
	return createHmac('sha256', secret).update(data).digest('hex');
}

/**
 * The signature headers for one attempt. `timestampSeconds` is the send time in unix
 * seconds; the body must be the exact string sent (it is signed as UTF-8 bytes).
 */
export function signAgentRequest(body: string, secret: string, timestampSeconds: number): Record<string, string> {
	const timestamp = String(Math.floor(timestampSeconds));
	return {
		[SIGNATURE_HEADER]: `sha256=${hmacHex(secret, body)}`,
		[TIMESTAMP_HEADER]: timestamp,
		[TIMESTAMP_SIGNATURE_HEADER]: `sha256=${hmacHex(secret, `${timestamp}.${body}`)}`,
	};
}

/** Headers of every attempt: JSON, and the message id as an idempotency key for agents that retry-dedupe. */
export function agentRequestHeaders(body: AgentRequestBody): Record<string, string> {
	return {
		'Content-Type': 'application/json; charset=utf-8',
		Accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
		...(body.message_id ? { 'Idempotency-Key': body.message_id } : {}),
	};
}

export type SignatureCheck =
	| { ok: true; timestamp: number }
	| {
			ok: false;
			reason: 'missing-signature' | 'bad-signature' | 'missing-timestamp' | 'stale-timestamp' | 'bad-timestamp-signature';
			message: string;
	  };

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
	const wanted = name.toLowerCase();
	for (const [key, value] of Object.entries(headers)) {
		if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
	}
	return undefined;
}

function sameSignature(expectedHex: string, header: string | undefined): boolean {
	const match = /^sha256=([0-9a-f]{64})$/i.exec((header ?? '').trim());
	if (!match) return false;
	return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(match[1].toLowerCase(), 'hex'));
}

/**
 * What an agent does with a request from this node (also used by the tests): both
 * signatures over the raw body bytes as received, and a timestamp within `toleranceSec`
 * (default 300) of `now()` (milliseconds, default the clock).
 */
export function verifyAgentSignature(
	rawBody: string | Buffer,
	headers: Record<string, string | string[] | undefined>,
	secret: string,
	options: { toleranceSec?: number; now?: () => number } = {},
): SignatureCheck {
	const toleranceSec = options.toleranceSec ?? 300;
	const nowSec = (options.now ?? Date.now)() / 1000;
	const bytes = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
	const signature = headerOf(headers, SIGNATURE_HEADER);
	if (!signature) return { ok: false, reason: 'missing-signature', message: `No ${SIGNATURE_HEADER} header` };
	if (!sameSignature(hmacHex(secret, bytes), signature)) {
		return { ok: false, reason: 'bad-signature', message: `${SIGNATURE_HEADER} does not match the body` };
	}
	const timestampText = headerOf(headers, TIMESTAMP_HEADER)?.trim() ?? '';
	if (!/^\d{1,12}$/.test(timestampText)) {
		return { ok: false, reason: 'missing-timestamp', message: `No valid ${TIMESTAMP_HEADER} header (unix seconds)` };
	}
	const timestamp = Number(timestampText);
	if (Math.abs(nowSec - timestamp) > toleranceSec) {
		return {
			ok: false,
			reason: 'stale-timestamp',
			message: `${TIMESTAMP_HEADER} is ${Math.round(nowSec - timestamp)} s away from now (more than ${toleranceSec} s): a replay, or a clock out of sync`,
		};
	}
	const bound = Buffer.concat([Buffer.from(`${timestampText}.`, 'utf8'), bytes]);
	if (!sameSignature(hmacHex(secret, bound), headerOf(headers, TIMESTAMP_SIGNATURE_HEADER))) {
		return {
			ok: false,
			reason: 'bad-timestamp-signature',
			message: `${TIMESTAMP_SIGNATURE_HEADER} does not match "<${TIMESTAMP_HEADER}>.<body>" (was the timestamp changed?)`,
		};
	}
	return { ok: true, timestamp };
}

/** Headers this node sets itself; a custom auth header with one of these names would clash. */
const RESERVED_HEADERS = [
	'content-type',
	'content-length',
	'host',
	'accept',
	'idempotency-key',
	SIGNATURE_HEADER.toLowerCase(),
	TIMESTAMP_HEADER.toLowerCase(),
	TIMESTAMP_SIGNATURE_HEADER.toLowerCase(),
];

/**
 * What is wrong with an External Agent credential, checked without calling the agent (its
 * URL is a node parameter, not part of the credential). Empty list: nothing found.
 * Never repeats a secret.
 */
export function agentCredentialProblems(data: Record<string, unknown>): string[] {
	const problems: string[] = [];
	const value = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : '');
	const authentication = value('authentication') || 'none';
	if (authentication === 'bearer') {
		const token = value('bearerToken').trim();
		if (token === '') problems.push('Bearer Token is empty: paste the token your agent expects.');
		else if (/^bearer\s/i.test(token)) problems.push('Bearer Token starts with "Bearer ": paste the token only, the word Bearer is added for you.');
		else if (/\s/.test(token)) problems.push('Bearer Token contains spaces or line breaks: paste the token only.');
	} else if (authentication === 'header') {
		const name = value('headerName').trim();
		if (name === '') problems.push('Header Name is empty: enter the header your agent reads its key from, such as X-API-Key.');
		else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) problems.push(`Header Name "${name}" is not a valid HTTP header name (letters, digits and - only, no spaces or colon).`);
		else if (RESERVED_HEADERS.includes(name.toLowerCase())) problems.push(`Header Name "${name}" is set by this node itself: choose another name, such as X-API-Key.`);
		if (value('headerValue') === '') problems.push('Header Value is empty: paste the key your agent expects.');
		else if (/[\r\n]/.test(value('headerValue'))) problems.push('Header Value contains a line break: paste the key on one line.');
	} else if (authentication !== 'none') {
		problems.push(`Authentication "${authentication}" is not one of None, Bearer Token or Custom Header.`);
	}
	const secret = value('signingSecret');
	if (secret !== '' && secret.length < 16) {
		problems.push('Signing Secret is shorter than 16 characters: use a long random value (for example 32 random characters) so the signature cannot be guessed.');
	}
	return problems;
}
