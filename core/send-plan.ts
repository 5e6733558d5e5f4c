/**
 * Canonical messages → the ordered list of WhatsApp messages that will actually be sent
 * ("parts"). This is where long text is split, agent markdown becomes WhatsApp formatting,
 * captions that WhatsApp cannot show (over 1024 characters, or on audio and stickers)
 * overflow into following text messages, and the reply context goes on the first part only.
 *
 * Each part carries a fingerprint (sha256 of what is sent, recipient excluded, position
 * included) so that delivery can recognise a part that was already sent by an earlier run.
 */
import { createHash } from 'crypto';

import type { CanonicalMessage, CanonicalMessageType, MediaMessage } from './canonical-message';
import { WhatsAppValidationError } from './errors';
import { LIMITS } from './limits';
import { markdownToWhatsApp } from './markdown-to-whatsapp';
import { splitText } from './split-text';

export interface PlanOptions {
	/** Longest text message, at most 4096 (WhatsApp's limit); lower values give shorter messages. */
	textLimit?: number;
	/** Append ` (i/n)` to each piece of a text that had to be split. */
	numbering?: boolean;
	/** Convert agent markdown (`**b**`, `# h`, `[t](u)`, `~~s~~`) to WhatsApp formatting. Default on. */
	convertMarkdown?: boolean;
	/** Quote this message id on the first part (never on a reaction). */
	replyTo?: string;
	/** Link preview for text parts whose message does not set `previewUrl`. */
	previewUrl?: boolean;
	/** Names the messages in errors, e.g. `messages` → `messages[2].body`. */
	field?: string;
}

export interface PlannedPart {
	/** 1-based position of this WhatsApp message in the plan. */
	part: number;
	/** Number of WhatsApp messages in the plan. */
	parts: number;
	type: CanonicalMessageType;
	/** Exactly what will be sent (a text piece, a media without its overflowing caption, …). */
	message: CanonicalMessage;
	/** `context.message_id` for this part (first part only). */
	replyTo?: string;
	/** Index of the canonical message this part comes from. */
	source: number;
	/** sha256 (hex) of the canonical JSON of {part, replyTo, message}. */
	fingerprint: string;
}

export const DEFAULT_TEXT_LIMIT = LIMITS.textBody;
/** Below this a numbered piece would be mostly its ` (i/n)` suffix. */
export const MIN_TEXT_LIMIT = 20;

const CAPTION_TYPES = new Set(['image', 'video', 'document']);
const charCount = (value: string) => [...value].length;

/** JSON with object keys sorted and undefined dropped, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map((entry) => canonicalJson(entry ?? null)).join(',')}]`;
	if (value !== null && typeof value === 'object') {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, entry]) => entry !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
	}
	return JSON.stringify(value ?? null);
}

export function fingerprintOf(part: { part: number; replyTo?: string; message: CanonicalMessage }): string {
	return createHash('sha256')
		.update(canonicalJson({ part: part.part, replyTo: part.replyTo, message: part.message }))
		.digest('hex');
}

function validateLimit(textLimit: number): number {
	if (!Number.isInteger(textLimit) || textLimit < MIN_TEXT_LIMIT || textLimit > LIMITS.textBody) {
		throw new WhatsAppValidationError(
			`textLimit must be a whole number between ${MIN_TEXT_LIMIT} and ${LIMITS.textBody} (got ${textLimit})`,
			'textLimit',
		);
	}
	return textLimit;
}

/** Splits, numbering only when the text really needed more than one message. */
function split(text: string, limit: number, numbering: boolean): string[] {
	const pieces = splitText(text, { limit });
	if (!numbering || pieces.length < 2) return pieces;
	return splitText(text, { limit, numbering: true });
}

/** What follows `head` in `text` (the splitter cuts at a boundary and trims around it). */
function remainderAfter(text: string, head: string, pieces: string[]): string {
	const at = text.indexOf(head);
	return at >= 0 ? text.slice(at + head.length).trim() : pieces.slice(1).join('\n\n');
}

interface Draft {
	message: CanonicalMessage;
	source: number;
}

export function planMessages(messages: CanonicalMessage[], options: PlanOptions = {}): PlannedPart[] {
	const textLimit = validateLimit(options.textLimit ?? DEFAULT_TEXT_LIMIT);
	const numbering = options.numbering ?? false;
	const convert = options.convertMarkdown ?? true;
	const field = options.field ?? 'messages';
	const format = (text: string) => {
		if (!convert) return text;
		const converted = markdownToWhatsApp(text);
		return converted.trim() === '' ? text : converted;
	};
	const texts = (text: string, source: number, previewUrl: boolean | undefined): Draft[] =>
		split(text, textLimit, numbering).map((piece) => ({
			source,
			message: { type: 'text', text: piece, ...(previewUrl !== undefined ? { previewUrl } : {}) },
		}));

	const drafts: Draft[] = [];
	messages.forEach((message, source) => {
		switch (message.type) {
			case 'text':
				drafts.push(...texts(format(message.text), source, message.previewUrl ?? options.previewUrl));
				return;
			case 'image':
			case 'video':
			case 'audio':
			case 'document':
			case 'sticker':
				drafts.push(...planMedia(message, source));
				return;
			case 'buttons':
			case 'list': {
				const body = format(message.body);
				if (charCount(body) > LIMITS.interactiveBody) {
					throw new WhatsAppValidationError(
						`${field}[${source}].body: must be at most ${LIMITS.interactiveBody} characters`,
						`${field}[${source}].body`,
					);
				}
				drafts.push({ source, message: { ...message, body } });
				return;
			}
			default:
				drafts.push({ source, message });
		}
	});

	function planMedia(message: MediaMessage, source: number): Draft[] {
		const caption = message.caption === undefined ? '' : format(message.caption);
		const withoutCaption = { ...message };
		delete withoutCaption.caption;
		if (caption.trim() === '') return [{ source, message: withoutCaption }];
		if (!CAPTION_TYPES.has(message.type)) {
			return [{ source, message: withoutCaption }, ...texts(caption, source, options.previewUrl)];
		}
		const captionLimit = Math.min(LIMITS.caption, textLimit);
		if (charCount(caption) <= captionLimit) return [{ source, message: { ...message, caption } }];
		const pieces = splitText(caption, { limit: captionLimit });
		const head = pieces[0] ?? '';
		const rest = remainderAfter(caption, head, pieces);
		return [
			{ source, message: head ? { ...message, caption: head } : withoutCaption },
			...(rest ? texts(rest, source, options.previewUrl) : []),
		];
	}

	const parts = drafts.length;
	const replyTo = options.replyTo?.trim() || undefined;
	return drafts.map((draft, index) => {
		const part = index + 1;
		// The quote goes on the first message only; a reaction already points at its message
		// (and Meta refuses context on reactions), so a reply that starts with one quotes nothing.
		const partReplyTo = index === 0 && draft.message.type !== 'reaction' ? replyTo : undefined;
		return {
			part,
			parts,
			type: draft.message.type,
			message: draft.message,
			...(partReplyTo ? { replyTo: partReplyTo } : {}),
			source: draft.source,
			fingerprint: fingerprintOf({ part, replyTo: partReplyTo, message: draft.message }),
		};
	});
}
