/**
 * Conversation events (SPEC §10): what a coexistence number's webhooks say about a
 * conversation besides the customer's messages. None of them is ever answered; with
 * "Remember Conversations" they are recorded (Call External Agent, conversation.ts).
 * - `smb_message_echoes`: a reply a human typed in the WhatsApp Business app (it pauses the bot);
 * - `history`: Meta's backfill of earlier chats when a number is connected;
 * - a customer's changed number or user id (`system` messages `user_changed_number`,
 *   `user_changed_user_id`, `customer_identity_changed`): the conversation follows them.
 */
export type ConversationEventKind = 'echo' | 'history' | 'identity_change';

export interface ConversationEventItem {
	event: ConversationEventKind;
	/** Who wrote it: `human` (the business, typing in the app) or `customer`; identity changes: `customer`. */
	role: 'customer' | 'human';
	/** The customer, `+<digits>` or their business-scoped user id. */
	phone_number: string;
	waId: string | null;
	userId: string | null;
	messageId: string;
	type: string;
	message: string;
	timestamp: string | null;
	phoneNumberId: string;
	displayPhoneNumber: string;
	/** identity_change: the customer's previous number (digits) or user id. */
	previousCustomer?: string;
	raw: unknown;
}

/** The webhook fields read as conversation events. */
export const CONVERSATION_EVENT_FIELDS = new Set(['smb_message_echoes', 'history']);

export const IDENTITY_CHANGE_TYPES = new Set(['user_changed_number', 'user_changed_user_id', 'customer_identity_changed']);

type Json = Record<string, unknown>;

function record(value: unknown): Json | undefined {
	return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function list(value: unknown): unknown[] {
	return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | null {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function digits(value: unknown): string | null {
	const found = text(value)?.replace(/[^\d]/g, '') ?? '';
	return found === '' ? null : found;
}

function iso(seconds: unknown): string | null {
	const value = Number(text(seconds));
	return Number.isFinite(value) && value > 0 ? new Date(value * 1000).toISOString() : null;
}

/** The readable text of a message object in Cloud API shape (text, caption, or what it is). */
export function messageObjectText(message: Json): string {
	const type = text(message.type) ?? 'unknown';
	const payload = record(message[type]);
	const body = text(payload?.body) ?? text(payload?.caption) ?? text(record(message.text)?.body);
	if (body !== null) return body;
	if (type === 'text') return '';
	return `[${type} message]`;
}

interface Where {
	phoneNumberId: string;
	displayPhoneNumber: string;
}

function eventItem(event: ConversationEventKind, role: 'customer' | 'human', customer: string | null, userId: string | null, message: Json, where: Where): ConversationEventItem | undefined {
	const id = customer ?? userId;
	if (id === null) return undefined;
	return {
		event,
		role,
		phone_number: customer !== null ? `+${customer}` : id,
		waId: customer,
		userId,
		messageId: text(message.id) ?? '',
		type: text(message.type) ?? 'unknown',
		message: messageObjectText(message),
		timestamp: iso(message.timestamp),
		...where,
		raw: message,
	};
}

/** The events in one `changes[].value` of a `smb_message_echoes` or `history` field. */
export function conversationEvents(field: string, value: Json, where: Where): ConversationEventItem[] {
	const events: ConversationEventItem[] = [];
	if (field === 'smb_message_echoes') {
		for (const entry of list(value.message_echoes)) {
			const echo = record(entry);
			if (!echo) continue;
			const item = eventItem('echo', 'human', digits(echo.to), text(echo.to_user_id) ?? text(echo.recipient_user_id), echo, where);
			if (item) events.push(item);
		}
		return events;
	}
	if (field === 'history') {
		for (const chunk of list(value.history)) {
			for (const thread of list(record(chunk)?.threads)) {
				const threadRecord = record(thread);
				const customer = digits(threadRecord?.id);
				for (const entry of list(threadRecord?.messages)) {
					const message = record(entry);
					if (!message) continue;
					const fromCustomer = customer !== null && digits(message.from) === customer;
					const item = eventItem('history', fromCustomer ? 'customer' : 'human', customer, text(threadRecord?.user_id), message, where);
					if (item) events.push(item);
				}
			}
		}
	}
	return events;
}

/**
 * A `system` message saying the customer's number or user id changed, as an event (the
 * conversation moves to the new one), or undefined for any other message.
 */
export function identityChangeEvent(message: Json, where: Where): ConversationEventItem | undefined {
	if (text(message.type) !== 'system') return undefined;
	const system = record(message.system);
	if (!system || !IDENTITY_CHANGE_TYPES.has(text(system.type) ?? '')) return undefined;
	const previousNumber = digits(message.from);
	const previousUser = text(message.from_user_id);
	const newNumber = digits(system.wa_id) ?? digits(system.new_wa_id);
	const newUser = text(system.user_id) ?? text(system.new_user_id);
	const item = eventItem('identity_change', 'customer', newNumber, newUser, message, where);
	if (!item) return undefined;
	// The conversation key is the number when there is one, else the user id (conversation-state.ts customerOf).
	item.previousCustomer = previousNumber ?? previousUser ?? undefined;
	return item;
}
