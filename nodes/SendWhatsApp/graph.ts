/**
 * The Graph client for this node. The credential is read once per run, for the phone number
 * id, base URL and API version, and handed back to n8n's request helper for every request;
 * the token is added by the credential's own `authenticate` there, no code here reads it.
 */
import { sleep, type IExecuteFunctions, type ILoadOptionsFunctions } from 'n8n-workflow';

import { GraphClient } from '../../core/graph-client';
import type { HttpRequester } from '../../core/http-transport';
import { authenticatedRequester, plainRequester } from '../shared/transport';

export const CREDENTIAL_TYPE = 'whatsAppCloudApi';

type Context = IExecuteFunctions | ILoadOptionsFunctions;

export interface CloudAccount {
	phoneNumberId: string;
	businessAccountId: string;
	baseUrl: string;
	apiVersion: string;
	/** Requests signed with this credential (already loaded: n8n does not decrypt it again). */
	authenticatedRequest: HttpRequester;
}

export async function readCloudAccount(context: Context): Promise<CloudAccount> {
	const credentials = await context.getCredentials(CREDENTIAL_TYPE);
	return {
		phoneNumberId: String(credentials.phoneNumberId ?? '').trim(),
		businessAccountId: String(credentials.businessAccountId ?? '').trim(),
		baseUrl: String(credentials.graphApiBaseUrl || 'https://graph.facebook.com'),
		apiVersion: String(credentials.apiVersion || 'v24.0'),
		authenticatedRequest: authenticatedRequester(context, CREDENTIAL_TYPE, credentials),
	};
}

export function createGraphClient(context: Context, account: CloudAccount, maxRetries: number): GraphClient {
	return new GraphClient({
		request: account.authenticatedRequest,
		unauthenticatedRequest: plainRequester(context),
		sleep,
		baseUrl: account.baseUrl,
		apiVersion: account.apiVersion,
		retry: { maxRetries },
		onRetry: ({ attempt, delayMs, reason }) =>
			context.logger.warn(`WhatsApp request retry ${attempt} in ${delayMs} ms: ${reason}`),
	});
}
