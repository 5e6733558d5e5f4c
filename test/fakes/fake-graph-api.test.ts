/**
 * The fake Graph API is shared by every node test and the real-n8n suite, so it is tested
 * on its own against the reference (whatsapp-cloud-api.md §3–§8), through Node's own fetch
 * and FormData (independent of our client and multipart builder).
 */
import { createHash } from 'crypto';

import {
	FAKE_DISPLAY_PHONE_NUMBER,
	FAKE_PHONE_NUMBER_ID,
	FAKE_TOKEN,
	FAKE_VERIFIED_NAME,
	META_ERRORS,
	metaError,
	startFakeGraphApi,
	type FakeGraphApi,
} from './fake-graph-api';

const WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';

let fake: FakeGraphApi;

interface Answer {
	status: number;
	headers: Headers;
	json: any;
	text: string;
}

async function graph(
	method: string,
	path: string,
	options: { body?: unknown; token?: string | null; version?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
	const headers: Record<string, string> = { ...options.headers };
	const token = options.token === undefined ? fake.token : options.token;
	if (token !== null) headers.Authorization = `Bearer ${token}`;
	let body: string | FormData | undefined;
	if (options.body instanceof FormData || typeof options.body === 'string') body = options.body;
	else if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers['Content-Type'] = 'application/json';
	}
	const url = path.startsWith('http') ? path : `${fake.baseUrl}/${options.version ?? 'v24.0'}/${path}`;
	const response = await fetch(url, { method, headers, body });
	const text = await response.text();
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: response.status, headers: response.headers, json, text };
}

const send = (payload: Record<string, unknown>, options: Parameters<typeof graph>[2] = {}) =>
	graph('POST', `${FAKE_PHONE_NUMBER_ID}/messages`, { ...options, body: { messaging_product: 'whatsapp', ...payload } });

const textTo = (body: string, to = '+16505551234') => ({ to, type: 'text', text: { body } });

/** Meta's error body shape (reference §6.1), exactly. */
function expectMetaError(answer: Answer, status: number, code: number, details?: string | RegExp) {
	expect(answer.status).toBe(status);
	expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
	expect(Object.keys(answer.json)).toEqual(['error']);
	const error = answer.json.error;
	expect(Object.keys(error).sort()).toEqual(
		['code', 'error_data', 'fbtrace_id', 'message', 'type', ...(error.error_subcode !== undefined ? ['error_subcode'] : [])].sort(),
	);
	expect(error).toMatchObject({ type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp' } });
	expect(typeof error.fbtrace_id).toBe('string');
	expect(typeof error.error_data.details).toBe('string');
	if (error.error_subcode === undefined) expect(error.message).toBe(`(#${code}) ${META_ERRORS[code]?.title ?? ''}`.trim());
	if (typeof details === 'string') expect(error.error_data.details).toBe(details);
	else if (details) expect(error.error_data.details).toMatch(details);
}

beforeAll(async () => {
	fake = await startFakeGraphApi();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('authentication and versions', () => {
	it('accepts any /v<digits>.<digits>/ prefix', async () => {
		for (const version of ['v21.0', 'v24.0', 'v26.0', 'v99.12']) {
			expect((await send(textTo('hi'), { version })).status).toBe(200);
		}
		expect(fake.sent.map((message) => message.version)).toEqual(['v21.0', 'v24.0', 'v26.0', 'v99.12']);
	});

	it('refuses a path without a version', async () => {
		const answer = await graph('POST', `${fake.baseUrl}/${FAKE_PHONE_NUMBER_ID}/messages`, { body: { messaging_product: 'whatsapp', ...textTo('hi') } });
		expect(answer.status).toBe(404);
		expect(fake.sent).toHaveLength(0);
	});

	it.each([
		['no Authorization header', null],
		['a wrong token', 'wrong'],
	])('401 with code 190 for %s, and nothing sent', async (_, token) => {
		const answer = await send(textTo('hi'), { token });
		expectMetaError(answer, 401, 190);
		expect(answer.headers.get('www-authenticate')).toMatch(/invalid_token/);
		expect(answer.text).not.toContain(FAKE_TOKEN);
		expect(fake.sent).toHaveLength(0);
	});

	it('setToken changes the accepted token; reset restores it', async () => {
		fake.setToken('rotated');
		expect((await send(textTo('hi'))).status).toBe(200);
		expect((await send(textTo('hi'), { token: FAKE_TOKEN })).status).toBe(401);
		fake.reset();
		expect(fake.token).toBe(FAKE_TOKEN);
	});

	it('answers an unknown object like Meta (400, code 100, subcode 33)', async () => {
		const answer = await graph('POST', '999/messages', { body: { messaging_product: 'whatsapp', ...textTo('x') } });
		expectMetaError(answer, 400, 100, /Object with ID '999' does not exist/);
		expect(answer.json.error.error_subcode).toBe(33);
		expect((await graph('POST', `${FAKE_PHONE_NUMBER_ID}/nothing`)).status).toBe(400);
	});
});

describe('POST /{phone-number-id}/messages', () => {
	it('answers Meta\'s success shape with a unique wamid and records the send', async () => {
		const first = await send(textTo('Hello', '+1 (650) 555-1234'));
		const second = await send(textTo('Again', '16505551234'));
		expect(first.status).toBe(200);
		expect(first.json).toEqual({
			messaging_product: 'whatsapp',
			contacts: [{ input: '+1 (650) 555-1234', wa_id: '16505551234' }],
			messages: [{ id: expect.stringMatching(/^wamid\.[A-Za-z0-9+/=]+$/) }],
		});
		expect(second.json.messages[0].id).not.toBe(first.json.messages[0].id);
		expect(fake.sent).toEqual([
			expect.objectContaining({ id: first.json.messages[0].id, phoneNumberId: FAKE_PHONE_NUMBER_ID, to: '+1 (650) 555-1234', waId: '16505551234', type: 'text', payload: { messaging_product: 'whatsapp', ...textTo('Hello', '+1 (650) 555-1234') } }),
			expect.objectContaining({ id: second.json.messages[0].id, waId: '16505551234' }),
		]);
	});

	it('defaults the type to text', async () => {
		expect((await send({ to: '16505551234', text: { body: 'no type' } })).status).toBe(200);
		expect(fake.sent[0].type).toBe('text');
	});

	const okPayloads: Array<[string, Record<string, unknown>]> = [
		['text, exactly 4096 characters', textTo('x'.repeat(4096))],
		['text with emoji counted as characters', textTo('🎉'.repeat(4096))],
		['text with preview_url and reply context', { to: '16505551234', type: 'text', context: { message_id: WAMID }, text: { body: 'x', preview_url: true } }],
		['image by id with caption of 1024', { to: '1650555', type: 'image', image: { id: '1479537139650973', caption: 'c'.repeat(1024) } }],
		['image by link', { to: '16505551234', type: 'image', image: { link: 'https://example.com/a.png' } }],
		['video', { to: '16505551234', type: 'video', video: { id: '1', caption: 'v' } }],
		['voice note', { to: '16505551234', type: 'audio', audio: { id: '1', voice: true } }],
		['document with filename', { to: '16505551234', type: 'document', document: { link: 'https://example.com/a.pdf', filename: 'a.pdf', caption: 'c' } }],
		['sticker', { to: '16505551234', type: 'sticker', sticker: { id: '1' } }],
		['location as strings', { to: '16505551234', type: 'location', location: { latitude: '37.44', longitude: '-122.16', name: 'Philz', address: '101 Forest Ave' } }],
		['location as numbers', { to: '16505551234', type: 'location', location: { latitude: -90, longitude: 180 } }],
		['contacts', { to: '16505551234', type: 'contacts', contacts: [{ name: { formatted_name: 'Barbara J. Johnson', first_name: 'Barbara' }, phones: [{ phone: '+19175559999', type: 'CELL' }] }] }],
		['3 reply buttons with header and footer', { to: '16505551234', type: 'interactive', interactive: { type: 'button', header: { type: 'text', text: 'h' }, body: { text: 'b' }, footer: { text: 'f' }, action: { buttons: [1, 2, 3].map((n) => ({ type: 'reply', reply: { id: `id${n}`, title: 't'.repeat(19) + n } })) } } }],
		['buttons with an image header', { to: '16505551234', type: 'interactive', interactive: { type: 'button', header: { type: 'image', image: { link: 'https://example.com/h.png' } }, body: { text: 'b' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'A' } }] } } }],
		['a list of 10 rows in 2 sections', { to: '16505551234', type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'Choose', sections: [0, 1].map((s) => ({ title: `Section ${s}`, rows: [0, 1, 2, 3, 4].map((r) => ({ id: `${s}-${r}`, title: 'r'.repeat(24), description: 'd'.repeat(72) })) })) } } }],
		['cta_url', { to: '16505551234', type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'See Dates', url: 'https://example.com' } } } }],
		['reaction', { to: '16505551234', type: 'reaction', reaction: { message_id: WAMID, emoji: '👍🏽' } }],
		['reaction removal', { to: '16505551234', type: 'reaction', reaction: { message_id: WAMID, emoji: '' } }],
		['template', { to: '16505551234', type: 'template', template: { name: 'order_update', language: { code: 'en_US', policy: 'deterministic' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Pablo' }] }, { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'OK' }] }] } }],
		['a business-scoped user id as recipient', { recipient: 'US.13491208655302741918', type: 'text', text: { body: 'x' } }],
	];

	it.each(okPayloads)('accepts %s', async (_, payload) => {
		const answer = await send(payload);
		expect(answer.status).toBe(200);
		expect(fake.sent).toHaveLength(1);
	});

	it('marks template sends as accepted (message_status)', async () => {
		const answer = await send(okPayloads.find(([name]) => name === 'template')![1]);
		expect(answer.json.messages[0].message_status).toBe('accepted');
	});

	const list = (rows: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({
		to: '16505551234',
		type: 'interactive',
		interactive: { type: 'list', body: { text: 'b' }, action: { button: 'Choose', sections: [{ title: 'S', rows, ...extra }] } },
	});
	const buttons = (items: Array<{ id: string; title: string }>) => ({
		to: '16505551234',
		type: 'interactive',
		interactive: { type: 'button', body: { text: 'b' }, action: { buttons: items.map((reply) => ({ type: 'reply', reply })) } },
	});
	const rows = (n: number) => Array.from({ length: n }, (_, index) => ({ id: `r${index}`, title: `Row ${index}` }));

	const badPayloads: Array<[string, Record<string, unknown>, number, string | RegExp]> = [
		['missing messaging_product', { messaging_product: undefined, ...textTo('x') }, 131008, 'The parameter messaging_product is required.'],
		['a wrong messaging_product', { messaging_product: 'sms', ...textTo('x') }, 131009, /messaging_product/],
		['an unknown field', { ...textTo('x'), priority: 'high' }, 100, 'Param priority is not a valid parameter.'],
		['a missing recipient', { type: 'text', text: { body: 'x' } }, 131008, 'The parameter to is required.'],
		['a recipient that is not a phone number', textTo('x', 'hello'), 100, /Invalid parameter 'to'/],
		['a plus in the middle of the number', textTo('x', '1650+5551234'), 100, /Invalid parameter 'to'/],
		['too many digits', textTo('x', '+1234567890123456'), 100, /Invalid parameter 'to'/],
		['an unknown type', { to: '16505551234', type: 'poll', poll: {} }, 100, /^Param type must be one of \{TEXT, IMAGE/],
		['a type object that does not match the type', { to: '16505551234', type: 'text', text: { body: 'x' }, image: { id: '1' } }, 100, 'Param image is not expected when type is text.'],
		['a text without its object', { to: '16505551234', type: 'text' }, 131008, 'The parameter text is required.'],
		['an empty text body', textTo(''), 131008, "The parameter text['body'] is required."],
		['a text body over 4096', textTo('x'.repeat(4097)), 100, "Param text['body'] must be at most 4096 characters long."],
		['an unknown key in text', { to: '16505551234', type: 'text', text: { body: 'x', bold: true } }, 100, "Param text['bold'] is not a valid parameter."],
		['a caption over 1024', { to: '16505551234', type: 'image', image: { id: '1', caption: 'c'.repeat(1025) } }, 100, "Param image['caption'] must be at most 1024 characters long."],
		['a caption on audio', { to: '16505551234', type: 'audio', audio: { id: '1', caption: 'c' } }, 100, "Param audio['caption'] is not a valid parameter."],
		['a filename on an image', { to: '16505551234', type: 'image', image: { id: '1', filename: 'a.png' } }, 100, /filename/],
		['media with both id and link', { to: '16505551234', type: 'image', image: { id: '1', link: 'https://example.com/a.png' } }, 131009, /either id or link, not both/],
		['media with neither id nor link', { to: '16505551234', type: 'video', video: { caption: 'x' } }, 131008, /video\['id'\] or video\['link'\] is required/],
		['media with a non-http link', { to: '16505551234', type: 'image', image: { link: 'ftp://x/a.png' } }, 131009, /must be a valid http\(s\) URL/],
		['a latitude out of range', { to: '16505551234', type: 'location', location: { latitude: 91, longitude: 0 } }, 131009, /latitude'\] must be a number between -90 and 90/],
		['a longitude that is not a number', { to: '16505551234', type: 'location', location: { latitude: 1, longitude: 'east' } }, 131009, /longitude/],
		['a missing longitude', { to: '16505551234', type: 'location', location: { latitude: 1 } }, 131008, "The parameter location['longitude'] is required."],
		['a contact without formatted_name', { to: '16505551234', type: 'contacts', contacts: [{ name: { first_name: 'A' } }] }, 131008, /formatted_name/],
		['no contacts', { to: '16505551234', type: 'contacts', contacts: [] }, 100, /at least 1/],
		['4 buttons', buttons([1, 2, 3, 4].map((n) => ({ id: `b${n}`, title: `B${n}` }))), 100, "Param interactive['action']['buttons'] must have at most 3 elements."],
		['a button title of 21 characters', buttons([{ id: 'a', title: 't'.repeat(21) }]), 100, "Param interactive['action']['buttons'][0]['reply']['title'] must be at most 20 characters long."],
		['duplicate button ids', buttons([{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }]), 131009, /must be unique/],
		['duplicate button titles', buttons([{ id: 'a', title: 'A' }, { id: 'b', title: 'A' }]), 131009, /must be unique/],
		['a button body over 1024', { ...buttons([{ id: 'a', title: 'A' }]), interactive: { type: 'button', body: { text: 'b'.repeat(1025) }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'A' } }] } } }, 100, /body'\]\['text'\] must be at most 1024/],
		['11 list rows', list(rows(11)), 100, /rows'\] must have at most 10 elements/],
		['11 rows across sections', { to: '16505551234', type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'Choose', sections: [{ title: 'A', rows: rows(6) }, { title: 'B', rows: rows(5).map((row) => ({ ...row, id: `b${row.id}` })) }] } } }, 100, /at most 10 rows in total/],
		['a list row title of 25 characters', list([{ id: 'r', title: 'r'.repeat(25) }]), 100, /\['rows'\]\[0\]\['title'\] must be at most 24 characters long/],
		['a list row description of 73 characters', list([{ id: 'r', title: 'r', description: 'd'.repeat(73) }]), 100, /description'\] must be at most 72/],
		['a list button text of 21 characters', { to: '16505551234', type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'b'.repeat(21), sections: [{ rows: rows(1) }] } } }, 100, /\['button'\] must be at most 20/],
		['two sections without titles', { to: '16505551234', type: 'interactive', interactive: { type: 'list', body: { text: 'b' }, action: { button: 'B', sections: [{ rows: rows(1) }, { rows: [{ id: 'x', title: 'x' }] }] } } }, 131008, /sections'\]\[0\]\['title'\] is required/],
		['an image header on a list', { to: '16505551234', type: 'interactive', interactive: { type: 'list', header: { type: 'image', image: { id: '1' } }, body: { text: 'b' }, action: { button: 'B', sections: [{ rows: rows(1) }] } } }, 131009, /header'\]\['type'\] must be one of \{text\}/],
		['a CTA display_text of 21 characters', { to: '16505551234', type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'd'.repeat(21), url: 'https://x.y' } } } }, 100, /display_text'\] must be at most 20/],
		['a reaction to something that is not a wamid', { to: '16505551234', type: 'reaction', reaction: { message_id: '123', emoji: '👍' } }, 131009, /not a valid WhatsApp message id/],
		['a reaction with two emoji', { to: '16505551234', type: 'reaction', reaction: { message_id: WAMID, emoji: '👍👍' } }, 131009, /single emoji/],
		['a reaction with reply context', { to: '16505551234', type: 'reaction', context: { message_id: WAMID }, reaction: { message_id: WAMID, emoji: '👍' } }, 100, /context is not allowed/],
		['a reply context with a bad id', { ...textTo('x'), context: { message_id: 'nope' } }, 131009, /context\['message_id'\]/],
		['a template without language', { to: '16505551234', type: 'template', template: { name: 'x' } }, 131008, "The parameter template['language'] is required."],
		['a template with a bad button index', { to: '16505551234', type: 'template', template: { name: 'x', language: { code: 'en' }, components: [{ type: 'button', sub_type: 'url', index: '10' }] } }, 131009, /index/],
		['biz_opaque_callback_data over 512', { ...textTo('x'), biz_opaque_callback_data: 'x'.repeat(513) }, 100, /at most 512/],
		['a malformed business-scoped user id', { recipient: 'not-a-bsuid', type: 'text', text: { body: 'x' } }, 131009, /business-scoped/],
	];

	it.each(badPayloads)('refuses %s like Meta, sending nothing', async (_, payload, code, details) => {
		const answer = await send(payload);
		expectMetaError(answer, 400, code, details);
		expect(fake.sent).toHaveLength(0);
	});

	it('refuses a body that is not JSON', async () => {
		const answer = await graph('POST', `${FAKE_PHONE_NUMBER_ID}/messages`, { body: 'to=1&text=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
		expectMetaError(answer, 400, 100);
	});
});

describe('mark as read and typing indicator', () => {
	it('answers {success: true} and records the read, not a send', async () => {
		const answer = await send({ status: 'read', message_id: WAMID, typing_indicator: { type: 'text' } });
		expect(answer.status).toBe(200);
		expect(answer.json).toEqual({ success: true });
		expect(await send({ status: 'read', message_id: WAMID }).then((a) => a.json)).toEqual({ success: true });
		expect(fake.reads.map(({ messageId, typing, phoneNumberId }) => ({ messageId, typing, phoneNumberId }))).toEqual([
			{ messageId: WAMID, typing: true, phoneNumberId: FAKE_PHONE_NUMBER_ID },
			{ messageId: WAMID, typing: false, phoneNumberId: FAKE_PHONE_NUMBER_ID },
		]);
		expect(fake.sent).toHaveLength(0);
		expect(fake.requests.map((request) => request.route)).toEqual(['messages.read', 'messages.read']);
	});

	it.each([
		['a message id that is not a wamid', { status: 'read', message_id: '12345' }, 131009],
		['no message id', { status: 'read' }, 131008],
		['a status other than read', { status: 'delivered', message_id: WAMID }, 131009],
		['a typing indicator of another type', { status: 'read', message_id: WAMID, typing_indicator: { type: 'audio' } }, 131009],
		['an unknown field', { status: 'read', message_id: WAMID, to: '1650' }, 100],
	])('refuses %s', async (_, payload, code) => {
		expectMetaError(await send(payload), 400, code);
		expect(fake.reads).toHaveLength(0);
	});
});

describe('media', () => {
	function form(fields: Record<string, string>, file?: { data: Buffer; type: string; name: string }): FormData {
		const data = new FormData();
		for (const [name, value] of Object.entries(fields)) data.append(name, value);
		if (file) data.append('file', new Blob([file.data], { type: file.type }), file.name);
		return data;
	}
	const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1000, 7)]);
	const upload = (body: FormData | string, headers?: Record<string, string>) => graph('POST', `${FAKE_PHONE_NUMBER_ID}/media`, { body, headers });

	it('parses a real multipart upload, stores the bytes and answers {id}', async () => {
		const answer = await upload(form({ messaging_product: 'whatsapp', type: 'image/jpeg' }, { data: jpeg, type: 'image/jpeg', name: 'photo.jpg' }));
		expect(answer.status).toBe(200);
		expect(answer.json).toEqual({ id: expect.stringMatching(/^\d+$/) });
		expect(fake.media.get(answer.json.id)).toMatchObject({ mimeType: 'image/jpeg', filename: 'photo.jpg', fileSize: jpeg.length, phoneNumberId: FAKE_PHONE_NUMBER_ID });
		expect(fake.media.get(answer.json.id)!.data.equals(jpeg)).toBe(true);
	});

	it.each([
		['no messaging_product', form({}, { data: jpeg, type: 'image/jpeg', name: 'a.jpg' }), 131008, 'The parameter messaging_product is required.'],
		['no file', form({ messaging_product: 'whatsapp' }), 131008, 'The parameter file is required.'],
		['an unsupported type', form({ messaging_product: 'whatsapp' }, { data: Buffer.from('PK'), type: 'application/zip', name: 'a.zip' }), 131053, /one of the following types: .*Received file of type 'application\/zip'/],
		['a type field that does not match the file', form({ messaging_product: 'whatsapp', type: 'image/png' }, { data: jpeg, type: 'image/jpeg', name: 'a.jpg' }), 131053, /does not match/],
		['an image over 5 MB', form({ messaging_product: 'whatsapp' }, { data: Buffer.alloc(5 * 1024 * 1024 + 1), type: 'image/png', name: 'a.png' }), 131053, /limit for image\/png \(image\) is 5242880 bytes/],
		['a sticker over 500 KB', form({ messaging_product: 'whatsapp' }, { data: Buffer.alloc(500 * 1024 + 1), type: 'image/webp', name: 'a.webp' }), 131053, /sticker/],
		['an empty file', form({ messaging_product: 'whatsapp' }, { data: Buffer.alloc(0), type: 'application/pdf', name: 'a.pdf' }), 131053, /empty/],
	])('refuses %s', async (_, body, code, details) => {
		expectMetaError(await upload(body), 400, code, details);
		expect(fake.media.size).toBe(0);
	});

	it('refuses a body that is not multipart', async () => {
		expectMetaError(await upload('{"messaging_product":"whatsapp"}', { 'Content-Type': 'application/json' }), 400, 100, /multipart/);
	});

	it('checks the bytes against the type when sniffMedia is on', async () => {
		const strict = await startFakeGraphApi({ sniffMedia: true });
		try {
			const post = (data: Buffer) =>
				fetch(strict.url(`${FAKE_PHONE_NUMBER_ID}/media`), { method: 'POST', headers: { Authorization: `Bearer ${strict.token}` }, body: form({ messaging_product: 'whatsapp' }, { data, type: 'image/jpeg', name: 'a.jpg' }) });
			expect((await post(Buffer.from('not a jpeg'))).status).toBe(400);
			expect((await post(jpeg)).status).toBe(200);
		} finally {
			await strict.close();
		}
	});

	it('gives media info pointing at its own download URL, which needs the token', async () => {
		const id = fake.addMedia(jpeg, 'image/jpeg');
		const info = await graph('GET', id);
		expect(info.json).toEqual({
			messaging_product: 'whatsapp',
			url: expect.stringMatching(new RegExp(`^${fake.baseUrl}/lookaside/whatsapp_business/attachments/\\?mid=${id}&ext=\\d+&hash=[0-9a-f]+$`)),
			mime_type: 'image/jpeg',
			sha256: createHash('sha256').update(jpeg).digest('hex'),
			file_size: jpeg.length,
			id,
		});
		const withToken = await fetch(info.json.url, { headers: { Authorization: `Bearer ${fake.token}` } });
		expect(withToken.status).toBe(200);
		expect(withToken.headers.get('content-type')).toBe('image/jpeg');
		expect(Buffer.from(await withToken.arrayBuffer()).equals(jpeg)).toBe(true);
		expect((await fetch(info.json.url)).status).toBe(404);
		expect((await fetch(info.json.url, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(404);
		expect(fake.requestsTo('media.download').map((request) => request.status)).toEqual([200, 404, 404]);
	});

	it('file_size can be a string, as Meta\'s docs show it', async () => {
		const other = await startFakeGraphApi({ fileSizeAs: 'string' });
		try {
			const id = other.addMedia(jpeg, 'image/jpeg');
			const answer = await fetch(other.url(id), { headers: { Authorization: `Bearer ${other.token}` } });
			expect(((await answer.json()) as any).file_size).toBe(String(jpeg.length));
		} finally {
			await other.close();
		}
	});

	it('checks phone_number_id when given, and deletes', async () => {
		const id = fake.addMedia(jpeg, 'image/jpeg', { phoneNumberId: FAKE_PHONE_NUMBER_ID });
		expect((await graph('GET', `${id}?phone_number_id=${FAKE_PHONE_NUMBER_ID}`)).status).toBe(200);
		expectMetaError(await graph('GET', `${id}?phone_number_id=555`), 400, 100);
		expect((await graph('DELETE', id)).json).toEqual({ success: true });
		expectMetaError(await graph('GET', id), 400, 100, /does not exist/);
		expectMetaError(await graph('DELETE', id), 400, 100);
	});

	it('points downloads elsewhere with setMediaUrlBase', async () => {
		fake.setMediaUrlBase('https://lookaside.fbsbx.com');
		const id = fake.addMedia(jpeg, 'image/jpeg');
		expect((await graph('GET', id)).json.url).toMatch(/^https:\/\/lookaside\.fbsbx\.com\/lookaside\/whatsapp_business\/attachments\/\?mid=/);
		fake.reset();
		const again = fake.addMedia(jpeg, 'image/jpeg');
		expect((await graph('GET', again)).json.url.startsWith(fake.baseUrl)).toBe(true);
	});
});

describe('GET /{phone-number-id}', () => {
	it('answers the fields asked for (the credential test)', async () => {
		const answer = await graph('GET', `${FAKE_PHONE_NUMBER_ID}?fields=display_phone_number,verified_name`);
		expect(answer.json).toEqual({ display_phone_number: FAKE_DISPLAY_PHONE_NUMBER, verified_name: FAKE_VERIFIED_NAME, id: FAKE_PHONE_NUMBER_ID });
	});

	it('answers the default fields, and refuses an unknown field like Meta', async () => {
		expect(Object.keys((await graph('GET', FAKE_PHONE_NUMBER_ID)).json).sort()).toEqual(['code_verification_status', 'display_phone_number', 'id', 'platform_type', 'quality_rating', 'throughput', 'verified_name']);
		const answer = await graph('GET', `${FAKE_PHONE_NUMBER_ID}?fields=nope`);
		expect(answer.status).toBe(400);
		expect(answer.json.error.message).toBe('(#100) Tried accessing nonexisting field (nope) on node type (WhatsAppBusinessPhoneNumber)');
	});

	it('knows the phone numbers it is given', async () => {
		const other = await startFakeGraphApi({ phoneNumbers: [{ id: '42', displayPhoneNumber: '1555', verifiedName: 'Other' }] });
		try {
			const answer = await fetch(other.url('42?fields=verified_name'), { headers: { Authorization: `Bearer ${other.token}` } });
			expect(await answer.json()).toEqual({ verified_name: 'Other', id: '42' });
			expect(other.credentials()).toEqual({ accessToken: other.token, phoneNumberId: '42', businessAccountId: '102290129340398', apiVersion: 'v24.0', graphApiBaseUrl: other.baseUrl });
		} finally {
			await other.close();
		}
	});
});

describe('fault injection', () => {
	it('fail({status: 500}) → Meta-shaped 500 with code 131000, once', async () => {
		fake.fail({ status: 500 });
		expectMetaError(await send(textTo('x')), 500, 131000);
		expect((await send(textTo('x'))).status).toBe(200);
		expect(fake.sent).toHaveLength(1);
		expect(fake.requests[0].fault).toEqual({ status: 500 });
	});

	it('fail({status: 429, code: 130429, retryAfter: 2}) sets Retry-After', async () => {
		fake.fail({ status: 429, code: 130429, retryAfter: 2 });
		const answer = await send(textTo('x'));
		expectMetaError(answer, 429, 130429, 'Cloud API message throughput has been reached.');
		expect(answer.headers.get('retry-after')).toBe('2');
	});

	it.each([
		[131047, 400],
		[190, 401],
		[10, 403],
		[368, 403],
		[131031, 403],
		[131000, 500],
		[131016, 503],
		[133004, 503],
		[4, 400],
		[130429, 400],
	])('a code alone (%i) gets the reference §6.2 status (%i)', async (code, status) => {
		fake.fail({ code });
		expectMetaError(await send(textTo('x')), status, code);
	});

	it('custom title, details, subcode and message', async () => {
		fake.fail({ code: 100, title: 'Invalid parameter', details: 'Custom details', subcode: 2494010 });
		const answer = await send(textTo('x'));
		expect(answer.json.error).toMatchObject({ message: '(#100) Invalid parameter', error_subcode: 2494010, error_data: { details: 'Custom details' } });
		fake.fail({ code: 190, message: 'Error validating access token: Session has expired' });
		expect((await send(textTo('x'))).json.error.message).toBe('Error validating access token: Session has expired');
	});

	it('drop destroys the connection without an answer, and nothing is sent', async () => {
		fake.fail({ drop: true });
		await expect(send(textTo('x'))).rejects.toThrow();
		expect(fake.requests[0]).toMatchObject({ dropped: true, route: 'messages' });
		expect(fake.sent).toHaveLength(0);
	});

	it('delayMs alone delays, then answers normally', async () => {
		fake.fail({ delayMs: 300 });
		const started = Date.now();
		expect((await send(textTo('x'))).status).toBe(200);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	});

	it('a raw body (a proxy\'s HTML page)', async () => {
		fake.fail({ status: 502, body: '<html>Bad gateway</html>' });
		const answer = await send(textTo('x'));
		expect(answer.status).toBe(502);
		expect(answer.headers.get('content-type')).toMatch(/text\/html/);
		expect(answer.text).toBe('<html>Bad gateway</html>');
	});

	it('times, route, order, and clearFaults', async () => {
		fake.fail({ status: 500 }, { route: 'messages', times: 2 });
		fake.fail({ status: 503 }, { route: 'messages' });
		expect((await graph('GET', FAKE_PHONE_NUMBER_ID)).status).toBe(200);
		expect((await send(textTo('1'))).status).toBe(500);
		expect((await send(textTo('2'))).status).toBe(500);
		expect((await send(textTo('3'))).status).toBe(503);
		expect((await send(textTo('4'))).status).toBe(200);
		fake.fail({ status: 500 }, { times: Infinity });
		expect((await send(textTo('5'))).status).toBe(500);
		fake.clearFaults();
		expect((await send(textTo('6'))).status).toBe(200);
		expect(fake.sent.map((message) => (message.payload.text as { body: string }).body)).toEqual(['4', '6']);
	});

	it('failAfter(n) lets n requests through, then fails the next (part-way failure)', async () => {
		fake.failAfter(2, { code: 131047 }, { route: 'messages' });
		const statuses: number[] = [];
		for (const body of ['1', '2', '3', '4']) statuses.push((await send(textTo(body))).status);
		expect(statuses).toEqual([200, 200, 400, 200]);
		expect(fake.sent.map((message) => (message.payload.text as { body: string }).body)).toEqual(['1', '2', '4']);
	});

	it('a route list or predicate selects requests', async () => {
		fake.fail({ status: 500 }, { route: (request) => request.route === 'messages' && JSON.stringify(request.json).includes('second') });
		expect((await send(textTo('first'))).status).toBe(200);
		expect((await send(textTo('second'))).status).toBe(500);
		fake.fail({ status: 500 }, { route: ['media.info', 'phoneNumber.get'] });
		expect((await send(textTo('third'))).status).toBe(200);
		expect((await graph('GET', FAKE_PHONE_NUMBER_ID)).status).toBe(500);
	});
});

describe('pair rate limit and templates (options)', () => {
	it('131056 for more than maxMessages to one recipient within perMs', async () => {
		const limited = await startFakeGraphApi({ pairRateLimit: { maxMessages: 1, perMs: 6000 } });
		try {
			const post = (to: string) =>
				fetch(limited.url(`${FAKE_PHONE_NUMBER_ID}/messages`), {
					method: 'POST',
					headers: { Authorization: `Bearer ${limited.token}`, 'Content-Type': 'application/json' },
					body: JSON.stringify({ messaging_product: 'whatsapp', ...textTo('x', to) }),
				});
			expect((await post('+16505551234')).status).toBe(200);
			const second = await post('16505551234');
			expect(second.status).toBe(400);
			expect(((await second.json()) as any).error.code).toBe(131056);
			expect((await post('+16505559999')).status).toBe(200);
		} finally {
			await limited.close();
		}
	});

	it('only known templates exist (132001) and their parameter count is checked (132000)', async () => {
		const strict = await startFakeGraphApi({ templates: [{ name: 'order_update', language: 'en_US', bodyParameters: 1 }] });
		try {
			const post = async (name: string, code: string, parameters: number) => {
				const response = await fetch(strict.url(`${FAKE_PHONE_NUMBER_ID}/messages`), {
					method: 'POST',
					headers: { Authorization: `Bearer ${strict.token}`, 'Content-Type': 'application/json' },
					body: JSON.stringify({
						messaging_product: 'whatsapp',
						to: '16505551234',
						type: 'template',
						template: { name, language: { code }, components: [{ type: 'body', parameters: Array.from({ length: parameters }, () => ({ type: 'text', text: 'x' })) }] },
					}),
				});
				return { status: response.status, code: response.status === 200 ? 0 : ((await response.json()) as any).error.code };
			};
			expect(await post('order_update', 'en_US', 1)).toEqual({ status: 200, code: 0 });
			expect(await post('order_update', 'de', 1)).toEqual({ status: 400, code: 132001 });
			expect(await post('nope', 'en_US', 1)).toEqual({ status: 400, code: 132001 });
			expect(await post('order_update', 'en_US', 2)).toEqual({ status: 400, code: 132000 });
		} finally {
			await strict.close();
		}
	});
});

describe('recording and extension', () => {
	it('records every request with all its headers, query and body', async () => {
		await graph('GET', `${FAKE_PHONE_NUMBER_ID}?fields=verified_name`, { headers: { 'X-Custom': 'yes' } });
		await send(textTo('hi'));
		expect(fake.requests[0]).toMatchObject({ method: 'GET', path: `/${FAKE_PHONE_NUMBER_ID}`, version: 'v24.0', query: { fields: 'verified_name' }, route: 'phoneNumber.get', status: 200 });
		expect(fake.requests[0].headers).toMatchObject({ authorization: `Bearer ${FAKE_TOKEN}`, 'x-custom': 'yes' });
		expect(fake.requests[1].json).toEqual({ messaging_product: 'whatsapp', ...textTo('hi') });
		expect(fake.requests[1].body.toString()).toBe(JSON.stringify({ messaging_product: 'whatsapp', ...textTo('hi') }));
		expect(fake.requestsTo('messages')).toEqual([fake.requests[1]]);
	});

	it('reset forgets requests, sends, reads, media and faults', async () => {
		await send(textTo('x'));
		await send({ status: 'read', message_id: WAMID });
		fake.addMedia(Buffer.from('x'), 'image/png');
		fake.fail({ status: 500 });
		fake.reset();
		expect([fake.requests.length, fake.sent.length, fake.reads.length, fake.media.size]).toEqual([0, 0, 0, 0]);
		expect((await send(textTo('x'))).status).toBe(200);
	});

	it('addRoute adds routes (tried before the built-in ones) with the same auth, faults and recording', async () => {
		fake.addRoute({
			name: 'subscribedApps.get',
			method: 'GET',
			path: /^\/([^/]+)\/subscribed_apps$/,
			handle: (request) => ({ json: { data: [{ whatsapp_business_api_data: { id: request.params[0] } }] } }),
		});
		fake.addRoute({
			name: 'phoneNumber.override',
			method: 'GET',
			path: /^\/([^/]+)$/,
			when: (request) => request.query.fields === 'webhook_configuration',
			handle: () => metaError(10),
		});
		expect((await graph('GET', 'WABA/subscribed_apps')).json).toEqual({ data: [{ whatsapp_business_api_data: { id: 'WABA' } }] });
		expect((await graph('GET', 'WABA/subscribed_apps', { token: 'bad' })).status).toBe(401);
		expectMetaError(await graph('GET', `${FAKE_PHONE_NUMBER_ID}?fields=webhook_configuration`), 403, 10);
		expect((await graph('GET', `${FAKE_PHONE_NUMBER_ID}?fields=verified_name`)).status).toBe(200);
		fake.fail({ status: 500 }, { route: 'subscribedApps.get' });
		expect((await graph('GET', 'WABA/subscribed_apps')).status).toBe(500);
		expect(fake.requests.map((request) => request.route)).toEqual(['subscribedApps.get', 'subscribedApps.get', 'phoneNumber.override', 'phoneNumber.get', 'subscribedApps.get']);
	});
});
