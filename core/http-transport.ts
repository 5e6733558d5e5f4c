/**
 * The one shape in which the core does HTTP. The core never opens a socket itself: nodes
 * pass a requester built on `this.helpers.httpRequest(WithAuthentication)` (see
 * nodes/shared/transport.ts), tests pass one that talks to fakes on loopback.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
	method: HttpMethod;
	url: string;
	headers?: Record<string, string>;
	qs?: Record<string, string | number | boolean>;
	/** A JSON-serialisable value (sent as JSON), a string or a Buffer (sent as is). */
	body?: unknown;
	/** Return the response body as a Buffer instead of parsed JSON/text. */
	binary?: boolean;
	timeoutMs?: number;
}

export interface HttpResponse {
	statusCode: number;
	headers: Record<string, string | string[] | undefined>;
	/** Parsed JSON when the response was JSON, a string otherwise; a Buffer when `binary`. */
	body: unknown;
}

/**
 * Resolves for every HTTP status (the caller decides what a 4xx/5xx means).
 * Rejects only when no response arrived: then with a TransportError.
 */
export type HttpRequester = (request: HttpRequest) => Promise<HttpResponse>;

/** No HTTP response: connection refused or reset, DNS failure, timeout. */
export class TransportError extends Error {
	constructor(
		message: string,
		/** e.g. ECONNREFUSED, ECONNRESET, ETIMEDOUT. */
		readonly code: string | undefined,
		/** Whether trying again may help (network faults yes, a bad URL no). */
		readonly retryable: boolean,
	) {
		super(message);
		this.name = 'TransportError';
	}
}

/**
 * Low-level error codes meaning no answer arrived for a reason that may pass (refused,
 * reset, timed out, DNS hiccup): requesters mark such a TransportError retryable.
 */
export const RETRYABLE_NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ECONNABORTED',
	'ETIMEDOUT',
	'ESOCKETTIMEDOUT',
	'EPIPE',
	'EAI_AGAIN',
	'ENOTFOUND',
	'ENETUNREACH',
	'EHOSTUNREACH',
	'ERR_SOCKET_CONNECTION_TIMEOUT',
	'UND_ERR_SOCKET',
	'ERR_CANCELED',
]);

/** Waits; nodes pass `sleep` from n8n-workflow, tests a fake clock. */
export type Sleep = (ms: number) => Promise<void>;

export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
	const wanted = name.toLowerCase();
	for (const [key, value] of Object.entries(headers)) {
		if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
	}
	return undefined;
}
