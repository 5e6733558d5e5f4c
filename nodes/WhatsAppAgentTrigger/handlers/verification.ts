/**
 * GET `webhook`: Meta's verification handshake (reference §1.1). `hub.mode=subscribe` and
 * the credential's Verify Token → 200, body exactly `hub.challenge`, text/plain. Anything
 * else → 403 with a short reason (and a warning in n8n's log, since Meta only shows
 * "couldn't be validated"). No signature on GET.
 */
import { createHash, timingSafeEqual } from 'crypto';
import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { checkWithWebhookCredential, queryParameter, respondText } from '../request';

export const VERIFICATION_REASONS = {
	noVerifyToken:
		'The WhatsApp Webhook credential has no Verify Token: set one, and paste the same phrase into "Verify token" in your Meta app',
	badMode: 'hub.mode must be "subscribe"',
	noChallenge: 'hub.challenge is missing',
	noToken: 'hub.verify_token is missing',
	mismatch:
		'hub.verify_token does not match the Verify Token in the WhatsApp Webhook credential: paste the same phrase in both places',
} as const;

/** Constant-time comparison of two strings of any length (both hashed first). */
function sameSecret(a: string, b: string): boolean {
	const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
	return timingSafeEqual(digest(a), digest(b));
}

export async function handleVerification(context: IWebhookFunctions): Promise<IWebhookResponseData> {
	const mode = queryParameter(context, 'hub.mode');
	const challenge = queryParameter(context, 'hub.challenge');
	const token = queryParameter(context, 'hub.verify_token');
	const refusalFor = (verifyToken: string): string | undefined => {
		if (verifyToken === '') return VERIFICATION_REASONS.noVerifyToken;
		if (mode !== 'subscribe') return VERIFICATION_REASONS.badMode;
		if (challenge === '') return VERIFICATION_REASONS.noChallenge;
		if (token === '') return VERIFICATION_REASONS.noToken;
		if (!sameSecret(token, verifyToken)) return VERIFICATION_REASONS.mismatch;
		return undefined;
	};

	const { result: refusal } = await checkWithWebhookCredential(
		context,
		({ verifyToken }) => refusalFor(verifyToken),
		(result) => result === undefined,
	);

	if (refusal !== undefined) {
		context.logger.warn(`WhatsApp Agent Trigger "${context.getNode().name}" refused Meta's webhook verification: ${refusal}`);
		respondText(context, 403, refusal);
		return { noWebhookResponse: true };
	}
	respondText(context, 200, challenge);
	return { noWebhookResponse: true };
}
