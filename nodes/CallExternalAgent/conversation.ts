/**
 * Call External Agent with "Remember Conversations" on (SPEC §10): before the agent is called,
 * the customer's message joins its conversation (paused → the Paused output; a burst → only
 * the newest message's run calls the agent, with all of them); after, the agent's reply is
 * recorded and a handoff pauses the bot. Conversation events from the trigger (a human's
 * reply in the WhatsApp Business app, Meta's history backfill, a changed number) are recorded
 * here too and never reach the agent.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { AgentHandoff } from '../../core/agent-reply-parser';
import type { CanonicalMessage } from '../../core/canonical-message';
import type { ConversationStatus } from '../../core/conversation-handoff';
import type { HistoryTurn } from '../../core/conversation-history';
import type { TurnRole } from '../../core/conversation-records';
import { conversationKey, customerOf, DEFAULT_RETENTION, type Conversations } from '../../core/conversation-state';
import { DEFAULT_HANDOFF_PAUSE_MINUTES, openConversations, optionNumber, type ConversationStore } from '../shared/conversations';
import { DEFAULT_HISTORY_TURNS } from './conversationDescription';
import { DEFAULT_BURST_OPTIONS } from '../../core/conversation-bursts';

export interface ConversationSettings {
	quietMs: number;
	maxWaitMs: number;
	maxMessages: number;
	historyTurns: number;
	pauseMinutes: number;
	keepMessages: number;
	keepDays: number;
}

export function readConversationSettings(context: IExecuteFunctions): ConversationSettings | undefined {
	if (context.getNodeParameter('conversations', 0, false) !== true) return undefined;
	const options = (context.getNodeParameter('conversationOptions', 0, {}) ?? {}) as IDataObject;
	return {
		quietMs: Math.round(optionNumber(options, 'quietSeconds', DEFAULT_BURST_OPTIONS.quietMs / 1000) * 1000),
		maxWaitMs: Math.round(optionNumber(options, 'maxWaitSeconds', DEFAULT_BURST_OPTIONS.maxWaitMs / 1000) * 1000),
		maxMessages: Math.floor(optionNumber(options, 'maxMessages', DEFAULT_BURST_OPTIONS.maxMessages, 1)),
		historyTurns: Math.floor(optionNumber(options, 'historyTurns', DEFAULT_HISTORY_TURNS)),
		pauseMinutes: optionNumber(options, 'pauseMinutes', DEFAULT_HANDOFF_PAUSE_MINUTES, 0.01),
		keepMessages: Math.floor(optionNumber(options, 'keepMessages', DEFAULT_RETENTION.keepMessages, 1)),
		keepDays: optionNumber(options, 'keepDays', DEFAULT_RETENTION.keepDays, 1),
	};
}

export async function openStore(context: IExecuteFunctions, settings: ConversationSettings): Promise<ConversationStore> {
	return await openConversations(context, { keepMessages: settings.keepMessages, keepDays: settings.keepDays });
}

/** What the conversation says to do with one input item. */
export type TurnPlan =
	/** Recorded (a conversation event); nothing goes out. */
	| { kind: 'recorded' }
	/** A human has the conversation: the item goes out on Paused. */
	| { kind: 'paused'; status: ConversationStatus }
	/** Another message's run answers this burst. */
	| { kind: 'later' }
	/** Call the agent with these messages (oldest first) and this history. */
	| { kind: 'call'; burst: IDataObject[]; history: HistoryTurn[] };

const EVENT_ROLES: Record<string, TurnRole> = { customer: 'customer', agent: 'agent', human: 'human' };

/** The conversation of a Messages item (or a trigger conversation event). */
export function conversationOf(item: IDataObject): string {
	return conversationKey(String(item.phoneNumberId ?? ''), customerOf(item));
}

/** A trigger Conversation Events item: recorded, never answered. */
async function recordEvent(conversations: Conversations, item: IDataObject, settings: ConversationSettings): Promise<void> {
	const conversation = conversationOf(item);
	if (item.event === 'identity_change') {
		const previous = String(item.previousCustomer ?? '');
		if (previous !== '') await conversations.rename(conversationKey(String(item.phoneNumberId ?? ''), previous), conversation);
		return;
	}
	const role = EVENT_ROLES[String(item.role ?? '')] ?? (item.event === 'echo' ? 'human' : 'customer');
	const timestamp = typeof item.timestamp === 'string' ? item.timestamp : null;
	const sentAt = timestamp === null ? NaN : Date.parse(timestamp);
	await conversations.recordTurn(conversation, {
		role,
		messageId: String(item.messageId ?? ''),
		type: String(item.type ?? 'text'),
		text: typeof item.message === 'string' && item.message !== '' ? item.message : `[${String(item.type ?? 'message')} message]`,
		timestamp,
		// A backfill keeps its own time, so it sorts before what came after it.
		at: item.event === 'history' && Number.isFinite(sentAt) ? sentAt : undefined,
	});
	if (item.event === 'echo') {
		await conversations.pause(conversation, { minutes: settings.pauseMinutes, by: 'human', reason: 'A human answered in the WhatsApp Business app' });
	}
}

function burstItem(payload: string, fallback: IDataObject): IDataObject {
	try {
		const parsed = JSON.parse(payload) as unknown;
		if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as IDataObject;
	} catch {
		// A row without its item (cleared, or written by hand): the turn itself stands in.
	}
	return fallback;
}

/** The first step, taken for every item of a run before any waits: so the messages of one delivery form one burst. */
export type Admission =
	| { kind: 'recorded' }
	| { kind: 'paused'; status: ConversationStatus }
	| { kind: 'admitted'; buffered: boolean };

export async function admitTurn(conversations: Conversations, item: IDataObject, settings: ConversationSettings): Promise<Admission> {
	if (typeof item.event === 'string') {
		await recordEvent(conversations, item, settings);
		return { kind: 'recorded' };
	}
	const conversation = conversationOf(item);
	const status = await conversations.status(conversation);
	if (status.paused) {
		await conversations.recordCustomer(conversation, item as never, false);
		return { kind: 'paused', status };
	}
	const buffered = settings.quietMs > 0 && String(item.messageId ?? '') !== '';
	await conversations.recordCustomer(conversation, item as never, buffered);
	return { kind: 'admitted', buffered };
}

/** The second step: waits for the burst (when buffered) and reads the history. */
export async function planTurn(conversations: Conversations, item: IDataObject, settings: ConversationSettings, admission: Admission): Promise<TurnPlan> {
	if (admission.kind !== 'admitted') return admission;
	const conversation = conversationOf(item);
	const messageId = String(item.messageId ?? '');
	let burst: IDataObject[] = [item];
	if (admission.buffered) {
		const outcome = await conversations.collect(conversation, messageId, `burst:${messageId}`, {
			quietMs: settings.quietMs,
			maxWaitMs: settings.maxWaitMs,
			maxMessages: settings.maxMessages,
		});
		if (!outcome.answer) return { kind: 'later' };
		burst = outcome.messages.map((row) =>
			row.messageId === messageId ? item : burstItem(row.payload, { ...item, messageId: row.messageId, message: row.text, type: row.type, timestamp: row.timestamp }),
		);
	}
	const exclude = new Set(burst.map((entry) => String(entry.messageId ?? '')));
	const history = await conversations.history(conversation, settings.historyTurns, exclude);
	return { kind: 'call', burst, history };
}

/** After the agent answered: its reply becomes turns, and a handoff pauses the bot. */
export async function finishTurn(
	conversations: Conversations,
	item: IDataObject,
	settings: ConversationSettings,
	reply: { messages: CanonicalMessage[]; handoff?: AgentHandoff },
): Promise<ConversationStatus | undefined> {
	const conversation = conversationOf(item);
	const replyTo = typeof item.messageId === 'string' ? item.messageId : undefined;
	await conversations.recordOutgoing(conversation, reply.messages, { role: 'agent', replyTo });
	let status: ConversationStatus | undefined;
	if (reply.handoff) {
		status = await conversations.pause(conversation, {
			minutes: settings.pauseMinutes,
			by: 'agent',
			reason: reply.handoff.reason ?? undefined,
		});
	}
	await conversations.upkeep(conversation);
	return status;
}

export function pausedItem(item: INodeExecutionData, status: ConversationStatus, itemIndex: number): INodeExecutionData {
	return { json: { ...item.json, conversation: status as unknown as IDataObject }, pairedItem: { item: itemIndex } };
}
