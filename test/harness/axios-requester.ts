/**
 * An HttpRequester over axios, for core tests that talk to the fakes over real HTTP without
 * n8n. It behaves like nodes/shared/transport.ts: resolves for every HTTP status, parses
 * JSON answers (a string otherwise, a Buffer when `binary`), and rejects only with a
 * TransportError when no answer arrived (refused, reset, dropped, timed out).
 *
 *   const request = axiosRequester({ token: fake.token });   // adds Authorization: Bearer, like the credential
 *   const plain = axiosRequester();                           // no credential
 */
import axios, { type AxiosError, type AxiosResponse, type RawAxiosRequestHeaders } from 'axios';

import {
	RETRYABLE_NETWORK_ERROR_CODES,
	TransportError,
	type HttpRequester,
	type HttpResponse,
} from '../../core/http-transport';

export interface AxiosRequesterOptions {
	/** Sent as `Authorization: Bearer <token>` on every request (as the credential's authenticate does). */
	token?: string;
	/** Used when a request has no timeoutMs. */
	timeoutMs?: number;
	/** Extra headers on every request. */
	headers?: Record<string, string>;
	/** Every request made, for assertions (method, url, headers as sent by us). */
	log?: Array<{ method: string; url: string; headers: Record<string, string> }>;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
	return Object.keys(headers).some((key) => key.toLowerCase() === name.toLowerCase());
}

function toTransportError(error: AxiosError, url: string): TransportError {
	let host = url;
	try {
		host = new URL(url).host;
	} catch {
		return new TransportError(`Invalid URL: ${url}`, 'ERR_INVALID_URL', false);
	}
	let code = error.code;
	if (code === 'ECONNABORTED' || /timeout of \d+ms exceeded/i.test(error.message)) code = 'ETIMEDOUT';
	if (!code && /socket hang up/i.test(error.message)) code = 'ECONNRESET';
	const retryable = code !== undefined && RETRYABLE_NETWORK_ERROR_CODES.has(code);
	return new TransportError(`No response from ${host} (${code ?? error.message})`, code, retryable);
}

export function axiosRequester(options: AxiosRequesterOptions = {}): HttpRequester {
	return async (request) => {
		const headers: Record<string, string> = { ...options.headers, ...request.headers };
		if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
		let data: unknown = request.body;
		if (data !== undefined && typeof data !== 'string' && !Buffer.isBuffer(data)) {
			data = JSON.stringify(data);
			if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
		}
		options.log?.push({ method: request.method, url: request.url, headers: { ...headers } });

		let response: AxiosResponse<ArrayBuffer> | undefined;
		let failure: unknown;
		try {
			response = await axios.request<ArrayBuffer>({
				method: request.method,
				url: request.url,
				params: request.qs,
				data,
				headers: headers as RawAxiosRequestHeaders,
				timeout: request.timeoutMs ?? options.timeoutMs ?? 0,
				responseType: 'arraybuffer',
				transformResponse: [(raw: unknown) => raw],
				validateStatus: () => true,
				maxRedirects: 5,
			});
		} catch (error) {
			failure = error;
		}
		if (!response) {
			if (axios.isAxiosError(failure) && !failure.response) throw toTransportError(failure, request.url);
			throw failure;
		}

		const bytes = Buffer.from(response.data as ArrayBuffer);
		const responseHeaders: HttpResponse['headers'] = {};
		for (const [key, value] of Object.entries(response.headers ?? {})) {
			if (value === undefined || value === null) continue;
			responseHeaders[key.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
		}
		let body: unknown = bytes;
		if (!request.binary) {
			const text = bytes.toString('utf8');
			body = text;
			const contentType = String(responseHeaders['content-type'] ?? '');
			if (/json/i.test(contentType) && text.trim() !== '') {
				try {
					body = JSON.parse(text);
				} catch {
					body = text;
				}
			}
		}
		return { statusCode: response.status, headers: responseHeaders, body };
	};
}
