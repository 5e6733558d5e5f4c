/**
 * One call to the user's agent (SPEC §4): POST the serialised body, retry what may succeed
 * next time (no response at all, or a 5xx) with a growing wait, never a 4xx, and read the
 * answer with the lenient reply parser. Returns an outcome instead of throwing, so the node
 * can apply the user's "On Agent Error" choice (fail, fallback message, continue).
 *
 * A timeout is not retried unless asked: the agent may still be working on the message,
 * and a second request could make it answer the customer twice.
 */
import { AgentReplyFormatError, parseAgentReply, type AgentReply } from './agent-reply-parser';
import { signAgentRequest } from './agent-request';
import { WhatsAppValidationError } from './errors';
import { TransportError, headerValue, type HttpRequester, type HttpResponse, type Sleep } from './http-transport';

export interface AgentCallOptions {
	url: string;
	/** The exact body to send (serialised once; signed as is). */
	body: string;
	headers?: Record<string, string>;
	/** When set, each attempt carries X-Signature-256, X-Timestamp and X-Timestamp-Signature-256. */
	signingSecret?: string;
	timeoutMs: number;
	/** Extra attempts after the first (network errors and 5xx only). */
	retries: number;
	/** Wait before the first retry; doubles for each further one (capped at 30 s). */
	retryDelayMs: number;
	retryOnTimeout?: boolean;
	sleep: Sleep;
	/** Milliseconds, default Date.now. */
	now?: () => number;
	/** Strings never to show in an error (tokens, header values): replaced by "***". */
	redact?: string[];
}

export type AgentFailureKind = 'http' | 'network' | 'timeout' | 'format' | 'invalid' | 'request';

export interface AgentFailure {
	kind: AgentFailureKind;
	/** The agent's HTTP status, or null when no response arrived. */
	status: number | null;
	/** One readable sentence or two: what happened and what to do. */
	message: string;
	/** The start of what the agent answered (at most 300 characters), secrets removed. */
	bodyExcerpt: string | null;
	/** For `invalid`: the message field that was wrong, e.g. `messages[0].url`. */
	field?: string;
	/** For `network` and `timeout`: the low-level code, e.g. ECONNREFUSED. */
	code?: string;
}

interface Timing {
	attempts: number;
	/** Duration of the last attempt (the agent's own answer time when it answered). */
	latencyMs: number;
	/** Everything, retries and waits included. */
	elapsedMs: number;
}

export type AgentCallOutcome =
	| ({ ok: true; status: number; reply: AgentReply } & Timing)
	| ({ ok: false; failure: AgentFailure } & Timing);

const EXCERPT_CHARS = 300;
const MAX_RETRY_WAIT_MS = 30_000;
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

/**
 * Network faults in words. The codes themselves stay out of messages: n8n replaces any error
 * message containing e.g. "ECONNREFUSED" with its own generic sentence, losing ours.
 */
const NETWORK_FAULTS: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection closed by the agent',
	EPIPE: 'connection broken',
	UND_ERR_SOCKET: 'connection broken',
	ENOTFOUND: 'host name not found',
	EAI_AGAIN: 'host name lookup failed',
	EHOSTUNREACH: 'host unreachable',
	ENETUNREACH: 'network unreachable',
	ERR_CANCELED: 'request cancelled',
};

function redactAll(text: string, secrets: string[]): string {
	let out = text;
	for (const secret of secrets) {
		if (secret.length >= 4) out = out.split(secret).join('***');
	}
	return out;
}

function bodyText(body: unknown): string {
	if (body === undefined || body === null) return '';
	if (Buffer.isBuffer(body)) return body.toString('utf8');
	if (typeof body === 'string') return body;
	try {
		return JSON.stringify(body);
	} catch {
		return String(body);
	}
}

function excerptOf(body: unknown, secrets: string[]): string | null {
	const text = redactAll(bodyText(body), secrets).replace(/\s+/g, ' ').trim();
	if (text === '') return null;
	return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** The URL without its query and credentials, for messages (a query may carry a key). */
function safeUrl(url: string): string {
	try {
		const parsed = new URL(url);
		return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
	} catch {
		return 'the agent URL';
	}
}

function httpHint(status: number): string {
	if (status === 401 || status === 403) {
		return ' Check the External Agent credential: the agent refused its token or key.';
	}
	if (status === 404 || status === 405) return " Check the agent's URL in this node.";
	if (status === 413) return ' The request was too large for the agent.';
	if (status === 429) return ' The agent is rate limiting requests.';
	if (status >= 500) return ' The agent itself failed: look at its logs.';
	return '';
}

function isSuccess(status: number): boolean {
	return status >= 200 && status < 300;
}

function retryWait(options: AgentCallOptions, retryNumber: number): number {
	return Math.min(options.retryDelayMs * 2 ** (retryNumber - 1), MAX_RETRY_WAIT_MS);
}

function readReply(response: HttpResponse, secrets: string[]): { reply: AgentReply } | { failure: AgentFailure } {
	let reply: AgentReply | undefined;
	let error: unknown;
	try {
		reply = parseAgentReply(response.body, {
			statusCode: response.statusCode,
			contentType: headerValue(response.headers, 'content-type'),
		});
	} catch (caught) {
		error = caught;
	}
	if (reply) return { reply };
	const bodyExcerpt = excerptOf(response.body, secrets);
	if (error instanceof WhatsAppValidationError) {
		return {
			failure: {
				kind: 'invalid',
				status: response.statusCode,
				field: error.field,
				bodyExcerpt,
				message: `The agent's reply has a message WhatsApp cannot send: ${redactAll(error.message, secrets)}`,
			},
		};
	}
	const reason = error instanceof AgentReplyFormatError || error instanceof Error ? error.message : String(error);
	return { failure: { kind: 'format', status: response.statusCode, bodyExcerpt, message: redactAll(reason, secrets) } };
}

/** POSTs to the agent with retries and reads its reply. Never throws for anything the agent does. */
export async function callAgent(request: HttpRequester, options: AgentCallOptions): Promise<AgentCallOutcome> {
	const now = options.now ?? Date.now;
	const secrets = [...(options.redact ?? []), ...(options.signingSecret ? [options.signingSecret] : [])];
	const maxAttempts = 1 + Math.max(0, Math.floor(options.retries));
	const started = now();
	let attempts = 0;
	let latencyMs = 0;
	const timing = () => ({ attempts, latencyMs, elapsedMs: now() - started });

	for (;;) {
		attempts++;
		const headers = {
			...(options.headers ?? {}),
			...(options.signingSecret ? signAgentRequest(options.body, options.signingSecret, now() / 1000) : {}),
		};
		const attemptStarted = now();
		let response: HttpResponse | undefined;
		let error: unknown;
		try {
			response = await request({
				method: 'POST',
				url: options.url,
				headers,
				body: options.body,
				binary: true,
				timeoutMs: options.timeoutMs,
			});
		} catch (caught) {
			error = caught;
		}
		latencyMs = now() - attemptStarted;
		const canRetry = attempts < maxAttempts;

		if (response === undefined) {
			if (!(error instanceof TransportError)) {
				const reason = error instanceof Error ? error.message : String(error);
				return {
					ok: false,
					failure: {
						kind: 'request',
						status: null,
						bodyExcerpt: null,
						message: `The request to the agent could not be made: ${redactAll(reason, secrets)}`,
					},
					...timing(),
				};
			}
			const timedOut = error.code !== undefined && TIMEOUT_CODES.has(error.code);
			if (canRetry && error.retryable && (!timedOut || options.retryOnTimeout)) {
				await options.sleep(retryWait(options, attempts));
				continue;
			}
			const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
			return {
				ok: false,
				failure: timedOut
					? {
							kind: 'timeout',
							status: null,
							bodyExcerpt: null,
							code: error.code,
							message: `The agent at ${safeUrl(options.url)} did not answer within ${Math.round(options.timeoutMs / 100) / 10} s${tries}. Raise "Timeout" in this node's options, or let the agent answer at once and send slow replies to reply_callback.`,
						}
					: {
							kind: 'network',
							status: null,
							bodyExcerpt: null,
							message: `Could not reach the agent at ${safeUrl(options.url)} (${NETWORK_FAULTS[error.code ?? ''] ?? 'network error'})${tries}. Is the agent running, and is the URL right?`,
							code: error.code,
						},
				...timing(),
			};
		}

		const status = response.statusCode;
		if (isSuccess(status)) {
			const read = readReply(response, secrets);
			if ('reply' in read) return { ok: true, status, reply: read.reply, ...timing() };
			return { ok: false, failure: read.failure, ...timing() };
		}
		if (status >= 500 && canRetry) {
			await options.sleep(retryWait(options, attempts));
			continue;
		}
		const bodyExcerpt = excerptOf(response.body, secrets);
		const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
		return {
			ok: false,
			failure: {
				kind: 'http',
				status,
				bodyExcerpt,
				message: `The agent answered HTTP ${status}${tries}${bodyExcerpt ? `: ${bodyExcerpt}` : ' with an empty body'}.${httpHint(status)}`,
			},
			...timing(),
		};
	}
}
