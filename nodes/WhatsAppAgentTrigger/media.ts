/**
 * Inbound media through the Graph API (GET /{media-id}, then the returned URL), with the
 * WhatsApp Cloud API credential. The token is added by the credential inside n8n's request
 * helper, and the Graph client sends it only to the Graph host or Meta's media hosts.
 */
import { sleep, type IHookFunctions, type IWebhookFunctions } from 'n8n-workflow';

import { GraphClient } from '../../core/graph-client';
import { MEDIA_MAX_BYTES } from '../../core/limits';
import { authenticatedRequester, plainRequester } from '../shared/transport';
import { CLOUD_CREDENTIAL } from './request';

/** Meta refuses inbound files over 100 MB, so nothing larger is ever fetched. */
export const MAX_INBOUND_MEDIA_BYTES = MEDIA_MAX_BYTES.document;

export interface FetchedMedia {
	data: Buffer;
	mimeType: string;
}

/** The Graph client over the Cloud API credential (also used by automatic webhook setup). */
export async function createMediaClient(context: IWebhookFunctions | IHookFunctions, timeoutMs: number, maxRetries: number): Promise<GraphClient> {
	const credentials = await context.getCredentials(CLOUD_CREDENTIAL);
	return new GraphClient({
		request: authenticatedRequester(context, CLOUD_CREDENTIAL, credentials),
		unauthenticatedRequest: plainRequester(context),
		sleep,
		baseUrl: String(credentials.graphApiBaseUrl || 'https://graph.facebook.com'),
		apiVersion: String(credentials.apiVersion || 'v24.0'),
		timeoutMs,
		retry: { maxRetries },
	});
}

export async function fetchMedia(
	client: GraphClient,
	mediaId: string,
	phoneNumberId: string | undefined,
	fallbackMimeType?: string,
): Promise<FetchedMedia> {
	const info = await client.getMediaInfo(mediaId, phoneNumberId);
	const download = await client.downloadMedia(info.url, { maxBytes: MAX_INBOUND_MEDIA_BYTES });
	return { data: download.data, mimeType: info.mimeType || download.mimeType || fallbackMimeType || 'application/octet-stream' };
}

const EXTENSIONS: Record<string, string> = {
	'image/jpeg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'video/mp4': 'mp4',
	'video/3gpp': '3gp',
	'audio/ogg': 'ogg',
	'audio/mpeg': 'mp3',
	'audio/mp4': 'm4a',
	'audio/aac': 'aac',
	'audio/amr': 'amr',
	'application/pdf': 'pdf',
	'text/plain': 'txt',
};

/** The document's own name, else `<type>-<media id>.<extension>`. */
export function mediaFileName(type: string, mediaId: string, mimeType: string, filename: string | null): string {
	if (filename) return filename;
	const base = mimeType.split(';')[0].trim().toLowerCase();
	return `${type}-${mediaId}.${EXTENSIONS[base] ?? 'bin'}`;
}
