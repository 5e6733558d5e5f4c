/**
 * A conversation's history (SPEC §10): what the agent request's `history` holds, and how each
 * side's messages become turns. A turn is `{role, text, type, timestamp, messageId}`
 * (fixed names): `customer`, `agent` (what the workflow answered: the agent's replies, also
 * through reply_callback) or `human` (someone answering in the WhatsApp Business app, or
 * through Send WhatsApp with "Sent by a Human"). Media become a short summary, so a
 * text-only agent still knows an image or a voice note came.
 */
import type { CanonicalMessage } from './canonical-message';
import { NEVER_ANSWERED, type ConversationRow, type TurnRole } from './conversation-records';

export interface HistoryTurn {
	role: TurnRole;
	text: string;
	type: string;
	timestamp: string;
	messageId: string;
}

/** What the normalized message items (trigger's Messages) give a turn. */
export interface InboundTurnSource {
	messageId: string;
	type: string;
	message?: string;
	timestamp?: string | null;
	media?: { caption?: string | null; filename?: string | null; voice?: boolean | null } | null;
}

const MEDIA_WORDS: Record<string, string> = {
	image: 'an image',
	video: 'a video',
	audio: 'an audio message',
	document: 'a document',
	sticker: 'a sticker',
};

/** A customer message's text: its own text, or what it was (media, a reaction …). */
export function inboundTurnText(source: InboundTurnSource): string {
	const own = (source.message ?? '').trim();
	const word = MEDIA_WORDS[source.type];
	if (word) {
		const what = source.type === 'audio' && source.media?.voice ? 'a voice message' : word;
		const file = source.type === 'document' && source.media?.filename ? ` (${source.media.filename})` : '';
		return own ? `[Sent ${what}${file}] ${own}` : `[Sent ${what}${file}]`;
	}
	return own || `[${source.type} message]`;
}

/** One outgoing canonical message as a turn's text. */
export function outgoingTurnText(message: CanonicalMessage): string {
	switch (message.type) {
		case 'text':
			return message.text;
		case 'image':
		case 'video':
		case 'audio':
		case 'document':
		case 'sticker': {
			const file = message.type === 'document' && message.filename ? ` (${message.filename})` : '';
			const caption = message.caption?.trim();
			return caption ? `[Sent ${MEDIA_WORDS[message.type]}${file}] ${caption}` : `[Sent ${MEDIA_WORDS[message.type]}${file}]`;
		}
		case 'location':
			return `[Sent a location] ${[message.name, message.address].filter(Boolean).join(', ') || `${message.latitude}, ${message.longitude}`}`;
		case 'contacts':
			return `[Sent a contact] ${message.contacts.map((contact) => contact.name).join(', ')}`;
		case 'buttons':
			return `${message.body} [Buttons: ${message.buttons.map((button) => button.title).join(' | ')}]`;
		case 'list':
			return `${message.body} [List: ${message.buttonText}]`;
		case 'reaction':
			return `[Reacted ${message.emoji}]`;
		case 'template':
			return `[Sent the template ${message.name}]`;
		default:
			return '[message]';
	}
}

export function customerTurnRow(
	conversation: string,
	source: InboundTurnSource,
	options: { at: number; burst: string; payload?: string },
): ConversationRow {
	return {
		kind: 'message',
		conversation,
		role: 'customer',
		messageId: source.messageId,
		type: source.type,
		text: inboundTurnText(source),
		timestamp: source.timestamp ?? new Date(options.at).toISOString(),
		at: options.at,
		burst: options.burst,
		until: 0,
		payload: options.payload ?? '',
	};
}

/** The turns of what the workflow (or a human) sent: one per canonical message, in order. */
export function outgoingTurnRows(
	conversation: string,
	messages: CanonicalMessage[],
	options: { role: 'agent' | 'human'; at: number; messageIds?: Array<string | undefined>; replyTo?: string },
): ConversationRow[] {
	return messages.map((message, index) => ({
		kind: 'message' as const,
		conversation,
		role: options.role,
		// Sent messages have Meta's id once sent; before that, one derived from what they answer.
		messageId: options.messageIds?.[index] ?? (options.replyTo ? `${options.replyTo}#${options.role}${index + 1}` : ''),
		type: message.type,
		text: outgoingTurnText(message),
		timestamp: new Date(options.at).toISOString(),
		// Keeps the parts of one reply in order when they share the millisecond.
		at: options.at + index / 1000,
		burst: NEVER_ANSWERED,
		until: 0,
		payload: '',
	}));
}

/**
 * The last `limit` turns from rows of kind `message` given newest first, oldest first,
 * without the messages in `exclude` (the ones the request carries itself) and without
 * repeats of one message id.
 */
export function historyFromRows(rowsNewestFirst: ConversationRow[], limit: number, exclude: ReadonlySet<string> = new Set()): HistoryTurn[] {
	const seen = new Set<string>();
	const turns: HistoryTurn[] = [];
	for (const row of rowsNewestFirst) {
		if (turns.length >= limit) break;
		if (row.kind !== 'message' || exclude.has(row.messageId)) continue;
		if (row.messageId !== '') {
			if (seen.has(row.messageId)) continue;
			seen.add(row.messageId);
		}
		turns.push({ role: row.role, text: row.text, type: row.type, timestamp: row.timestamp, messageId: row.messageId });
	}
	return turns.reverse();
}
