/**
 * The "Test" of the WhatsApp Webhook credential (`testedBy` on the trigger). Nothing in it
 * can be checked against Meta without the app id, so it checks what can go wrong locally:
 * an empty verify token, an empty app secret, or something that is not shaped like a Meta
 * App Secret (32 hex characters; usually an access token pasted into the wrong field).
 */
import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';

import { webhookCredentialProblems } from '../../core/webhook-signature';

export async function whatsAppWebhookApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const problems = webhookCredentialProblems(credential.data ?? {});
	if (problems.length > 0) return { status: 'Error', message: problems.join(' ') };
	return {
		status: 'OK',
		message: 'The Verify Token is set and the App Secret looks like a Meta App Secret. Meta checks both when you verify the Callback URL.',
	};
}
