/**
 * The Graph client for this node. Credentials are read only for the phone number id, base URL
 * and API version; the token is added by the credential's own `authenticate` inside n8n's
 * request helper, so no code here ever sees it.
 */
import { sleep, type IExecuteFunctions, type ILoadOptionsFunctions } from 'n8n-workflow';

import { GraphClient } from '../../core/graph-client';
import { authenticatedRequester, plainRequester } from '../shared/transport';

export const CREDENTIAL_TYPE = 'whatsAppCloudApi';

type Context = IExecuteFunctions | ILoadOptionsFunctions;

export interface CloudAccount {
	phoneNumberId: string;
	businessAccountId: string;
	baseUrl: string;
	apiVersion: string;
}

export async function readCloudAccount(context: Context): Promise<CloudAccount> {
	const credentials = await context.getCredentials(CREDENTIAL_TYPE);
	return {
		phoneNumberId: String(credentials.phoneNumberId ?? '').trim(),
		businessAccountId: String(credentials.businessAccountId ?? '').trim(),
		baseUrl: String(credentials.graphApiBaseUrl || 'https://graph.facebook.com'),
		apiVersion: String(credentials.apiVersion || 'v24.0'),
	};
}

export function createGraphClient(context: Context, account: CloudAccount, maxRetries: number): GraphClient {
	return new GraphClient({
		request: authenticatedRequester(context, CREDENTIAL_TYPE),
		unauthenticatedRequest: plainRequester(context),
		sleep,
		baseUrl: account.baseUrl,
		apiVersion: account.apiVersion,
		retry: { maxRetries },
		onRetry: ({ attempt, delayMs, reason }) =>
			context.logger.warn(`WhatsApp request retry ${attempt} in ${delayMs} ms: ${reason}`),
	});
}
