/**
 * Meta webhook body (`object: whatsapp_business_account`, field `messages`) → the trigger's
 * items (SPEC §3): one per inbound message, one per status, one per value-level error.
 *
 * Every `entry[]`, `changes[]`, `messages[]`, `statuses[]` and `errors[]` is visited (Meta
 * batches up to 1000 updates in one POST). Nothing here throws: a part of the body with the
 * wrong shape is skipped, an odd field becomes null. The original objects are kept in `raw`.
 *
 * The item is a superset of the "bring your own agent" request: `message`, `image`,
 * `phone_number`, `reply_callback`, so it can be posted to an agent as it is. The two URLs
 * are made by functions the caller passes in (the trigger signs them), so this module stays
 * pure.
 *
 * A customer who hides their number behind a WhatsApp username (2026) arrives without `from`
 * and `wa_id`, only with a business-scoped user id (`from_user_id`, e.g.
 * `US.13491208655302741918`). Their `phone_number` is then that id: it is what Send WhatsApp
 * (and Meta's `recipient` field) takes to answer them; `waId` is null and `userId` holds it.
 */
import { CONVERSATION_EVENT_FIELDS, conversationEvents, identityChangeEvent, type ConversationEventItem } from './conversation-events';
import { messageClaimKey } from './conversation-state';
import { GRAPH_ERROR_CODES } from './graph-errors';

type Json = Record<string, unknown>;

export interface ReadableError {
	code: number | null;
	title: string | null;
	message: string | null;
	details: string | null;
	href: string | null;
	/** What to do, when we know the code. */
	hint: string | null;
	/** One line: `Re-engagement message (131047): <details>`. */
	summary: string;
}

export interface InboundMedia {
	id: string | null;
	mimeType: string | null;
	sha256: string | null;
	caption: string | null;
	filename: string | null;
	/** Audio recorded as a voice note. */
	voice: boolean;
	/** Animated sticker. */
	animated: boolean;
	/** The trigger's signed media link (no Meta credentials needed), or null. */
	url: string | null;
}

export interface InboundLocation {
	latitude: number | null;
	longitude: number | null;
	name: string | null;
	address: string | null;
	url: string | null;
}

export interface InboundContact {
	name: string;
	firstName: string | null;
	lastName: string | null;
	/** The first phone number, for simple use. */
	phone: string | null;
	phones: Array<{ phone: string; waId: string | null; type: string | null }>;
	emails: Array<{ email: string; type: string | null }>;
	addresses: Array<Record<string, string>>;
	urls: Array<{ url: string; type: string | null }>;
	company: string | null;
	department: string | null;
	title: string | null;
	birthday: string | null;
}

export interface InboundInteractive {
	/** `button_reply`, `list_reply`, `nfm_reply` (a Flow or address form), `call_permission_reply`, or what Meta sent. */
	kind: string;
	/** The id of the button or list row the customer chose. */
	id: string | null;
	title: string | null;
	description: string | null;
	/** nfm_reply: the form's name (`flow`, `address_message`). */
	flowName?: string | null;
	/** nfm_reply: the customer's answers (Meta's `response_json`, parsed), or null if it is not JSON. */
	flowResponse?: Json | null;
	/** call_permission_reply. */
	permission?: { response: string | null; expiresAt: string | null; permanent: boolean | null; source: string | null };
}

export interface InboundOrderItem {
	productRetailerId: string | null;
	quantity: number | null;
	itemPrice: number | null;
	currency: string | null;
}

export interface InboundContext {
	/** The id of the business message being replied to (or that held the button). */
	messageId: string | null;
	from: string | null;
	forwarded: boolean;
	frequentlyForwarded: boolean;
	referredProduct?: { catalogId: string | null; productRetailerId: string | null };
}

export interface InboundMessageItem {
	/** Milliseconds: when the trigger received the delivery (set by the trigger, not by normalizeWebhook). */
	receivedAt?: number;
	/** Text body, caption, button/list title, or a readable summary; "" if none. */
	message: string;
	/** Signed link to the image (image, sticker, image document), or null. */
	image: string | null;
	/** The customer: `+<digits>`, or their business-scoped user id when they hide their number. */
	phone_number: string;
	/** URL the agent may POST more replies to (24 h by default), or null. */
	reply_callback: string | null;
	messageId: string;
	type: string;
	/** ISO 8601, from Meta's unix-seconds string; null if missing. */
	timestamp: string | null;
	contactName: string;
	waId: string | null;
	/** Business-scoped user id (2026 usernames), when Meta sends one. */
	userId: string | null;
	username: string | null;
	phoneNumberId: string;
	displayPhoneNumber: string;
	/** The WhatsApp Business Account id (`entry[].id`). */
	businessAccountId: string;
	media?: InboundMedia;
	location?: InboundLocation;
	contacts?: InboundContact[];
	interactive?: InboundInteractive;
	button?: { text: string | null; payload: string | null };
	reaction?: { messageId: string | null; emoji: string | null; removed: boolean };
	order?: { catalogId: string | null; text: string | null; items: InboundOrderItem[] };
	system?: { type: string | null; body: string | null; waId: string | null; userId: string | null };
	referral?: Record<string, string | null | Json>;
	context?: InboundContext;
	edit?: { originalMessageId: string | null; type: string | null };
	revoke?: { originalMessageId: string | null };
	unsupported?: { type: string | null };
	groupId?: string;
	errors?: ReadableError[];
	raw: unknown;
}

export interface StatusItem {
	/** sent, delivered, read, failed, played (…as Meta sends it); `error` for an account/app-level error. */
	status: string;
	messageId: string | null;
	/** The customer (`+<digits>`), a business-scoped user id, or a group id. */
	recipient: string | null;
	recipientType: string | null;
	timestamp: string | null;
	phoneNumberId: string;
	displayPhoneNumber: string;
	businessAccountId: string;
	conversation?: { id: string | null; expiresAt: string | null; originType: string | null };
	pricing?: { billable: boolean | null; pricingModel: string | null; type: string | null; category: string | null };
	bizOpaqueCallbackData?: string;
	errors: ReadableError[];
	/** The first error in one readable line with what to do, or null. */
	error: string | null;
	raw: unknown;
}

export interface NormalizedWebhook {
	messages: InboundMessageItem[];
	statuses: StatusItem[];
	/** Value-level errors (`value.errors[]`), shaped as status items with `status: "error"`. */
	errors: StatusItem[];
	/**
	 * Conversation events (core/conversation-events.ts): echoes, history backfills, and changed
	 * numbers (whose `system` message is in `messages` too; the trigger picks one place).
	 */
	events: ConversationEventItem[];
	/** Why nothing was taken from the body, when that is the case (wrong `object`, not an object). */
	ignored?: string;
}

export interface NormalizeHooks {
	/** Makes a message's `reply_callback` URL. */
	replyCallback?: (claims: { to: string; phoneNumberId: string; replyTo: string }) => string | null;
	/** Makes a media item's fetchable URL. */
	mediaUrl?: (claims: { mediaId: string; mimeType?: string; phoneNumberId?: string }) => string | null;
}

export const WHATSAPP_OBJECT = 'whatsapp_business_account';

const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);

const isRecord = (value: unknown): value is Json =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

const record = (value: unknown): Json | undefined => (isRecord(value) ? value : undefined);

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** A string (numbers accepted as Meta sometimes types ids loosely), else undefined. */
function str(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return undefined;
}

/** A non-empty string, else null. */
function text(value: unknown): string | null {
	const found = str(value);
	return found === undefined || found === '' ? null : found;
}

function num(value: unknown): number | null {
	if (typeof value === 'number') return Number.isFinite(value) ? value : null;
	if (typeof value === 'string' && value.trim() !== '') {
		const parsed = Number(value);
		return Number.isFinite(parsed) ? parsed : null;
	}
	return null;
}

const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);

const MAX_DATE_MS = 8.64e15;

/** Unix seconds (string or number) → ISO 8601, or null. */
export function isoFromUnixSeconds(value: unknown): string | null {
	const seconds = num(value);
	if (seconds === null) return null;
	const ms = seconds * 1000;
	if (!(Math.abs(ms) <= MAX_DATE_MS)) return null;
	return new Date(ms).toISOString();
}

/** `+<digits>` from whatever Meta calls a phone (`16505551234`); undefined if it has no digits. */
function plusDigits(value: unknown): string | undefined {
	const raw = str(value);
	if (raw === undefined) return undefined;
	const digits = raw.replace(/\D+/g, '');
	return digits === '' ? undefined : `+${digits}`;
}

/** Readable Meta errors; the hint comes from the same code table Send WhatsApp uses. */
export function readableErrors(value: unknown): ReadableError[] {
	const result: ReadableError[] = [];
	for (const entry of list(value)) {
		const error = record(entry);
		if (!error) continue;
		const codeValue = num(error.code);
		const code = codeValue !== null && Number.isInteger(codeValue) ? codeValue : null;
		const known = code !== null && Object.prototype.hasOwnProperty.call(GRAPH_ERROR_CODES, code) ? GRAPH_ERROR_CODES[code] : undefined;
		const title = text(error.title) ?? text(error.message) ?? known?.title ?? null;
		const details = text(record(error.error_data)?.details);
		const head = title ?? 'WhatsApp error';
		result.push({
			code,
			title,
			message: text(error.message),
			details,
			href: text(error.href),
			hint: known?.hint ?? null,
			summary: `${head}${code !== null ? ` (${code})` : ''}${details && details !== title ? `: ${details}` : ''}`,
		});
	}
	return result;
}

function errorLine(errors: ReadableError[]): string | null {
	const first = errors[0];
	if (!first) return null;
	return first.hint ? `${first.summary.replace(/[.\s]+$/, '')}. What to do: ${first.hint}` : first.summary;
}

interface ValueContext {
	phoneNumberId: string;
	displayPhoneNumber: string;
	businessAccountId: string;
	contacts: Json[];
	/** wa_id / user_id → contact, built on first use (a batch has one contact per sender). */
	contactIndex?: Map<string, Json>;
}

function findContact(value: ValueContext, waId: string | undefined, userId: string | undefined): Json | undefined {
	const { contacts } = value;
	if (contacts.length === 0) return undefined;
	if (contacts.length === 1) return contacts[0];
	if (!value.contactIndex) {
		const index = new Map<string, Json>();
		// Reversed, so the first contact with an id wins, as a linear search would find it.
		for (let position = contacts.length - 1; position >= 0; position--) {
			const contact = contacts[position];
			const contactWaId = str(contact.wa_id);
			const contactUserId = str(contact.user_id);
			if (contactWaId !== undefined) index.set(`w:${contactWaId}`, contact);
			if (contactUserId !== undefined) index.set(`u:${contactUserId}`, contact);
		}
		value.contactIndex = index;
	}
	return (
		(waId !== undefined ? value.contactIndex.get(`w:${waId}`) : undefined) ??
		(userId !== undefined ? value.contactIndex.get(`u:${userId}`) : undefined)
	);
}

function normalizeMedia(type: string, payload: Json | undefined): InboundMedia {
	return {
		id: text(payload?.id),
		mimeType: text(payload?.mime_type),
		sha256: text(payload?.sha256),
		caption: text(payload?.caption),
		filename: text(payload?.filename),
		voice: type === 'audio' && payload?.voice === true,
		animated: type === 'sticker' && payload?.animated === true,
		url: null,
	};
}

function normalizeLocation(payload: Json): InboundLocation {
	return {
		latitude: num(payload.latitude),
		longitude: num(payload.longitude),
		name: text(payload.name),
		address: text(payload.address),
		url: text(payload.url),
	};
}

function describeLocation(location: InboundLocation): string {
	const place = [location.name, location.address].filter((part): part is string => part !== null).join(', ');
	const coordinates =
		location.latitude !== null && location.longitude !== null ? `${location.latitude}, ${location.longitude}` : '';
	if (place && coordinates) return `Location: ${place} (${coordinates})`;
	if (place || coordinates) return `Location: ${place || coordinates}`;
	return 'Location';
}

function normalizeContact(entry: Json): InboundContact {
	const name = record(entry.name);
	const org = record(entry.org);
	const phones: InboundContact['phones'] = [];
	for (const phone of list(entry.phones)) {
		const value = record(phone);
		const number = text(value?.phone);
		if (value && number) phones.push({ phone: number, waId: text(value.wa_id), type: text(value.type) });
	}
	const emails: InboundContact['emails'] = [];
	for (const email of list(entry.emails)) {
		const value = record(email);
		const address = text(value?.email);
		if (value && address) emails.push({ email: address, type: text(value.type) });
	}
	const addresses: InboundContact['addresses'] = [];
	for (const address of list(entry.addresses)) {
		const value = record(address);
		if (!value) continue;
		const fields: Record<string, string> = {};
		for (const [from, to] of [
			['street', 'street'],
			['city', 'city'],
			['state', 'state'],
			['zip', 'zip'],
			['country', 'country'],
			['country_code', 'countryCode'],
			['type', 'type'],
		] as const) {
			const field = text(value[from]);
			if (field !== null) fields[to] = field;
		}
		addresses.push(fields);
	}
	const urls: InboundContact['urls'] = [];
	for (const url of list(entry.urls)) {
		const value = record(url);
		const link = text(value?.url);
		if (value && link) urls.push({ url: link, type: text(value.type) });
	}
	const firstName = text(name?.first_name);
	const lastName = text(name?.last_name);
	const fallbackName = [firstName, lastName].filter(Boolean).join(' ');
	return {
		name: text(name?.formatted_name) ?? (fallbackName || phones[0]?.phone || ''),
		firstName,
		lastName,
		phone: phones[0]?.phone ?? null,
		phones,
		emails,
		addresses,
		urls,
		company: text(org?.company),
		department: text(org?.department),
		title: text(org?.title),
		birthday: text(entry.birthday),
	};
}

function describeContacts(contacts: InboundContact[]): string {
	if (contacts.length === 0) return 'Contact';
	const parts = contacts.map((contact) => [contact.name, contact.phone].filter(Boolean).join(', ') || 'contact');
	return `${contacts.length === 1 ? 'Contact' : 'Contacts'}: ${parts.join('; ')}`;
}

function parseJsonObject(value: unknown): Json | null {
	if (isRecord(value)) return value;
	if (typeof value !== 'string' || value.length > 1_000_000) return null;
	let parsed: unknown;
	try {
		parsed = JSON.parse(value);
	} catch {
		parsed = null;
	}
	return isRecord(parsed) ? parsed : null;
}

function scalarText(value: unknown): string | null {
	if (typeof value === 'string') return value;
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	if (Array.isArray(value) && value.every((part) => typeof part === 'string' || typeof part === 'number')) {
		return value.join(', ');
	}
	return null;
}

function describeFlowResponse(response: Json | null, body: string | null): string {
	if (response) {
		const parts: string[] = [];
		for (const [key, value] of Object.entries(response)) {
			if (key === 'flow_token') continue;
			const shown = scalarText(value);
			if (shown !== null && shown !== '') parts.push(`${key}: ${shown}`);
		}
		if (parts.length > 0) return `Form submitted: ${parts.join(', ')}`;
	}
	return body ?? 'Form submitted';
}

function normalizeInteractive(payload: Json): { interactive: InboundInteractive; message: string } {
	const kind = text(payload.type) ?? 'unknown';
	const reply = record(payload[kind]);
	if (kind === 'nfm_reply') {
		const flowResponse = parseJsonObject(reply?.response_json);
		const body = text(reply?.body);
		return {
			interactive: { kind, id: null, title: body, description: null, flowName: text(reply?.name), flowResponse },
			message: describeFlowResponse(flowResponse, body),
		};
	}
	if (kind === 'call_permission_reply') {
		const response = text(reply?.response);
		return {
			interactive: {
				kind,
				id: null,
				title: null,
				description: null,
				permission: {
					response,
					expiresAt: isoFromUnixSeconds(reply?.expiration_timestamp),
					permanent: bool(reply?.is_permanent),
					source: text(reply?.response_source),
				},
			},
			message:
				response === 'accept'
					? 'Call permission accepted'
					: response === 'reject'
						? 'Call permission declined'
						: `Call permission: ${response ?? 'no answer'}`,
		};
	}
	const title = text(reply?.title);
	return {
		interactive: { kind, id: text(reply?.id), title, description: text(reply?.description) },
		message: title ?? '',
	};
}

function normalizeOrder(payload: Json): { order: NonNullable<InboundMessageItem['order']>; message: string } {
	const items: InboundOrderItem[] = [];
	for (const entry of list(payload.product_items)) {
		const item = record(entry);
		if (!item) continue;
		items.push({
			productRetailerId: text(item.product_retailer_id),
			quantity: num(item.quantity),
			itemPrice: num(item.item_price),
			currency: text(item.currency),
		});
	}
	const note = text(payload.text);
	const lines = items.map((item) => {
		const price = item.itemPrice !== null ? ` (${item.itemPrice}${item.currency ? ` ${item.currency}` : ''} each)` : '';
		return `${item.quantity ?? 1} × ${item.productRetailerId ?? 'item'}${price}`;
	});
	const summary = lines.length > 0 ? `Order: ${lines.join(', ')}` : 'Order';
	return {
		order: { catalogId: text(payload.catalog_id), text: note, items },
		message: note ? `${summary}. Note: ${note}` : summary,
	};
}

const REFERRAL_FIELDS: Array<[string, string]> = [
	['source_url', 'sourceUrl'],
	['source_id', 'sourceId'],
	['source_type', 'sourceType'],
	['body', 'body'],
	['headline', 'headline'],
	['media_type', 'mediaType'],
	['image_url', 'imageUrl'],
	['video_url', 'videoUrl'],
	['thumbnail_url', 'thumbnailUrl'],
	['ctwa_clid', 'ctwaClid'],
];

function normalizeReferral(payload: Json): Record<string, string | null | Json> {
	const referral: Record<string, string | null | Json> = {};
	for (const [from, to] of REFERRAL_FIELDS) referral[to] = text(payload[from]);
	referral.welcomeMessage = text(record(payload.welcome_message)?.text);
	return referral;
}

function normalizeContext(payload: Json): InboundContext {
	const context: InboundContext = {
		messageId: text(payload.id),
		from: text(payload.from),
		forwarded: payload.forwarded === true,
		frequentlyForwarded: payload.frequently_forwarded === true,
	};
	const product = record(payload.referred_product);
	if (product) {
		context.referredProduct = {
			catalogId: text(product.catalog_id),
			productRetailerId: text(product.product_retailer_id),
		};
	}
	return context;
}

/** The text of a nested message (an edit's new version). */
function innerText(message: Json | undefined): string {
	if (!message) return '';
	const type = text(message.type);
	const body = text(record(message.text)?.body);
	if (body !== null) return body;
	if (type && MEDIA_TYPES.has(type)) return text(record(message[type])?.caption) ?? '';
	return '';
}

function normalizeMessage(raw: unknown, value: ValueContext): InboundMessageItem | undefined {
	const source = record(raw);
	if (!source) return undefined;
	const messageId = str(source.id) ?? '';
	const type = text(source.type) ?? 'unknown';
	const from = str(source.from);
	const fromUserId = text(source.from_user_id) ?? undefined;
	const contact = findContact(value, from, fromUserId);
	const profile = record(contact?.profile);
	const userId = fromUserId ?? text(contact?.user_id);
	const phone = plusDigits(from) ?? plusDigits(contact?.wa_id);

	const item: InboundMessageItem = {
		message: '',
		image: null,
		phone_number: phone ?? userId ?? '',
		reply_callback: null,
		messageId,
		type,
		timestamp: isoFromUnixSeconds(source.timestamp),
		contactName: text(profile?.name) ?? '',
		waId: phone ? phone.slice(1) : null,
		userId,
		username: text(profile?.username),
		phoneNumberId: value.phoneNumberId,
		displayPhoneNumber: value.displayPhoneNumber,
		businessAccountId: value.businessAccountId,
		raw,
	};

	const payload = record(source[type]);
	if (MEDIA_TYPES.has(type)) {
		const media = normalizeMedia(type, payload);
		item.media = media;
		item.message = media.caption ?? '';
	} else {
		switch (type) {
			case 'text':
				item.message = text(payload?.body) ?? '';
				break;
			case 'location':
				if (payload) {
					item.location = normalizeLocation(payload);
					item.message = describeLocation(item.location);
				}
				break;
			case 'contacts': {
				const contacts: InboundContact[] = [];
				for (const entry of list(source.contacts)) {
					const card = record(entry);
					if (card) contacts.push(normalizeContact(card));
				}
				item.contacts = contacts;
				item.message = describeContacts(contacts);
				break;
			}
			case 'interactive':
				if (payload) {
					const { interactive, message } = normalizeInteractive(payload);
					item.interactive = interactive;
					item.message = message;
				}
				break;
			case 'button':
				if (payload) {
					item.button = { text: text(payload.text), payload: text(payload.payload) };
					item.message = item.button.text ?? item.button.payload ?? '';
				}
				break;
			case 'reaction':
				if (payload) {
					const emoji = text(payload.emoji);
					item.reaction = { messageId: text(payload.message_id), emoji, removed: emoji === null };
					item.message = emoji === null ? 'Removed a reaction' : `Reacted ${emoji} to a message`;
				}
				break;
			case 'order':
				if (payload) {
					const { order, message } = normalizeOrder(payload);
					item.order = order;
					item.message = message;
				}
				break;
			case 'system':
				if (payload) {
					item.system = {
						type: text(payload.type),
						body: text(payload.body),
						waId: text(payload.wa_id) ?? text(payload.new_wa_id),
						userId: text(payload.user_id),
					};
					item.message = item.system.body ?? '';
				}
				break;
			case 'edit':
				if (payload) {
					const edited = record(payload.message);
					item.edit = { originalMessageId: text(payload.original_message_id), type: text(edited?.type) };
					item.message = innerText(edited);
				}
				break;
			case 'revoke':
				item.revoke = { originalMessageId: text(payload?.original_message_id) };
				break;
			case 'unsupported':
				item.unsupported = { type: text(payload?.type) };
				break;
			default:
				break;
		}
	}

	const context = record(source.context);
	if (context) item.context = normalizeContext(context);
	const referral = record(source.referral);
	if (referral) item.referral = normalizeReferral(referral);
	const groupId = text(source.group_id);
	if (groupId !== null) item.groupId = groupId;
	if (Array.isArray(source.errors)) item.errors = readableErrors(source.errors);
	return item;
}

/**
 * Fills a message's links: `reply_callback`, `media.url`, and `image` (for an image, a
 * sticker, or a document that is an image). Each link is one HMAC, so the trigger calls
 * this only for the messages it emits (not for re-deliveries or filtered ones).
 */
export function attachLinks(item: InboundMessageItem, hooks: NormalizeHooks): void {
	const media = item.media;
	if (media && media.id !== null && hooks.mediaUrl) {
		media.url = hooks.mediaUrl({
			mediaId: media.id,
			...(media.mimeType !== null ? { mimeType: media.mimeType } : {}),
			...(item.phoneNumberId !== '' ? { phoneNumberId: item.phoneNumberId } : {}),
		});
		const isImage =
			item.type === 'image' || item.type === 'sticker' || (item.type === 'document' && media.mimeType?.startsWith('image/') === true);
		if (isImage) item.image = media.url;
	}
	if (hooks.replyCallback && item.phone_number !== '' && item.phoneNumberId !== '') {
		item.reply_callback = hooks.replyCallback({
			to: item.phone_number,
			phoneNumberId: item.phoneNumberId,
			replyTo: item.messageId,
		});
	}
}

function normalizeStatus(raw: unknown, value: ValueContext): StatusItem | undefined {
	const source = record(raw);
	if (!source) return undefined;
	const recipientId = str(source.recipient_id);
	const recipientType = text(source.recipient_type);
	const recipient =
		recipientId !== undefined && recipientType !== 'group' && /^\+?\d+$/.test(recipientId)
			? `+${recipientId.replace(/\D+/g, '')}`
			: (text(recipientId) ?? text(source.recipient_user_id));
	const errors = readableErrors(source.errors);
	const item: StatusItem = {
		status: text(source.status) ?? 'unknown',
		messageId: text(source.id),
		recipient,
		recipientType,
		timestamp: isoFromUnixSeconds(source.timestamp),
		phoneNumberId: value.phoneNumberId,
		displayPhoneNumber: value.displayPhoneNumber,
		businessAccountId: value.businessAccountId,
		errors,
		error: errorLine(errors),
		raw,
	};
	const conversation = record(source.conversation);
	if (conversation) {
		item.conversation = {
			id: text(conversation.id),
			expiresAt: isoFromUnixSeconds(conversation.expiration_timestamp),
			originType: text(record(conversation.origin)?.type),
		};
	}
	const pricing = record(source.pricing);
	if (pricing) {
		item.pricing = {
			billable: bool(pricing.billable),
			pricingModel: text(pricing.pricing_model),
			type: text(pricing.type),
			category: text(pricing.category),
		};
	}
	const callbackData = text(source.biz_opaque_callback_data);
	if (callbackData !== null) item.bizOpaqueCallbackData = callbackData;
	return item;
}

function valueErrorItem(raw: unknown, error: ReadableError, value: ValueContext): StatusItem {
	return {
		status: 'error',
		messageId: null,
		recipient: null,
		recipientType: null,
		timestamp: null,
		phoneNumberId: value.phoneNumberId,
		displayPhoneNumber: value.displayPhoneNumber,
		businessAccountId: value.businessAccountId,
		errors: [error],
		error: errorLine([error]),
		raw,
	};
}

/**
 * Normalizes one Meta webhook body; never throws. With hooks, every message also gets its
 * links (see attachLinks); without, they stay null.
 */
export function normalizeWebhook(body: unknown, hooks?: NormalizeHooks): NormalizedWebhook {
	const result: NormalizedWebhook = { messages: [], statuses: [], errors: [], events: [] };
	const root = record(body);
	if (!root) {
		result.ignored = 'the body is not a JSON object';
		return result;
	}
	if (root.object !== WHATSAPP_OBJECT) {
		result.ignored = `"object" is not "${WHATSAPP_OBJECT}"`;
		return result;
	}
	for (const entryValue of list(root.entry)) {
		const entry = record(entryValue);
		if (!entry) continue;
		const businessAccountId = str(entry.id) ?? '';
		for (const changeValue of list(entry.changes)) {
			const change = record(changeValue);
			if (!change) continue;
			const field = typeof change.field === 'string' ? change.field : 'messages';
			// Other webhook fields (account_update, templates…) have other shapes: not ours.
			if (field !== 'messages' && !CONVERSATION_EVENT_FIELDS.has(field)) continue;
			const value = record(change.value);
			if (!value) continue;
			const metadata = record(value.metadata);
			if (field !== 'messages') {
				const where = { phoneNumberId: str(metadata?.phone_number_id) ?? '', displayPhoneNumber: str(metadata?.display_phone_number) ?? '' };
				result.events.push(...conversationEvents(field, value, where));
				continue;
			}
			const context: ValueContext = {
				phoneNumberId: str(metadata?.phone_number_id) ?? '',
				displayPhoneNumber: str(metadata?.display_phone_number) ?? '',
				businessAccountId,
				contacts: list(value.contacts).filter(isRecord),
			};
			for (const message of list(value.messages)) {
				const item = normalizeMessage(message, context);
				const identity = isRecord(message) ? identityChangeEvent(message, context) : undefined;
				if (identity) result.events.push(identity);
				if (item) {
					if (hooks) attachLinks(item, hooks);
					result.messages.push(item);
				}
			}
			for (const status of list(value.statuses)) {
				const item = normalizeStatus(status, context);
				if (item) result.statuses.push(item);
			}
			const errorsRaw = list(value.errors);
			const errors = readableErrors(errorsRaw);
			let readableIndex = 0;
			for (const rawError of errorsRaw) {
				if (!isRecord(rawError)) continue;
				result.errors.push(valueErrorItem(rawError, errors[readableIndex++], context));
			}
		}
	}
	return result;
}

/** The statuses the trigger names; anything else Meta sends counts as "other". */
export const KNOWN_STATUSES = new Set(['sent', 'delivered', 'read', 'failed', 'played']);

export interface SelectionOptions {
	/** Business phone number ids to keep; empty: all. */
	phoneNumberIds?: ReadonlySet<string>;
	/** Status kinds to keep: known statuses, `error` (value-level errors), `other`. Undefined: all. */
	statuses?: ReadonlySet<string>;
	/** Remembers what was emitted; `checkAndAdd(key)` true means "already emitted". */
	seen?: { checkAndAdd(key: string): boolean };
}

export interface Selection {
	messages: InboundMessageItem[];
	/** Statuses and value-level errors, in arrival order of their kind. */
	statuses: StatusItem[];
	/** Left out because already emitted (Meta re-delivered them). */
	duplicates: number;
	/** Left out by the phone number or status filter. */
	filtered: number;
}

/** Which status filter value an item falls under. */
export function statusKind(item: StatusItem): string {
	if (item.status === 'error' && item.messageId === null) return 'error';
	return KNOWN_STATUSES.has(item.status) ? item.status : 'other';
}

/**
 * Applies the trigger's filters, then drops what was already emitted: messages by id,
 * statuses by id + status (Meta's dedup keys, reference §1.3). Items without an id are kept.
 */
export function selectWebhookItems(normalized: NormalizedWebhook, options: SelectionOptions = {}): Selection {
	const selection: Selection = { messages: [], statuses: [], duplicates: 0, filtered: 0 };
	const phoneAllowed = (id: string) => !options.phoneNumberIds || options.phoneNumberIds.size === 0 || options.phoneNumberIds.has(id);
	const fresh = (key: string | undefined) => {
		if (key === undefined || !options.seen) return true;
		if (!options.seen.checkAndAdd(key)) return true;
		selection.duplicates++;
		return false;
	};
	for (const item of normalized.messages) {
		if (!phoneAllowed(item.phoneNumberId)) selection.filtered++;
		else if (fresh(item.messageId !== '' ? messageClaimKey(item.phoneNumberId, item.messageId) : undefined)) selection.messages.push(item);
	}
	for (const item of [...normalized.statuses, ...normalized.errors]) {
		if (!phoneAllowed(item.phoneNumberId) || (options.statuses && !options.statuses.has(statusKind(item)))) selection.filtered++;
		else if (fresh(item.messageId !== null ? `status:${item.phoneNumberId}:${item.messageId}:${item.status}` : undefined)) selection.statuses.push(item);
	}
	return selection;
}
