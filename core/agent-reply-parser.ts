/**
 * What an external agent answers, read leniently into canonical messages (SPEC §4, §5).
 * Shared by Call External Agent (the agent's HTTP response) and the trigger's reply
 * callbacks (a POST the agent makes later), so both accept exactly the same forms.
 *
 * Accepted (any of these, or a list mixing them):
 * - a plain string → one text message (a string that is itself JSON text is read as JSON);
 * - `{"type": "message", "content": X}`, `{"content": X}` where X is any accepted form;
 * - `{"messages": [ … ]}` (also `replies`);
 * - a canonical message as is: `{"type": "text", "text": "…"}`, `{"type": "image", "url": …}` …;
 * - shorthands `{"image": url, "caption"}`, `{"video": url}`, `{"audio": url}`,
 *   `{"document": url, "filename"}`, `{"sticker": url}`, `{"location": {…}}`,
 *   `{"contact": {"name", "phone"}}`, `{"contacts": [ … ]}`;
 * - common agent-framework shapes: `{"reply"|"response"|"answer"|"output"|"text"|"message": X}`
 *   (LangServe's `output`, Dify's `answer`, Flowise's `text` …), a chat message
 *   `{"role": "assistant", "content": …}` or LangChain's `{"type": "ai", "content": …}`,
 *   an OpenAI chat completion (`choices[0].message.content`), and Cloud API-shaped messages
 *   (`{"type": "text", "text": {"body": …}}`, `{"type": "image", "image": {"link": …}}`).
 *
 * No reply: an empty body, HTTP 204, JSON `null`, `{"type": "no_reply"}`, `{"noReply": true}`,
 * an empty list, or the content "No CUSTOMER message reply" (trimmed, exact).
 *
 * Handoff (SPEC §10): `{"type": "handoff", "reason"?: "…", "message"?: "…" | message}` (also
 * inside a list): the agent asks for a human. `message`, when given, is what the customer is
 * told (any accepted form); without one the customer gets nothing from the agent.
 */
import { CANONICAL_MESSAGE_TYPES, MEDIA_TYPES, parseCanonicalMessages, type CanonicalMessage } from './canonical-message';

export interface AgentReply {
	noReply: boolean;
	messages: CanonicalMessage[];
	/** Present when the agent asked for a human (`{"type": "handoff"}`). */
	handoff?: AgentHandoff;
}

export interface AgentHandoff {
	/** Why, in the agent's words (null when it gave none). */
	reason: string | null;
}

/** The exact content an agent sends to say "do not answer the customer" (BYOA convention). */
export const NO_REPLY_TEXT = 'No CUSTOMER message reply';

const EXCERPT_CHARS = 500;

const ACCEPTED_FORMS =
	'plain text; {"content": "…"}; {"type": "message", "content": "…"}; {"messages": [ … ]}; ' +
	'a message object such as {"type": "text", "text": "…"}; {"image": "https://…", "caption": "…"}, ' +
	'{"video": url}, {"audio": url}, {"document": url, "filename": "…"}; {"location": {"latitude", "longitude"}}; ' +
	'{"contact": {"name", "phone"}}; {"reply" | "output" | "answer" | "response" | "text": "…"}; a list of any of these. ' +
	'For no reply: an empty body, status 204, {"type": "no_reply"} or the text "No CUSTOMER message reply"';

/** The agent answered something this package cannot read as messages. Nothing was sent. */
export class AgentReplyFormatError extends Error {
	/** What was received, as text: its first 500 characters. */
	readonly received: string;

	constructor(reason: string, received: string) {
		const truncated = received.length > EXCERPT_CHARS;
		const excerpt = truncated ? received.slice(0, EXCERPT_CHARS) : received;
		super(
			`${reason}. Received: ${excerpt}${truncated ? ' …(truncated)' : ''}. Accepted forms: ${ACCEPTED_FORMS}.`,
		);
		this.name = 'AgentReplyFormatError';
		this.received = excerpt;
	}
}

/** Keys whose value is the reply itself, in the order they are looked at. */
const REPLY_KEYS = ['reply', 'response', 'answer', 'output', 'text', 'message'] as const;
const LIST_KEYS = ['messages', 'replies'] as const;
const MAX_DEPTH = 8;

type Json = unknown;
type Collected = { messages: unknown[]; sawNoReply: boolean; handoff?: AgentHandoff };

/** Thrown inside the walk; turned into AgentReplyFormatError with the whole body as excerpt. */
class Unrecognised {
	constructor(readonly reason: string) {}
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function isCanonicalType(type: string): boolean {
	return (CANONICAL_MESSAGE_TYPES as readonly string[]).includes(type);
}

function isNoReplyType(type: unknown): boolean {
	return typeof type === 'string' && /^no[\s_-]?reply$/i.test(type.trim());
}

function asText(body: unknown): string {
	if (typeof body === 'string') return body;
	if (Buffer.isBuffer(body)) return body.toString('utf8');
	if (body === undefined) return '';
	try {
		return JSON.stringify(body) ?? String(body);
	} catch {
		return String(body);
	}
}

function isJsonContentType(contentType: string | undefined): boolean {
	return contentType !== undefined && /[/+]json\b/i.test(contentType);
}

function looksLikeJson(text: string): boolean {
	return (
		(text.startsWith('{') && text.endsWith('}')) ||
		(text.startsWith('[') && text.endsWith(']')) ||
		(text.startsWith('"') && text.endsWith('"') && text.length >= 2)
	);
}

function looksLikeHtml(text: string, contentType: string | undefined): boolean {
	return (contentType !== undefined && /text\/html/i.test(contentType)) || /^<(!doctype\s+html|html[\s>])/i.test(text);
}

/** A shorthand media value: a URL string, or an object in our shape or the Cloud API's (`link`, `id`). */
function mediaFromShorthand(type: string, value: unknown, holder: Record<string, unknown>): Record<string, unknown> {
	const message: Record<string, unknown> = { type };
	if (isRecord(value)) {
		const { link, id, url, mediaId, ...rest } = value;
		Object.assign(message, rest, { type });
		if (url !== undefined || link !== undefined) message.url = url ?? link;
		if (mediaId !== undefined || id !== undefined) message.mediaId = mediaId ?? id;
	} else {
		message.url = value;
	}
	for (const key of ['caption', 'filename', 'voice'] as const) {
		if (holder[key] !== undefined && message[key] === undefined) message[key] = holder[key];
	}
	return message;
}

/** `{"type": X, X: {…}}` as the Cloud API writes messages, or a near miss of the canonical shape. */
function fromTypedObject(type: string, value: Record<string, unknown>): Record<string, unknown> {
	if (type === 'text') {
		if (isRecord(value.text) && typeof value.text.body === 'string') {
			const previewUrl = value.text.preview_url ?? value.text.previewUrl;
			return { type, text: value.text.body, ...(typeof previewUrl === 'boolean' ? { previewUrl } : {}) };
		}
		if (value.text === undefined && typeof value.content === 'string') return { type, text: value.content };
		return value;
	}
	if ((MEDIA_TYPES as readonly string[]).includes(type) && isRecord(value[type])) {
		return mediaFromShorthand(type, value[type], {});
	}
	if (type === 'location' && isRecord(value.location) && value.latitude === undefined) {
		return { type, ...value.location };
	}
	return value;
}

function collect(value: Json, into: Collected, depth: number): void {
	if (depth > MAX_DEPTH) throw new Unrecognised('The agent\'s reply is nested too deeply to read');
	if (value === null || value === undefined) {
		if (depth === 0) into.sawNoReply = true;
		else throw new Unrecognised('The agent\'s reply contains an empty (null) entry where a message was expected');
		return;
	}
	if (typeof value === 'string') {
		const text = value.trim();
		if (text === '' || text === NO_REPLY_TEXT) into.sawNoReply = true;
		else into.messages.push({ type: 'text', text });
		return;
	}
	if (Array.isArray(value)) {
		if (value.length === 0) into.sawNoReply = true;
		for (const entry of value) collect(entry, into, depth + 1);
		return;
	}
	if (!isRecord(value)) {
		throw new Unrecognised(`The agent's reply is a ${typeof value}, not text or a message`);
	}
	collectObject(value, into, depth);
}

function collectObject(value: Record<string, unknown>, into: Collected, depth: number): void {
	const { type } = value;
	if (isNoReplyType(type) || value.noReply === true || value.no_reply === true) {
		into.sawNoReply = true;
		return;
	}
	if (type === 'message' && value.content !== undefined) {
		collect(value.content, into, depth + 1);
		return;
	}
	if (typeof type === 'string' && /^hand[\s_-]?off$/i.test(type.trim())) {
		const reason = typeof value.reason === 'string' && value.reason.trim() !== '' ? value.reason.trim() : null;
		into.handoff = { reason: into.handoff?.reason ?? reason };
		const said = value.message ?? value.content;
		if (said !== undefined && said !== null) collect(said, into, depth + 1);
		return;
	}
	if (typeof type === 'string' && isCanonicalType(type)) {
		into.messages.push(fromTypedObject(type, value));
		return;
	}
	for (const key of LIST_KEYS) {
		if (value[key] !== undefined) {
			collect(value[key], into, depth + 1);
			return;
		}
	}
	// {"content": …}, a chat message {"role": "assistant", "content": …}, LangChain's {"type": "ai", "content": …}
	if (value.content !== undefined) {
		collect(value.content, into, depth + 1);
		return;
	}
	// An OpenAI-style chat completion.
	if (Array.isArray(value.choices) && isRecord(value.choices[0])) {
		const choice = value.choices[0];
		const message = isRecord(choice.message) ? choice.message.content : choice.text;
		if (message !== undefined) {
			collect(message, into, depth + 1);
			return;
		}
	}
	const found: unknown[] = [];
	const replyKey = REPLY_KEYS.find((key) => value[key] !== undefined && value[key] !== null);
	const attachments: unknown[] = [];
	for (const media of MEDIA_TYPES) {
		if (value[media] !== undefined && value[media] !== null) attachments.push(mediaFromShorthand(media, value[media], value));
	}
	if (isRecord(value.location)) attachments.push({ type: 'location', ...value.location });
	if (isRecord(value.contact)) attachments.push({ type: 'contacts', contacts: [value.contact] });
	if (Array.isArray(value.contacts)) attachments.push({ type: 'contacts', contacts: value.contacts });

	if (replyKey === undefined && attachments.length === 0) {
		const keys = Object.keys(value);
		throw new Unrecognised(
			typeof type === 'string'
				? `The agent's reply has "type": ${JSON.stringify(type)}, which is not a message type (${CANONICAL_MESSAGE_TYPES.join(', ')}), "message" or "no_reply"`
				: keys.length === 0
					? 'The agent\'s reply is an empty JSON object'
					: `The agent's reply has none of the fields this node reads (it has: ${keys.slice(0, 10).join(', ')})`,
		);
	}
	if (replyKey !== undefined) {
		const nested: Collected = { messages: [], sawNoReply: false };
		collect(value[replyKey], nested, depth + 1);
		if (nested.handoff) into.handoff = nested.handoff;
		found.push(...nested.messages);
		if (nested.sawNoReply && attachments.length === 0) into.sawNoReply = true;
	}
	into.messages.push(...found, ...attachments);
}

/** Turns the raw body into a JSON value or a plain string, as the agent meant it. */
function decodeBody(body: unknown, contentType: string | undefined): { value: Json } | { empty: true } {
	if (body === undefined || body === null) return body === null ? { value: null } : { empty: true };
	let text: string;
	if (Buffer.isBuffer(body)) text = body.toString('utf8').replace(/^\uFEFF/, '');
	else if (body instanceof Uint8Array) text = Buffer.from(body).toString('utf8').replace(/^\uFEFF/, '');
	else if (typeof body === 'string') text = body;
	else return { value: body };

	const trimmed = text.trim();
	if (trimmed === '') return { empty: true };
	const declaredJson = isJsonContentType(contentType);
	if (declaredJson || looksLikeJson(trimmed)) {
		let parsed: { value: Json } | undefined;
		try {
			parsed = { value: JSON.parse(trimmed) as Json };
		} catch {
			parsed = undefined;
		}
		if (parsed) return parsed;
		throw new AgentReplyFormatError(
			declaredJson
				? 'The agent said its reply is JSON (Content-Type) but it is not valid JSON'
				: 'The agent\'s reply looks like JSON but is not valid JSON',
			text,
		);
	}
	if (looksLikeHtml(trimmed, contentType)) {
		throw new AgentReplyFormatError(
			'The agent answered with an HTML page, not a reply (is the URL right, or is a login or error page in front of the agent?)',
			text,
		);
	}
	return { value: text };
}

/**
 * Reads an agent's answer. Throws AgentReplyFormatError for a shape it does not recognise
 * (with what was received), WhatsAppValidationError when a recognised message is invalid
 * (naming the field, e.g. `messages[1].url`).
 */
export function parseAgentReply(body: unknown, meta: { statusCode?: number; contentType?: string } = {}): AgentReply {
	if (meta.statusCode === 204) return { noReply: true, messages: [] };
	const decoded = decodeBody(body, meta.contentType);
	if ('empty' in decoded) return { noReply: true, messages: [] };

	const collected: Collected = { messages: [], sawNoReply: false };
	let failure: unknown;
	try {
		collect(decoded.value, collected, 0);
	} catch (error) {
		failure = error;
	}
	if (failure instanceof Unrecognised) throw new AgentReplyFormatError(failure.reason, asText(body));
	if (failure !== undefined) throw failure;

	const handoff = collected.handoff ? { handoff: collected.handoff } : {};
	if (collected.messages.length === 0) return { noReply: true, messages: [], ...handoff };
	return { noReply: false, messages: parseCanonicalMessages(collected.messages, 'messages'), ...handoff };
}
