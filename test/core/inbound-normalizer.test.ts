import { DedupCache } from '../../core/dedup-cache';
import {
	attachLinks,
	isoFromUnixSeconds,
	normalizeWebhook,
	selectWebhookItems,
	statusKind,
	type InboundMessageItem,
	type NormalizeHooks,
	type NormalizedWebhook,
} from '../../core/inbound-normalizer';
import { GRAPH_ERROR_CODES } from '../../core/graph-errors';
import { fixtureNames, loadFixture, serializeLikeMeta } from '../fakes/meta-webhook';

const PN = '106540352242922';
const DISPLAY = '15550783881';
const WABA = '102290129340398';

const hooks: NormalizeHooks = {
	replyCallback: ({ to, phoneNumberId, replyTo }) => `https://n8n.test/reply?to=${to}&pn=${phoneNumberId}&re=${replyTo}`,
	mediaUrl: ({ mediaId, mimeType, phoneNumberId }) => `https://n8n.test/media?id=${mediaId}&mt=${mimeType ?? ''}&pn=${phoneNumberId ?? ''}`,
};

function normalizeFixture(name: string, withHooks = true): NormalizedWebhook {
	// Through Meta's escaped wire form, so the \uXXXX handling is part of what is tested.
	return normalizeWebhook(JSON.parse(serializeLikeMeta(loadFixture(name))), withHooks ? hooks : {});
}

function onlyMessage(name: string): InboundMessageItem {
	const result = normalizeFixture(name);
	expect(result.messages).toHaveLength(1);
	expect(result.statuses).toHaveLength(0);
	expect(result.errors).toHaveLength(0);
	return result.messages[0];
}

/** Fields every message from the standard fixture sender has. */
function common(fixture: string, type: string) {
	const raw = loadFixture(fixture).entry[0].changes[0].value.messages[0];
	return {
		phone_number: '+16505551234',
		waId: '16505551234',
		contactName: 'Sheena Nelson',
		type,
		messageId: raw.id,
		timestamp: new Date(Number(raw.timestamp) * 1000).toISOString(),
		phoneNumberId: PN,
		displayPhoneNumber: DISPLAY,
		businessAccountId: WABA,
		reply_callback: `https://n8n.test/reply?to=+16505551234&pn=${PN}&re=${raw.id}`,
		raw,
	};
}

const covered = new Set<string>();
const cover = (name: string) => {
	covered.add(name);
	return name;
};

describe('normalizeWebhook: messages, one fixture per type', () => {
	it('text: BYOA fields ready for an agent', () => {
		const item = onlyMessage(cover('text'));
		expect(item).toEqual({
			...common('text', 'text'),
			message: 'Does it come in another color?',
			image: null,
			timestamp: '2025-06-08T20:59:43.000Z',
			userId: null,
			username: null,
		});
	});

	it('text with reply context, forwarded flags', () => {
		const item = onlyMessage(cover('text-reply-forwarded'));
		expect(item).toMatchObject({ ...common('text-reply-forwarded', 'text'), message: 'Is this still available?' });
		expect(item.context).toEqual({
			messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA',
			from: '15550783881',
			forwarded: true,
			frequentlyForwarded: true,
		});
	});

	it('image: caption as message, signed link as image and media.url', () => {
		const item = onlyMessage(cover('image'));
		const link = `https://n8n.test/media?id=1003383421387256&mt=image/jpeg&pn=${PN}`;
		expect(item).toMatchObject({ ...common('image', 'image'), message: 'Taj Mahal', image: link });
		expect(item.media).toEqual({
			id: '1003383421387256',
			mimeType: 'image/jpeg',
			sha256: 'SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
			caption: 'Taj Mahal',
			filename: null,
			voice: false,
			animated: false,
			url: link,
		});
	});

	it('video: media without a Meta url (older payloads) still gets a link; image stays null', () => {
		const item = onlyMessage(cover('video'));
		expect(item).toMatchObject({ ...common('video', 'video'), message: 'Unboxing', image: null });
		expect(item.media).toMatchObject({ id: '1184756390021144', mimeType: 'video/mp4', caption: 'Unboxing', url: expect.stringContaining('id=1184756390021144') });
	});

	it('audio (not a voice note)', () => {
		const item = onlyMessage(cover('audio'));
		expect(item).toMatchObject({ ...common('audio', 'audio'), message: '', image: null });
		expect(item.media).toMatchObject({ id: '2083746501928374', mimeType: 'audio/mpeg', voice: false, caption: null });
	});

	it('voice note', () => {
		const item = onlyMessage(cover('voice'));
		expect(item.media).toMatchObject({ id: '1234567890987654321', mimeType: 'audio/ogg; codecs=opus', voice: true });
		expect(item.message).toBe('');
	});

	it('document: filename and caption', () => {
		const item = onlyMessage(cover('document'));
		expect(item).toMatchObject({ ...common('document', 'document'), message: 'My invoice', image: null });
		expect(item.media).toMatchObject({ filename: 'invoice-2026-04.pdf', mimeType: 'application/pdf', caption: 'My invoice' });
	});

	it('a document that is an image is offered as image too', () => {
		const body = loadFixture('document');
		body.entry[0].changes[0].value.messages[0].document.mime_type = 'image/png';
		const item = normalizeWebhook(body, hooks).messages[0];
		expect(item.image).toBe(item.media!.url);
		expect(item.image).not.toBeNull();
	});

	it('sticker: animated, offered as image', () => {
		const item = onlyMessage(cover('sticker'));
		expect(item).toMatchObject({ ...common('sticker', 'sticker'), message: '' });
		expect(item.media).toMatchObject({ mimeType: 'image/webp', animated: true, voice: false });
		expect(item.image).toBe(item.media!.url);
	});

	it('location: readable summary and float coordinates', () => {
		const item = onlyMessage(cover('location'));
		expect(item).toMatchObject({
			...common('location', 'location'),
			message: 'Location: Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301 (37.44221496582, -122.16165924072)',
		});
		expect(item.location).toEqual({
			latitude: 37.44221496582,
			longitude: -122.16165924072,
			name: 'Philz Coffee',
			address: '101 Forest Ave, Palo Alto, CA 94301',
			url: 'https://philzcoffee.com/',
		});
	});

	it('contacts: every card, every detail, readable summary', () => {
		const item = onlyMessage(cover('contacts'));
		expect(item.message).toBe('Contacts: Barbara J. Johnson, +1 (940) 555-1234; Ali Karim, +44 20 7946 0958');
		expect(item.contacts).toEqual([
			{
				name: 'Barbara J. Johnson',
				firstName: 'Barbara',
				lastName: 'Johnson',
				phone: '+1 (940) 555-1234',
				phones: [
					{ phone: '+1 (940) 555-1234', waId: '19405551234', type: 'CELL' },
					{ phone: '+1 (650) 555-1234', waId: null, type: 'WORK' },
				],
				emails: [{ email: 'bjohnson@example.com', type: 'WORK' }],
				addresses: [{ street: '1 Lucky Shrub Way', city: 'Menlo Park', state: 'CA', zip: '94025', country: 'United States', countryCode: 'US', type: 'WORK' }],
				urls: [{ url: 'https://www.luckyshrub.com', type: 'WORK' }],
				company: 'Lucky Shrub',
				department: 'Sales',
				title: 'Sales Manager',
				birthday: '1999-01-23',
			},
			{
				name: 'Ali Karim', firstName: null, lastName: null, phone: '+44 20 7946 0958',
				phones: [{ phone: '+44 20 7946 0958', waId: null, type: 'HOME' }],
				emails: [], addresses: [], urls: [], company: null, department: null, title: null, birthday: null,
			},
		]);
	});

	it('interactive button reply: title as message, id for routing, context', () => {
		const item = onlyMessage(cover('interactive-button-reply'));
		expect(item).toMatchObject({ ...common('interactive-button-reply', 'interactive'), message: 'Cancel' });
		expect(item.interactive).toEqual({ kind: 'button_reply', id: 'cancel-button', title: 'Cancel', description: null });
		expect(item.context).toMatchObject({ messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA', forwarded: false });
	});

	it('interactive list reply', () => {
		const item = onlyMessage(cover('interactive-list-reply'));
		expect(item.message).toBe('Priority Mail Express');
		expect(item.interactive).toEqual({ kind: 'list_reply', id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' });
	});

	it('interactive Flow reply: response_json parsed safely, answers summarised', () => {
		const item = onlyMessage(cover('interactive-nfm-reply'));
		expect(item.interactive).toEqual({
			kind: 'nfm_reply',
			id: null,
			title: 'Sent',
			description: null,
			flowName: 'flow',
			flowResponse: { flow_token: 'unused', appointment_date: '2026-05-04', party_size: 4, notes: 'Window seat' },
		});
		expect(item.message).toBe('Form submitted: appointment_date: 2026-05-04, party_size: 4, notes: Window seat');
	});

	it('interactive Flow reply with response_json that is not JSON', () => {
		const body = loadFixture('interactive-nfm-reply');
		body.entry[0].changes[0].value.messages[0].interactive.nfm_reply.response_json = '{not json';
		const item = normalizeWebhook(body).messages[0];
		expect(item.interactive).toMatchObject({ kind: 'nfm_reply', flowResponse: null });
		expect(item.message).toBe('Sent');
	});

	it('interactive call permission reply', () => {
		const item = onlyMessage(cover('interactive-call-permission-reply'));
		expect(item.message).toBe('Call permission accepted');
		expect(item.interactive).toEqual({
			kind: 'call_permission_reply', id: null, title: null, description: null,
			permission: { response: 'accept', expiresAt: '2025-06-23T16:40:00.000Z', permanent: false, source: 'user_action' },
		});
	});

	it('template quick-reply button', () => {
		const item = onlyMessage(cover('button'));
		expect(item).toMatchObject({ ...common('button', 'button'), message: 'Unsubscribe' });
		expect(item.button).toEqual({ text: 'Unsubscribe', payload: 'unsubscribe-marketing' });
		expect(item.context?.messageId).toBe('wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0VEVNUExBVEUwMDAwMDEA');
	});

	it('reaction (emoji restored from the \\uXXXX surrogate pair)', () => {
		const item = onlyMessage(cover('reaction'));
		expect(item).toMatchObject({ ...common('reaction', 'reaction'), message: 'Reacted 😮 to a message' });
		expect(item.reaction).toEqual({ messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0UkVBQ1RFRDAwMDAwMQA=', emoji: '😮', removed: false });
	});

	it('reaction removed (empty emoji)', () => {
		const item = onlyMessage(cover('reaction-removed'));
		expect(item.message).toBe('Removed a reaction');
		expect(item.reaction).toEqual({ messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0UkVBQ1RFRDAwMDAwMQA=', emoji: null, removed: true });
		const body = loadFixture('reaction-removed');
		delete body.entry[0].changes[0].value.messages[0].reaction.emoji;
		expect(normalizeWebhook(body).messages[0].reaction).toMatchObject({ emoji: null, removed: true });
	});

	it('order: items with numbers, readable summary with the note', () => {
		const item = onlyMessage(cover('order'));
		expect(item.order).toEqual({
			catalogId: '194836987003835',
			text: 'Please gift wrap',
			items: [
				{ productRetailerId: 'di9ozbzfi4', quantity: 2, itemPrice: 30, currency: 'USD' },
				{ productRetailerId: 'nqryix03ez', quantity: 1, itemPrice: 25.5, currency: 'USD' },
			],
		});
		expect(item.message).toBe('Order: 2 × di9ozbzfi4 (30 USD each), 1 × nqryix03ez (25.5 USD each). Note: Please gift wrap');
	});

	it('system message without contacts[]', () => {
		const item = onlyMessage(cover('system'));
		expect(item).toMatchObject({
			type: 'system',
			message: 'User Sheena Nelson changed from 16505551234 to 12195555358',
			phone_number: '+16505551234',
			contactName: '',
		});
		expect(item.system).toEqual({ type: 'user_changed_number', body: 'User Sheena Nelson changed from 16505551234 to 12195555358', waId: '12195555358', userId: null });
	});

	it('Click-to-WhatsApp referral on a text message', () => {
		const item = onlyMessage(cover('referral'));
		expect(item.message).toBe('Hi! I saw your ad about succulents');
		expect(item.referral).toEqual({
			sourceUrl: 'https://fb.me/3cr4Wqqkv',
			sourceId: '120226305854810726',
			sourceType: 'ad',
			body: 'Summer succulents are here!',
			headline: 'Chat with us',
			mediaType: 'image',
			imageUrl: 'https://scontent.xx.fbcdn.net/v/t45.1600-4/518949840_n.png',
			videoUrl: null,
			thumbnailUrl: null,
			ctwaClid: expect.stringMatching(/^Aff-/),
			welcomeMessage: 'Hi there! Let us know how we can help!',
		});
	});

	it('unsupported: type kept, raw intact, errors readable with a hint', () => {
		const item = onlyMessage(cover('unsupported'));
		expect(item).toMatchObject({ type: 'unsupported', message: '', unsupported: { type: 'edit' } });
		expect(item.raw).toEqual(loadFixture('unsupported').entry[0].changes[0].value.messages[0]);
		expect(item.errors).toEqual([
			{
				code: 131051,
				title: 'Message type unknown',
				message: 'Message type unknown',
				details: 'Message type is currently not supported.',
				href: null,
				hint: GRAPH_ERROR_CODES[131051].hint,
				summary: 'Message type unknown (131051): Message type is currently not supported.',
			},
		]);
	});

	it('legacy unknown type: kept as is', () => {
		const item = onlyMessage(cover('unknown'));
		expect(item).toMatchObject({ type: 'unknown', message: '', phone_number: '+16505551234' });
		expect(item.errors?.[0]).toMatchObject({ code: 131051, title: 'Unsupported message type' });
	});

	it('request_welcome (no sub-object)', () => {
		const item = onlyMessage(cover('request-welcome'));
		expect(item).toMatchObject({ ...common('request-welcome', 'request_welcome'), message: '' });
	});

	it('edit: the new text and the original message id', () => {
		const item = onlyMessage(cover('edit'));
		expect(item).toMatchObject({ type: 'edit', message: 'Sorry, I meant the blue one' });
		expect(item.edit).toEqual({ originalMessageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ0T1JJR0lOQUwwMDAwMDAxAA==', type: 'text' });
	});

	it('revoke: the original message id', () => {
		const item = onlyMessage(cover('revoke'));
		expect(item).toMatchObject({ type: 'revoke', message: '' });
		expect(item.revoke).toEqual({ originalMessageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQ0T1JJR0lOQUwwMDAwMDAxAA==' });
	});

	it('a user known only by a business-scoped user id (no from / wa_id)', () => {
		const item = onlyMessage(cover('bsuid'));
		expect(item).toMatchObject({
			phone_number: 'US.13491208655302741918',
			waId: null,
			userId: 'US.13491208655302741918',
			username: 'pat.gardens',
			contactName: 'Pat',
			message: 'Hi, I use a username now',
			reply_callback: expect.stringContaining('to=US.13491208655302741918'),
		});
	});

	it('non-ASCII text and names survive Meta\'s escaping', () => {
		const item = onlyMessage(cover('non-ascii'));
		expect(item.message).toBe('Grüße aus Köln 👋🏽 — ¿qué tal? Das kostet 12 € für Jürgen 🇩🇪');
		expect(item.contactName).toBe('Jürgen Müller 🌵');
	});

	it('a batch: every entry, change and message, each with its own number and contact', () => {
		const result = normalizeFixture(cover('batch'));
		expect(result.messages.map((item) => [item.messageId, item.message, item.phone_number, item.contactName, item.phoneNumberId, item.businessAccountId, item.type])).toEqual([
			['wamid.BATCH0000000000000000000000000001', 'first', '+16505551234', 'Sheena Nelson', PN, WABA, 'text'],
			['wamid.BATCH0000000000000000000000000002', '', '+447700900123', 'Omar Haddad', PN, WABA, 'image'],
			['wamid.BATCH0000000000000000000000000003', 'third', '+4915112345678', 'Lena Schmidt', '209876543210987', '102290129340777', 'text'],
		]);
		expect(result.messages[1].image).toContain('id=7766554433221100');
		expect(result.messages[2].displayPhoneNumber).toBe('15550009999');
	});

	it('without hooks there are no links', () => {
		const item = normalizeFixture('image', false).messages[0];
		expect(item.image).toBeNull();
		expect(item.reply_callback).toBeNull();
		expect(item.media?.url).toBeNull();
	});
});

describe('normalizeWebhook: statuses and errors', () => {
	it('sent: conversation and pricing', () => {
		const result = normalizeFixture(cover('status-sent'));
		expect(result.messages).toEqual([]);
		expect(result.statuses).toEqual([
			{
				status: 'sent',
				messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
				recipient: '+16505551234',
				recipientType: null,
				timestamp: '2025-06-15T23:27:53.000Z',
				phoneNumberId: PN,
				displayPhoneNumber: DISPLAY,
				businessAccountId: WABA,
				conversation: { id: '72b14d6bd5407799e66f64d1b338e567', expiresAt: '2025-06-16T23:28:00.000Z', originType: 'marketing' },
				pricing: { billable: true, pricingModel: 'PMP', type: 'regular', category: 'marketing' },
				errors: [],
				error: null,
				raw: loadFixture('status-sent').entry[0].changes[0].value.statuses[0],
			},
		]);
	});

	it('delivered: pricing without conversation (v24), callback data', () => {
		const [status] = normalizeFixture(cover('status-delivered')).statuses;
		expect(status).toMatchObject({ status: 'delivered', pricing: { type: 'free_customer_service', category: 'service' }, bizOpaqueCallbackData: 'order-1234' });
		expect(status.conversation).toBeUndefined();
	});

	it('read: the bare v24 shape', () => {
		const [status] = normalizeFixture(cover('status-read')).statuses;
		expect(status).toMatchObject({ status: 'read', recipient: '+16505551234', errors: [], error: null });
		expect(status.pricing).toBeUndefined();
	});

	it('failed 131047: readable error with what to do', () => {
		const [status] = normalizeFixture(cover('status-failed')).statuses;
		expect(status.status).toBe('failed');
		expect(status.errors[0]).toMatchObject({
			code: 131047,
			title: 'Re-engagement message',
			details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
			href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
			hint: GRAPH_ERROR_CODES[131047].hint,
		});
		expect(status.error).toBe(
			`Re-engagement message (131047): Message failed to send because more than 24 hours have passed since the customer last replied to this number. What to do: ${GRAPH_ERROR_CODES[131047].hint}`,
		);
		expect(status.error).toMatch(/template/i);
	});

	it('played (voice message)', () => {
		const [status] = normalizeFixture(cover('status-played')).statuses;
		expect(status).toMatchObject({ status: 'played', messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0Vk9JQ0VOT1RFMDAwMDEA' });
	});

	it('value-level errors become error items', () => {
		const result = normalizeFixture(cover('value-errors'));
		expect(result.messages).toEqual([]);
		expect(result.statuses).toEqual([]);
		expect(result.errors).toHaveLength(1);
		expect(result.errors[0]).toMatchObject({
			status: 'error',
			messageId: null,
			phoneNumberId: PN,
			errors: [{ code: 130429, title: 'Rate limit hit', hint: GRAPH_ERROR_CODES[130429].hint }],
		});
		expect(result.errors[0].error).toMatch(/^Rate limit hit \(130429\): Message failed to send because there were too many messages/);
	});

	it('group and business-scoped recipients are kept as they are', () => {
		const body = loadFixture('status-read');
		const statuses = body.entry[0].changes[0].value.statuses;
		statuses.push({ ...statuses[0], recipient_id: '120363012345678901@g.us', recipient_type: 'group' });
		statuses.push({ ...statuses[0], recipient_id: undefined, recipient_user_id: 'US.13491208655302741918' });
		const result = normalizeWebhook(body);
		expect(result.statuses.map((status) => status.recipient)).toEqual(['+16505551234', '120363012345678901@g.us', 'US.13491208655302741918']);
	});
});

describe('normalizeWebhook: odd input never throws and emits nothing for the odd part', () => {
	it.each([
		['null', null],
		['a string', 'hello'],
		['an array', [1, 2]],
		['a number', 42],
	])('%s → ignored', (_name, body) => {
		const result = normalizeWebhook(body);
		expect(result).toMatchObject({ messages: [], statuses: [], errors: [], ignored: 'the body is not a JSON object' });
	});

	it('wrong object → ignored with the reason', () => {
		const body = { ...loadFixture('text'), object: 'page' };
		expect(normalizeWebhook(body)).toEqual({ messages: [], statuses: [], errors: [], events: [], ignored: '"object" is not "whatsapp_business_account"' });
	});

	it('empty and missing arrays → nothing', () => {
		for (const body of [
			{ object: 'whatsapp_business_account' },
			{ object: 'whatsapp_business_account', entry: [] },
			{ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [] }] },
			{ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messages: [], statuses: [] } }] }] },
			{ object: 'whatsapp_business_account', entry: 'nope' },
			{ object: 'whatsapp_business_account', entry: [null, 3, { changes: { not: 'an array' } }] },
		]) {
			const result = normalizeWebhook(body);
			expect(result).toEqual({ messages: [], statuses: [], errors: [], events: [] });
		}
	});

	it('other webhook fields are not ours', () => {
		const body = loadFixture('text');
		body.entry[0].changes[0].field = 'account_update';
		expect(normalizeWebhook(body).messages).toEqual([]);
	});

	it('wrong types inside a message become nulls, the message is still emitted', () => {
		const body = loadFixture('image');
		const message = body.entry[0].changes[0].value.messages[0];
		message.timestamp = 'yesterday';
		message.image = { id: 7, caption: { nested: true }, mime_type: ['x'] };
		message.context = { id: 5, forwarded: 'yes' };
		const [item] = normalizeWebhook(body, hooks).messages;
		expect(item).toMatchObject({ type: 'image', timestamp: null, message: '', context: { messageId: '5', forwarded: false } });
		expect(item.media).toMatchObject({ id: '7', caption: null, mimeType: null });
	});

	it('non-object messages and statuses are skipped, the rest kept', () => {
		const body = loadFixture('text');
		const value = body.entry[0].changes[0].value;
		value.messages = [null, 'x', 5, value.messages[0]];
		value.statuses = [false, { status: 'read' }];
		const result = normalizeWebhook(body);
		expect(result.messages).toHaveLength(1);
		expect(result.statuses).toEqual([expect.objectContaining({ status: 'read', messageId: null, recipient: null })]);
	});

	it('a message with no sender at all has no reply callback', () => {
		const body = loadFixture('text');
		delete body.entry[0].changes[0].value.messages[0].from;
		body.entry[0].changes[0].value.contacts = [];
		const [item] = normalizeWebhook(body, hooks).messages;
		expect(item.phone_number).toBe('');
		expect(item.reply_callback).toBeNull();
	});
});

describe('selectWebhookItems', () => {
	it('filters by phone number id and status kind, then drops what was already emitted', () => {
		const seen = new DedupCache();
		const batch = normalizeWebhook(loadFixture('batch'));
		expect(selectWebhookItems(batch, { phoneNumberIds: new Set(['209876543210987']), seen })).toMatchObject({ duplicates: 0, filtered: 2 });
		const again = selectWebhookItems(batch, { seen });
		expect(again.messages.map((item) => item.message)).toEqual(['first', '']);
		expect(again.duplicates).toBe(1);

		const failed = normalizeWebhook(loadFixture('status-failed'));
		const errors = normalizeWebhook(loadFixture('value-errors'));
		expect(statusKind(failed.statuses[0])).toBe('failed');
		expect(statusKind(errors.errors[0])).toBe('error');
		expect(statusKind({ ...failed.statuses[0], status: 'deleted' })).toBe('other');
		expect(selectWebhookItems(errors, { statuses: new Set(['failed']) })).toMatchObject({ statuses: [], filtered: 1 });
		// Value-level errors have no id: never treated as duplicates.
		expect(selectWebhookItems(errors, { seen }).statuses).toHaveLength(1);
		expect(selectWebhookItems(errors, { seen }).statuses).toHaveLength(1);
	});

	it('the same message id on two business numbers is two messages', () => {
		const seen = new DedupCache();
		const first = normalizeWebhook(loadFixture('text'));
		const second = normalizeWebhook(loadFixture('text'));
		second.messages[0].phoneNumberId = '209876543210987';
		expect(selectWebhookItems(first, { seen }).messages).toHaveLength(1);
		expect(selectWebhookItems(second, { seen }).messages).toHaveLength(1);
	});

	it('links are attached afterwards, only to what is emitted', () => {
		const normalized = normalizeWebhook(loadFixture('image'));
		expect(normalized.messages[0].reply_callback).toBeNull();
		const calls: string[] = [];
		attachLinks(normalized.messages[0], {
			replyCallback: (claims) => (calls.push('reply'), `r:${claims.replyTo}`),
			mediaUrl: (claims) => (calls.push('media'), `m:${claims.mediaId}`),
		});
		expect(calls).toEqual(['media', 'reply']);
		expect(normalized.messages[0]).toMatchObject({ image: 'm:1003383421387256', reply_callback: expect.stringMatching(/^r:wamid\./), media: { url: 'm:1003383421387256' } });
	});
});

describe('isoFromUnixSeconds', () => {
	it('converts strings and numbers, refuses the rest', () => {
		expect(isoFromUnixSeconds('1749416383')).toBe('2025-06-08T20:59:43.000Z');
		expect(isoFromUnixSeconds(0)).toBe('1970-01-01T00:00:00.000Z');
		for (const value of ['', 'abc', null, undefined, {}, 1e20, Number.NaN]) expect(isoFromUnixSeconds(value)).toBeNull();
	});
});

describe('fixtures', () => {
	it('every fixture in test/fixtures/webhooks is checked above', () => {
		expect(fixtureNames().filter((name) => !covered.has(name))).toEqual([]);
	});
});
