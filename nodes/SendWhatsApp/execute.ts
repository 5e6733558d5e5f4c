/**
 * The item loop of Send WhatsApp: for each item, the operation says what to send, the core
 * plans the parts (splitting, markdown, caption overflow, reply context) and delivers them
 * in order without ever re-sending a delivered part. Errors become n8n errors naming the
 * field and the item; with "Continue On Fail" the item carries the error and the delivery
 * report, so feeding it back sends only what is missing.
 */
import {
	NodeApiError,
	NodeOperationError,
	sleep,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type JsonObject,
} from 'n8n-workflow';

import { parseCanonicalMessages, parseCanonicalMessage } from '../../core/canonical-message';
import { DeliveryLedger, PartialDeliveryError, deliverPlan, type DeliveryReport } from '../../core/delivery';
import { WhatsAppValidationError } from '../../core/errors';
import { GraphApiError } from '../../core/graph-errors';
import { TransportError } from '../../core/http-transport';
import { createMessageSender, type BinaryFile } from '../../core/message-sender';
import { normalizeRecipient, recipientLabel, type Recipient } from '../../core/phone-number';
import { planMessages, type PlannedPart } from '../../core/send-plan';
import type { Operation } from './descriptions/operation';
import { createGraphClient, readCloudAccount, type CloudAccount } from './graph';
import { MESSAGE_BUILDERS } from './operations';
import { markAsRead } from './operations/markAsRead';
import { itemString, type OperationInput } from './operations/types';
import { conversationKey, customerOf } from '../../core/conversation-state';
import type { CanonicalMessage } from '../../core/canonical-message';
import { DEFAULT_HANDOFF_PAUSE_MINUTES, openConversations, type ConversationStore } from '../shared/conversations';

/**
 * Parts delivered in this process, so that n8n's "Retry On Fail" (which runs the node again
 * over the same items in the same execution) never sends a part twice. Bounded and expiring.
 */
const ledger = new DeliveryLedger({ maxEntries: 50_000, ttlMs: 60 * 60 * 1000 });

interface SendOptions {
	textLimit: number;
	numbering: boolean;
	convertMarkdown: boolean;
	linkPreview?: boolean;
	replyInThread: boolean;
	replyToMessageId: string;
	pauseBetweenMessages: number;
	maxRetries: number;
	phoneNumberId: string;
}

function readOptions(context: IExecuteFunctions, itemIndex: number): SendOptions {
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const number = (value: unknown, fallback: number) =>
		typeof value === 'number' && Number.isFinite(value) ? value : fallback;
	return {
		textLimit: number(options.textLimit, 4096),
		numbering: options.numbering === true,
		convertMarkdown: options.convertMarkdown !== false,
		linkPreview: typeof options.linkPreview === 'boolean' ? options.linkPreview : undefined,
		replyInThread: options.replyInThread === true,
		replyToMessageId: String(options.replyToMessageId ?? '').trim(),
		pauseBetweenMessages: Math.max(0, number(options.pauseBetweenMessages, 0)),
		maxRetries: Math.max(0, Math.floor(number(options.maxRetries, 3))),
		phoneNumberId: String(options.phoneNumberId ?? '').trim(),
	};
}

/** The `to` parameter, or else the item's phone_number (what the trigger and the agent node output). */
function resolveRecipient(input: OperationInput): Recipient {
	const given = String(input.context.getNodeParameter('to', input.itemIndex, '') ?? '').trim();
	if (given !== '') return normalizeRecipient(given, 'to');
	const fromItem =
		itemString(input, 'phone_number') ?? itemString(input, 'recipient') ?? itemString(input, 'userId') ?? itemString(input, 'waId');
	if (!fromItem) {
		throw new WhatsAppValidationError(
			'to: no recipient: fill in To, or feed an item with a phone_number field (as the WhatsApp Agent Trigger and Call External Agent provide it)',
			'to',
		);
	}
	return normalizeRecipient(fromItem, 'phone_number');
}

function senderOf(input: OperationInput, options: SendOptions, account: CloudAccount): string {
	return options.phoneNumberId || itemString(input, 'phoneNumberId') || account.phoneNumberId;
}

/** Refuses, before anything is sent, a part whose binary data the item does not have. */
function checkBinaries(input: OperationInput, plan: PlannedPart[]): void {
	for (const part of plan) {
		const property = (part.message as { binaryProperty?: string }).binaryProperty;
		if (property === undefined) continue;
		if (!input.item.binary?.[property]) {
			const available = Object.keys(input.item.binary ?? {});
			throw new WhatsAppValidationError(
				`${property}: the incoming item has no binary field "${property}"${available.length ? ` (it has: ${available.join(', ')})` : ' (it has no binary data)'}`,
				property,
			);
		}
	}
}

async function loadBinary(input: OperationInput, property: string): Promise<BinaryFile> {
	const binary = input.context.helpers.assertBinaryData(input.itemIndex, property);
	const data = await input.context.helpers.getBinaryDataBuffer(input.itemIndex, property);
	return { data, mimeType: binary.mimeType, filename: binary.fileName };
}

/** Sent messages join the conversation (Record in Conversation); a human's pause the bot. */
async function recordSent(
	input: OperationInput,
	store: ConversationStore,
	role: 'agent' | 'human',
	sent: { messages: CanonicalMessage[]; to: string; phoneNumberId: string; messageIds: Array<string | undefined> },
): Promise<void> {
	const conversation = conversationKey(sent.phoneNumberId, customerOf({ phone_number: sent.to }));
	const { conversations } = store;
	try {
		await conversations.recordOutgoing(conversation, sent.messages, { role, messageIds: sent.messageIds, replyTo: itemString(input, 'replyTo') });
		if (role === 'human') {
			const minutes = Number(input.context.getNodeParameter('humanPauseMinutes', input.itemIndex, 60));
			await conversations.pause(conversation, { minutes: Number.isFinite(minutes) ? minutes : 60, by: 'human', reason: 'A human answered through Send WhatsApp' });
		}
		const handoff = (input.item.json as IDataObject).handoff as IDataObject | undefined;
		if (role === 'agent' && handoff && typeof handoff === 'object') {
			// The agent asked for a human in a reply it posted to reply_callback.
			const reason = typeof handoff.reason === 'string' ? handoff.reason : undefined;
			await conversations.pause(conversation, { minutes: DEFAULT_HANDOFF_PAUSE_MINUTES, by: 'agent', reason });
		}
	} catch (error) {
		store.failed(error);
		// The messages are out; failing the item now would make a retry send them again.
		input.context.logger.warn(
			`Send WhatsApp "${input.context.getNode().name}": sent, but the conversation could not be updated: ${error instanceof Error ? error.message : String(error)}`,
		);
	}
}

async function sendItem(
	input: OperationInput,
	operation: Exclude<Operation, 'markAsRead'>,
	account: CloudAccount,
	store?: ConversationStore,
): Promise<INodeExecutionData[]> {
	const { context, itemIndex } = input;
	const wanted = MESSAGE_BUILDERS[operation](input);
	const role = store ? (context.getNodeParameter('recordInConversation', itemIndex, 'no') as string) : 'no';
	if ('skip' in wanted) {
		// Nothing to send, but a reply_callback handoff without a message still pauses the bot.
		if (store && role === 'agent' && (input.item.json as IDataObject).handoff) {
			const options = readOptions(context, itemIndex);
			await recordSent(input, store, role, { messages: [], to: recipientLabel(resolveRecipient(input)), phoneNumberId: senderOf(input, options, account), messageIds: [] });
		}
		return [];
	}
	const messages =
		wanted.field === ''
			? wanted.messages.map((message) => parseCanonicalMessage(message, ''))
			: parseCanonicalMessages(wanted.messages, wanted.field);
	const options = readOptions(context, itemIndex);
	const recipient = resolveRecipient(input);
	const phoneNumberId = senderOf(input, options, account);
	const replyTo = options.replyInThread
		? options.replyToMessageId || itemString(input, 'replyTo') || itemString(input, 'messageId')
		: undefined;
	const plan = planMessages(messages, {
		textLimit: options.textLimit,
		numbering: options.numbering,
		convertMarkdown: options.convertMarkdown,
		previewUrl: options.linkPreview,
		replyTo,
		field: wanted.field,
	});
	checkBinaries(input, plan);

	const graph = createGraphClient(context, account, options.maxRetries);
	const to = recipientLabel(recipient);
	const delivered = await deliverPlan(plan, {
		send: createMessageSender({ graph, phoneNumberId, recipient, loadBinary: (property) => loadBinary(input, property) }),
		to,
		phoneNumberId,
		ledger,
		scope: { executionId: context.getExecutionId(), node: context.getNode().name, itemIndex },
		previous: (input.item.json as IDataObject).delivery,
		pauseMs: options.pauseBetweenMessages,
		sleep,
	});
	if (store && (role === 'agent' || role === 'human')) {
		await recordSent(input, store, role, { messages, to, phoneNumberId, messageIds: messages.map((_, index) => {
			// A message split into several parts is one turn, under its first part's id.
			const first = plan.find((part) => part.source === index);
			return first ? delivered.find((entry) => entry.part === first.part)?.messageId : undefined;
		}) });
	}
	return delivered.map((entry, index) => ({
		json: {
			messageId: entry.messageId,
			to,
			type: entry.type,
			part: entry.part,
			parts: entry.parts,
			phoneNumberId,
			...(plan[index]?.replyTo ? { replyTo: plan[index].replyTo } : {}),
			...(entry.waId ? { waId: entry.waId } : {}),
			...(entry.messageStatus ? { messageStatus: entry.messageStatus } : {}),
			...(entry.alreadySent ? { alreadySent: true } : {}),
		},
		pairedItem: { item: itemIndex },
	}));
}

/** Field, code, title, details: what the n8n error shows (never a token: GraphApiError scrubs it). */
function graphErrorData(error: GraphApiError | TransportError, report?: DeliveryReport): JsonObject {
	const data: JsonObject = { message: error.message };
	if (error instanceof GraphApiError) {
		data.httpCode = String(error.httpStatus);
		if (error.code !== undefined) data.code = error.code;
		if (error.title) data.title = error.title;
		if (error.details) data.details = error.details;
		if (error.hint) data.hint = error.hint;
		if (error.fbtraceId) data.fbtraceId = error.fbtraceId;
	}
	if (report) data.delivery = report as unknown as JsonObject;
	return data;
}

function deliveryDescription(report: DeliveryReport): string {
	const sent = report.delivered.map((entry) => `${entry.part}: ${entry.messageId}`).join(', ');
	const lines = [
		report.delivered.length > 0
			? `Already delivered (part: message id): ${sent}. These are never sent again when this item is retried or fed back with its "delivery" field.`
			: 'Nothing was delivered for this item.',
		`Failed: part ${report.failedPart.part} of ${report.parts} (${report.failedPart.type}). Not sent yet: ${report.remaining.length} more.`,
	];
	return lines.join(' ');
}

/** Turns whatever went wrong for one item into NodeOperationError (bad input) or NodeApiError (WhatsApp said no). */
export function toNodeError(
	context: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): { error: NodeApiError | NodeOperationError; delivery?: DeliveryReport } {
	const node = context.getNode();
	if (error instanceof WhatsAppValidationError) {
		return {
			error: new NodeOperationError(node, `${error.message} (item ${itemIndex})`, {
				itemIndex,
				description: `Nothing was sent for item ${itemIndex}. Fix the field "${error.field}" and run again.`,
			}),
		};
	}
	if (error instanceof PartialDeliveryError) {
		const cause = error.cause;
		if (cause instanceof WhatsAppValidationError && error.delivered.length === 0) {
			return toNodeError(context, cause, itemIndex);
		}
		const underlying =
			cause instanceof GraphApiError || cause instanceof TransportError ? cause : new TransportError(error.report.error.message, undefined, false);
		return {
			error: new NodeApiError(node, graphErrorData(underlying, error.report), {
				message: error.message,
				description: deliveryDescription(error.report),
				httpCode: underlying instanceof GraphApiError ? String(underlying.httpStatus) : undefined,
				itemIndex,
			}),
			delivery: error.report,
		};
	}
	if (error instanceof GraphApiError || error instanceof TransportError) {
		return {
			error: new NodeApiError(node, graphErrorData(error), {
				message: error.message,
				httpCode: error instanceof GraphApiError ? String(error.httpStatus) : undefined,
				itemIndex,
			}),
		};
	}
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return { error };
	return { error: new NodeOperationError(node, error instanceof Error ? error : String(error), { itemIndex }) };
}

export async function executeSendWhatsApp(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const account = await readCloudAccount(this);
	const recording = this.getNodeParameter('recordInConversation', 0, 'no') as string;
	const store = recording === 'agent' || recording === 'human' ? await openConversations(this) : undefined;
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const input: OperationInput = { context: this, itemIndex, item: items[itemIndex] };
		let failure: unknown;
		try {
			const operation = this.getNodeParameter('operation', itemIndex) as Operation;
			if (operation !== 'markAsRead' && !(operation in MESSAGE_BUILDERS)) {
				// n8n offers "Custom API Call" on nodes whose credential authenticates requests.
				throw new NodeOperationError(this.getNode(), `Send WhatsApp has no operation "${operation}"`, {
					itemIndex,
					description:
						"For a Graph API call this node does not offer, use n8n's HTTP Request node with Authentication → Predefined Credential Type → WhatsApp Cloud API.",
				});
			}
			if (operation === 'markAsRead') {
				const options = readOptions(this, itemIndex);
				const graph = createGraphClient(this, account, options.maxRetries);
				output.push(await markAsRead(input, graph, senderOf(input, options, account)));
			} else {
				output.push(...(await sendItem(input, operation, account, store)));
			}
		} catch (error) {
			failure = error;
		}
		if (failure === undefined) continue;
		const { error, delivery } = toNodeError(this, failure, itemIndex);
		if (!this.continueOnFail()) throw error;
		output.push({
			json: { ...items[itemIndex].json, error: error.message, ...(delivery ? { delivery: delivery as unknown as IDataObject } : {}) },
			...(items[itemIndex].binary ? { binary: items[itemIndex].binary } : {}),
			pairedItem: { item: itemIndex },
		});
	}
	return [output];
}
