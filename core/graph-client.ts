/**
 * Meta Graph API client for the WhatsApp Cloud API, over an injected HttpRequester (nodes
 * pass one built on n8n's `httpRequestWithAuthentication`, so the token never passes
 * through this code) and an injected Sleep (n8n's `sleep`; tests a recording fake).
 *
 * Every URL is `<graphApiBaseUrl>/<apiVersion>/<path>`, never a hard-coded host.
 *
 * Retries (SPEC §6): HTTP 429, 5xx, retryable network errors and Meta's throttling or
 * temporary codes (4, 80007, 130429, 131000, 131016, 131056, 133004, 2) are retried; other
 * client errors never are. The wait before retry n (1-based) is, in order of precedence:
 *   1. the server's `Retry-After` (seconds or HTTP date) or Meta's
 *      `X-Business-Use-Case-Usage` `estimated_time_to_regain_access`, when present; if it is
 *      longer than `maxRetryAfterMs` the call fails at once instead of waiting;
 *   2. for 131056 (too many messages to one customer) Meta's advice of 4^(n-1) seconds
 *      (1 s, 4 s, 16 s…), bounded by `maxRetryAfterMs`;
 *   3. otherwise exponential backoff with FULL jitter (AWS architecture blog):
 *      `random() * min(maxDelayMs, baseDelayMs * 2^(n-1))`.
 * The error thrown after the last attempt says how many attempts were made.
 */
import { WhatsAppValidationError } from './errors';
import { GraphApiError, scrubSecrets, toGraphApiError } from './graph-errors';
import {
	TransportError,
	headerValue,
	type HttpMethod,
	type HttpRequest,
	type HttpRequester,
	type HttpResponse,
	type Sleep,
} from './http-transport';
import { buildMultipartBody } from './multipart';

export interface RetryPolicy {
	/** Retries after the first attempt (3 → at most 4 requests). */
	maxRetries: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** Retry-After longer than this fails at once instead of waiting */
	maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
	maxRetries: 3,
	baseDelayMs: 500,
	maxDelayMs: 8_000,
	maxRetryAfterMs: 30_000,
});

export const DEFAULT_API_VERSION = 'v24.0';
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Uploads and downloads move whole files: they get this many times the API timeout. */
const MEDIA_TIMEOUT_FACTOR = 4;

export interface GraphClientOptions {
	/** authenticated (Bearer added by the credential) */
	request: HttpRequester;
	/** for media URLs on hosts that must not get the token */
	unauthenticatedRequest?: HttpRequester;
	sleep: Sleep;
	/** credential graphApiBaseUrl, e.g. https://graph.facebook.com (trailing slash tolerated) */
	baseUrl: string;
	/** e.g. v24.0 (tolerates "24.0" → "v24.0") */
	apiVersion: string;
	retry?: Partial<RetryPolicy>;
	/** jitter source in [0, 1), injectable for tests */
	random?: () => number;
	/** per request; default 30 s (media transfers get 4×) */
	timeoutMs?: number;
	/** for logging; no secrets in reason */
	onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
	/** clock for HTTP-date Retry-After values; default Date.now */
	now?: () => number;
}

export interface SendResult {
	messageId: string;
	waId?: string;
	messageStatus?: string;
}

export interface MediaInfo {
	id: string;
	url: string;
	mimeType: string;
	sha256?: string;
	fileSize?: number;
}

export interface CallOptions {
	qs?: Record<string, string | number | boolean>;
	body?: unknown;
	headers?: Record<string, string>;
	/** What is being done, for error messages: "Sending the message" → "Sending the message failed …". */
	operation?: string;
	/** The field the call is about (e.g. `to`), to sharpen the hint of a code 100. */
	field?: string;
	/** false: a single attempt. */
	retry?: boolean;
	timeoutMs?: number;
}

/** Hosts Meta serves media from (HTTPS only); the token may go there and to the Graph host. */
const META_MEDIA_DOMAINS = ['fbsbx.com', 'facebook.com', 'whatsapp.net', 'fbcdn.net'];

function parseUrl(value: string): URL | undefined {
	try {
		return new URL(value);
	} catch {
		return undefined;
	}
}

function hostKey(url: URL): string {
	const port = url.port || (url.protocol === 'https:' ? '443' : '80');
	return `${url.protocol}//${url.hostname.toLowerCase().replace(/\.$/, '')}:${port}`;
}

/**
 * Whether the access token may be sent to this URL: the Graph base URL's own host (same
 * scheme and port), or one of Meta's media hosts over HTTPS (lookaside.fbsbx.com and
 * *.fbsbx.com, *.facebook.com, *.whatsapp.net, *.fbcdn.net). Nothing else, ever.
 */
export function isTrustedMediaHost(url: string, graphBaseUrl: string): boolean {
	const target = parseUrl(url);
	if (!target || (target.protocol !== 'https:' && target.protocol !== 'http:')) return false;
	if (target.username || target.password) return false;
	const base = parseUrl(graphBaseUrl.trim());
	if (base && hostKey(base) === hostKey(target)) return true;
	if (target.protocol !== 'https:' || (target.port !== '' && target.port !== '443')) return false;
	const host = target.hostname.toLowerCase().replace(/\.$/, '');
	return META_MEDIA_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

/** "24.0", "v24", "V24.0", "/v24.0/" → "v24.0"; empty → the default version. */
export function normalizeApiVersion(version: string | undefined): string {
	const trimmed = (version ?? '').trim().replace(/^\/+|\/+$/g, '').toLowerCase();
	if (trimmed === '') return DEFAULT_API_VERSION;
	const match = /^v?(\d+)(?:\.(\d+))?$/.exec(trimmed);
	if (!match) {
		throw new WhatsAppValidationError(
			`The API version "${version}" is not valid: use the form v24.0`,
			'apiVersion',
		);
	}
	return `v${match[1]}.${match[2] ?? '0'}`;
}

function normalizeBaseUrl(baseUrl: string): string {
	const trimmed = (baseUrl ?? '').trim().replace(/\/+$/, '');
	const parsed = parseUrl(trimmed);
	if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
		throw new WhatsAppValidationError(
			`The Graph API Base URL "${baseUrl}" is not valid: use https://graph.facebook.com or your proxy's http(s) address`,
			'graphApiBaseUrl',
		);
	}
	return trimmed;
}

/** One path segment (a phone number id, a media id), refusing anything that could change the path. */
function pathSegment(value: string, field: string, what: string): string {
	const trimmed = typeof value === 'string' ? value.trim() : '';
	if (trimmed === '') throw new WhatsAppValidationError(`${what} is missing`, field);
	if (/[/?#\\\s]/.test(trimmed) || trimmed === '.' || trimmed === '..') {
		throw new WhatsAppValidationError(`${what} "${trimmed}" is not valid: it must be an ID like 106540352242922`, field);
	}
	return encodeURIComponent(trimmed);
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Requesters are told to parse JSON; tolerate one that hands back JSON as text. */
function asJson(body: unknown): unknown {
	if (typeof body === 'string' || Buffer.isBuffer(body)) {
		const text = body.toString().trim();
		if (text.startsWith('{') || text.startsWith('[')) {
			try {
				return JSON.parse(text);
			} catch {
				return body;
			}
		}
	}
	return body;
}

function asBuffer(body: unknown): Buffer {
	if (Buffer.isBuffer(body)) return body;
	if (body instanceof ArrayBuffer) return Buffer.from(body);
	if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
	if (typeof body === 'string') return Buffer.from(body, 'utf8');
	if (body === undefined || body === null) return Buffer.alloc(0);
	return Buffer.from(JSON.stringify(body), 'utf8');
}

function idString(value: unknown): string | undefined {
	if (typeof value === 'string' && value.trim() !== '') return value.trim();
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return undefined;
}

function unexpectedAnswer(operation: string, what: string): GraphApiError {
	return new GraphApiError(
		`${operation} failed: Meta answered without ${what}. This is unexpected: check the Graph API Base URL in the credential points at Meta's Graph API (or a compatible proxy)`,
		{ httpStatus: 200, retryable: false, operation },
	);
}

const MIME_EXTENSIONS: Record<string, string> = {
	'image/jpeg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'video/mp4': 'mp4',
	'video/3gpp': '3gp',
	'audio/aac': 'aac',
	'audio/amr': 'amr',
	'audio/mpeg': 'mp3',
	'audio/mp4': 'm4a',
	'audio/ogg': 'ogg',
	'text/plain': 'txt',
	'application/pdf': 'pdf',
	'application/msword': 'doc',
	'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
	'application/vnd.ms-excel': 'xls',
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
	'application/vnd.ms-powerpoint': 'ppt',
	'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};

interface AttemptContext {
	operation: string;
	field?: string;
	retry?: boolean;
	/** Turns a non-2xx answer into the error to report. */
	describe?: (statusCode: number, body: unknown) => GraphApiError;
}

type Outcome =
	| { kind: 'ok'; response: HttpResponse }
	| { kind: 'error'; error: GraphApiError | TransportError; retryable: boolean; reason: string; response?: HttpResponse };

export class GraphClient {
	private readonly request: HttpRequester;
	private readonly unauthenticatedRequest?: HttpRequester;
	private readonly sleep: Sleep;
	private readonly baseUrl: string;
	private readonly apiVersion: string;
	private readonly policy: RetryPolicy;
	private readonly random: () => number;
	private readonly timeoutMs: number;
	private readonly onRetry?: GraphClientOptions['onRetry'];
	private readonly now: () => number;

	constructor(options: GraphClientOptions) {
		this.request = options.request;
		this.unauthenticatedRequest = options.unauthenticatedRequest;
		this.sleep = options.sleep;
		this.baseUrl = normalizeBaseUrl(options.baseUrl);
		this.apiVersion = normalizeApiVersion(options.apiVersion);
		const policy = { ...DEFAULT_RETRY_POLICY };
		for (const [key, value] of Object.entries(options.retry ?? {})) {
			if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
				policy[key as keyof RetryPolicy] = value;
			}
		}
		policy.maxRetries = Math.floor(policy.maxRetries);
		this.policy = policy;
		this.random = options.random ?? Math.random;
		this.timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_TIMEOUT_MS;
		this.onRetry = options.onRetry;
		this.now = options.now ?? Date.now;
	}

	/** The effective retry policy (defaults merged with the options). */
	get retryPolicy(): Readonly<RetryPolicy> {
		return this.policy;
	}

	/** `${baseUrl}/${apiVersion}/${path}` */
	url(path: string): string {
		return `${this.baseUrl}/${this.apiVersion}/${path.replace(/^\/+/, '')}`;
	}

	/**
	 * Any Graph call with the retry policy. Resolves with the (parsed JSON) body of a 2xx
	 * answer; throws GraphApiError (after retries for retryable ones) or TransportError
	 * (network, after retries).
	 */
	async call<T = unknown>(method: HttpMethod, path: string, options: CallOptions = {}): Promise<T> {
		const request: HttpRequest = {
			method,
			url: this.url(path),
			qs: options.qs,
			body: options.body,
			headers: options.headers,
			timeoutMs: options.timeoutMs ?? this.timeoutMs,
		};
		const response = await this.execute(this.request, request, {
			operation: options.operation ?? `${method} ${path.split('?')[0]}`,
			field: options.field,
			retry: options.retry,
		});
		return asJson(response.body) as T;
	}

	/** POST /{phone-number-id}/messages. `messaging_product` is added. */
	async sendMessage(phoneNumberId: string, payload: Record<string, unknown>): Promise<SendResult> {
		const operation = 'Sending the message';
		const body = await this.call<unknown>(
			'POST',
			`${pathSegment(phoneNumberId, 'phoneNumberId', 'The Phone Number ID')}/messages`,
			{ body: { ...payload, messaging_product: 'whatsapp' }, operation },
		);
		const messages = isRecord(body) && Array.isArray(body.messages) ? body.messages : [];
		const first: unknown = messages[0];
		const messageId = isRecord(first) ? idString(first.id) : undefined;
		if (!messageId) throw unexpectedAnswer(operation, 'a message id');
		const contacts = isRecord(body) && Array.isArray(body.contacts) ? body.contacts : [];
		const contact: unknown = contacts[0];
		const result: SendResult = { messageId };
		const waId = isRecord(contact) ? idString(contact.wa_id) : undefined;
		if (waId) result.waId = waId;
		if (isRecord(first) && typeof first.message_status === 'string') result.messageStatus = first.message_status;
		return result;
	}

	/** Marks a received message (and the earlier ones) as read; optionally shows "typing…" (≤ 25 s). */
	async markAsRead(phoneNumberId: string, messageId: string, options: { typing?: boolean } = {}): Promise<void> {
		const operation = 'Marking the message as read';
		if (typeof messageId !== 'string' || messageId.trim() === '') {
			throw new WhatsAppValidationError('The id of the message to mark as read is missing', 'messageId');
		}
		const payload: Record<string, unknown> = {
			messaging_product: 'whatsapp',
			status: 'read',
			message_id: messageId.trim(),
		};
		if (options.typing) payload.typing_indicator = { type: 'text' };
		const body = await this.call<unknown>(
			'POST',
			`${pathSegment(phoneNumberId, 'phoneNumberId', 'The Phone Number ID')}/messages`,
			{ body: payload, operation, field: 'message_id' },
		);
		if (isRecord(body) && body.success === false) throw unexpectedAnswer(operation, 'success');
	}

	/** POST /{phone-number-id}/media (multipart). Returns the media id. */
	async uploadMedia(
		phoneNumberId: string,
		file: { data: Buffer; mimeType: string; filename?: string },
	): Promise<string> {
		const operation = 'Uploading the media';
		const mimeType = (file.mimeType ?? '').trim();
		if (mimeType === '') throw new WhatsAppValidationError('The file to upload has no MIME type', 'mimeType');
		if (!Buffer.isBuffer(file.data) || file.data.length === 0) {
			throw new WhatsAppValidationError('The file to upload is empty', 'data');
		}
		const baseType = mimeType.split(';')[0].trim().toLowerCase();
		const filename = file.filename?.trim() || `file.${MIME_EXTENSIONS[baseType] ?? 'bin'}`;
		const multipart = buildMultipartBody([
			{ name: 'messaging_product', value: 'whatsapp' },
			{ name: 'type', value: mimeType },
			{ name: 'file', filename, contentType: mimeType, data: file.data },
		]);
		const body = await this.call<unknown>(
			'POST',
			`${pathSegment(phoneNumberId, 'phoneNumberId', 'The Phone Number ID')}/media`,
			{
				body: multipart.body,
				headers: { 'Content-Type': multipart.contentType },
				operation,
				timeoutMs: this.timeoutMs * MEDIA_TIMEOUT_FACTOR,
			},
		);
		const id = isRecord(body) ? idString(body.id) : undefined;
		if (!id) throw unexpectedAnswer(operation, 'a media id');
		return id;
	}

	/** GET /{media-id}: a short-lived (5 min) download URL and the file's metadata. */
	async getMediaInfo(mediaId: string, phoneNumberId?: string): Promise<MediaInfo> {
		const operation = 'Getting the media info';
		const qs = phoneNumberId && phoneNumberId.trim() !== '' ? { phone_number_id: phoneNumberId.trim() } : undefined;
		const body = await this.call<unknown>('GET', pathSegment(mediaId, 'mediaId', 'The media id'), { qs, operation });
		if (!isRecord(body) || typeof body.url !== 'string' || body.url === '') {
			throw unexpectedAnswer(operation, 'a download URL');
		}
		const info: MediaInfo = {
			id: idString(body.id) ?? mediaId.trim(),
			url: body.url,
			mimeType: typeof body.mime_type === 'string' ? body.mime_type : 'application/octet-stream',
		};
		if (typeof body.sha256 === 'string') info.sha256 = body.sha256;
		const size = typeof body.file_size === 'string' ? Number(body.file_size.trim()) : body.file_size;
		if (typeof size === 'number' && Number.isFinite(size) && size >= 0) info.fileSize = size;
		return info;
	}

	/**
	 * Downloads bytes. Sends the token only when the URL's host is the Graph base URL's host
	 * or one of Meta's media hosts; other hosts get `unauthenticatedRequest` (or an error if
	 * none). Retries like call(). Refuses non-http(s) URLs.
	 */
	async downloadMedia(url: string, options: { maxBytes?: number } = {}): Promise<{ data: Buffer; mimeType?: string }> {
		const operation = 'Downloading the media';
		const parsed = typeof url === 'string' ? parseUrl(url.trim()) : undefined;
		if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
			throw new WhatsAppValidationError('The media URL must be an http:// or https:// address', 'url');
		}
		const trusted = isTrustedMediaHost(parsed.href, this.baseUrl);
		const requester = trusted ? this.request : this.unauthenticatedRequest;
		if (!requester) {
			throw new WhatsAppValidationError(
				`The media URL's host ${parsed.host} is neither Meta's nor the Graph API Base URL's, so the access token is not sent there and no plain download is available`,
				'url',
			);
		}
		const response = await this.execute(
			requester,
			{ method: 'GET', url: parsed.href, binary: true, timeoutMs: this.timeoutMs * MEDIA_TIMEOUT_FACTOR },
			{
				operation,
				describe: (statusCode, body) => {
					const error = toGraphApiError(statusCode, body, { operation });
					if (statusCode !== 401 && statusCode !== 403 && statusCode !== 404) return error;
					return new GraphApiError(
						`${operation} failed (HTTP ${statusCode}): the media link was refused or has expired. Media links from Meta work for 5 minutes: get the media info again for a fresh link; if it still fails, check the access token.`,
						{ ...error, httpStatus: statusCode, retryable: false, hint: 'Get the media info again for a fresh link; if it still fails, check the access token', operation },
					);
				},
			},
		);
		const data = asBuffer(response.body);
		const limit = options.maxBytes;
		if (limit !== undefined && limit >= 0 && data.length > limit) {
			throw new WhatsAppValidationError(
				`The media is ${data.length} bytes, more than the ${limit} bytes allowed`,
				'maxBytes',
			);
		}
		const contentType = headerValue(response.headers, 'content-type')?.trim();
		return contentType ? { data, mimeType: contentType } : { data };
	}

	/** One request with the retry policy; resolves with a 2xx response. */
	private async execute(requester: HttpRequester, request: HttpRequest, context: AttemptContext): Promise<HttpResponse> {
		const maxAttempts = context.retry === false ? 1 : this.policy.maxRetries + 1;
		const describe =
			context.describe ??
			((statusCode: number, body: unknown) =>
				toGraphApiError(statusCode, body, { operation: context.operation, field: context.field }));

		for (let attempt = 1; ; attempt++) {
			const outcome = await this.attempt(requester, request, describe);
			if (outcome.kind === 'ok') return outcome.response;

			const { error } = outcome;
			if (!outcome.retryable || attempt >= maxAttempts) throw this.finalError(error, attempt, context.operation);

			const wait = this.delayBeforeRetry(attempt, error, outcome.response);
			if (wait.tooLongMs !== undefined) {
				const seconds = Math.ceil(wait.tooLongMs / 1000);
				const limit = Math.round(this.policy.maxRetryAfterMs / 1000);
				const note = `Meta asked to wait ${seconds} s before trying again, longer than the ${limit} s allowed: try again later; ${attempt} ${attempt === 1 ? 'attempt' : 'attempts'} made`;
				throw error instanceof GraphApiError
					? error.withAttempts(attempt, note)
					: new TransportError(`${error.message} (${note})`, error.code, error.retryable);
			}
			this.onRetry?.({ attempt, delayMs: wait.delayMs, reason: scrubSecrets(outcome.reason) });
			await this.sleep(wait.delayMs);
		}
	}

	private async attempt(
		requester: HttpRequester,
		request: HttpRequest,
		describe: (statusCode: number, body: unknown) => GraphApiError,
	): Promise<Outcome> {
		let response: HttpResponse | undefined;
		let failure: unknown;
		try {
			response = await requester(request);
		} catch (error) {
			failure = error ?? new Error('The request failed without an error');
		}
		if (failure !== undefined) {
			if (!(failure instanceof TransportError)) throw failure;
			return {
				kind: 'error',
				error: failure,
				retryable: failure.retryable,
				reason: `no response (${failure.code ?? 'network error'})`,
			};
		}
		const answer = response as HttpResponse;
		if (answer.statusCode >= 200 && answer.statusCode < 300) return { kind: 'ok', response: answer };
		const body = request.binary ? asJson(answer.body) : answer.body;
		const error = describe(answer.statusCode, body);
		const code = error.code !== undefined ? ` (#${error.code})` : '';
		return {
			kind: 'error',
			error,
			retryable: error.retryable,
			reason: `HTTP ${answer.statusCode}${code}${error.title ? ` ${error.title}` : ''}`,
			response: answer,
		};
	}

	private finalError(error: GraphApiError | TransportError, attempts: number, operation: string): Error {
		if (error instanceof GraphApiError) return attempts > 1 ? error.withAttempts(attempts) : error;
		const note = attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
		return new TransportError(
			scrubSecrets(`${operation} failed: ${error.message}${note}`),
			error.code,
			error.retryable,
		);
	}

	/** See the file comment for the order of precedence. */
	private delayBeforeRetry(
		attempt: number,
		error: GraphApiError | TransportError,
		response: HttpResponse | undefined,
	): { delayMs: number; tooLongMs?: number } {
		const asked = response ? this.serverAskedDelay(response) : undefined;
		if (asked !== undefined) {
			if (asked > this.policy.maxRetryAfterMs) return { delayMs: 0, tooLongMs: asked };
			return { delayMs: asked };
		}
		const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
		const jitter = Math.min(Math.max(this.random(), 0), 1);
		const backoff = Math.floor(jitter * ceiling);
		if (error instanceof GraphApiError && error.code === 131056) {
			const pairRate = 4 ** (attempt - 1) * 1000;
			return { delayMs: Math.min(Math.max(backoff, pairRate), this.policy.maxRetryAfterMs) };
		}
		return { delayMs: backoff };
	}

	/** Retry-After (seconds or HTTP date), else Meta's business-use-case estimate (minutes). */
	private serverAskedDelay(response: HttpResponse): number | undefined {
		const retryAfter = headerValue(response.headers, 'retry-after')?.trim();
		if (retryAfter) {
			if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
			const date = Date.parse(retryAfter);
			if (!Number.isNaN(date)) return Math.max(0, date - this.now());
		}
		const usage = headerValue(response.headers, 'x-business-use-case-usage');
		if (usage) {
			let parsed: unknown;
			try {
				parsed = JSON.parse(usage);
			} catch {
				parsed = undefined;
			}
			let minutes = 0;
			if (isRecord(parsed)) {
				for (const entries of Object.values(parsed)) {
					for (const entry of Array.isArray(entries) ? entries : []) {
						const value = isRecord(entry) ? Number(entry.estimated_time_to_regain_access) : 0;
						if (Number.isFinite(value) && value > minutes) minutes = value;
					}
				}
			}
			if (minutes > 0) return minutes * 60_000;
		}
		return undefined;
	}
}
