/**
 * Small n8n glue shared by the trigger's four endpoints: options, credentials, raw body,
 * the trigger's own URLs, and writing the HTTP answer ourselves (with `responseMode:
 * 'onReceived'` n8n would otherwise answer the literal text "firstEntryJson").
 */
import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { SignedTokens, tokenSecret } from '../../core/signed-token';
import {
	DEFAULT_MEDIA_LINK_MINUTES,
	DEFAULT_REPLY_CALLBACK_HOURS,
	STATUS_CHOICES,
} from './description';

export const WEBHOOK_CREDENTIAL = 'whatsAppWebhookApi';
export const CLOUD_CREDENTIAL = 'whatsAppCloudApi';

export interface TriggerOptions {
	conversationEvents: boolean;
	downloadMedia: boolean;
	ignoreDuplicates: boolean;
	mediaLinkTtlSeconds: number;
	/** Empty: every phone number id. */
	phoneNumberIds: Set<string>;
	replyCallbackTtlSeconds: number;
	skipSignatureCheck: boolean;
	statuses: Set<string>;
}

function positive(value: unknown, fallback: number): number {
	return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

export function readOptions(context: IWebhookFunctions): TriggerOptions {
	const options = (context.getNodeParameter('options', {}) ?? {}) as IDataObject;
	const ids = typeof options.phoneNumberIds === 'string' ? options.phoneNumberIds : '';
	const statuses = Array.isArray(options.statuses) ? options.statuses.map(String) : [...STATUS_CHOICES];
	return {
		conversationEvents: options.conversationEvents === true,
		downloadMedia: options.downloadMedia === true,
		ignoreDuplicates: options.ignoreDuplicates !== false,
		mediaLinkTtlSeconds: Math.round(positive(options.mediaLinkLifetimeMinutes, DEFAULT_MEDIA_LINK_MINUTES) * 60),
		phoneNumberIds: new Set(
			ids
				.split(/[\s,;]+/)
				.map((id) => id.trim())
				.filter((id) => id !== ''),
		),
		replyCallbackTtlSeconds: Math.round(positive(options.replyCallbackLifetimeHours, DEFAULT_REPLY_CALLBACK_HOURS) * 3600),
		skipSignatureCheck: options.skipSignatureCheck === true,
		statuses: new Set(statuses),
	};
}

export interface WebhookCredential {
	verifyToken: string;
	appSecret: string;
	/** Signs and verifies reply-callback and media links; undefined when the credential has no secret at all. */
	tokens: SignedTokens | undefined;
}

async function loadWebhookCredential(context: IWebhookFunctions): Promise<WebhookCredential> {
	const data = await context.getCredentials(WEBHOOK_CREDENTIAL);
	const verifyToken = typeof data.verifyToken === 'string' ? data.verifyToken : '';
	const appSecret = typeof data.appSecret === 'string' ? data.appSecret : '';
	const secret = tokenSecret({ appSecret, verifyToken });
	return { verifyToken, appSecret, tokens: secret === undefined ? undefined : new SignedTokens({ secret }) };
}

/**
 * Outside an execution, n8n decrypts a credential in a fresh expression sandbox each time it is
 * read: with its default engine that costs more than everything else a webhook does (about a
 * third of the CPU per message, measured with `npm run bench:e2e`). So the webhook credential is
 * kept for a minute per workflow, node and credential, in this process's memory only (where n8n
 * holds it decrypted anyway). Every refusal reads it again before answering (`fresh`), so a
 * changed verify token or App Secret works at once; an old App Secret may still be accepted for
 * up to a minute after it is replaced.
 */
const CREDENTIAL_TTL_MS = 60_000;
const MAX_CACHED_CREDENTIALS = 256;
const credentialCache = new Map<string, { credential: WebhookCredential; expiresAt: number }>();

function credentialKey(context: IWebhookFunctions): string {
	const node = context.getNode();
	const credentialId = node.credentials?.[WEBHOOK_CREDENTIAL]?.id ?? '';
	return [context.getWorkflow().id ?? '', node.id ?? node.name, credentialId].join('\u0000');
}

export async function readWebhookCredential(
	context: IWebhookFunctions,
	options: { fresh?: boolean } = {},
): Promise<WebhookCredential> {
	const key = credentialKey(context);
	const now = Date.now();
	const cached = credentialCache.get(key);
	if (!options.fresh && cached && cached.expiresAt > now) return cached.credential;
	const credential = await loadWebhookCredential(context);
	credentialCache.delete(key);
	if (credentialCache.size >= MAX_CACHED_CREDENTIALS) {
		const oldest = credentialCache.keys().next().value;
		if (oldest !== undefined) credentialCache.delete(oldest);
	}
	credentialCache.set(key, { credential, expiresAt: now + CREDENTIAL_TTL_MS });
	return credential;
}

/**
 * Runs `check` with the webhook credential as kept and, unless `isFinal` accepts that result,
 * once more with the credential read afresh: every refusal is decided on the credential as it
 * is now, so a verify token or App Secret just changed in n8n works at once. Returns the
 * result and the credential it came from.
 */
export async function checkWithWebhookCredential<T>(
	context: IWebhookFunctions,
	check: (credential: WebhookCredential) => T,
	isFinal: (result: T) => boolean,
): Promise<{ credential: WebhookCredential; result: T }> {
	const kept = await readWebhookCredential(context);
	const result = check(kept);
	if (isFinal(result)) return { credential: kept, result };
	const fresh = await readWebhookCredential(context, { fresh: true });
	return { credential: fresh, result: check(fresh) };
}

/** Whether the node has a WhatsApp Cloud API credential selected (needed to fetch media). */
export function hasCloudCredential(context: IWebhookFunctions): boolean {
	return Boolean(context.getNode().credentials?.[CLOUD_CREDENTIAL]);
}

/** The exact bytes received (n8n keeps them as `rawBody`). */
export async function rawBodyOf(context: IWebhookFunctions): Promise<Buffer> {
	const request = context.getRequestObject();
	if (!Buffer.isBuffer(request.rawBody) && typeof request.readRawBody === 'function') await request.readRawBody();
	return Buffer.isBuffer(request.rawBody) ? request.rawBody : Buffer.alloc(0);
}

export interface TriggerUrls {
	events: string;
	reply: string;
	media: string;
}

/**
 * The production URLs of the trigger's paths, from the `default` webhook's URL (…/webhook)
 * with its last segment replaced. Undefined when n8n does not know its own URL.
 */
export function triggerUrls(context: IWebhookFunctions): TriggerUrls | undefined {
	const events = context.getNodeWebhookUrl('default');
	if (!events) return undefined;
	const base = events.slice(0, events.lastIndexOf('/') + 1);
	return { events, reply: `${base}reply`, media: `${base}media` };
}

/**
 * A query parameter as one string ('' when absent or given several times). A dotted name
 * (`hub.mode`) is also looked up nested (`{hub: {mode}}`), in case the query parser is set
 * to read dots as objects.
 */
export function queryParameter(context: IWebhookFunctions, name: string): string {
	const query = (context.getQueryData() ?? {}) as Record<string, unknown>;
	let value = query[name];
	const dot = name.indexOf('.');
	if (value === undefined && dot > 0) {
		const parent = query[name.slice(0, dot)];
		if (parent !== null && typeof parent === 'object') value = (parent as Record<string, unknown>)[name.slice(dot + 1)];
	}
	return typeof value === 'string' ? value : '';
}

export function headerOf(context: IWebhookFunctions, name: string): string | undefined {
	const value = context.getHeaderData()[name];
	return Array.isArray(value) ? value.join(', ') : value;
}

export function respondJson(context: IWebhookFunctions, status: number, body: IDataObject): void {
	const response = context.getResponseObject();
	response.status(status).json(body);
}

export function respondText(context: IWebhookFunctions, status: number, body: string): void {
	const response = context.getResponseObject();
	response.status(status).type('text/plain').send(body);
}

/**
 * Marks the item that starts a run in a workflow on n8n's legacy execution order (v0), which
 * runs a node only when its first input has items: without it, a run with only statuses or
 * agent callbacks would skip the trigger's execution phase and lose them. The execution phase
 * removes it (execute.ts); nothing after the trigger ever sees it.
 */
export const LEGACY_ORDER_CARRIER = '__whatsAppAgentRunStart';

/** Answer already written; start a run with the trigger's three outputs. */
export function startRun(
	context: IWebhookFunctions,
	messages: INodeExecutionData[],
	statuses: INodeExecutionData[],
	callbacks: INodeExecutionData[],
	events: INodeExecutionData[] = [],
): IWebhookResponseData {
	const legacyOrder = context.getWorkflowSettings?.().executionOrder !== 'v1';
	const first = messages.length === 0 && legacyOrder ? [{ json: { [LEGACY_ORDER_CARRIER]: true } }] : messages;
	return { noWebhookResponse: true, workflowData: [first, statuses, callbacks, events] };
}
