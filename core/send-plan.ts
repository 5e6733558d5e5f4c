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
import { MIN_SPLIT_LIMIT, splitText } from './split-text';

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
	/** Names the messages in errors, e.g. `messages` → `messages[2].body`; empty → just `body`. */
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
/** Below this a numbered piece would be mostly its ` (i/n)` suffix (the splitter's own minimum). */
export const MIN_TEXT_LIMIT = MIN_SPLIT_LIMIT;

const CAPTION_TYPES = new Set(['image', 'video', 'document']);
/**
 * Lengths are counted in UTF-16 code units, as the splitter does: never fewer than Meta's
 * character count, so whatever fits here fits there.
 */
const charCount = (value: string) => value.length;

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

/** Drops the whitespace at a cut, keeping the indentation of a line that starts after it. */
function afterCut(rest: string): string {
	return /^[ \t]*\r?\n/.test(rest) ? rest.replace(/^\s*\n/, '') : rest.trimStart();
}

/** Numbering (` (i/n)`) is added by the splitter only when the text needed several parts. */
function split(text: string, limit: number, numbering: boolean): string[] {
	let pieces: string[] = [];
	let failure: unknown;
	try {
		pieces = splitText(text, { limit, numbering });
	} catch (error) {
		failure = error;
	}
	// The splitter's "limit" is the user's text limit option.
	if (failure instanceof WhatsAppValidationError && failure.field === 'limit') {
		throw new WhatsAppValidationError(`textLimit: ${failure.message}`, 'textLimit');
	}
	if (failure !== undefined) throw failure;
	return pieces;
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
	const textDraft = (text: string, source: number, previewUrl: boolean | undefined): Draft => ({
		source,
		message: { type: 'text', text, ...(previewUrl !== undefined ? { previewUrl } : {}) },
	});
	const texts = (text: string, source: number, previewUrl: boolean | undefined): Draft[] =>
		split(text, textLimit, numbering).map((piece) => textDraft(piece, source, previewUrl));

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
				if ([...body].length > LIMITS.interactiveBody) {
					const name = field ? `${field}[${source}].body` : 'body';
					throw new WhatsAppValidationError(`${name}: must be at most ${LIMITS.interactiveBody} characters`, name);
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
		const at = caption.indexOf(head);
		// The rest of the caption (from where the first piece ends) is split again at the text
		// limit, usually into fewer messages. When the splitter had to close and re-open a code
		// fence, the head is not a plain slice: its pieces are then sent as they are.
		const overflow =
			at >= 0
				? texts(afterCut(caption.slice(at + head.length)), source, options.previewUrl)
				: pieces.slice(1).map((piece) => textDraft(piece, source, options.previewUrl));
		return [{ source, message: head ? { ...message, caption: head } : withoutCaption }, ...overflow];
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
