/**
 * A fake Meta Graph API (WhatsApp Cloud API) — a real HTTP server on loopback that every
 * node test and the real-n8n end-to-end suite point the `whatsAppCloudApi` credential at.
 * It follows /work/shared/reference/whatsapp-cloud-api.md §3–§8: same paths, same
 * validation codes, same error body shape, same statuses.
 *
 * ## Start / stop
 *   const fake = await startFakeGraphApi();            // options: see FakeGraphApiOptions
 *   fake.baseUrl                                        // http://127.0.0.1:<port> (the credential's graphApiBaseUrl)
 *   fake.credentials()                                  // {accessToken, phoneNumberId, businessAccountId, apiVersion, graphApiBaseUrl}
 *   fake.url('106540352242922/messages')                // `${baseUrl}/v24.0/106540352242922/messages`
 *   fake.reset();  await fake.close();
 *   Options: token, phoneNumbers [{id, displayPhoneNumber, verifiedName}], host, port, fileSizeAs
 *   ('number' | 'string'), mediaUrlBase, pairRateLimit {maxMessages, perMs} (→ 131056), templates
 *   [{name, language, bodyParameters?}] (→ 132001 / 132000), sniffMedia (magic bytes → 131053).
 *   Length limits count characters as Unicode code points (an emoji is one character).
 *   Defaults: token FAKE_TOKEN, one phone number FAKE_PHONE_NUMBER_ID (display FAKE_DISPLAY_PHONE_NUMBER,
 *   name FAKE_VERIFIED_NAME), WABA FAKE_WABA_ID, version FAKE_API_VERSION (any version is accepted).
 *
 * ## Routes (any /v<digits>.<digits>/ prefix; Authorization: Bearer <token> required → else 401, code 190)
 *   POST /{phone-number-id}/messages   route 'messages'       a send: validated (131008 missing, 100 unknown
 *                                                            field or over a length limit, 131009 bad value),
 *                                                            → {messaging_product, contacts:[{input, wa_id}], messages:[{id}]}
 *                                                            and recorded in `sent`
 *   POST /{phone-number-id}/messages   route 'messages.read'  body with `status`: mark as read (+ typing_indicator)
 *                                                            → {success: true}, recorded in `reads`; bad wamid → 131009
 *   POST /{phone-number-id}/media      route 'media.upload'   multipart (parsed): messaging_product=whatsapp + file part,
 *                                                            supported MIME and size (§4) else 131053 → {id}; bytes in `media`
 *   GET  /{phone-number-id}?fields=…   route 'phoneNumber.get' → {display_phone_number, verified_name, …, id}
 *   GET  /{media-id}                   route 'media.info'     → {messaging_product, url, mime_type, sha256, file_size, id}
 *   DELETE /{media-id}                 route 'media.delete'   → {success: true}
 *   GET  /lookaside/whatsapp_business/attachments/?mid=<id>   (no version) route 'media.download':
 *                                                            the bytes with Content-Type; needs the Bearer token, else 404
 *   Anything else → 400, code 100 (subcode 33) like Meta's "Unsupported get request".
 *
 * ## Recording
 *   fake.requests   every request, in order: {method, url, path, version, query, headers (all of them,
 *                   lower-cased), body (Buffer), json, route, status | dropped, fault, at}
 *   fake.sent       every accepted message send, in order: {id, phoneNumberId, to, waId, recipient, type, payload, version, at}
 *   fake.reads      every accepted mark-as-read: {phoneNumberId, messageId, typing, at}
 *   fake.media      Map id → {id, data, mimeType, sha256, fileSize, filename, phoneNumberId, uploadedAt}
 *   fake.requestsTo('messages')  requests that matched a route
 *
 * ## Fault injection (queued, first in first out among the faults that match a request)
 *   fake.fail({ status: 500 })                                    next routed request → 500, code 131000
 *   fake.fail({ status: 429, code: 130429, retryAfter: 2 })       with a Retry-After header
 *   fake.fail({ code: 131047 }, { route: 'messages' })            status from the code (reference §6.2) → 400
 *   fake.fail({ drop: true })                                     destroy the socket without answering
 *   fake.fail({ delayMs: 200 })                                   wait, then answer normally
 *   fake.fail({ body: '<html>Bad gateway</html>', status: 502 })  a non-Meta body (contentType optional)
 *   fake.fail(fault, { times: 3 })                                the next 3 matching requests (Infinity: until cleared)
 *   fake.failAfter(2, { code: 131000 }, { route: 'messages' })    the 3rd message send fails (2 succeed first)
 *   fake.clearFaults()
 *   Fault fields: status, code, subcode, title, details, message (whole error.message), retryAfter,
 *   headers, body, contentType, drop, delayMs. A route option is a route name, a list of them or a predicate.
 *
 * ## State
 *   fake.setToken('new')            the token the fake accepts (the old one then gets 401/190)
 *   fake.addMedia(bytes, 'image/jpeg', {filename?, phoneNumberId?, id?}) → media id (for inbound-media tests)
 *   fake.setMediaUrlBase(url)       where media info points downloads (default: the fake itself); e.g. a
 *                                   foreign host, to check that the token never goes there
 *   fake.addRoute({name, method, path: /^…$/, versioned?, auth?, when?, handle}) extra routes, tried before
 *                                   the built-in ones (webhook overrides, subscribed_apps… later); `handle`
 *                                   gets the recorded request plus `params` (the path's capture groups) and
 *                                   returns {status?, json? | body?, headers?}; `metaError(code, {details})`
 *                                   builds Meta's error reply. Added routes survive reset().
 *   Faults only hit requests that matched a route (unknown paths are never faulted).
 *
 * Error bodies are Meta's (reference §6.1):
 *   {error: {message: "(#<code>) <title>", type: "OAuthException", code, error_subcode?,
 *            error_data: {messaging_product: "whatsapp", details}, fbtrace_id}}
 */
import { createHash, randomBytes } from 'crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

export const FAKE_TOKEN = 'fake-graph-api-token';
export const FAKE_PHONE_NUMBER_ID = '106540352242922';
export const FAKE_DISPLAY_PHONE_NUMBER = '15550783881';
export const FAKE_VERIFIED_NAME = 'Fake Test Business';
export const FAKE_WABA_ID = '102290129340398';
export const FAKE_API_VERSION = 'v24.0';

export interface FakePhoneNumber {
	id: string;
	displayPhoneNumber: string;
	verifiedName: string;
	qualityRating?: string;
}

export interface FakeTemplate {
	name: string;
	/** e.g. en_US */
	language: string;
	/** Number of body placeholders ({{1}}…): a different count → 132000. */
	bodyParameters?: number;
}

export interface FakeGraphApiOptions {
	/** The access token the fake accepts. Default FAKE_TOKEN. */
	token?: string;
	/** Business phone numbers the fake knows (GET /{id}). Default one: FAKE_PHONE_NUMBER_ID. */
	phoneNumbers?: FakePhoneNumber[];
	host?: string;
	port?: number;
	/** How media info gives `file_size` (Meta's docs say string, examples show numbers). Default number. */
	fileSizeAs?: 'number' | 'string';
	/** Base URL of download links in media info. Default: the fake's own baseUrl. */
	mediaUrlBase?: string;
	/** Meta's pair rate limit: more than `maxMessages` to one recipient within `perMs` → 131056. Off by default. */
	pairRateLimit?: { maxMessages: number; perMs: number };
	/** When given, only these templates exist (else 132001); body parameter counts are checked (132000). */
	templates?: FakeTemplate[];
	/** Check uploaded bytes look like the declared MIME type (JPEG, PNG, WebP, PDF, OGG, MP4) → else 131053. Off by default. */
	sniffMedia?: boolean;
}

export interface Fault {
	/** HTTP status. Default: from `code` (reference §6.2), else 500. */
	status?: number;
	/** Meta error code. Default: from `status` (400→100, 401→190, 403→10, 429→130429, 500→131000, 503→131016). */
	code?: number;
	subcode?: number;
	/** Default: Meta's title for the code. */
	title?: string;
	/** Default: Meta's details text for the code. */
	details?: string;
	/** Replaces error.message entirely (default "(#<code>) <title>"). */
	message?: string;
	/** Retry-After header: seconds, or an HTTP date string. */
	retryAfter?: number | string;
	headers?: Record<string, string>;
	/** A raw answer instead of a Meta error body (an HTML proxy page, say). Objects are sent as JSON. */
	body?: string | Buffer | Record<string, unknown> | unknown[];
	contentType?: string;
	/** Destroy the connection without answering. */
	drop?: boolean;
	/** Wait this long first. Alone (no status, code, body or drop): then answer normally. */
	delayMs?: number;
}

export type RouteMatcher = string | string[] | ((request: RecordedRequest) => boolean);

export interface FaultOptions {
	/** Which requests the fault applies to (default: any routed request). */
	route?: RouteMatcher;
	/** How many matching requests get the fault (default 1). */
	times?: number;
	/** Let this many matching requests through first. */
	after?: number;
}

export interface RecordedRequest {
	method: string;
	/** As received: path and query string. */
	url: string;
	/** Path after the version prefix (e.g. `/106540352242922/messages`), or the whole path when unversioned. */
	path: string;
	/** e.g. v24.0; undefined for unversioned paths (downloads). */
	version?: string;
	query: Record<string, string>;
	/** Every header as received, names lower-cased. */
	headers: IncomingHttpHeaders;
	body: Buffer;
	/** The parsed JSON body, when it was JSON. */
	json?: unknown;
	/** The route that matched, if any. */
	route?: string;
	status?: number;
	dropped?: boolean;
	fault?: Fault;
	at: number;
}

export interface SentMessage {
	/** The wamid the fake answered with. */
	id: string;
	phoneNumberId: string;
	/** `to` as sent. */
	to?: string;
	/** `to` normalised (no +, spaces, dashes, brackets, dots). */
	waId?: string;
	/** A business-scoped user id sent as `recipient`. */
	recipient?: string;
	type: string;
	payload: Record<string, unknown>;
	version: string;
	at: number;
}

export interface ReadReceipt {
	phoneNumberId: string;
	messageId: string;
	typing: boolean;
	at: number;
}

export interface StoredMedia {
	id: string;
	data: Buffer;
	mimeType: string;
	/** hex SHA-256 of the bytes */
	sha256: string;
	fileSize: number;
	filename?: string;
	phoneNumberId?: string;
	uploadedAt: number;
}

export interface FakeReply {
	status?: number;
	/** Sent as JSON. */
	json?: unknown;
	/** Sent as is. */
	body?: Buffer | string;
	headers?: Record<string, string>;
}

export interface FakeRouteRequest extends RecordedRequest {
	/** Capture groups of the route's path pattern. */
	params: string[];
}

export interface FakeRoute {
	name: string;
	method: string;
	/** Matched against RecordedRequest.path. */
	path: RegExp;
	/** Under a /vX.Y/ prefix (default true). */
	versioned?: boolean;
	/** 'graph': Bearer token or 401/190 (default); 'download': Bearer token or 404; 'none'. */
	auth?: 'graph' | 'download' | 'none';
	when?: (request: RecordedRequest) => boolean;
	handle: (request: FakeRouteRequest) => FakeReply | Promise<FakeReply>;
}

export interface FakeGraphApi {
	readonly baseUrl: string;
	readonly token: string;
	readonly phoneNumberId: string;
	readonly requests: RecordedRequest[];
	readonly sent: SentMessage[];
	readonly reads: ReadReceipt[];
	readonly media: Map<string, StoredMedia>;
	url(path: string, version?: string): string;
	credentials(overrides?: Record<string, string>): Record<string, string>;
	requestsTo(route: string): RecordedRequest[];
	fail(fault: Fault, options?: FaultOptions): void;
	failAfter(n: number, fault: Fault, options?: Omit<FaultOptions, 'after'>): void;
	clearFaults(): void;
	setToken(token: string): void;
	addMedia(data: Buffer, mimeType: string, options?: { filename?: string; phoneNumberId?: string; id?: string }): string;
	setMediaUrlBase(url: string | undefined): void;
	addRoute(route: FakeRoute): void;
	/** Forget requests, sent messages, reads, media, faults, rate state; restore the initial token and media URL base. */
	reset(): void;
	close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Meta's errors (reference §6.2 statuses, §6.3 meanings)

interface CatalogEntry {
	status: number;
	title: string;
	details: string;
}

export const META_ERRORS: Readonly<Record<number, CatalogEntry>> = {
	0: { status: 401, title: 'AuthException', details: 'We were unable to authenticate the app user.' },
	1: { status: 400, title: 'API Unknown', details: 'Invalid request or possible server error.' },
	2: { status: 503, title: 'API Service', details: 'Temporary due to downtime or due to being overloaded.' },
	3: { status: 500, title: 'API Method', details: 'Capability or permissions issue.' },
	4: { status: 400, title: 'Too many calls', details: 'The app has reached its API call rate limit.' },
	10: { status: 403, title: 'Permission denied', details: 'Permission is either not granted or has been removed.' },
	100: { status: 400, title: 'Invalid parameter', details: 'Invalid parameter' },
	190: { status: 401, title: 'Access token has expired', details: 'Error validating access token: Session has expired or the token is invalid.' },
	200: { status: 403, title: 'API Permission', details: 'Permission is either not granted or has been removed.' },
	368: { status: 403, title: 'Temporarily blocked for policies violations', details: 'The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.' },
	80007: { status: 400, title: 'Rate limit issues', details: 'The WhatsApp Business Account has reached its rate limit.' },
	130429: { status: 400, title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.' },
	130472: { status: 400, title: "User's number is part of an experiment", details: "Message was not sent as part of an experiment." },
	130497: { status: 403, title: 'Business account is restricted from messaging users in this country', details: 'The business is restricted from messaging users in this country.' },
	131000: { status: 500, title: 'Something went wrong', details: 'Message failed to send due to an unknown error.' },
	131005: { status: 400, title: 'Access denied', details: 'Permission is either not granted or has been removed.' },
	131008: { status: 400, title: 'Required parameter is missing', details: 'The request is missing a required parameter.' },
	131009: { status: 400, title: 'Parameter value is not valid', details: 'One or more parameter values are invalid.' },
	131016: { status: 503, title: 'Service unavailable', details: 'A service is temporarily unavailable.' },
	131021: { status: 400, title: 'Recipient cannot be sender', details: 'Sender and recipient phone number is the same.' },
	131026: { status: 400, title: 'Message undeliverable', details: 'Unable to deliver message.' },
	131030: { status: 400, title: 'Recipient phone number not in allowed list', details: 'Recipient phone number not in allowed list: add recipient phone number to recipient list and try again.' },
	131031: { status: 403, title: 'Account has been locked', details: 'The WhatsApp Business Account is restricted or disabled because of a policy violation, or data shared with Meta could not be verified.' },
	131042: { status: 400, title: 'Business eligibility payment issue', details: 'Message failed to send because there were one or more errors related to your payment method.' },
	131045: { status: 400, title: 'Incorrect certificate', details: 'Message failed to send due to a phone number registration error.' },
	131047: { status: 400, title: 'Re-engagement message', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
	131048: { status: 400, title: 'Spam rate limit hit', details: 'Message failed to send because there are restrictions on how many messages can be sent from this phone number.' },
	131049: { status: 400, title: 'Meta chose not to deliver', details: 'This message was not delivered to maintain healthy ecosystem engagement.' },
	131050: { status: 400, title: 'User has stopped marketing messages', details: 'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.' },
	131051: { status: 400, title: 'Unsupported message type', details: 'Message type is currently not supported.' },
	131052: { status: 400, title: 'Media download error', details: 'Unable to download the media sent by the user.' },
	131053: { status: 400, title: 'Media upload error', details: 'Unable to upload the media used in the message.' },
	131056: { status: 400, title: '(Business Account, Consumer Account) pair rate limit hit', details: 'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.' },
	131057: { status: 400, title: 'Account in maintenance mode', details: 'Business Account is in maintenance mode.' },
	132000: { status: 400, title: 'Number of parameters does not match the expected number of params', details: 'The number of variable parameter values included in the request did not match the number of variable parameters defined in the template.' },
	132001: { status: 400, title: 'Template name does not exist in the translation', details: 'The template does not exist in the specified language or the template has not been approved.' },
	132005: { status: 400, title: 'Translated text too long', details: 'Translated text is too long.' },
	132007: { status: 400, title: 'Template format character policy violated', details: 'Template content violates a WhatsApp policy.' },
	132012: { status: 400, title: 'Parameter format does not match format in the created template', details: 'Variable parameter values formatted incorrectly.' },
	132015: { status: 400, title: 'Template is paused', details: 'Template is paused due to low quality so it cannot be sent in a template message.' },
	132016: { status: 400, title: 'Template is disabled', details: 'Template has been paused too many times due to low quality and is now permanently disabled.' },
	133004: { status: 503, title: 'Server temporarily unavailable', details: 'Server is temporarily unavailable.' },
	133010: { status: 400, title: 'Phone number not registered', details: 'Phone number not registered on the WhatsApp Business Platform.' },
	135000: { status: 400, title: 'Generic user error', details: 'Message failed to send because of an unknown error with your request parameters.' },
};

function defaultCodeForStatus(status: number): number {
	if (status === 401) return 190;
	if (status === 403) return 10;
	if (status === 429) return 130429;
	if (status === 500) return 131000;
	if (status === 503) return 131016;
	if (status >= 500) return 2;
	return 100;
}

function fbtraceId(): string {
	return `A${randomBytes(15).toString('base64').replace(/[+/=]/g, 'x')}`;
}

/** A reply carrying a Meta-shaped error body. */
export function metaError(
	code: number,
	options: { status?: number; title?: string; details?: string; subcode?: number; message?: string; headers?: Record<string, string> } = {},
): FakeReply {
	const known = META_ERRORS[code];
	const status = options.status ?? known?.status ?? (code >= 200 && code <= 299 ? 403 : 400);
	const title = options.title ?? known?.title ?? 'Error';
	const error: Record<string, unknown> = {
		message: options.message ?? `(#${code}) ${title}`,
		type: 'OAuthException',
		code,
		error_data: { messaging_product: 'whatsapp', details: options.details ?? known?.details ?? title },
	};
	if (options.subcode !== undefined) error.error_subcode = options.subcode;
	error.fbtrace_id = fbtraceId();
	const headers: Record<string, string> = { ...options.headers };
	if (status === 401) headers['www-authenticate'] = 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"';
	return { status, json: { error }, headers };
}

function faultReply(fault: Fault): FakeReply {
	const headers: Record<string, string> = { ...fault.headers };
	if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
	if (fault.body !== undefined) {
		const status = fault.status ?? 500;
		if (typeof fault.body === 'string' || Buffer.isBuffer(fault.body)) {
			headers['content-type'] = fault.contentType ?? 'text/html; charset=utf-8';
			return { status, body: fault.body, headers };
		}
		if (fault.contentType) headers['content-type'] = fault.contentType;
		return { status, json: fault.body, headers };
	}
	const code = fault.code ?? defaultCodeForStatus(fault.status ?? 500);
	return metaError(code, {
		status: fault.status,
		title: fault.title,
		details: fault.details,
		subcode: fault.subcode,
		message: fault.message,
		headers,
	});
}

// ---------------------------------------------------------------------------------------
// multipart/form-data parsing (real parsing: the upload route depends on it)

export interface MultipartPart {
	name: string;
	filename?: string;
	contentType?: string;
	headers: Record<string, string>;
	data: Buffer;
}

/** Decodes `%XX` byte escapes (RFC 7578 §4.2) and reads the bytes as UTF-8; leaves other `%` alone. */
function percentDecode(value: string): string {
	if (!/%[0-9A-Fa-f]{2}/.test(value)) return value;
	const bytes: number[] = [];
	for (let index = 0; index < value.length; index++) {
		const char = value[index];
		if (char === '%' && /^[0-9A-Fa-f]{2}$/.test(value.slice(index + 1, index + 3))) {
			bytes.push(parseInt(value.slice(index + 1, index + 3), 16));
			index += 2;
		} else {
			bytes.push(...Buffer.from(char, 'utf8'));
		}
	}
	return Buffer.from(bytes).toString('utf8');
}

function dispositionParameters(header: string): Record<string, string> {
	const result: Record<string, string> = {};
	const pattern = /;\s*([A-Za-z0-9*_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
	for (let match = pattern.exec(header); match; match = pattern.exec(header)) {
		const raw = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
		result[match[1].toLowerCase()] = raw;
	}
	return result;
}

/** Parses a multipart/form-data body. Throws on anything malformed. */
export function parseMultipart(body: Buffer, contentTypeHeader: string): MultipartPart[] {
	const boundaryMatch = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentTypeHeader);
	if (!/^multipart\/form-data/i.test(contentTypeHeader.trim()) || !boundaryMatch) {
		throw new Error('not multipart/form-data with a boundary');
	}
	const boundary = boundaryMatch[1] ?? boundaryMatch[2];
	const delimiter = Buffer.from(`--${boundary}`, 'latin1');
	const parts: MultipartPart[] = [];
	let position = body.indexOf(delimiter);
	if (position < 0) throw new Error('boundary not found');
	for (;;) {
		position += delimiter.length;
		if (body.subarray(position, position + 2).toString('latin1') === '--') break;
		if (body.subarray(position, position + 2).toString('latin1') !== '\r\n') throw new Error('bad delimiter line');
		position += 2;
		const headerEnd = body.indexOf('\r\n\r\n', position, 'latin1');
		if (headerEnd < 0) throw new Error('part headers not terminated');
		const headers: Record<string, string> = {};
		for (const line of body.subarray(position, headerEnd).toString('utf8').split('\r\n')) {
			const colon = line.indexOf(':');
			if (colon <= 0) throw new Error(`bad part header line: ${line}`);
			headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
		}
		const dataStart = headerEnd + 4;
		const next = body.indexOf(Buffer.concat([Buffer.from('\r\n', 'latin1'), delimiter]), dataStart);
		if (next < 0) throw new Error('closing boundary not found');
		const disposition = headers['content-disposition'] ?? '';
		if (!/^form-data\b/i.test(disposition)) throw new Error('part without Content-Disposition: form-data');
		const parameters = dispositionParameters(disposition);
		if (parameters.name === undefined) throw new Error('part without a name');
		const part: MultipartPart = {
			name: percentDecode(parameters.name),
			headers,
			data: Buffer.from(body.subarray(dataStart, next)),
		};
		if (parameters.filename !== undefined) part.filename = percentDecode(parameters.filename);
		if (headers['content-type']) part.contentType = headers['content-type'];
		parts.push(part);
		position = next + 2;
	}
	return parts;
}

// ---------------------------------------------------------------------------------------
// Validation of POST /{phone-number-id}/messages (reference §3, §5, §8.6)

class Problem {
	constructor(
		readonly code: number,
		readonly details: string,
	) {}
}

const SUPPORTED_MEDIA: Record<string, { kind: string; maxBytes: number }> = {
	'image/jpeg': { kind: 'image', maxBytes: 5 * 1024 * 1024 },
	'image/png': { kind: 'image', maxBytes: 5 * 1024 * 1024 },
	'image/webp': { kind: 'sticker', maxBytes: 500 * 1024 },
	'video/mp4': { kind: 'video', maxBytes: 16 * 1024 * 1024 },
	'video/3gpp': { kind: 'video', maxBytes: 16 * 1024 * 1024 },
	'audio/aac': { kind: 'audio', maxBytes: 16 * 1024 * 1024 },
	'audio/amr': { kind: 'audio', maxBytes: 16 * 1024 * 1024 },
	'audio/mpeg': { kind: 'audio', maxBytes: 16 * 1024 * 1024 },
	'audio/mp4': { kind: 'audio', maxBytes: 16 * 1024 * 1024 },
	'audio/ogg': { kind: 'audio', maxBytes: 16 * 1024 * 1024 },
	'text/plain': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/pdf': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/msword': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/vnd.ms-excel': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/vnd.ms-powerpoint': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
	'application/vnd.openxmlformats-officedocument.presentationml.presentation': { kind: 'document', maxBytes: 100 * 1024 * 1024 },
};

const MAGIC: Record<string, (data: Buffer) => boolean> = {
	'image/jpeg': (d) => d[0] === 0xff && d[1] === 0xd8 && d[2] === 0xff,
	'image/png': (d) => d.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
	'image/webp': (d) => d.subarray(0, 4).toString('latin1') === 'RIFF' && d.subarray(8, 12).toString('latin1') === 'WEBP',
	'application/pdf': (d) => d.subarray(0, 5).toString('latin1') === '%PDF-',
	'audio/ogg': (d) => d.subarray(0, 4).toString('latin1') === 'OggS',
	'video/mp4': (d) => d.subarray(4, 8).toString('latin1') === 'ftyp',
};

const MESSAGE_TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'reaction', 'template'] as const;
const MEDIA_MESSAGE_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);
const SEND_KEYS = new Set(['messaging_product', 'recipient_type', 'to', 'recipient', 'context', 'biz_opaque_callback_data', 'type', ...MESSAGE_TYPES]);
const READ_KEYS = new Set(['messaging_product', 'status', 'message_id', 'typing_indicator']);
const WAMID = /^wamid\.[A-Za-z0-9+/=_-]{4,}$/;
const INTERACTIVE_TYPES = new Set(['button', 'list', 'cta_url', 'product', 'product_list', 'catalog_message', 'flow', 'location_request_message', 'address_message', 'call_permission_request', 'voice_call']);

type Path = Array<string | number>;

/** Meta's way of naming a nested parameter: text['body'], interactive['action']['buttons'][0]. */
function param(path: Path): string {
	const [head, ...rest] = path;
	return String(head) + rest.map((key) => (typeof key === 'number' ? `[${key}]` : `['${key}']`)).join('');
}

function chars(value: string): number {
	return [...value].length;
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function required(value: unknown, path: Path): void {
	if (value === undefined || value === null) throw new Problem(131008, `The parameter ${param(path)} is required.`);
}

function object(value: unknown, path: Path): Record<string, unknown> {
	required(value, path);
	if (!isObject(value)) throw new Problem(100, `Param ${param(path)} must be a JSON object.`);
	return value;
}

function string(value: unknown, path: Path, options: { max?: number; required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
	if (value === undefined || value === null) {
		if (options.required) required(value, path);
		return undefined;
	}
	if (typeof value !== 'string') throw new Problem(100, `Param ${param(path)} must be a string.`);
	if (options.nonEmpty && value.trim() === '') throw new Problem(131008, `The parameter ${param(path)} is required.`);
	if (options.max !== undefined && chars(value) > options.max) {
		throw new Problem(100, `Param ${param(path)} must be at most ${options.max} characters long.`);
	}
	return value;
}

function array(value: unknown, path: Path, min: number, max: number): unknown[] {
	required(value, path);
	if (!Array.isArray(value)) throw new Problem(100, `Param ${param(path)} must be an array.`);
	if (value.length < min) throw new Problem(100, `Param ${param(path)} must have at least ${min} element${min === 1 ? '' : 's'}.`);
	if (value.length > max) throw new Problem(100, `Param ${param(path)} must have at most ${max} elements.`);
	return value;
}

function onlyKeys(value: Record<string, unknown>, allowed: string[], path: Path): void {
	for (const key of Object.keys(value)) {
		if (!allowed.includes(key)) throw new Problem(100, `Param ${param([...path, key])} is not a valid parameter.`);
	}
}

function httpUrl(value: unknown, path: Path): void {
	const text = string(value, path, { required: true, nonEmpty: true }) as string;
	let valid = false;
	try {
		valid = ['http:', 'https:'].includes(new URL(text).protocol);
	} catch {
		valid = false;
	}
	if (!valid) throw new Problem(131009, `Param ${param(path)} must be a valid http(s) URL.`);
}

function mediaObject(value: unknown, path: Path, type: string, allowCaption: boolean): void {
	const media = object(value, path);
	const allowed = ['id', 'link'];
	if (allowCaption && ['image', 'video', 'document'].includes(type)) allowed.push('caption');
	if (allowCaption && type === 'document') allowed.push('filename');
	if (allowCaption && type === 'audio') allowed.push('voice');
	onlyKeys(media, allowed, path);
	const hasId = media.id !== undefined;
	const hasLink = media.link !== undefined;
	if (hasId && hasLink) throw new Problem(131009, `Param ${param(path)} must have either id or link, not both.`);
	if (!hasId && !hasLink) throw new Problem(131008, `The parameter ${param([...path, 'id'])} or ${param([...path, 'link'])} is required.`);
	if (hasId) string(media.id, [...path, 'id'], { required: true, nonEmpty: true });
	if (hasLink) httpUrl(media.link, [...path, 'link']);
	string(media.caption, [...path, 'caption'], { max: 1024 });
	string(media.filename, [...path, 'filename'], { max: 240 });
	if (media.voice !== undefined && typeof media.voice !== 'boolean') throw new Problem(100, `Param ${param([...path, 'voice'])} must be a boolean.`);
}

function coordinate(value: unknown, path: Path, limit: number): void {
	required(value, path);
	const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	if (typeof number !== 'number' || !Number.isFinite(number) || number < -limit || number > limit) {
		throw new Problem(131009, `Param ${param(path)} must be a number between -${limit} and ${limit}.`);
	}
}

function validateInteractive(value: unknown): void {
	const path: Path = ['interactive'];
	const interactive = object(value, path);
	const kind = string(interactive.type, [...path, 'type'], { required: true }) as string;
	if (!INTERACTIVE_TYPES.has(kind)) throw new Problem(131009, `Param ${param([...path, 'type'])} is not a valid interactive type.`);
	if (!['button', 'list', 'cta_url'].includes(kind)) return;
	onlyKeys(interactive, ['type', 'header', 'body', 'footer', 'action'], path);
	const body = object(interactive.body, [...path, 'body']);
	string(body.text, [...path, 'body', 'text'], { required: true, nonEmpty: true, max: 1024 });
	if (interactive.footer !== undefined) {
		const footer = object(interactive.footer, [...path, 'footer']);
		string(footer.text, [...path, 'footer', 'text'], { required: true, nonEmpty: true, max: 60 });
	}
	if (interactive.header !== undefined) {
		const headerPath: Path = [...path, 'header'];
		const header = object(interactive.header, headerPath);
		const headerType = string(header.type, [...headerPath, 'type'], { required: true }) as string;
		const allowedHeaders = kind === 'list' ? ['text'] : ['text', 'image', 'video', 'document'];
		if (!allowedHeaders.includes(headerType)) throw new Problem(131009, `Param ${param([...headerPath, 'type'])} must be one of {${allowedHeaders.join(', ')}}.`);
		if (headerType === 'text') string(header.text, [...headerPath, 'text'], { required: true, nonEmpty: true, max: 60 });
		else mediaObject(header[headerType], [...headerPath, headerType], headerType, false);
	}
	const actionPath: Path = [...path, 'action'];
	const action = object(interactive.action, actionPath);
	if (kind === 'button') {
		const buttons = array(action.buttons, [...actionPath, 'buttons'], 1, 3);
		const ids = new Set<string>();
		const titles = new Set<string>();
		buttons.forEach((entry, index) => {
			const buttonPath: Path = [...actionPath, 'buttons', index];
			const button = object(entry, buttonPath);
			if (button.type !== 'reply') throw new Problem(131009, `Param ${param([...buttonPath, 'type'])} must be reply.`);
			const reply = object(button.reply, [...buttonPath, 'reply']);
			const id = string(reply.id, [...buttonPath, 'reply', 'id'], { required: true, nonEmpty: true, max: 256 }) as string;
			const title = string(reply.title, [...buttonPath, 'reply', 'title'], { required: true, nonEmpty: true, max: 20 }) as string;
			if (id !== id.trim()) throw new Problem(131009, `Param ${param([...buttonPath, 'reply', 'id'])} must not start or end with spaces.`);
			if (ids.has(id)) throw new Problem(131009, `Param ${param([...buttonPath, 'reply', 'id'])} must be unique.`);
			if (titles.has(title)) throw new Problem(131009, `Param ${param([...buttonPath, 'reply', 'title'])} must be unique.`);
			ids.add(id);
			titles.add(title);
		});
	} else if (kind === 'list') {
		string(action.button, [...actionPath, 'button'], { required: true, nonEmpty: true, max: 20 });
		const sections = array(action.sections, [...actionPath, 'sections'], 1, 10);
		let rows = 0;
		const rowIds = new Set<string>();
		sections.forEach((entry, index) => {
			const sectionPath: Path = [...actionPath, 'sections', index];
			const section = object(entry, sectionPath);
			string(section.title, [...sectionPath, 'title'], { required: sections.length > 1, nonEmpty: sections.length > 1, max: 24 });
			const sectionRows = array(section.rows, [...sectionPath, 'rows'], 1, 10);
			sectionRows.forEach((rowEntry, rowIndex) => {
				const rowPath: Path = [...sectionPath, 'rows', rowIndex];
				const row = object(rowEntry, rowPath);
				const id = string(row.id, [...rowPath, 'id'], { required: true, nonEmpty: true, max: 200 }) as string;
				string(row.title, [...rowPath, 'title'], { required: true, nonEmpty: true, max: 24 });
				string(row.description, [...rowPath, 'description'], { max: 72 });
				if (rowIds.has(id)) throw new Problem(131009, `Param ${param([...rowPath, 'id'])} must be unique.`);
				rowIds.add(id);
			});
			rows += sectionRows.length;
		});
		if (rows > 10) throw new Problem(100, `Param ${param([...actionPath, 'sections'])} must have at most 10 rows in total.`);
	} else {
		if (action.name !== 'cta_url') throw new Problem(131009, `Param ${param([...actionPath, 'name'])} must be cta_url.`);
		const parameters = object(action.parameters, [...actionPath, 'parameters']);
		string(parameters.display_text, [...actionPath, 'parameters', 'display_text'], { required: true, nonEmpty: true, max: 20 });
		httpUrl(parameters.url, [...actionPath, 'parameters', 'url']);
	}
}

function validateTemplate(value: unknown, templates: FakeTemplate[] | undefined): void {
	const path: Path = ['template'];
	const template = object(value, path);
	const name = string(template.name, [...path, 'name'], { required: true, nonEmpty: true, max: 512 }) as string;
	const language = object(template.language, [...path, 'language']);
	const code = string(language.code, [...path, 'language', 'code'], { required: true, nonEmpty: true }) as string;
	if (!/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/.test(code)) throw new Problem(131009, `Param ${param([...path, 'language', 'code'])} is not a valid language code.`);
	if (language.policy !== undefined && language.policy !== 'deterministic') throw new Problem(131009, `Param ${param([...path, 'language', 'policy'])} must be deterministic.`);
	let bodyParameters = 0;
	if (template.components !== undefined) {
		const components = array(template.components, [...path, 'components'], 0, 20);
		components.forEach((entry, index) => {
			const componentPath: Path = [...path, 'components', index];
			const component = object(entry, componentPath);
			const type = string(component.type, [...componentPath, 'type'], { required: true }) as string;
			if (!['header', 'body', 'button', 'footer', 'carousel', 'limited_time_offer'].includes(type)) {
				throw new Problem(131009, `Param ${param([...componentPath, 'type'])} is not a valid component type.`);
			}
			if (type === 'button') {
				string(component.sub_type, [...componentPath, 'sub_type'], { required: true });
				const buttonIndex = component.index;
				required(buttonIndex, [...componentPath, 'index']);
				if (!/^\d$/.test(String(buttonIndex))) throw new Problem(131009, `Param ${param([...componentPath, 'index'])} must be between 0 and 9.`);
			}
			if (component.parameters !== undefined) {
				const parameters = array(component.parameters, [...componentPath, 'parameters'], 0, 100);
				parameters.forEach((parameterEntry, parameterIndex) => {
					const parameterPath: Path = [...componentPath, 'parameters', parameterIndex];
					const parameter = object(parameterEntry, parameterPath);
					const parameterType = string(parameter.type, [...parameterPath, 'type'], { required: true }) as string;
					if (parameterType === 'text') {
						string(parameter.text, [...parameterPath, 'text'], { required: true, max: type === 'header' ? 60 : components.length > 1 ? 1024 : 32768 });
					}
				});
				if (type === 'body') bodyParameters += parameters.length;
			}
		});
	}
	if (templates) {
		const found = templates.find((candidate) => candidate.name === name && candidate.language === code);
		if (!found) throw new Problem(132001, `template name (${name}) does not exist in ${code}`);
		if (found.bodyParameters !== undefined && found.bodyParameters !== bodyParameters) {
			throw new Problem(132000, `body: number of localizable_params (${bodyParameters}) does not match the expected number of params (${found.bodyParameters})`);
		}
	}
}

function validateTypeObject(type: string, body: Record<string, unknown>, templates: FakeTemplate[] | undefined): void {
	const value = body[type];
	if (type === 'text') {
		const text = object(value, ['text']);
		onlyKeys(text, ['body', 'preview_url'], ['text']);
		string(text.body, ['text', 'body'], { required: true, nonEmpty: true, max: 4096 });
		if (text.preview_url !== undefined && typeof text.preview_url !== 'boolean') throw new Problem(100, "Param text['preview_url'] must be a boolean.");
	} else if (MEDIA_MESSAGE_TYPES.has(type)) {
		mediaObject(value, [type], type, true);
	} else if (type === 'location') {
		const location = object(value, ['location']);
		onlyKeys(location, ['latitude', 'longitude', 'name', 'address'], ['location']);
		coordinate(location.latitude, ['location', 'latitude'], 90);
		coordinate(location.longitude, ['location', 'longitude'], 180);
		string(location.name, ['location', 'name'], { max: 1000 });
		string(location.address, ['location', 'address'], { max: 1000 });
	} else if (type === 'contacts') {
		const contacts = array(value, ['contacts'], 1, 257);
		contacts.forEach((entry, index) => {
			const contact = object(entry, ['contacts', index]);
			const name = object(contact.name, ['contacts', index, 'name']);
			string(name.formatted_name, ['contacts', index, 'name', 'formatted_name'], { required: true, nonEmpty: true });
			if (contact.phones !== undefined) {
				array(contact.phones, ['contacts', index, 'phones'], 0, 100).forEach((phone, phoneIndex) => {
					string(object(phone, ['contacts', index, 'phones', phoneIndex]).phone, ['contacts', index, 'phones', phoneIndex, 'phone'], { required: true, nonEmpty: true });
				});
			}
		});
	} else if (type === 'interactive') {
		validateInteractive(value);
	} else if (type === 'reaction') {
		const reaction = object(value, ['reaction']);
		onlyKeys(reaction, ['message_id', 'emoji'], ['reaction']);
		const messageId = string(reaction.message_id, ['reaction', 'message_id'], { required: true, nonEmpty: true }) as string;
		if (!WAMID.test(messageId) || messageId.length > 128) throw new Problem(131009, "Param reaction['message_id'] is not a valid WhatsApp message id.");
		const emoji = string(reaction.emoji, ['reaction', 'emoji'], { required: true });
		if (emoji && [...new Intl.Segmenter().segment(emoji)].length !== 1) throw new Problem(131009, "Param reaction['emoji'] must be a single emoji.");
	} else if (type === 'template') {
		validateTemplate(value, templates);
	}
}

/** Returns the normalised recipient, or throws a Problem. */
function validateSend(body: unknown, templates: FakeTemplate[] | undefined): { type: string; to?: string; waId?: string; recipient?: string } {
	if (!isObject(body)) throw new Problem(100, 'The request body must be a JSON object.');
	if (body.messaging_product === undefined) throw new Problem(131008, 'The parameter messaging_product is required.');
	if (body.messaging_product !== 'whatsapp') throw new Problem(131009, 'Param messaging_product must be whatsapp.');
	const type = body.type === undefined ? 'text' : body.type;
	if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
		throw new Problem(100, `Param type must be one of {${MESSAGE_TYPES.map((name) => name.toUpperCase()).join(', ')}}.`);
	}
	for (const key of Object.keys(body)) {
		if (!SEND_KEYS.has(key)) throw new Problem(100, `Param ${key} is not a valid parameter.`);
	}
	const recipientType = body.recipient_type ?? 'individual';
	if (recipientType !== 'individual' && recipientType !== 'group') throw new Problem(131009, 'Param recipient_type must be one of {individual, group}.');
	const result: { type: string; to?: string; waId?: string; recipient?: string } = { type: 'text' };
	if (body.to === undefined && body.recipient === undefined) throw new Problem(131008, 'The parameter to is required.');
	if (body.to !== undefined) {
		const to = string(body.to, ['to'], { required: true, nonEmpty: true }) as string;
		result.to = to;
		if (recipientType === 'group') {
			result.waId = to.trim();
		} else {
			const waId = to.replace(/[\s\-().+]/g, '');
			if (!/^\d{5,15}$/.test(waId) || (to.includes('+') && !/^\s*\+/.test(to))) {
				throw new Problem(100, `Invalid parameter 'to': "${to}" is not a valid phone number.`);
			}
			result.waId = waId;
		}
	}
	if (body.recipient !== undefined) {
		const recipient = string(body.recipient, ['recipient'], { required: true, nonEmpty: true }) as string;
		if (!/^[A-Z]{2}\.[A-Za-z0-9]+$/.test(recipient)) throw new Problem(131009, 'Param recipient is not a valid business-scoped user id.');
		result.recipient = recipient;
	}
	result.type = type;
	for (const other of MESSAGE_TYPES) {
		if (other !== type && body[other] !== undefined) throw new Problem(100, `Param ${other} is not expected when type is ${type}.`);
	}
	if (body.context !== undefined) {
		if (type === 'reaction') throw new Problem(100, 'Param context is not allowed for reaction messages.');
		const context = object(body.context, ['context']);
		onlyKeys(context, ['message_id'], ['context']);
		const messageId = string(context.message_id, ['context', 'message_id'], { required: true, nonEmpty: true }) as string;
		if (!WAMID.test(messageId) || messageId.length > 128) throw new Problem(131009, "Param context['message_id'] is not a valid WhatsApp message id.");
	}
	string(body.biz_opaque_callback_data, ['biz_opaque_callback_data'], { max: 512 });
	validateTypeObject(type, body, templates);
	return result;
}

function validateRead(body: Record<string, unknown>): { messageId: string; typing: boolean } {
	if (body.messaging_product === undefined) throw new Problem(131008, 'The parameter messaging_product is required.');
	if (body.messaging_product !== 'whatsapp') throw new Problem(131009, 'Param messaging_product must be whatsapp.');
	for (const key of Object.keys(body)) {
		if (!READ_KEYS.has(key)) throw new Problem(100, `Param ${key} is not a valid parameter.`);
	}
	if (body.status !== 'read') throw new Problem(131009, 'Param status must be read.');
	const messageId = string(body.message_id, ['message_id'], { required: true, nonEmpty: true }) as string;
	if (!WAMID.test(messageId) || messageId.length > 128) throw new Problem(131009, 'Param message_id is not a valid WhatsApp message id.');
	let typing = false;
	if (body.typing_indicator !== undefined) {
		const indicator = object(body.typing_indicator, ['typing_indicator']);
		onlyKeys(indicator, ['type'], ['typing_indicator']);
		if (indicator.type !== 'text') throw new Problem(131009, "Param typing_indicator['type'] must be text.");
		typing = true;
	}
	return { messageId, typing };
}

// ---------------------------------------------------------------------------------------
// The server

interface QueuedFault {
	fault: Fault;
	matches: (request: RecordedRequest) => boolean;
	remaining: number;
	skip: number;
}

function routeMatcher(route: RouteMatcher | undefined): (request: RecordedRequest) => boolean {
	if (route === undefined) return () => true;
	if (typeof route === 'function') return route;
	const names = Array.isArray(route) ? route : [route];
	return (request) => request.route !== undefined && names.includes(request.route);
}

function bearer(headers: IncomingHttpHeaders): string | undefined {
	const match = /^Bearer\s+(.+)$/i.exec(String(headers.authorization ?? '').trim());
	return match ? match[1].trim() : undefined;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', () => resolve(Buffer.concat(chunks)));
		request.on('error', reject);
	});
}

function unsupported(method: string, id: string): FakeReply {
	return metaError(100, {
		subcode: 33,
		title: 'Invalid parameter',
		message: `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
		details: `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
	});
}

const PHONE_FIELDS = ['id', 'display_phone_number', 'verified_name', 'quality_rating', 'code_verification_status', 'platform_type', 'throughput', 'name_status', 'status', 'messaging_limit_tier'];

export async function startFakeGraphApi(options: FakeGraphApiOptions = {}): Promise<FakeGraphApi> {
	const initialToken = options.token ?? FAKE_TOKEN;
	const phoneNumbers = new Map(
		(options.phoneNumbers ?? [{ id: FAKE_PHONE_NUMBER_ID, displayPhoneNumber: FAKE_DISPLAY_PHONE_NUMBER, verifiedName: FAKE_VERIFIED_NAME }]).map(
			(phone) => [phone.id, phone],
		),
	);
	let token = initialToken;
	let mediaUrlBase = options.mediaUrlBase;
	let faults: QueuedFault[] = [];
	let sequence = 0;
	const pairHistory = new Map<string, number[]>();
	const requests: RecordedRequest[] = [];
	const sent: SentMessage[] = [];
	const reads: ReadReceipt[] = [];
	const media = new Map<string, StoredMedia>();
	const extraRoutes: FakeRoute[] = [];
	const timers = new Set<NodeJS.Timeout>();
	let baseUrl = '';

	const wait = (ms: number) =>
		new Promise<void>((resolve) => {
			const timer = setTimeout(() => {
				timers.delete(timer);
				resolve();
			}, ms);
			timers.add(timer);
		});

	const newWamid = () =>
		`wamid.HBgL${Buffer.from(`FAKE${String(++sequence).padStart(8, '0')}${randomBytes(8).toString('hex').toUpperCase()}`).toString('base64')}`;
	const newMediaId = () => String(1037543291540000 + ++sequence * 17 + Math.floor(Math.random() * 17));

	function storeMedia(data: Buffer, mimeType: string, extra: { filename?: string; phoneNumberId?: string; id?: string } = {}): string {
		const id = extra.id ?? newMediaId();
		media.set(id, {
			id,
			data: Buffer.from(data),
			mimeType,
			sha256: createHash('sha256').update(data).digest('hex'),
			fileSize: data.length,
			filename: extra.filename,
			phoneNumberId: extra.phoneNumberId,
			uploadedAt: Date.now(),
		});
		return id;
	}

	function mediaUrl(id: string): string {
		const base = (mediaUrlBase ?? baseUrl).replace(/\/+$/, '');
		const expires = Math.floor(Date.now() / 1000) + 300;
		const hash = createHash('sha256').update(`${id}:${expires}`).digest('hex').slice(0, 24);
		return `${base}/lookaside/whatsapp_business/attachments/?mid=${id}&ext=${expires}&hash=${hash}`;
	}

	function problemReply(problem: Problem): FakeReply {
		return metaError(problem.code, { details: problem.details });
	}

	function asProblem(error: unknown): FakeReply {
		if (error instanceof Problem) return problemReply(error);
		throw error;
	}

	const builtInRoutes: FakeRoute[] = [
		{
			name: 'messages.read',
			method: 'POST',
			path: /^\/([^/]+)\/messages\/?$/,
			when: (request) => isObject(request.json) && (request.json.status !== undefined || request.json.typing_indicator !== undefined),
			handle: (request) => {
				try {
					const { messageId, typing } = validateRead(request.json as Record<string, unknown>);
					reads.push({ phoneNumberId: request.params[0], messageId, typing, at: Date.now() });
					return { json: { success: true } };
				} catch (error) {
					return asProblem(error);
				}
			},
		},
		{
			name: 'messages',
			method: 'POST',
			path: /^\/([^/]+)\/messages\/?$/,
			handle: (request) => {
				const phoneNumberId = request.params[0];
				if (!phoneNumbers.has(phoneNumberId)) return unsupported('post', phoneNumberId);
				if (request.json === undefined) return problemReply(new Problem(100, 'The request body must be JSON.'));
				let recipient: ReturnType<typeof validateSend>;
				try {
					recipient = validateSend(request.json, options.templates);
				} catch (error) {
					return asProblem(error);
				}
				if (options.pairRateLimit && recipient.waId) {
					const key = `${phoneNumberId}:${recipient.waId}`;
					const now = Date.now();
					const recent = (pairHistory.get(key) ?? []).filter((at) => now - at < options.pairRateLimit!.perMs);
					if (recent.length >= options.pairRateLimit.maxMessages) {
						pairHistory.set(key, recent);
						return metaError(131056);
					}
					recent.push(now);
					pairHistory.set(key, recent);
				}
				const id = newWamid();
				const payload = JSON.parse(JSON.stringify(request.json)) as Record<string, unknown>;
				sent.push({
					id,
					phoneNumberId,
					to: recipient.to,
					waId: recipient.waId,
					recipient: recipient.recipient,
					type: recipient.type,
					payload,
					version: request.version ?? '',
					at: Date.now(),
				});
				const contact: Record<string, string> = { input: recipient.to ?? recipient.recipient ?? '' };
				if (recipient.waId) contact.wa_id = recipient.waId;
				if (recipient.recipient) contact.user_id = recipient.recipient;
				const message: Record<string, string> = { id };
				if (recipient.type === 'template') message.message_status = 'accepted';
				return { json: { messaging_product: 'whatsapp', contacts: [contact], messages: [message] } };
			},
		},
		{
			name: 'media.upload',
			method: 'POST',
			path: /^\/([^/]+)\/media\/?$/,
			handle: (request) => {
				const phoneNumberId = request.params[0];
				if (!phoneNumbers.has(phoneNumberId)) return unsupported('post', phoneNumberId);
				let parts: MultipartPart[];
				try {
					parts = parseMultipart(request.body, String(request.headers['content-type'] ?? ''));
				} catch (error) {
					return metaError(100, { details: `The request must be multipart/form-data with a file part (${(error as Error).message}).` });
				}
				const field = (name: string) => parts.find((part) => part.name === name && part.filename === undefined)?.data.toString('utf8');
				const product = field('messaging_product');
				if (product === undefined) return metaError(131008, { details: 'The parameter messaging_product is required.' });
				if (product !== 'whatsapp') return metaError(131009, { details: 'Param messaging_product must be whatsapp.' });
				const file = parts.find((part) => part.name === 'file');
				if (!file || file.filename === undefined) return metaError(131008, { details: 'The parameter file is required.' });
				const declared = (file.contentType ?? field('type') ?? '').trim();
				const baseType = declared.split(';')[0].trim().toLowerCase();
				const supported = SUPPORTED_MEDIA[baseType];
				if (!supported) {
					return metaError(131053, { details: `Param file must be a file with one of the following types: ${Object.keys(SUPPORTED_MEDIA).join(', ')}. Received file of type '${declared || 'none'}'.` });
				}
				const typeField = field('type');
				if (typeField !== undefined && typeField.split(';')[0].trim().toLowerCase() !== baseType) {
					return metaError(131053, { details: `Param type '${typeField}' does not match the file's type '${declared}'.` });
				}
				if (file.data.length === 0) return metaError(131053, { details: 'The file is empty.' });
				if (file.data.length > supported.maxBytes) {
					return metaError(131053, { details: `The file is ${file.data.length} bytes; the limit for ${baseType} (${supported.kind}) is ${supported.maxBytes} bytes.` });
				}
				if (options.sniffMedia && MAGIC[baseType] && !MAGIC[baseType](file.data)) {
					return metaError(131053, { details: `The file's content is not ${baseType}.` });
				}
				const id = storeMedia(file.data, declared, { filename: file.filename, phoneNumberId });
				return { json: { id } };
			},
		},
		{
			name: 'phoneNumber.get',
			method: 'GET',
			path: /^\/([^/]+)\/?$/,
			when: (request) => phoneNumbers.has(decodeURIComponent(request.path.replace(/^\/|\/$/g, ''))),
			handle: (request) => {
				const phone = phoneNumbers.get(decodeURIComponent(request.params[0])) as FakePhoneNumber;
				const all: Record<string, unknown> = {
					id: phone.id,
					display_phone_number: phone.displayPhoneNumber,
					verified_name: phone.verifiedName,
					quality_rating: phone.qualityRating ?? 'GREEN',
					code_verification_status: 'VERIFIED',
					platform_type: 'CLOUD_API',
					throughput: { level: 'STANDARD' },
					name_status: 'APPROVED',
					status: 'CONNECTED',
					messaging_limit_tier: 'TIER_1K',
				};
				const requested = request.query.fields
					? request.query.fields.split(',').map((name) => name.trim()).filter(Boolean)
					: ['verified_name', 'code_verification_status', 'display_phone_number', 'quality_rating', 'platform_type', 'throughput'];
				const unknown = requested.find((name) => !PHONE_FIELDS.includes(name));
				if (unknown) {
					const text = `(#100) Tried accessing nonexisting field (${unknown}) on node type (WhatsAppBusinessPhoneNumber)`;
					return metaError(100, { message: text, details: text });
				}
				const result: Record<string, unknown> = {};
				for (const name of requested) result[name] = all[name];
				result.id = phone.id;
				return { json: result };
			},
		},
		{
			name: 'media.info',
			method: 'GET',
			path: /^\/([^/]+)\/?$/,
			handle: (request) => {
				const id = decodeURIComponent(request.params[0]);
				const stored = media.get(id);
				if (!stored || (request.query.phone_number_id !== undefined && stored.phoneNumberId !== undefined && stored.phoneNumberId !== request.query.phone_number_id)) {
					return unsupported('get', id);
				}
				return {
					json: {
						messaging_product: 'whatsapp',
						url: mediaUrl(id),
						mime_type: stored.mimeType,
						sha256: stored.sha256,
						file_size: options.fileSizeAs === 'string' ? String(stored.fileSize) : stored.fileSize,
						id,
					},
				};
			},
		},
		{
			name: 'media.delete',
			method: 'DELETE',
			path: /^\/([^/]+)\/?$/,
			handle: (request) => {
				const id = decodeURIComponent(request.params[0]);
				const stored = media.get(id);
				if (!stored || (request.query.phone_number_id !== undefined && stored.phoneNumberId !== undefined && stored.phoneNumberId !== request.query.phone_number_id)) {
					return unsupported('delete', id);
				}
				media.delete(id);
				return { json: { success: true } };
			},
		},
		{
			name: 'media.download',
			method: 'GET',
			path: /^\/lookaside\/whatsapp_business\/attachments\/?$/,
			versioned: false,
			auth: 'download',
			handle: (request): FakeReply => {
				const stored = media.get(request.query.mid ?? '');
				if (!stored) return { status: 404, body: 'Not Found', headers: { 'content-type': 'text/plain' } };
				return {
					status: 200,
					body: stored.data,
					headers: { 'content-type': stored.mimeType, 'content-disposition': `attachment; filename="${encodeURIComponent(stored.filename ?? `${stored.id}`)}"` },
				};
			},
		},
	];

	function findRoute(recorded: RecordedRequest): { route: FakeRoute; params: string[] } | undefined {
		for (const route of [...extraRoutes, ...builtInRoutes]) {
			if (route.method !== recorded.method) continue;
			if ((route.versioned ?? true) !== (recorded.version !== undefined)) continue;
			const match = route.path.exec(recorded.path);
			if (!match) continue;
			if (route.when && !route.when(recorded)) continue;
			return { route, params: match.slice(1) };
		}
		return undefined;
	}

	function takeFault(recorded: RecordedRequest): Fault | undefined {
		for (const queued of faults) {
			if (!queued.matches(recorded)) continue;
			if (queued.skip > 0) {
				queued.skip--;
				return undefined;
			}
			queued.remaining--;
			if (queued.remaining <= 0) faults = faults.filter((candidate) => candidate !== queued);
			return queued.fault;
		}
		return undefined;
	}

	function send(response: ServerResponse, recorded: RecordedRequest, reply: FakeReply): void {
		const status = reply.status ?? 200;
		recorded.status = status;
		const headers: Record<string, string> = { 'x-fb-trace-id': fbtraceId(), 'x-fb-request-id': randomBytes(8).toString('hex') };
		let payload: Buffer;
		if (reply.body !== undefined) {
			payload = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body, 'utf8');
		} else {
			payload = Buffer.from(JSON.stringify(reply.json ?? {}), 'utf8');
			headers['content-type'] = 'application/json; charset=UTF-8';
		}
		Object.assign(headers, Object.fromEntries(Object.entries(reply.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value])));
		headers['content-length'] = String(payload.length);
		response.writeHead(status, headers);
		response.end(payload);
	}

	async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
		const body = await readBody(request);
		const url = new URL(request.url ?? '/', 'http://fake.invalid');
		const versioned = /^\/(v\d+\.\d+)(\/.*)?$/.exec(url.pathname);
		const recorded: RecordedRequest = {
			method: (request.method ?? 'GET').toUpperCase(),
			url: request.url ?? '/',
			path: versioned ? versioned[2] ?? '/' : url.pathname,
			version: versioned ? versioned[1] : undefined,
			query: Object.fromEntries(url.searchParams.entries()),
			headers: { ...request.headers },
			body,
			at: Date.now(),
		};
		const contentType = String(request.headers['content-type'] ?? '');
		if (body.length > 0 && !/multipart\//i.test(contentType)) {
			try {
				recorded.json = JSON.parse(body.toString('utf8'));
			} catch {
				recorded.json = undefined;
			}
		}
		requests.push(recorded);

		const found = findRoute(recorded);
		if (!found) {
			const id = recorded.path.replace(/^\//, '').split('/')[0] || recorded.path;
			send(response, recorded, recorded.version ? unsupported(recorded.method, id) : { status: 404, json: { error: { message: `Unknown path components: ${recorded.path}`, type: 'OAuthException', code: 2500, fbtrace_id: fbtraceId() } } });
			return;
		}
		recorded.route = found.route.name;

		const fault = takeFault(recorded);
		if (fault) {
			recorded.fault = fault;
			if (fault.delayMs) await wait(fault.delayMs);
			if (fault.drop) {
				recorded.dropped = true;
				request.socket.destroy();
				return;
			}
			if (fault.status !== undefined || fault.code !== undefined || fault.body !== undefined) {
				send(response, recorded, faultReply(fault));
				return;
			}
		}

		const auth = found.route.auth ?? 'graph';
		if (auth !== 'none' && bearer(request.headers) !== token) {
			send(
				response,
				recorded,
				auth === 'download'
					? { status: 404, body: 'Not Found', headers: { 'content-type': 'text/plain' } }
					: metaError(190, { details: 'Error validating access token: the token is missing, malformed, expired or revoked.' }),
			);
			return;
		}

		let reply: FakeReply;
		try {
			reply = await found.route.handle({ ...recorded, params: found.params });
		} catch (error) {
			reply = metaError(1, { status: 500, details: `The fake Graph API failed: ${(error as Error).message}` });
		}
		send(response, recorded, reply);
	}

	const server = http.createServer((request, response) => {
		handle(request, response).catch((error: Error) => {
			if (!response.headersSent) {
				response.writeHead(500, { 'content-type': 'text/plain' });
				response.end(`fake graph api crashed: ${error.message}`);
			}
		});
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
	});
	const address = server.address() as AddressInfo;
	baseUrl = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;

	const api: FakeGraphApi = {
		get baseUrl() {
			return baseUrl;
		},
		get token() {
			return token;
		},
		phoneNumberId: [...phoneNumbers.keys()][0],
		requests,
		sent,
		reads,
		media,
		url: (path, version = FAKE_API_VERSION) => `${baseUrl}/${version}/${path.replace(/^\/+/, '')}`,
		credentials: (overrides = {}) => ({
			accessToken: token,
			phoneNumberId: [...phoneNumbers.keys()][0],
			businessAccountId: FAKE_WABA_ID,
			apiVersion: FAKE_API_VERSION,
			graphApiBaseUrl: baseUrl,
			...overrides,
		}),
		requestsTo: (route) => requests.filter((request) => request.route === route),
		fail: (fault, faultOptions = {}) => {
			faults.push({
				fault,
				matches: routeMatcher(faultOptions.route),
				remaining: faultOptions.times ?? 1,
				skip: faultOptions.after ?? 0,
			});
		},
		failAfter: (n, fault, faultOptions = {}) => api.fail(fault, { ...faultOptions, after: n }),
		clearFaults: () => {
			faults = [];
		},
		setToken: (value) => {
			token = value;
		},
		addMedia: (data, mimeType, extra) => storeMedia(data, mimeType, extra),
		setMediaUrlBase: (value) => {
			mediaUrlBase = value;
		},
		addRoute: (route) => {
			extraRoutes.unshift(route);
		},
		reset: () => {
			requests.length = 0;
			sent.length = 0;
			reads.length = 0;
			media.clear();
			faults = [];
			pairHistory.clear();
			token = initialToken;
			mediaUrlBase = options.mediaUrlBase;
		},
		close: async () => {
			for (const timer of timers) clearTimeout(timer);
			timers.clear();
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
	return api;
}
