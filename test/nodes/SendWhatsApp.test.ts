/**
 * Send WhatsApp run through n8n-core's real execution context (test/harness/n8n.ts) against
 * the fake Graph API over real HTTP on loopback.
 */
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { SendWhatsApp } from '../../nodes/SendWhatsApp/SendWhatsApp.node';
import {
	FAKE_DISPLAY_PHONE_NUMBER,
	FAKE_PHONE_NUMBER_ID,
	FAKE_TOKEN,
	FAKE_VERIFIED_NAME,
	FAKE_WABA_ID,
	startFakeGraphApi,
	type FakeGraphApi,
} from '../fakes/fake-graph-api';
import { runListSearch, runNode, type NodeSetup } from '../harness/n8n';

const SECOND_PHONE_NUMBER_ID = '209876543210987';
const CUSTOMER = '+16505551234';
const CUSTOMER_MESSAGE = 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCRjAwRDhFQTVFRkMzQjA1NgA=';

let fake: FakeGraphApi;
let executions = 0;

beforeAll(async () => {
	fake = await startFakeGraphApi({
		phoneNumbers: [
			{ id: FAKE_PHONE_NUMBER_ID, displayPhoneNumber: FAKE_DISPLAY_PHONE_NUMBER, verifiedName: FAKE_VERIFIED_NAME },
			{ id: SECOND_PHONE_NUMBER_ID, displayPhoneNumber: '15550001111', verifiedName: 'Second Number' },
		],
	});
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

function setup(parameters: INodeParameters, extra: Partial<NodeSetup> = {}): NodeSetup {
	return {
		nodeType: new SendWhatsApp(),
		parameters,
		credentials: { whatsAppCloudApi: fake.credentials() },
		executionId: `execution-${++executions}`,
		...extra,
	};
}

async function run(parameters: INodeParameters, input: INodeExecutionData[] = [{ json: { phone_number: CUSTOMER } }], extra: Partial<NodeSetup> = {}) {
	const [output] = await runNode(setup(parameters, extra), input);
	return output;
}

async function runError(parameters: INodeParameters, input?: INodeExecutionData[], extra: Partial<NodeSetup> = {}) {
	let error: unknown;
	try {
		await run(parameters, input, extra);
	} catch (caught) {
		error = caught;
	}
	expect(error).toBeInstanceOf(Error);
	return error as Error & { description?: string; constructor: { name: string } };
}

const bodyOf = (index: number) => ((fake.sent[index].payload.text as { body: string }).body);
const squash = (text: string) => text.replace(/\s+/g, '');
const paragraph = (index: number) =>
	`Paragraph ${index}: the quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.`;
const longText = (count: number) => Array.from({ length: count }, (_, index) => paragraph(index)).join('\n\n');

/** A trigger-shaped item (what WhatsApp Agent Trigger emits for a customer's message). */
const triggerItem = (extra: IDataObject = {}): INodeExecutionData => ({
	json: { message: 'Hi', phone_number: CUSTOMER, messageId: CUSTOMER_MESSAGE, type: 'text', phoneNumberId: FAKE_PHONE_NUMBER_ID, ...extra },
});

/** An agent-shaped item (what Call External Agent emits). */
const agentItem = (messages: unknown[], extra: IDataObject = {}): INodeExecutionData => ({
	json: { phone_number: CUSTOMER, phoneNumberId: FAKE_PHONE_NUMBER_ID, replyTo: CUSTOMER_MESSAGE, messages, noReply: false, ...extra } as IDataObject,
});

describe('Send WhatsApp: description', () => {
	it('is a usable-as-tool node with the fixed names', () => {
		const { description } = new SendWhatsApp();
		expect(description).toMatchObject({ name: 'sendWhatsApp', displayName: 'Send WhatsApp', usableAsTool: true });
		expect(description.credentials).toEqual([
			{ name: 'whatsAppCloudApi', required: true },
			{ name: 'whatsAppConversationsApi', required: true, displayOptions: { show: { recordInConversation: ['agent', 'human'] } } },
		]);
		const operation = description.properties.find((property) => property.name === 'operation');
		expect(operation?.default).toBe('sendAgentReply');
		expect((operation?.options ?? []).map((option) => (option as { value: string }).value).sort()).toEqual(
			['markAsRead', 'sendAgentReply', 'sendButtons', 'sendContact', 'sendList', 'sendLocation', 'sendMedia', 'sendReaction', 'sendTemplate', 'sendText'].sort(),
		);
	});
});

describe('Send Agent Reply', () => {
	it("sends the item's canonical messages in order to its phone_number, one output item per WhatsApp message", async () => {
		const output = await run({}, [
			agentItem([
				{ type: 'text', text: 'Here is **your** order:' },
				{ type: 'image', url: 'https://example.com/order.png', caption: 'Order #1' },
				{ type: 'location', latitude: 37.4421, longitude: -122.1615, name: 'Store' },
				{ type: 'buttons', body: 'All good?', buttons: [{ id: 'yes', title: 'Yes' }, { id: 'no', title: 'No' }] },
			]),
		]);
		expect(fake.sent.map((sent) => sent.type)).toEqual(['text', 'image', 'location', 'interactive']);
		expect(fake.sent.every((sent) => sent.to === CUSTOMER && sent.phoneNumberId === FAKE_PHONE_NUMBER_ID)).toBe(true);
		expect(bodyOf(0)).toBe('Here is *your* order:'); // markdown converted by default
		expect(fake.sent[1].payload.image).toEqual({ link: 'https://example.com/order.png', caption: 'Order #1' });
		expect(output.map((item) => item.json)).toEqual(
			fake.sent.map((sent, index) => ({
				messageId: sent.id,
				to: CUSTOMER,
				type: ['text', 'image', 'location', 'buttons'][index],
				part: index + 1,
				parts: 4,
				phoneNumberId: FAKE_PHONE_NUMBER_ID,
				waId: '16505551234',
			})),
		);
		expect(output.every((item) => JSON.stringify(item.pairedItem) === JSON.stringify({ item: 0 }))).toBe(true);
		// Not in thread unless asked.
		expect(fake.sent.every((sent) => sent.payload.context === undefined)).toBe(true);
	});

	it('a run over several items reads the credential once; every request is still signed with it', async () => {
		const reads: string[] = [];
		const output = await run(
			{},
			[agentItem([{ type: 'text', text: 'One' }, { type: 'text', text: 'Two' }]), agentItem([{ type: 'text', text: 'Three' }])],
			{ onCredentialRead: (type) => reads.push(type) },
		);
		expect(output).toHaveLength(3);
		expect(fake.requests.map((request) => request.headers.authorization)).toEqual(Array(3).fill(`Bearer ${fake.token}`));
		expect(reads).toEqual(['whatsAppCloudApi']);
	});

	it('replies in thread to the item\'s replyTo on the first message only, from the item\'s phoneNumberId', async () => {
		const output = await run({ options: { replyInThread: true } }, [
			agentItem([{ type: 'text', text: 'One' }, { type: 'text', text: 'Two' }], { phoneNumberId: SECOND_PHONE_NUMBER_ID }),
		]);
		expect(fake.sent.map((sent) => sent.payload.context)).toEqual([{ message_id: CUSTOMER_MESSAGE }, undefined]);
		expect(fake.sent.every((sent) => sent.phoneNumberId === SECOND_PHONE_NUMBER_ID)).toBe(true);
		expect(output[0].json).toMatchObject({ replyTo: CUSTOMER_MESSAGE, phoneNumberId: SECOND_PHONE_NUMBER_ID });
		expect(output[1].json.replyTo).toBeUndefined();
	});

	it('sends nothing and outputs nothing for noReply or an empty list; other items still go out', async () => {
		const output = await run({}, [
			agentItem([], { noReply: true }),
			agentItem([]),
			agentItem([{ type: 'text', text: 'Only me' }], { phone_number: '+447700900123' }),
		]);
		expect(fake.sent).toHaveLength(1);
		expect(fake.sent[0].to).toBe('+447700900123');
		expect(output).toHaveLength(1);
		expect(output[0].pairedItem).toEqual({ item: 2 });
	});

	it('uploads binary media named by the message first, then sends it by id', async () => {
		const pdf = Buffer.from('%PDF-1.4\n% a tiny test document\n%%EOF\n');
		const output = await run({}, [
			{
				...agentItem([{ type: 'document', binaryProperty: 'invoice', caption: 'Your invoice' }]),
				binary: { invoice: { data: pdf.toString('base64'), mimeType: 'application/pdf', fileName: 'invoice-42.pdf' } },
			},
		]);
		const [stored] = [...fake.media.values()];
		expect(stored.data.equals(pdf)).toBe(true);
		expect(stored).toMatchObject({ mimeType: 'application/pdf', filename: 'invoice-42.pdf' });
		expect(fake.sent[0].payload.document).toEqual({ id: stored.id, caption: 'Your invoice', filename: 'invoice-42.pdf' });
		expect(output[0].json.type).toBe('document');
	});

	it('answers a customer known only by a business-scoped user id through `recipient`', async () => {
		const output = await run({}, [agentItem([{ type: 'text', text: 'Hi' }], { phone_number: 'US.13491208655302741918' })]);
		expect(fake.sent[0]).toMatchObject({ recipient: 'US.13491208655302741918', to: undefined });
		expect(fake.sent[0].payload).not.toHaveProperty('to');
		expect(output[0].json.to).toBe('US.13491208655302741918');
	});

	it('sends to the To parameter when it is filled in', async () => {
		await run({ to: '+44 7700 900123' }, [agentItem([{ type: 'text', text: 'Hi' }])]);
		expect(fake.sent[0].to).toBe('+447700900123');
	});
});

describe('Send Text: long text', () => {
	it('splits text over the limit into parts ≤ limit, sent in order, with the reply context on the first only', async () => {
		const text = longText(12);
		const output = await run({ operation: 'sendText', text, options: { textLimit: 400, replyInThread: true } }, [triggerItem()]);
		expect(fake.sent.length).toBeGreaterThanOrEqual(Math.ceil([...text].length / 400));
		const bodies = fake.sent.map((_, index) => bodyOf(index));
		expect(bodies.every((body) => [...body].length <= 400)).toBe(true);
		expect(squash(bodies.join(''))).toBe(squash(text));
		expect(fake.sent[0].payload.context).toEqual({ message_id: CUSTOMER_MESSAGE });
		expect(fake.sent.slice(1).every((sent) => sent.payload.context === undefined)).toBe(true);
		expect(output.map((item) => [item.json.part, item.json.parts, item.json.messageId])).toEqual(
			fake.sent.map((sent, index) => [index + 1, fake.sent.length, sent.id]),
		);
	});

	it('numbers the parts when asked', async () => {
		await run({ operation: 'sendText', text: longText(6), options: { textLimit: 300, numbering: true } });
		const n = fake.sent.length;
		expect(n).toBeGreaterThan(1);
		fake.sent.forEach((_, index) => expect(bodyOf(index).endsWith(`(${index + 1}/${n})`)).toBe(true));
	});

	it('keeps markdown as is when conversion is off, and sets the link preview', async () => {
		await run({ operation: 'sendText', text: '**Sale** at https://example.com', options: { convertMarkdown: false, linkPreview: true } });
		expect(fake.sent[0].payload.text).toEqual({ preview_url: true, body: '**Sale** at https://example.com' });
	});
});

describe('Send Media', () => {
	it('from a URL, with a caption', async () => {
		await run({ operation: 'sendMedia', mediaType: 'video', mediaSource: 'url', mediaUrl: 'https://example.com/v.mp4', caption: 'Watch' });
		expect(fake.sent[0]).toMatchObject({ type: 'video', payload: { video: { link: 'https://example.com/v.mp4', caption: 'Watch' } } });
	});

	it('from a media id, as a voice note', async () => {
		await run({ operation: 'sendMedia', mediaType: 'audio', mediaSource: 'mediaId', mediaId: '1013859600285441', voice: true });
		expect(fake.sent[0].payload.audio).toEqual({ id: '1013859600285441', voice: true });
	});

	it("from the item's binary data: uploaded first with its MIME type and name, then sent by the returned id", async () => {
		const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da6364f8ffbf1e00059f02fea7a5d6d30000000049454e44ae426082', 'hex');
		const output = await run({ operation: 'sendMedia', mediaType: 'image', mediaSource: 'binary', binaryProperty: 'photo', caption: 'Your photo' }, [
			{ json: { phone_number: CUSTOMER }, binary: { photo: { data: png.toString('base64'), mimeType: 'image/png', fileName: 'dot.png' } } },
		]);
		expect(fake.requestsTo('media.upload')).toHaveLength(1);
		const [stored] = [...fake.media.values()];
		expect(stored.data.equals(png)).toBe(true);
		expect(stored.mimeType).toBe('image/png');
		expect(fake.sent[0].payload.image).toEqual({ id: stored.id, caption: 'Your photo' });
		expect(output[0].json).toMatchObject({ type: 'image', messageId: fake.sent[0].id });
	});

	it('refuses a missing binary field before sending anything', async () => {
		const error = await runError({ operation: 'sendMedia', mediaType: 'image', mediaSource: 'binary', binaryProperty: 'photo' });
		expect(error.message).toMatch(/photo: the incoming item has no binary field "photo"/);
		expect(fake.requests).toHaveLength(0);
	});

	it('overflows a long caption into a following text message', async () => {
		const caption = longText(15);
		await run({ operation: 'sendMedia', mediaType: 'image', mediaSource: 'url', mediaUrl: 'https://example.com/a.png', caption });
		expect(fake.sent[0].type).toBe('image');
		const head = (fake.sent[0].payload.image as { caption: string }).caption;
		expect([...head].length).toBeLessThanOrEqual(1024);
		expect(fake.sent.slice(1).every((sent) => sent.type === 'text')).toBe(true);
		expect(squash(head + fake.sent.slice(1).map((_, index) => bodyOf(index + 1)).join(''))).toBe(squash(caption));
	});
});

describe('the other operations', () => {
	it('Send Location', async () => {
		const output = await run({ operation: 'sendLocation', latitude: '37,4421', longitude: '-122.1615', locationName: 'Philz Coffee', address: '101 Forest Ave' });
		expect(fake.sent[0].payload.location).toEqual({ latitude: 37.4421, longitude: -122.1615, name: 'Philz Coffee', address: '101 Forest Ave' });
		expect(output[0].json.type).toBe('location');
	});

	it('Send Contact with several contacts', async () => {
		await run({
			operation: 'sendContact',
			contacts: {
				contact: [
					{ name: 'Barbara Johnson', phone: '+1 917 555 9999', email: 'b@example.com', company: 'Lucky Shrub', title: 'Counsel' },
					{ name: 'Cher', phone: '', email: '' },
				],
			},
		});
		expect(fake.sent[0].payload.contacts).toEqual([
			{
				name: { formatted_name: 'Barbara Johnson', first_name: 'Barbara', last_name: 'Johnson' },
				phones: [{ phone: '+1 917 555 9999', wa_id: '19175559999' }],
				emails: [{ email: 'b@example.com' }],
				org: { company: 'Lucky Shrub', title: 'Counsel' },
			},
			{ name: { formatted_name: 'Cher', first_name: 'Cher' } },
		]);
	});

	it('Send Buttons (ids default to titles)', async () => {
		await run({
			operation: 'sendButtons',
			body: 'Do you **confirm**?',
			header: 'Booking',
			footer: 'Lucky Shrub',
			buttons: { button: [{ title: 'Yes', id: 'confirm' }, { title: 'No' }] },
		});
		expect(fake.sent[0].payload.interactive).toEqual({
			type: 'button',
			header: { type: 'text', text: 'Booking' },
			body: { text: 'Do you *confirm*?' },
			footer: { text: 'Lucky Shrub' },
			action: { buttons: [{ type: 'reply', reply: { id: 'confirm', title: 'Yes' } }, { type: 'reply', reply: { id: 'No', title: 'No' } }] },
		});
	});

	it('Send List (rows grouped by section title)', async () => {
		await run({
			operation: 'sendList',
			body: 'Which shipping option?',
			buttonText: 'Shipping',
			rows: {
				row: [
					{ title: 'Express', description: 'Next day', id: 'express', section: 'Fast' },
					{ title: 'Ground', section: 'Cheap' },
					{ title: 'Priority', id: 'priority', section: 'Fast' },
				],
			},
		});
		expect((fake.sent[0].payload.interactive as { action: unknown }).action).toEqual({
			button: 'Shipping',
			sections: [
				{ title: 'Fast', rows: [{ id: 'express', title: 'Express', description: 'Next day' }, { id: 'priority', title: 'Priority' }] },
				{ title: 'Cheap', rows: [{ id: 'Ground', title: 'Ground' }] },
			],
		});
	});

	it('Send Template with body variables and extra components', async () => {
		const output = await run({
			operation: 'sendTemplate',
			templateName: 'order_update',
			templateLanguage: 'en_US',
			bodyParameters: { parameter: [{ text: 'Pablo' }, { text: '#123' }] },
			components: JSON.stringify([{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'CONFIRM' }] }]),
		});
		expect(fake.sent[0].payload.template).toEqual({
			name: 'order_update',
			language: { code: 'en_US' },
			components: [
				{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'CONFIRM' }] },
				{ type: 'body', parameters: [{ type: 'text', text: 'Pablo' }, { type: 'text', text: '#123' }] },
			],
		});
		expect(output[0].json).toMatchObject({ type: 'template', messageStatus: 'accepted' });
	});

	it('Send Template picked from the list (resource locator value)', async () => {
		await run({
			operation: 'sendTemplate',
			templateName: { __rl: true, mode: 'list', value: 'hello_world' },
			templateLanguage: 'en_US',
		});
		expect(fake.sent[0].payload.template).toEqual({ name: 'hello_world', language: { code: 'en_US' } });
	});

	it('lists the account\'s templates for the Template field, page by page', async () => {
		const templates = [
			{ name: 'hello_world', language: 'en_US', status: 'APPROVED', category: 'UTILITY', id: '1' },
			{ name: 'order_update', language: 'es', status: 'PENDING', category: 'UTILITY', id: '2' },
		];
		fake.addRoute({
			name: 'templates.list',
			method: 'GET',
			path: new RegExp(`^/${FAKE_WABA_ID}/message_templates$`),
			handle: (request) =>
				request.query.after === 'CURSOR1'
					? { json: { data: [{ name: 'late_one', language: 'en', status: 'APPROVED' }], paging: { cursors: { before: 'X', after: 'END' } } } }
					: { json: { data: templates, paging: { cursors: { before: 'A', after: 'CURSOR1' }, next: `${fake.baseUrl}/next` } } },
		});
		const first = await runListSearch(setup({ operation: 'sendTemplate' }), 'searchTemplates', 'hello');
		expect(first).toEqual({
			results: [
				{ name: 'hello_world (en_US)', value: 'hello_world', description: 'UTILITY' },
				{ name: 'order_update (es, pending)', value: 'order_update', description: 'UTILITY' },
			],
			paginationToken: 'CURSOR1',
		});
		const [request] = fake.requestsTo('templates.list');
		expect(request.query).toMatchObject({ name: 'hello', limit: '100' });
		expect(request.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
		const second = await runListSearch(setup({ operation: 'sendTemplate' }), 'searchTemplates', undefined, 'CURSOR1');
		expect(second).toStrictEqual({ results: [{ name: 'late_one (en)', value: 'late_one' }] });
	});

	it('explains that listing templates needs the WhatsApp Business Account ID', async () => {
		const credentials = { whatsAppCloudApi: fake.credentials({ businessAccountId: '' }) };
		await expect(runListSearch(setup({ operation: 'sendTemplate' }, { credentials }), 'searchTemplates')).rejects.toThrow(
			/WhatsApp Business Account ID/,
		);
		expect(fake.requests).toHaveLength(0);
	});

	it("Send Reaction to the item's messageId by default, never threaded", async () => {
		await run({ operation: 'sendReaction', emoji: '❤️', options: { replyInThread: true } }, [triggerItem()]);
		expect(fake.sent[0].payload.reaction).toEqual({ message_id: CUSTOMER_MESSAGE, emoji: '❤️' });
		expect(fake.sent[0].payload.context).toBeUndefined();
	});

	it("Mark as Read: the item's messageId, typing indicator on by default, item passed through", async () => {
		const input = triggerItem({ contactName: 'Sheena' });
		const output = await run({ operation: 'markAsRead' }, [input]);
		expect(fake.reads).toEqual([expect.objectContaining({ phoneNumberId: FAKE_PHONE_NUMBER_ID, messageId: CUSTOMER_MESSAGE, typing: true })]);
		expect(fake.sent).toHaveLength(0);
		expect(output).toEqual([{ json: { ...input.json, markedAsRead: true }, pairedItem: { item: 0 } }]);
	});

	it('Mark as Read without the typing indicator, for an explicit message id', async () => {
		await run({ operation: 'markAsRead', messageId: 'wamid.EXPLICIT123', typingIndicator: false }, [triggerItem()]);
		expect(fake.reads[0]).toMatchObject({ messageId: 'wamid.EXPLICIT123', typing: false });
	});
});

describe('retries and Meta errors', () => {
	it('retries 500, then 429 with code 130429, then delivers exactly once', async () => {
		fake.fail({ status: 500, retryAfter: 0 }, { route: 'messages' });
		fake.fail({ status: 429, code: 130429, retryAfter: 0 }, { route: 'messages' });
		const output = await run({ operation: 'sendText', text: 'Hello' });
		expect(fake.requestsTo('messages').map((request) => request.status)).toEqual([500, 429, 200]);
		expect(fake.sent).toHaveLength(1);
		expect(output).toHaveLength(1);
		expect(output[0].json.messageId).toBe(fake.sent[0].id);
	});

	it('a 400 with code 131047 is a readable error and is not retried', async () => {
		fake.fail({ code: 131047 }, { route: 'messages' });
		const error = await runError({ operation: 'sendText', text: 'Hello' });
		expect(fake.requestsTo('messages')).toHaveLength(1);
		expect(error.constructor.name).toBe('NodeApiError');
		expect(error.message).toMatch(/131047/);
		expect(error.message).toMatch(/24 hours/);
		expect(error.message).toMatch(/template/i);
		expect(fake.sent).toHaveLength(0);
	});

	it('gives up after Max Retries', async () => {
		fake.fail({ status: 503, code: 131016, retryAfter: 0 }, { route: 'messages', times: Infinity });
		const error = await runError({ operation: 'sendText', text: 'Hello', options: { maxRetries: 1 } });
		expect(fake.requestsTo('messages')).toHaveLength(2);
		expect(error.message).toMatch(/131016.*2 attempts/);
	});
});

describe('part-way failure', () => {
	const parameters = { operation: 'sendText', text: longText(10), options: { textLimit: 300 } };

	it('reports the delivered parts and their ids, and a rerun with that report sends only the rest', async () => {
		fake.failAfter(2, { code: 131026 }, { route: 'messages' });
		const [failed] = await run(parameters, [triggerItem()], { continueOnFail: true });
		const total = fake.requestsTo('messages').length + 0;
		expect(fake.sent).toHaveLength(2);
		const delivery = failed.json.delivery as IDataObject & { delivered: IDataObject[]; failedPart: IDataObject; remaining: IDataObject[]; parts: number };
		expect(delivery.delivered.map((entry) => entry.messageId)).toEqual(fake.sent.map((sent) => sent.id));
		expect(delivery.failedPart).toMatchObject({ part: 3 });
		expect(delivery.remaining.length).toBe(delivery.parts - 3);
		expect(failed.json.error).toMatch(/Sent 2 of \d+ WhatsApp messages, then message 3 failed.*131026/);
		expect(failed.json.messageId).toBe(CUSTOMER_MESSAGE); // the original fields are kept
		expect(failed.pairedItem).toEqual({ item: 0 });
		expect(total).toBe(3);

		// Fed back (Continue On Fail → loop back), in a new execution: only the missing parts go out.
		const firstTwo = fake.sent.map((sent) => bodyOf(fake.sent.indexOf(sent)));
		const output = await run(parameters, [failed]);
		const bodies = fake.sent.map((_, index) => bodyOf(index));
		expect(bodies).toHaveLength(delivery.parts);
		expect(bodies.slice(0, 2)).toEqual(firstTwo);
		expect(new Set(bodies).size).toBe(bodies.length); // no duplicates
		expect(squash(bodies.join(''))).toBe(squash(parameters.text));
		expect(output.map((item) => [item.json.part, item.json.messageId, item.json.alreadySent])).toEqual(
			fake.sent.map((sent, index) => [index + 1, sent.id, index < 2 ? true : undefined]),
		);
	});

	it("n8n's Retry On Fail (the node run again in the same execution) never re-sends a delivered part", async () => {
		fake.failAfter(2, { code: 131026 }, { route: 'messages' });
		const attempt = setup(parameters);
		let error: unknown;
		try {
			await runNode(attempt, [triggerItem()]);
		} catch (caught) {
			error = caught;
		}
		expect((error as Error).constructor.name).toBe('NodeApiError');
		expect((error as Error).message).toMatch(/Sent 2 of/);
		expect((error as { description?: string }).description).toContain(fake.sent[0].id);
		expect((error as { description?: string }).description).toContain(fake.sent[1].id);
		const [output] = await runNode(attempt, [triggerItem()]); // same executionId, same node, same item
		const bodies = fake.sent.map((_, index) => bodyOf(index));
		expect(new Set(bodies).size).toBe(bodies.length);
		expect(squash(bodies.join(''))).toBe(squash(parameters.text));
		expect(output).toHaveLength(bodies.length);
		expect(output.slice(0, 2).every((item) => item.json.alreadySent === true)).toBe(true);
	});

	it('a failed item does not stop the earlier items from being reported, and the error names the item', async () => {
		fake.failAfter(1, { code: 131047 }, { route: 'messages' });
		const output = await run({ operation: 'sendText', text: 'Hello' }, [triggerItem(), triggerItem({ phone_number: '+447700900123' })], {
			continueOnFail: true,
		});
		expect(output).toHaveLength(2);
		expect(output[0].json.messageId).toBe(fake.sent[0].id);
		expect(output[1]).toMatchObject({ pairedItem: { item: 1 }, json: { phone_number: '+447700900123' } });
		expect(output[1].json.error).toMatch(/131047/);
	});
});

describe('bad input: a clear error naming the field, nothing sent', () => {
	it.each<[string, INodeParameters, INodeExecutionData[] | undefined, RegExp]>([
		['empty text', { operation: 'sendText', text: '   ' }, undefined, /text.*must not be empty/],
		['invalid phone', { operation: 'sendText', text: 'Hi', to: '555-CALL-NOW' }, undefined, /^to: .*not a phone number/],
		['invalid phone in the item', { operation: 'sendText', text: 'Hi' }, [{ json: { phone_number: '12' } }], /^phone_number: .*too short/],
		['no recipient at all', { operation: 'sendText', text: 'Hi' }, [{ json: {} }], /^to: no recipient/],
		['latitude out of range', { operation: 'sendLocation', latitude: '91', longitude: '0' }, undefined, /latitude.*between -90 and 90/],
		['empty latitude', { operation: 'sendLocation', latitude: '', longitude: '0' }, undefined, /latitude.*required/],
		[
			'4 buttons',
			{ operation: 'sendButtons', body: 'Pick', buttons: { button: [{ title: 'A' }, { title: 'B' }, { title: 'C' }, { title: 'D' }] } },
			undefined,
			/buttons.*at most 3 buttons/,
		],
		[
			'a 25-character list row title',
			{ operation: 'sendList', body: 'Pick', buttonText: 'Open', rows: { row: [{ title: 'x'.repeat(25) }] } },
			undefined,
			/sections\[0\]\.rows\[0\]\.title.*at most 24/,
		],
		['unknown canonical type', {}, [agentItem([{ type: 'text', text: 'ok' }, { type: 'poll', question: '?' }])], /messages\[1\]\.type: unknown message type "poll"/],
		['no messages on the item', {}, [{ json: { phone_number: CUSTOMER } }], /messages: the incoming item has no "messages" list/],
		['bad template components JSON', { operation: 'sendTemplate', templateName: 't', components: '{oops' }, undefined, /components: must be a JSON list/],
		['reaction without a message', { operation: 'sendReaction', emoji: '👍' }, undefined, /messageId: no message to react to/],
		['mark as read without a message', { operation: 'markAsRead' }, undefined, /messageId: no message to mark as read/],
		['text limit too low', { operation: 'sendText', text: 'Hi', options: { textLimit: 5 } }, undefined, /textLimit/],
	])('%s', async (_name, parameters, input, pattern) => {
		const error = await runError(parameters, input);
		expect(error.constructor.name).toBe('NodeOperationError');
		expect(error.message).toMatch(pattern);
		expect(error.message).toMatch(/\(item 0\)$/);
		expect(fake.requests).toHaveLength(0);
	});

	it('a later bad item names its own index; the earlier good item was sent', async () => {
		const error = await runError({ operation: 'sendText', text: 'Hi' }, [triggerItem(), { json: { phone_number: 'nope' } }]);
		expect(error.message).toMatch(/phone_number: .*\(item 1\)$/);
		expect(fake.sent).toHaveLength(1);
	});
});

describe("n8n's \"Custom API Call\" entry", () => {
	it('fails clearly, pointing at the HTTP Request node, and sends nothing', async () => {
		const error = await runError({ operation: '__CUSTOM_API_CALL__' });
		expect(error.message).toMatch(/no operation "__CUSTOM_API_CALL__"/);
		expect(error.description).toMatch(/HTTP Request node/);
		expect(fake.requests.filter((request) => request.route !== undefined)).toHaveLength(0);
	});
});

describe('Continue On Fail', () => {
	it('puts the error on the item with its original fields and binary, and goes on with the next items', async () => {
		const bad = { json: { phone_number: 'not-a-number', note: 'keep me' }, binary: { data: { data: 'AA==', mimeType: 'image/png' } } };
		const output = await run({ operation: 'sendText', text: 'Hi' }, [bad, triggerItem()], { continueOnFail: true });
		expect(output).toHaveLength(2);
		expect(output[0]).toMatchObject({ json: { phone_number: 'not-a-number', note: 'keep me' }, pairedItem: { item: 0 }, binary: bad.binary });
		expect(output[0].json.error).toMatch(/phone_number: .*not a phone number/);
		expect(output[0].json.delivery).toBeUndefined();
		expect(output[1].json).toMatchObject({ type: 'text', to: CUSTOMER, part: 1, parts: 1 });
		expect(fake.sent).toHaveLength(1);
	});
});

describe('secrets', () => {
	it('the access token never appears in an error, its description or a Continue On Fail item', async () => {
		const token = 'EAAGm0PX4ZCpsBAsecretTOKENvalue1234567890';
		fake.setToken(token);
		const credentials = { whatsAppCloudApi: fake.credentials({ accessToken: `${token}-revoked` }) };
		const error = await runError({ operation: 'sendText', text: 'Hello' }, undefined, { credentials });
		expect(error.message).toMatch(/190|expired|token/i);
		const everything = JSON.stringify({ message: error.message, description: error.description, error, stack: error.stack });
		expect(everything).not.toContain(token);
		expect(everything).not.toContain(FAKE_TOKEN);

		const [item] = await run({ operation: 'sendText', text: 'Hello' }, undefined, { credentials, continueOnFail: true });
		expect(JSON.stringify(item)).not.toContain(token);
	});
});
