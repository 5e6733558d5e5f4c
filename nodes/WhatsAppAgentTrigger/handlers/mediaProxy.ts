/**
 * GET `media?token=…`: streams a customer's media to whoever holds the signed link (the
 * agent), fetched from Meta with the WhatsApp Cloud API credential, so the agent needs no
 * Meta credentials. Forged or malformed token → 401, expired → 410, media gone at Meta
 * (kept 7 days) → 404, other Meta failures → 502, no Cloud API credential → 503.
 */
import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { GraphApiError } from '../../../core/graph-errors';
import { createMediaClient, fetchMedia, type FetchedMedia } from '../media';
import { checkWithWebhookCredential, hasCloudCredential, queryParameter, respondJson } from '../request';

export const MEDIA_PROXY_REASONS = {
	noSecret: 'Media links are disabled: the WhatsApp Webhook credential has no secret to sign them with',
	missing: 'No token: use the whole media link, including ?token=…',
	malformed: 'The token is damaged: use the media link exactly as received',
	forged: 'The token is not valid for this trigger',
	expired: 'The media link has expired: links work for a limited time (the trigger\'s "Media Link Lifetime" option)',
	noCloudCredential:
		'The trigger has no WhatsApp Cloud API credential, so it cannot fetch media from Meta: select one in the trigger',
	gone: 'Meta no longer has this media (media customers send is kept for 7 days)',
} as const;

/** Media is fetched while the agent waits: a bounded time, one retry. */
const MEDIA_PROXY_TIMEOUT_MS = 20_000;

export async function handleMediaProxy(context: IWebhookFunctions): Promise<IWebhookResponseData> {
	const token = queryParameter(context, 'token');
	const {
		credential: { tokens },
		result: verified,
	} = await checkWithWebhookCredential(
		context,
		(credential) => credential.tokens?.verifyMediaLinkToken(token),
		// No token is refused whatever the credential says.
		(result) => result?.ok === true || token === '',
	);
	if (!tokens || !verified || token === '') {
		respondJson(context, 401, { error: tokens ? MEDIA_PROXY_REASONS.missing : MEDIA_PROXY_REASONS.noSecret });
		return { noWebhookResponse: true };
	}
	if (!verified.ok) {
		respondJson(context, verified.reason === 'expired' ? 410 : 401, { error: MEDIA_PROXY_REASONS[verified.reason] });
		return { noWebhookResponse: true };
	}
	if (!hasCloudCredential(context)) {
		respondJson(context, 503, { error: MEDIA_PROXY_REASONS.noCloudCredential });
		return { noWebhookResponse: true };
	}

	const { mediaId, mimeType, phoneNumberId, expiresAt } = verified.payload;
	let media: FetchedMedia | undefined;
	let failure: unknown;
	try {
		const client = await createMediaClient(context, MEDIA_PROXY_TIMEOUT_MS, 1);
		media = await fetchMedia(client, mediaId, phoneNumberId, mimeType);
	} catch (error) {
		failure = error;
	}
	if (!media) {
		const reason = failure instanceof Error ? failure.message : String(failure);
		const gone = failure instanceof GraphApiError && (failure.httpStatus === 404 || failure.code === 100);
		context.logger.warn(`WhatsApp Agent Trigger "${context.getNode().name}": media ${mediaId} could not be fetched: ${reason}`);
		respondJson(context, gone ? 404 : 502, { error: gone ? `${MEDIA_PROXY_REASONS.gone}. ${reason}` : `Fetching the media from Meta failed: ${reason}` });
		return { noWebhookResponse: true };
	}

	const response = context.getResponseObject();
	const maxAge = Math.max(0, expiresAt - Math.floor(Date.now() / 1000));
	response.status(200);
	response.setHeader('Content-Type', media.mimeType);
	response.setHeader('Content-Length', String(media.data.length));
	response.setHeader('Cache-Control', `private, max-age=${maxAge}`);
	response.setHeader('X-Content-Type-Options', 'nosniff');
	response.end(media.data);
	return { noWebhookResponse: true };
}
