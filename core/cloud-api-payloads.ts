/**
 * Canonical message (SPEC §5) → Cloud API request body for `POST /{phone-number-id}/messages`
 * (reference §3). The builders never send anything over a limit: a text over 4096 or a caption
 * over 1024 is refused here (the send planner splits them first), as is a caption on audio or
 * a sticker, which Meta does not display.
 */
import type {
	ButtonsMessage,
	CanonicalMessage,
	Contact,
	ContactsMessage,
	ListMessage,
	LocationMessage,
	MediaMessage,
	TemplateMessage,
} from './canonical-message';
import { WhatsAppValidationError } from './errors';
import { LIMITS } from './limits';
import type { Recipient } from './phone-number';

export type CloudApiPayload = Record<string, unknown>;

export interface PayloadOptions {
	recipient: Recipient;
	/** Quote this message (`context.message_id`). Ignored for reactions, which Meta refuses to thread. */
	replyTo?: string;
	/** Link preview for text messages that do not say `previewUrl` themselves. */
	previewUrl?: boolean;
}

/** Message types whose media object takes a caption. */
const CAPTION_TYPES = new Set(['image', 'video', 'document']);

const length = (value: string) => [...value].length;

function refuseOverLimit(field: string, value: string, limit: number): void {
	if (length(value) > limit) {
		throw new WhatsAppValidationError(`${field} must be at most ${limit} characters (got ${length(value)})`, field);
	}
}

function compact<T extends Record<string, unknown>>(value: T): T {
	return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined && entry !== '')) as T;
}

function textBody(message: { text: string; previewUrl?: boolean }, options: PayloadOptions): CloudApiPayload {
	if (message.text.trim() === '') throw new WhatsAppValidationError('text must not be empty', 'text');
	refuseOverLimit('text', message.text, LIMITS.textBody);
	return { text: { preview_url: message.previewUrl ?? options.previewUrl ?? false, body: message.text } };
}

function mediaBody(message: MediaMessage): CloudApiPayload {
	const { type } = message;
	let source: Record<string, string>;
	if (message.mediaId) source = { id: message.mediaId };
	else if (message.url) source = { link: message.url };
	else {
		throw new WhatsAppValidationError(
			`${type}: the binary data must be uploaded first (no media id or URL to send)`,
			'mediaId',
		);
	}
	const media: Record<string, unknown> = { ...source };
	if (message.caption !== undefined && message.caption !== '') {
		if (!CAPTION_TYPES.has(type)) {
			throw new WhatsAppValidationError(`caption: WhatsApp shows no caption on ${type} messages`, 'caption');
		}
		refuseOverLimit('caption', message.caption, LIMITS.caption);
		media.caption = message.caption;
	}
	if (type === 'document' && message.filename) media.filename = message.filename;
	if (type === 'audio' && message.voice) media.voice = true;
	return { [type]: media };
}

function locationBody(message: LocationMessage): CloudApiPayload {
	return {
		location: compact({
			latitude: Number(message.latitude),
			longitude: Number(message.longitude),
			name: message.name,
			address: message.address,
		}),
	};
}

/** Meta needs `formatted_name` plus at least one other name field: derive them from the full name. */
function contactName(contact: Contact): Record<string, string | undefined> {
	const words = contact.name.trim().split(/\s+/);
	const firstName = contact.firstName?.trim() || (contact.lastName?.trim() ? undefined : words[0]);
	const lastName =
		contact.lastName?.trim() || (contact.firstName || words.length < 2 ? undefined : words.slice(1).join(' '));
	return compact({ formatted_name: contact.name.trim(), first_name: firstName, last_name: lastName });
}

/** A phone written internationally (`+…` or `00…`) is the contact's WhatsApp id, so the card gets a "Message" button. */
function waIdOf(phone: string): string | undefined {
	const digits = phone.replace(/[\s().-]/g, '');
	const match = /^(?:\+|00)([1-9]\d{6,14})$/.exec(digits);
	return match?.[1];
}

function contactCard(contact: Contact): Record<string, unknown> {
	const phones = [
		...(contact.phone ? [{ phone: contact.phone }] : []),
		...(contact.phones ?? []),
	].map((entry: { phone: string; type?: string; waId?: string }) =>
		compact({ phone: entry.phone, type: entry.type, wa_id: entry.waId ?? waIdOf(entry.phone) }),
	);
	const emails = [
		...(contact.email ? [{ email: contact.email }] : []),
		...(contact.emails ?? []),
	].map((entry: { email: string; type?: string }) => compact({ email: entry.email, type: entry.type }));
	const org = compact({ company: contact.company, department: contact.department, title: contact.title });
	const address = contact.address
		? compact({
				street: contact.address.street,
				city: contact.address.city,
				state: contact.address.state,
				zip: contact.address.zip,
				country: contact.address.country,
				country_code: contact.address.countryCode,
				type: contact.address.type,
			})
		: {};
	return compact({
		name: contactName(contact),
		phones: phones.length ? phones : undefined,
		emails: emails.length ? emails : undefined,
		org: Object.keys(org).length ? org : undefined,
		urls: contact.url ? [{ url: contact.url }] : undefined,
		addresses: Object.keys(address).length ? [address] : undefined,
		birthday: contact.birthday,
	});
}

function contactsBody(message: ContactsMessage): CloudApiPayload {
	return { contacts: message.contacts.map(contactCard) };
}

function headerAndFooter(message: { header?: string; footer?: string }) {
	if (message.header) refuseOverLimit('header', message.header, LIMITS.interactiveHeaderText);
	if (message.footer) refuseOverLimit('footer', message.footer, LIMITS.interactiveFooterText);
	return {
		header: message.header ? { type: 'text', text: message.header } : undefined,
		footer: message.footer ? { text: message.footer } : undefined,
	};
}

function buttonsBody(message: ButtonsMessage): CloudApiPayload {
	refuseOverLimit('body', message.body, LIMITS.interactiveBody);
	const { header, footer } = headerAndFooter(message);
	return {
		interactive: compact({
			type: 'button',
			header,
			body: { text: message.body },
			footer,
			action: {
				buttons: message.buttons.map((button) => ({
					type: 'reply',
					reply: { id: button.id.trim(), title: button.title },
				})),
			},
		}),
	};
}

function listBody(message: ListMessage): CloudApiPayload {
	refuseOverLimit('body', message.body, LIMITS.interactiveBody);
	const { header, footer } = headerAndFooter(message);
	return {
		interactive: compact({
			type: 'list',
			header,
			body: { text: message.body },
			footer,
			action: {
				button: message.buttonText,
				sections: message.sections.map((section) =>
					compact({
						title: section.title,
						rows: section.rows.map((row) => compact({ id: row.id, title: row.title, description: row.description })),
					}),
				),
			},
		}),
	};
}

function templateBody(message: TemplateMessage): CloudApiPayload {
	return {
		template: compact({
			name: message.name,
			language: { code: message.language },
			components: message.components && message.components.length > 0 ? message.components : undefined,
		}),
	};
}

function typeBody(message: CanonicalMessage, options: PayloadOptions): { type: string; body: CloudApiPayload } {
	switch (message.type) {
		case 'text':
			return { type: 'text', body: textBody(message, options) };
		case 'image':
		case 'video':
		case 'audio':
		case 'document':
		case 'sticker':
			return { type: message.type, body: mediaBody(message) };
		case 'location':
			return { type: 'location', body: locationBody(message) };
		case 'contacts':
			return { type: 'contacts', body: contactsBody(message) };
		case 'buttons':
			return { type: 'interactive', body: buttonsBody(message) };
		case 'list':
			return { type: 'interactive', body: listBody(message) };
		case 'reaction':
			return { type: 'reaction', body: { reaction: { message_id: message.messageId, emoji: message.emoji } } };
		case 'template':
			return { type: 'template', body: templateBody(message) };
		default: {
			const type = (message as { type?: unknown }).type;
			throw new WhatsAppValidationError(`type: unknown message type ${JSON.stringify(type)}`, 'type');
		}
	}
}

function recipientFields(recipient: Recipient): Record<string, string> {
	return 'to' in recipient ? { to: recipient.to } : { recipient: recipient.recipient };
}

/** The JSON body that sends `message` to `options.recipient`. */
export function buildMessagePayload(message: CanonicalMessage, options: PayloadOptions): CloudApiPayload {
	const { type, body } = typeBody(message, options);
	const threaded = options.replyTo && message.type !== 'reaction' ? { context: { message_id: options.replyTo } } : {};
	return {
		messaging_product: 'whatsapp',
		recipient_type: 'individual',
		...recipientFields(options.recipient),
		...threaded,
		type,
		...body,
	};
}

/** Marks an incoming message (and every earlier one) as read; optionally shows "typing…" for up to 25 s. */
export function buildMarkAsReadPayload(messageId: string, options: { typing?: boolean } = {}): CloudApiPayload {
	if (typeof messageId !== 'string' || messageId.trim() === '') {
		throw new WhatsAppValidationError('messageId: the id of the message to mark as read is required', 'messageId');
	}
	refuseOverLimit('messageId', messageId, LIMITS.messageId);
	return {
		messaging_product: 'whatsapp',
		status: 'read',
		message_id: messageId.trim(),
		...(options.typing ? { typing_indicator: { type: 'text' } } : {}),
	};
}
