import { parseCanonicalMessage, type CanonicalMessage } from '../../core/canonical-message';
import { buildMarkAsReadPayload, buildMessagePayload } from '../../core/cloud-api-payloads';
import { WhatsAppValidationError } from '../../core/errors';
import { LIMITS } from '../../core/limits';

const to = { to: '+16505551234' };
const envelope = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+16505551234' };
const build = (message: unknown, options: { replyTo?: string; previewUrl?: boolean } = {}) =>
	buildMessagePayload(parseCanonicalMessage(message), { recipient: to, ...options });

describe('buildMessagePayload: every canonical type', () => {
	it.each<[string, unknown, Record<string, unknown>]>([
		['text', { type: 'text', text: 'Hello' }, { type: 'text', text: { preview_url: false, body: 'Hello' } }],
		[
			'text with link preview',
			{ type: 'text', text: 'See https://example.com', previewUrl: true },
			{ type: 'text', text: { preview_url: true, body: 'See https://example.com' } },
		],
		[
			'image by URL with caption',
			{ type: 'image', url: 'https://example.com/a.png', caption: 'Nice' },
			{ type: 'image', image: { link: 'https://example.com/a.png', caption: 'Nice' } },
		],
		['image by media id', { type: 'image', mediaId: '1479537139650973' }, { type: 'image', image: { id: '1479537139650973' } }],
		[
			'video with caption',
			{ type: 'video', mediaId: '1166846181421424', caption: 'A succulent eclipse!' },
			{ type: 'video', video: { id: '1166846181421424', caption: 'A succulent eclipse!' } },
		],
		['audio', { type: 'audio', url: 'https://example.com/a.mp3' }, { type: 'audio', audio: { link: 'https://example.com/a.mp3' } }],
		[
			'audio as a voice note',
			{ type: 'audio', mediaId: '1013859600285441', voice: true },
			{ type: 'audio', audio: { id: '1013859600285441', voice: true } },
		],
		[
			'document with file name and caption',
			{ type: 'document', mediaId: '1376223850470843', filename: 'order_abc123.pdf', caption: 'Your order' },
			{ type: 'document', document: { id: '1376223850470843', filename: 'order_abc123.pdf', caption: 'Your order' } },
		],
		[
			'file name is dropped where Meta does not take it',
			{ type: 'image', mediaId: '1', filename: 'x.png' },
			{ type: 'image', image: { id: '1' } },
		],
		['sticker', { type: 'sticker', mediaId: '798882015472548' }, { type: 'sticker', sticker: { id: '798882015472548' } }],
		[
			'location with numbers',
			{ type: 'location', latitude: 37.44216251868683, longitude: -122.16153582049394, name: 'Philz Coffee', address: '101 Forest Ave' },
			{
				type: 'location',
				location: { latitude: 37.44216251868683, longitude: -122.16153582049394, name: 'Philz Coffee', address: '101 Forest Ave' },
			},
		],
		[
			'location with numeric strings, no name',
			{ type: 'location', latitude: '-33.8688', longitude: '151.2093' },
			{ type: 'location', location: { latitude: -33.8688, longitude: 151.2093 } },
		],
		[
			'reaction',
			{ type: 'reaction', messageId: 'wamid.HBgL', emoji: '👍' },
			{ type: 'reaction', reaction: { message_id: 'wamid.HBgL', emoji: '👍' } },
		],
		[
			'reaction removal',
			{ type: 'reaction', messageId: 'wamid.HBgL', emoji: '' },
			{ type: 'reaction', reaction: { message_id: 'wamid.HBgL', emoji: '' } },
		],
		[
			'template without components',
			{ type: 'template', name: 'hello_world', language: 'en_US' },
			{ type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } },
		],
		[
			'template with components passed through',
			{
				type: 'template',
				name: 'order_update',
				language: 'en',
				components: [
					{ type: 'body', parameters: [{ type: 'text', text: 'Pablo' }] },
					{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'CONFIRM' }] },
				],
			},
			{
				type: 'template',
				template: {
					name: 'order_update',
					language: { code: 'en' },
					components: [
						{ type: 'body', parameters: [{ type: 'text', text: 'Pablo' }] },
						{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'CONFIRM' }] },
					],
				},
			},
		],
		[
			'reply buttons with header and footer',
			{
				type: 'buttons',
				body: 'Your workshop is at 9am tomorrow.',
				header: 'Workshop Details',
				footer: 'Lucky Shrub',
				buttons: [
					{ id: 'change-button', title: 'Change' },
					{ id: 'cancel-button', title: 'Cancel' },
				],
			},
			{
				type: 'interactive',
				interactive: {
					type: 'button',
					header: { type: 'text', text: 'Workshop Details' },
					body: { text: 'Your workshop is at 9am tomorrow.' },
					footer: { text: 'Lucky Shrub' },
					action: {
						buttons: [
							{ type: 'reply', reply: { id: 'change-button', title: 'Change' } },
							{ type: 'reply', reply: { id: 'cancel-button', title: 'Cancel' } },
						],
					},
				},
			},
		],
		[
			'reply buttons without header and footer',
			{ type: 'buttons', body: 'Yes?', buttons: [{ id: 'y', title: 'Yes' }] },
			{
				type: 'interactive',
				interactive: { type: 'button', body: { text: 'Yes?' }, action: { buttons: [{ type: 'reply', reply: { id: 'y', title: 'Yes' } }] } },
			},
		],
		[
			'list',
			{
				type: 'list',
				body: 'Which shipping option do you prefer?',
				buttonText: 'Shipping Options',
				header: 'Choose Shipping Option',
				footer: 'Lucky Shrub',
				sections: [
					{ title: 'I want it ASAP!', rows: [{ id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' }] },
					{ title: 'I can wait a bit', rows: [{ id: 'usps_ground', title: 'USPS Ground Advantage' }] },
				],
			},
			{
				type: 'interactive',
				interactive: {
					type: 'list',
					header: { type: 'text', text: 'Choose Shipping Option' },
					body: { text: 'Which shipping option do you prefer?' },
					footer: { text: 'Lucky Shrub' },
					action: {
						button: 'Shipping Options',
						sections: [
							{ title: 'I want it ASAP!', rows: [{ id: 'priority_express', title: 'Priority Mail Express', description: 'Next Day to 2 Days' }] },
							{ title: 'I can wait a bit', rows: [{ id: 'usps_ground', title: 'USPS Ground Advantage' }] },
						],
					},
				},
			},
		],
	])('%s', (_name, message, expected) => {
		expect(build(message)).toEqual({ ...envelope, ...expected });
	});
});

describe('buildMessagePayload: contacts', () => {
	it("maps our contact shape to Meta's, deriving the name fields Meta requires", () => {
		const payload = build({
			type: 'contacts',
			contacts: [
				{
					name: 'Barbara J. Johnson',
					phone: '+1 917 555 9999',
					phones: [{ phone: '+19175550000', type: 'WORK', waId: '19175550000' }, { phone: '917 555 1111', type: 'HOME' }],
					email: 'bjohnson@luckyshrub.com',
					emails: [{ email: 'barbara@example.com', type: 'HOME' }],
					company: 'Lucky Shrub',
					department: 'Legal',
					title: 'Lead Counsel',
					url: 'https://www.luckyshrub.com',
					birthday: '1999-01-23',
					address: { street: '1 Lucky Shrub Way', city: 'Menlo Park', state: 'CA', zip: '94025', country: 'United States', countryCode: 'US', type: 'WORK' },
				},
				{ name: 'Cher' },
			],
		});
		expect(payload).toEqual({
			...envelope,
			type: 'contacts',
			contacts: [
				{
					name: { formatted_name: 'Barbara J. Johnson', first_name: 'Barbara', last_name: 'J. Johnson' },
					phones: [
						{ phone: '+1 917 555 9999', wa_id: '19175559999' },
						{ phone: '+19175550000', type: 'WORK', wa_id: '19175550000' },
						{ phone: '917 555 1111', type: 'HOME' }, // not international: no WhatsApp id guessed
					],
					emails: [{ email: 'bjohnson@luckyshrub.com' }, { email: 'barbara@example.com', type: 'HOME' }],
					org: { company: 'Lucky Shrub', department: 'Legal', title: 'Lead Counsel' },
					urls: [{ url: 'https://www.luckyshrub.com' }],
					addresses: [{ street: '1 Lucky Shrub Way', city: 'Menlo Park', state: 'CA', zip: '94025', country: 'United States', country_code: 'US', type: 'WORK' }],
					birthday: '1999-01-23',
				},
				{ name: { formatted_name: 'Cher', first_name: 'Cher' } },
			],
		});
	});

	it('keeps explicit first and last names', () => {
		const payload = build({ type: 'contacts', contacts: [{ name: 'Dr. Ada Lovelace', firstName: 'Ada', lastName: 'Lovelace' }] });
		expect((payload.contacts as Array<{ name: unknown }>)[0].name).toEqual({
			formatted_name: 'Dr. Ada Lovelace',
			first_name: 'Ada',
			last_name: 'Lovelace',
		});
		const onlyLast = build({ type: 'contacts', contacts: [{ name: 'Lovelace Ltd', lastName: 'Lovelace' }] });
		expect((onlyLast.contacts as Array<{ name: unknown }>)[0].name).toEqual({ formatted_name: 'Lovelace Ltd', last_name: 'Lovelace' });
	});
});

describe('buildMessagePayload: envelope', () => {
	it('quotes the reply target with context.message_id', () => {
		expect(build({ type: 'text', text: 'Hi' }, { replyTo: 'wamid.ABC' })).toEqual({
			...envelope,
			context: { message_id: 'wamid.ABC' },
			type: 'text',
			text: { preview_url: false, body: 'Hi' },
		});
	});

	it('never threads a reaction (Meta refuses context on reactions)', () => {
		const payload = build({ type: 'reaction', messageId: 'wamid.X', emoji: '❤️' }, { replyTo: 'wamid.ABC' });
		expect(payload.context).toBeUndefined();
	});

	it('sends to a business-scoped user id with `recipient` instead of `to`', () => {
		const payload = buildMessagePayload({ type: 'text', text: 'Hi' }, { recipient: { recipient: 'US.13491208655302741918' } });
		expect(payload).toEqual({
			messaging_product: 'whatsapp',
			recipient_type: 'individual',
			recipient: 'US.13491208655302741918',
			type: 'text',
			text: { preview_url: false, body: 'Hi' },
		});
		expect(payload).not.toHaveProperty('to');
	});

	it('uses the default link preview unless the message says otherwise', () => {
		expect(build({ type: 'text', text: 'a' }, { previewUrl: true }).text).toEqual({ preview_url: true, body: 'a' });
		expect(build({ type: 'text', text: 'a', previewUrl: false }, { previewUrl: true }).text).toEqual({ preview_url: false, body: 'a' });
	});
});

describe('buildMessagePayload: limits (never sends over a limit)', () => {
	const refuse = (message: CanonicalMessage, field: string, pattern: RegExp) => {
		let error: unknown;
		try {
			buildMessagePayload(message, { recipient: to });
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(WhatsAppValidationError);
		expect((error as WhatsAppValidationError).field).toBe(field);
		expect((error as Error).message).toMatch(pattern);
	};

	it('text: 4096 characters pass, 4097 are refused (the planner splits first)', () => {
		expect(build({ type: 'text', text: 'a'.repeat(LIMITS.textBody) }).text).toMatchObject({ body: 'a'.repeat(4096) });
		refuse({ type: 'text', text: 'a'.repeat(LIMITS.textBody + 1) }, 'text', /at most 4096/);
	});

	it('counts characters, not UTF-16 units: 4096 emoji pass', () => {
		expect(() => build({ type: 'text', text: '😀'.repeat(4096) })).not.toThrow();
	});

	it('empty text is refused', () => {
		refuse({ type: 'text', text: '  ' }, 'text', /must not be empty/);
	});

	it('caption: 1024 pass, 1025 are refused', () => {
		expect(build({ type: 'image', mediaId: '1', caption: 'c'.repeat(LIMITS.caption) })).toBeTruthy();
		refuse({ type: 'image', mediaId: '1', caption: 'c'.repeat(LIMITS.caption + 1) }, 'caption', /at most 1024/);
	});

	it.each(['audio', 'sticker'] as const)('a caption on %s is refused (Meta would not show it)', (type) => {
		refuse({ type, mediaId: '1', caption: 'hello' }, 'caption', new RegExp(`no caption on ${type}`));
	});

	it('media still waiting for its upload is refused', () => {
		refuse({ type: 'image', binaryProperty: 'data' }, 'mediaId', /uploaded first/);
	});

	it('interactive body over 1024 and header/footer over 60 are refused', () => {
		const buttons = [{ id: 'a', title: 'A' }];
		refuse({ type: 'buttons', body: 'b'.repeat(LIMITS.interactiveBody + 1), buttons }, 'body', /at most 1024/);
		refuse({ type: 'buttons', body: 'b', header: 'h'.repeat(61), buttons }, 'header', /at most 60/);
		refuse({ type: 'buttons', body: 'b', footer: 'f'.repeat(61), buttons }, 'footer', /at most 60/);
		const sections = [{ rows: [{ id: 'r', title: 'R' }] }];
		refuse({ type: 'list', body: 'b'.repeat(1025), buttonText: 'Pick', sections }, 'body', /at most 1024/);
	});

	it('an unknown type is refused', () => {
		refuse({ type: 'poll' } as unknown as CanonicalMessage, 'type', /unknown message type "poll"/);
	});
});

describe('buildMarkAsReadPayload', () => {
	it('marks as read', () => {
		expect(buildMarkAsReadPayload('wamid.HBgL')).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.HBgL' });
	});

	it('adds the typing indicator', () => {
		expect(buildMarkAsReadPayload('wamid.HBgL', { typing: true })).toEqual({
			messaging_product: 'whatsapp',
			status: 'read',
			message_id: 'wamid.HBgL',
			typing_indicator: { type: 'text' },
		});
	});

	it('refuses a missing or over-long message id', () => {
		expect(() => buildMarkAsReadPayload('')).toThrow(/messageId: .*required/);
		expect(() => buildMarkAsReadPayload('w'.repeat(129))).toThrow(/at most 128/);
	});
});
