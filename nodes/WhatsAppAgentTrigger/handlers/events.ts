/**
 * POST `webhook`: Meta's event deliveries. In order, all within microseconds:
 * signature on the raw bytes (401 + reason + log line when it fails) → JSON → normalize →
 * phone-number and status filters → dedup → answer Meta 200. Then the emitted messages get
 * their signed links (reply_callback, media), and, if "Download Media" is on, their media is
 * fetched (Meta is never kept waiting for it); then the run starts.
 */
import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import {
	attachLinks,
	normalizeWebhook,
	selectWebhookItems,
	type InboundMessageItem,
	type NormalizeHooks,
	type Selection,
} from '../../../core/inbound-normalizer';
import type { ConversationEventItem } from '../../../core/conversation-events';
import { messageClaimKey } from '../../../core/conversation-state';
import type { DedupCache } from '../../../core/dedup-cache';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../../core/webhook-signature';
import { dedupCacheFor } from '../dedupRegistry';
import { createMediaClient, fetchMedia, mediaFileName } from '../media';
import {
	checkWithWebhookCredential,
	hasCloudCredential,
	headerOf,
	rawBodyOf,
	readOptions,
	readWebhookCredential,
	respondJson,
	startRun,
	triggerUrls,
	type TriggerOptions,
	type WebhookCredential,
} from '../request';

export const NOT_JSON_REASON = 'The body is not JSON. Meta always sends JSON: is something else posting to this URL?';

export const NO_CLOUD_CREDENTIAL_FOR_DOWNLOAD =
	'"Download Media" is on but the trigger has no WhatsApp Cloud API credential: select one in the trigger to download media';

/** Media downloads after the answer: per request, one retry. */
const MEDIA_TIMEOUT_MS = 15_000;

function parseBody(context: IWebhookFunctions, raw: Buffer): { ok: true; value: unknown } | { ok: false } {
	const contentType = String(context.getHeaderData()['content-type'] ?? '');
	const parsed = context.getBodyData() as unknown;
	// n8n has already parsed a JSON body (and answered 422 itself when that failed).
	if (/json/i.test(contentType) && parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
		return { ok: true, value: parsed };
	}
	if (raw.length === 0) return { ok: true, value: {} };
	try {
		return { ok: true, value: JSON.parse(raw.toString('utf8')) as unknown };
	} catch {
		return { ok: false };
	}
}

async function attachMedia(context: IWebhookFunctions, items: INodeExecutionData[]): Promise<void> {
	const withMedia = items.filter((item) => (item.json as unknown as InboundMessageItem).media?.id);
	if (withMedia.length === 0) return;
	if (!hasCloudCredential(context)) {
		for (const item of withMedia) item.json.mediaError = NO_CLOUD_CREDENTIAL_FOR_DOWNLOAD;
		context.logger.warn(`WhatsApp Agent Trigger "${context.getNode().name}": ${NO_CLOUD_CREDENTIAL_FOR_DOWNLOAD}`);
		return;
	}
	const client = await createMediaClient(context, MEDIA_TIMEOUT_MS, 1);
	await Promise.all(
		withMedia.map(async (item) => {
			const message = item.json as unknown as InboundMessageItem;
			const media = message.media!;
			let failure: unknown;
			try {
				const fetched = await fetchMedia(client, media.id!, message.phoneNumberId || undefined, media.mimeType ?? undefined);
				const fileName = mediaFileName(message.type, media.id!, fetched.mimeType, media.filename);
				item.binary = { data: await context.helpers.prepareBinaryData(fetched.data, fileName, fetched.mimeType) };
			} catch (error) {
				failure = error;
			}
			if (failure !== undefined) {
				const reason = failure instanceof Error ? failure.message : String(failure);
				item.json.mediaError = `The media could not be downloaded: ${reason}`;
				context.logger.warn(`WhatsApp Agent Trigger "${context.getNode().name}": media ${media.id} of message ${message.messageId} could not be downloaded: ${reason}`);
			}
		}),
	);
}

function seenCache(context: IWebhookFunctions, options: TriggerOptions): DedupCache | undefined {
	const node = context.getNode();
	return options.ignoreDuplicates ? dedupCacheFor(`${context.getWorkflow().id ?? ''}:${node.id}:${node.webhookId ?? ''}`) : undefined;
}

/**
 * The conversation events to emit: the phone number filter and this process's duplicate
 * filter apply as to messages; a changed-number `system` message then leaves Messages (it is
 * an event, not something to answer).
 */
function selectEvents(
	all: ConversationEventItem[],
	options: TriggerOptions,
	selection: Selection,
	seen: DedupCache | undefined,
): ConversationEventItem[] {
	const allowed = (id: string) => options.phoneNumberIds.size === 0 || options.phoneNumberIds.has(id);
	const events = all.filter((event) => {
		if (!allowed(event.phoneNumberId)) return false;
		if (event.event === 'identity_change' || event.messageId === '' || !seen) return true;
		return !seen.checkAndAdd(`event:${event.event}:${messageClaimKey(event.phoneNumberId, event.messageId)}`);
	});
	const identity = new Set(events.filter((event) => event.event === 'identity_change').map((event) => event.messageId));
	if (identity.size > 0) selection.messages = selection.messages.filter((message) => !identity.has(message.messageId));
	return events;
}

export async function handleEvents(context: IWebhookFunctions): Promise<IWebhookResponseData> {
	const options = readOptions(context);
	const raw = await rawBodyOf(context);
	const node = context.getNode();

	let credential: WebhookCredential;
	if (options.skipSignatureCheck) {
		credential = await readWebhookCredential(context);
	} else {
		const signature = headerOf(context, SIGNATURE_HEADER);
		const signed = await checkWithWebhookCredential(
			context,
			({ appSecret }) => verifyWebhookSignature(raw, signature, appSecret),
			(check) => check.ok,
		);
		if (!signed.result.ok) {
			context.logger.warn(`WhatsApp Agent Trigger "${node.name}" refused a POST with 401: ${signed.result.reason}`);
			respondJson(context, 401, { received: false, error: signed.result.reason });
			return { noWebhookResponse: true };
		}
		credential = signed.credential;
	}

	const body = parseBody(context, raw);
	if (!body.ok) {
		respondJson(context, 400, { received: false, error: NOT_JSON_REASON });
		return { noWebhookResponse: true };
	}

	const hooks: NormalizeHooks = {};
	const urls = triggerUrls(context);
	const tokens = credential.tokens;
	if (tokens && urls) {
		hooks.replyCallback = (claims) => {
			const token = tokens.replyCallbackToken(claims, options.replyCallbackTtlSeconds);
			return token === null ? null : `${urls.reply}?token=${token}`;
		};
		if (hasCloudCredential(context)) {
			hooks.mediaUrl = (claims) => {
				const token = tokens.mediaLinkToken(claims, options.mediaLinkTtlSeconds);
				return token === null ? null : `${urls.media}?token=${token}`;
			};
		}
	}
	const normalized = normalizeWebhook(body.value);
	const selection = selectWebhookItems(normalized, {
		phoneNumberIds: options.phoneNumberIds,
		statuses: options.statuses,
		seen: seenCache(context, options),
	});

	const events = options.conversationEvents ? selectEvents(normalized.events, options, selection, seenCache(context, options)) : [];

	const receipt: IDataObject = {
		received: true,
		messages: selection.messages.length,
		statuses: selection.statuses.length,
		duplicates: selection.duplicates,
		filtered: selection.filtered,
	};
	if (events.length > 0) receipt.events = events.length;
	if (normalized.ignored) receipt.ignored = normalized.ignored;
	// Meta is answered before anything slow happens.
	respondJson(context, 200, receipt);

	if (selection.messages.length === 0 && selection.statuses.length === 0 && events.length === 0) return { noWebhookResponse: true };
	// When this process received them: bursts order a customer's messages by it (their runs may
	// start in another order on different workers; Meta's own timestamp has only seconds).
	const receivedAt = Date.now();
	for (const message of selection.messages) {
		attachLinks(message, hooks);
		message.receivedAt = receivedAt;
	}
	const messages: INodeExecutionData[] = selection.messages.map((item) => ({ json: item as unknown as IDataObject }));
	const statuses: INodeExecutionData[] = selection.statuses.map((item) => ({ json: item as unknown as IDataObject }));
	if (options.downloadMedia) await attachMedia(context, messages);
	return startRun(context, messages, statuses, [], events.map((item) => ({ json: item as unknown as IDataObject })));
}
