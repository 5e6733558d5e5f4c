/**
 * The only place where our nodes do HTTP: it adapts n8n's request helpers to the core's
 * HttpRequester, so retries, error mapping and payloads stay in the n8n-free core.
 */
import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import {
	RETRYABLE_NETWORK_ERROR_CODES,
	TransportError,
	type HttpRequest,
	type HttpRequester,
	type HttpResponse,
} from '../../core/http-transport';

type RequestContext = IExecuteFunctions | IWebhookFunctions | IHookFunctions | ILoadOptionsFunctions;

/** Finds the low-level error code under n8n's NodeApiError wrapping. */
function networkErrorCode(error: unknown): string | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
		const candidate = current as { code?: unknown; cause?: unknown; context?: { code?: unknown } };
		for (const code of [candidate.code, candidate.context?.code]) {
			if (typeof code === 'string' && RETRYABLE_NETWORK_ERROR_CODES.has(code)) return code;
		}
		current = candidate.cause;
	}
	const message = error instanceof Error ? error.message : String(error);
	if (/timeout of \d+ms exceeded|socket hang up|timed out/i.test(message)) return 'ETIMEDOUT';
	return undefined;
}

function toN8nOptions(request: HttpRequest): IHttpRequestOptions {
	const isRawBody = typeof request.body === 'string' || Buffer.isBuffer(request.body);
	return {
		method: request.method,
		url: request.url,
		headers: request.headers,
		qs: request.qs,
		body: request.body as IHttpRequestOptions['body'],
		json: !isRawBody && !request.binary,
		encoding: request.binary ? 'arraybuffer' : undefined,
		timeout: request.timeoutMs,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		// A redirect to another host must never carry the Authorization header along.
		sendCredentialsOnCrossOriginRedirect: false,
	} as IHttpRequestOptions;
}

function fromN8nResponse(response: unknown, binary: boolean | undefined): HttpResponse {
	const full = response as { statusCode?: number; headers?: HttpResponse['headers']; body?: unknown };
	let body = full.body;
	if (binary && body !== undefined && !Buffer.isBuffer(body)) {
		body = Buffer.from(body as ArrayBuffer);
	}
	return { statusCode: full.statusCode ?? 0, headers: full.headers ?? {}, body };
}

function adapt(send: (options: IHttpRequestOptions) => Promise<unknown>): HttpRequester {
	return async (request) => {
		let response: unknown;
		let failure: unknown;
		try {
			response = await send(toN8nOptions(request));
		} catch (error) {
			failure = error;
		}
		if (failure !== undefined) {
			const code = networkErrorCode(failure);
			if (code) throw new TransportError(`No response from ${new URL(request.url).host} (${code})`, code, true);
			throw failure;
		}
		return fromN8nResponse(response, request.binary);
	};
}

/**
 * Requests signed by a credential's `authenticate`: n8n adds the token, our code never reads it.
 * `loaded` is the credential's data when the node has already read it (for its phone number
 * id, say): n8n then signs with it instead of loading and decrypting the credential again for
 * every request (a database read each time, and outside an execution a fresh expression sandbox).
 */
export function authenticatedRequester(
	context: RequestContext,
	credentialType: string,
	loaded?: ICredentialDataDecryptedObject,
): HttpRequester {
	const reference = context.getNode().credentials?.[credentialType];
	const additional = loaded
		? {
				credentialsDecrypted: {
					id: reference?.id ?? '',
					name: reference?.name ?? credentialType,
					type: credentialType,
					data: loaded,
				},
			}
		: undefined;
	return adapt((options) =>
		context.helpers.httpRequestWithAuthentication.call(context, credentialType, options, additional),
	);
}

/** Requests without any credential (media hosts other than Meta's, user-given URLs). */
export function plainRequester(context: RequestContext): HttpRequester {
	return adapt((options) => context.helpers.httpRequest(options));
}
