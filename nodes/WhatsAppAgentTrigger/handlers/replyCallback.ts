/**
 * POST `reply?token=…`: an agent sends more replies later (SPEC §3). The token says who to
 * answer, from which business number and which message is answered; the body is read with
 * the same lenient parser as Call External Agent's answers. Valid → 202 with a receipt and
 * one item on Agent Callbacks, shaped like Call External Agent's output so Send WhatsApp's
 * "Send Agent Reply" sends it. Forged or malformed token → 401, expired → 410, body that is
 * not a reply → 422 saying what is wrong; nothing is emitted then.
 *
 * An agent that retries a POST may send an `Idempotency-Key` header: a key this process
 * already accepted for the same message (within 24 h) is answered 200 with
 * `duplicate: true` and not emitted again. A retry that reaches another n8n process is
 * answered 202 like the first, and then dropped in the trigger's execution phase, where the
 * key is claimed in n8n's database (execute.ts): either way the customer gets the reply once.
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { callbackClaimKey } from '../../../core/conversation-state';
import { AgentReplyFormatError, parseAgentReply, type AgentReply } from '../../../core/agent-reply-parser';
import { WhatsAppValidationError } from '../../../core/errors';
import { dedupCacheFor } from '../dedupRegistry';
import { checkWithWebhookCredential, headerOf, queryParameter, rawBodyOf, respondJson, startRun } from '../request';

export const REPLY_CALLBACK_REASONS = {
	noSecret:
		'Reply links are disabled: the WhatsApp Webhook credential has neither an App Secret nor a Verify Token to sign them with',
	missing: 'No token: use the whole reply_callback URL, including ?token=…',
	malformed: 'The token is damaged: use the reply_callback URL exactly as received',
	forged: 'The token is not valid for this trigger (was it changed, or made with another credential?)',
	expired: 'The reply_callback link has expired: the customer has to write again before the agent can answer',
} as const;

export async function handleReplyCallback(context: IWebhookFunctions): Promise<IWebhookResponseData> {
	const token = queryParameter(context, 'token');
	const {
		credential: { tokens },
		result: verified,
	} = await checkWithWebhookCredential(
		context,
		(credential) => credential.tokens?.verifyReplyCallbackToken(token),
		// No token is refused whatever the credential says.
		(result) => result?.ok === true || token === '',
	);
	if (!tokens || !verified) {
		respondJson(context, 401, { accepted: false, error: REPLY_CALLBACK_REASONS.noSecret });
		return { noWebhookResponse: true };
	}
	if (token === '') {
		respondJson(context, 401, { accepted: false, error: REPLY_CALLBACK_REASONS.missing });
		return { noWebhookResponse: true };
	}
	if (!verified.ok) {
		const status = verified.reason === 'expired' ? 410 : 401;
		context.logger.warn(`WhatsApp Agent Trigger "${context.getNode().name}" refused a reply callback with ${status}: token ${verified.reason}`);
		respondJson(context, status, { accepted: false, error: REPLY_CALLBACK_REASONS[verified.reason] });
		return { noWebhookResponse: true };
	}

	const raw = await rawBodyOf(context);
	const contentType = String(context.getHeaderData()['content-type'] ?? '');
	let reply: AgentReply | undefined;
	let failure: unknown;
	try {
		reply = parseAgentReply(raw, { contentType });
	} catch (error) {
		failure = error;
	}
	if (!reply) {
		const problem: IDataObject = { accepted: false };
		if (failure instanceof WhatsAppValidationError) {
			problem.error = failure.message;
			problem.field = failure.field;
		} else if (failure instanceof AgentReplyFormatError) {
			problem.error = failure.message;
		} else {
			problem.error = `The reply could not be read: ${failure instanceof Error ? failure.message : String(failure)}`;
		}
		respondJson(context, 422, problem);
		return { noWebhookResponse: true };
	}

	const { to, phoneNumberId, replyTo, expiresAt } = verified.payload;
	const expires = new Date(expiresAt * 1000).toISOString();
	const idempotencyKey = headerOf(context, 'idempotency-key')?.trim();
	if (idempotencyKey) {
		const node = context.getNode();
		const seen = dedupCacheFor(`${context.getWorkflow().id ?? ''}:${node.id}:${node.webhookId ?? ''}`);
		if (seen.checkAndAdd(callbackClaimKey(phoneNumberId, replyTo, idempotencyKey))) {
			respondJson(context, 200, { accepted: true, duplicate: true, messages: 0, replyTo, expiresAt: expires });
			return { noWebhookResponse: true };
		}
	}
	respondJson(context, 202, {
		accepted: true,
		messages: reply.messages.length,
		noReply: reply.noReply,
		replyTo,
		expiresAt: expires,
	});
	const item: IDataObject = {
		phone_number: to,
		phoneNumberId,
		replyTo,
		messages: reply.messages as unknown as IDataObject[],
		noReply: reply.noReply,
		callback: { receivedAt: new Date().toISOString(), expiresAt: expires, idempotencyKey: idempotencyKey || null },
	};
	// A later {"type": "handoff"}: Send WhatsApp with Record in Conversation pauses the bot for it.
	if (reply.handoff) item.handoff = { reason: reply.handoff.reason };
	return startRun(context, [], [], [{ json: item }]);
}
