import {
	CANONICAL_MESSAGE_TYPES,
	describeIssues,
	isMediaType,
	parseCanonicalMessage,
	parseCanonicalMessages,
} from '../../core/canonical-message';
import { WhatsAppValidationError } from '../../core/errors';

const rows = (count: number, prefix = 'r') =>
	Array.from({ length: count }, (_, index) => ({ id: `${prefix}${index}`, title: `Row ${index}` }));

describe('parseCanonicalMessage: valid messages of every type', () => {
	it.each<[string, Record<string, unknown>]>([
		['text', { type: 'text', text: 'Hello' }],
		['text with preview', { type: 'text', text: 'https://x.example', previewUrl: true }],
		['image by url', { type: 'image', url: 'https://example.com/a.png', caption: 'A' }],
		['video by media id', { type: 'video', mediaId: '123' }],
		['audio voice note', { type: 'audio', mediaId: '123', voice: true }],
		['document from binary', { type: 'document', binaryProperty: 'data', filename: 'a.pdf' }],
		['sticker', { type: 'sticker', url: 'http://example.com/s.webp' }],
		['location', { type: 'location', latitude: 48.8584, longitude: 2.2945, name: 'Eiffel Tower', address: 'Paris' }],
		['location at the limits', { type: 'location', latitude: -90, longitude: 180 }],
		['contacts', { type: 'contacts', contacts: [{ name: 'Ada', phone: '+441234567890', birthday: '1815-12-10' }] }],
		['buttons', { type: 'buttons', body: 'Pick', buttons: rows(3).map(({ id, title }) => ({ id, title })), header: 'H', footer: 'F' }],
		['list', { type: 'list', body: 'Pick', buttonText: 'Options', sections: [{ rows: rows(10) }] }],
		['list with sections', { type: 'list', body: 'Pick', buttonText: 'Options', sections: [{ title: 'A', rows: rows(2, 'a') }, { title: 'B', rows: rows(2, 'b') }] }],
		['reaction', { type: 'reaction', messageId: 'wamid.X', emoji: '👍' }],
		['reaction removal', { type: 'reaction', messageId: 'wamid.X', emoji: '' }],
		['template', { type: 'template', name: 'hello_world', language: 'en_US', components: [{ type: 'body', parameters: [] }] }],
	])('%s', (_name, input) => {
		const parsed = parseCanonicalMessage(input);
		expect(parsed.type).toBe(input.type);
		expect(parsed).toMatchObject(input.type === 'location' ? { type: 'location' } : input);
	});

	it('turns numeric strings into numbers for coordinates', () => {
		expect(parseCanonicalMessage({ type: 'location', latitude: '37.44', longitude: '-122.16' })).toEqual({
			type: 'location',
			latitude: 37.44,
			longitude: -122.16,
		});
	});

	it('knows every type', () => {
		expect([...CANONICAL_MESSAGE_TYPES].sort()).toEqual(
			['audio', 'buttons', 'contacts', 'document', 'image', 'list', 'location', 'reaction', 'sticker', 'template', 'text', 'video'].sort(),
		);
		expect(isMediaType('sticker')).toBe(true);
		expect(isMediaType('text')).toBe(false);
	});
});

describe('parseCanonicalMessage: bad input names the field', () => {
	it.each<[string, unknown, string, RegExp]>([
		['not an object', 'hello', 'message', /must be an object/],
		['an array', [], 'message', /must be an object/],
		['unknown type', { type: 'poll' }, 'message.type', /unknown message type "poll"; expected one of text, image/],
		['missing type', { text: 'x' }, 'message.type', /unknown message type undefined/],
		['empty text', { type: 'text', text: '   ' }, 'message.text', /must not be empty/],
		['missing text', { type: 'text' }, 'message.text', /text is required/],
		['text not a string', { type: 'text', text: 42 }, 'message.text', /must be text/],
		['media without source', { type: 'image' }, 'message.url', /exactly one of url, mediaId or binaryProperty/],
		['media with two sources', { type: 'video', url: 'https://a.example/v.mp4', mediaId: '1' }, 'message.url', /only one of/],
		['media url not http', { type: 'image', url: 'ftp://example.com/a.png' }, 'message.url', /http/],
		['latitude out of range', { type: 'location', latitude: 91, longitude: 0 }, 'message.latitude', /between -90 and 90/],
		['longitude out of range', { type: 'location', latitude: 0, longitude: -180.5 }, 'message.longitude', /between -180 and 180/],
		['latitude not a number', { type: 'location', latitude: 'north', longitude: 0 }, 'message.latitude', /number|between/],
		['no contacts', { type: 'contacts', contacts: [] }, 'message.contacts', /at least one contact/],
		['contact without name', { type: 'contacts', contacts: [{ phone: '+1' }] }, 'message.contacts[0].name', /name is required/],
		['bad birthday', { type: 'contacts', contacts: [{ name: 'A', birthday: '10/12/1815' }] }, 'message.contacts[0].birthday', /YYYY-MM-DD/],
		['4 buttons', { type: 'buttons', body: 'b', buttons: rows(4) }, 'message.buttons', /at most 3 buttons/],
		['no buttons', { type: 'buttons', body: 'b', buttons: [] }, 'message.buttons', /at least one button/],
		['button title over 20', { type: 'buttons', body: 'b', buttons: [{ id: 'a', title: 'x'.repeat(21) }] }, 'message.buttons[0].title', /at most 20/],
		['duplicate button ids', { type: 'buttons', body: 'b', buttons: [{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }] }, 'message.buttons', /ids must be unique/],
		['buttons body over 1024', { type: 'buttons', body: 'b'.repeat(1025), buttons: rows(1) }, 'message.body', /at most 1024/],
		['header over 60', { type: 'buttons', body: 'b', header: 'h'.repeat(61), buttons: rows(1) }, 'message.header', /at most 60/],
		['25-char list row title', { type: 'list', body: 'b', buttonText: 'Go', sections: [{ rows: [{ id: 'a', title: 'x'.repeat(25) }] }] }, 'message.sections[0].rows[0].title', /row title must be at most 24/],
		['11 list rows', { type: 'list', body: 'b', buttonText: 'Go', sections: [{ title: 'A', rows: rows(6, 'a') }, { title: 'B', rows: rows(5, 'b') }] }, 'message.sections', /at most 10 rows/],
		['list button text over 20', { type: 'list', body: 'b', buttonText: 'x'.repeat(21), sections: [{ rows: rows(1) }] }, 'message.buttonText', /at most 20/],
		['two sections, one untitled', { type: 'list', body: 'b', buttonText: 'Go', sections: [{ title: 'A', rows: rows(1, 'a') }, { rows: rows(1, 'b') }] }, 'message.sections[1].title', /needs a title/],
		['row description over 72', { type: 'list', body: 'b', buttonText: 'Go', sections: [{ rows: [{ id: 'a', title: 'A', description: 'd'.repeat(73) }] }] }, 'message.sections[0].rows[0].description', /at most 72/],
		['reaction without message id', { type: 'reaction', emoji: '👍' }, 'message.messageId', /required/],
		['template without language', { type: 'template', name: 'x' }, 'message.language', /required/],
	])('%s', (_name, input, field, pattern) => {
		let error: unknown;
		try {
			parseCanonicalMessage(input);
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(WhatsAppValidationError);
		expect((error as WhatsAppValidationError).field).toBe(field);
		expect((error as Error).message).toMatch(pattern);
		expect((error as Error).message).toContain(`${field}:`);
	});
});

describe('parseCanonicalMessages', () => {
	it('parses a list in order', () => {
		const list = parseCanonicalMessages([
			{ type: 'text', text: 'a' },
			{ type: 'reaction', messageId: 'w', emoji: '👍' },
		]);
		expect(list.map((message) => message.type)).toEqual(['text', 'reaction']);
	});

	it('refuses a non-list', () => {
		expect(() => parseCanonicalMessages({ type: 'text', text: 'a' })).toThrow(/messages: must be a list/);
	});

	it('reports every problem of every message at once, naming the first field', () => {
		let error: unknown;
		try {
			parseCanonicalMessages([{ type: 'text', text: 'ok' }, { type: 'text', text: '' }, { type: 'gif' }], 'reply');
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(WhatsAppValidationError);
		expect((error as WhatsAppValidationError).field).toBe('reply[1].text');
		expect((error as Error).message).toMatch(/reply\[1\]\.text: text must not be empty; reply\[2\]\.type: unknown message type "gif"/);
	});

	it('describes zod issues with paths', () => {
		expect(describeIssues([{ code: 'custom', path: ['sections', 0, 'rows', 2], message: 'bad' }], 'm')).toEqual(['m.sections[0].rows[2]: bad']);
		expect(describeIssues([{ code: 'custom', path: [], message: 'bad' }])).toEqual(['bad']);
	});
});
