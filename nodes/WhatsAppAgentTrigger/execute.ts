/**
 * The trigger's execution phase. n8n runs a webhook node's `execute` first in every run it
 * starts, with what `webhook()` emitted as input (Messages, Statuses, Agent Callbacks), and
 * this is the first moment a node can reach n8n's database. Here each customer message and
 * each reply callback sent with an Idempotency-Key is claimed in the workflow's shared
 * state: a delivery that another process (another webhook process, another worker) already
 * handled is dropped before any node after the trigger sees it. The webhook phase's
 * in-memory filter has already dropped what this process saw itself.
 *
 * If n8n's database cannot be used, the items go on (the customer is answered rather than
 * ignored) and n8n's log says why.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { callbackClaimKey, ConversationStateError, messageClaimKey } from '../../core/conversation-state';
import { conversationStateFor } from '../shared/processedDataState';
import { LEGACY_ORDER_CARRIER } from './request';

function inputAt(context: IExecuteFunctions, index: number): INodeExecutionData[] {
	try {
		return context.getInputData(index);
	} catch {
		// n8n ran the trigger with fewer inputs (a test run from the editor): nothing there.
		return [];
	}
}

/** The claim key of an item, or undefined when it is not claimed (statuses, callbacks without a key). */
function messageKey(item: INodeExecutionData): string | undefined {
	const { messageId, phoneNumberId } = item.json;
	return typeof messageId === 'string' && messageId !== '' ? messageClaimKey(String(phoneNumberId ?? ''), messageId) : undefined;
}

function callbackKey(item: INodeExecutionData): string | undefined {
	const callback = (item.json.callback ?? {}) as IDataObject;
	const key = callback.idempotencyKey;
	if (typeof key !== 'string' || key === '') return undefined;
	return callbackClaimKey(String(item.json.phoneNumberId ?? ''), String(item.json.replyTo ?? ''), key);
}

/** Conversation events are claimed like messages (an echo recorded twice would be two turns). */
function eventKey(item: INodeExecutionData): string | undefined {
	const { messageId, phoneNumberId, event } = item.json;
	return typeof messageId === 'string' && messageId !== ''
		? `event:${String(event ?? '')}:${messageClaimKey(String(phoneNumberId ?? ''), messageId)}`
		: undefined;
}

function ignoresDuplicates(context: IExecuteFunctions): boolean {
	const options = (context.getNodeParameter('options', 0, {}) ?? {}) as IDataObject;
	return options.ignoreDuplicates !== false;
}

export async function executeTrigger(context: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const messages = inputAt(context, 0).filter((item) => item.json[LEGACY_ORDER_CARRIER] !== true);
	const statuses = inputAt(context, 1);
	const callbacks = inputAt(context, 2);
	const events = inputAt(context, 3);

	const keyed = new Map<INodeExecutionData, string>();
	if (ignoresDuplicates(context)) {
		for (const item of messages) {
			const key = messageKey(item);
			if (key !== undefined) keyed.set(item, key);
		}
		for (const item of events) {
			const key = eventKey(item);
			if (key !== undefined) keyed.set(item, key);
		}
	}
	// An agent's Idempotency-Key is honoured whatever the duplicate option says, as in the webhook phase.
	for (const item of callbacks) {
		const key = callbackKey(item);
		if (key !== undefined) keyed.set(item, key);
	}
	if (keyed.size === 0) return [messages, statuses, callbacks, events];

	const node = context.getNode();
	let duplicates: Set<string>;
	try {
		duplicates = new Set((await conversationStateFor(context).claim([...keyed.values()])).duplicates);
	} catch (error) {
		const reason = error instanceof ConversationStateError ? error.message : String(error);
		context.logger.warn(
			`WhatsApp Agent Trigger "${node.name}": duplicate deliveries could not be checked across n8n processes, so this run goes on: ${reason}`,
		);
		return [messages, statuses, callbacks, events];
	}
	if (duplicates.size === 0) return [messages, statuses, callbacks, events];

	const keep = (item: INodeExecutionData) => !duplicates.has(keyed.get(item) ?? '');
	const dropped = [...messages, ...callbacks, ...events].filter((item) => !keep(item));
	context.logger.info(
		`WhatsApp Agent Trigger "${node.name}": ${dropped.length} delivery(ies) already handled in another run, not emitted again: ${dropped
			.map((item) => String(item.json.messageId ?? item.json.replyTo ?? ''))
			.join(', ')}`,
	);
	return [messages.filter(keep), statuses, callbacks.filter(keep), events.filter(keep)];
}
