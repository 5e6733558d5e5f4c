/**
 * Conversations (SPEC §10) through the nodes, with n8n-core's real execution contexts, over
 * real HTTP on loopback: the conversation rows in a fake of n8n's data-table API
 * (test/fakes/fake-n8n-api.ts), the agent a fake agent, WhatsApp a fake Graph API, and Meta's
 * deliveries signed and posted to the trigger's webhook. Each n8n execution of a customer
 * message is one runNode call; concurrent executions (a burst) run side by side, as n8n's
 * workers run them.
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { normalizeWebhook } from '../../core/inbound-normalizer';
import { CallExternalAgent } from '../../nodes/CallExternalAgent/CallExternalAgent.node';
import { SendWhatsApp } from '../../nodes/SendWhatsApp/SendWhatsApp.node';
import { resetDedupCaches } from '../../nodes/WhatsAppAgentTrigger/dedupRegistry';
import { WhatsAppAgentTrigger } from '../../nodes/WhatsAppAgentTrigger/WhatsAppAgentTrigger.node';
import { WhatsAppConversation } from '../../nodes/WhatsAppConversation/WhatsAppConversation.node';
import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';
import { FAKE_PHONE_NUMBER_ID, startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { startFakeN8nApi, type FakeN8nApi } from '../fakes/fake-n8n-api';
import { deliverToWebhook, textMessageBody } from '../fakes/meta-webhook';
import { ProcessedDataStore } from '../fakes/processed-data-store';
import { runNode, runNodeOnInputs, startWebhookServer, useProcessedDataStore, type NodeSetup, type WebhookServer } from '../harness/n8n';

const API_KEY = 'n8n-api-key-for-conversations-0123456789';
const APP_SECRET = createHash('md5').update('conversations app secret').digest('hex');
const PN = FAKE_PHONE_NUMBER_ID;

let api: FakeN8nApi;
let agent: FakeAgent;
let graph: FakeGraphApi;
const store = new ProcessedDataStore();
let servers: WebhookServer[] = [];
let tableSequence = 0;
let table = '';
let customerSequence = 0;

beforeAll(async () => {
	[api, agent, graph] = await Promise.all([startFakeN8nApi({ apiKey: API_KEY }), startFakeAgent(), startFakeGraphApi()]);
	await useProcessedDataStore(store);
});
afterAll(async () => {
	await Promise.all([api.close(), agent.close(), graph.close()]);
});
beforeEach(() => {
	// A table per test: every test starts with empty conversations.
	table = `Conversations ${++tableSequence}`;
	agent.reset();
	graph.reset();
	store.clear();
	resetDedupCaches();
});
afterEach(async () => {
	await Promise.all(servers.map((server) => server.close()));
	servers = [];
});

const conversationsCredential = () => ({ baseUrl: api.baseUrl, apiKey: API_KEY, tableName: table });

/** A new customer per test, so nothing carries over. */
const newCustomer = () => `1650555${String(1000 + ++customerSequence).padStart(4, '0')}`;

function agentSetup(options: IDataObject = {}, parameters: INodeParameters = {}): NodeSetup {
	return {
		nodeType: new CallExternalAgent(),
		parameters: {
			url: agent.url,
			conversations: true,
			conversationOptions: { quietSeconds: 0.4, maxWaitSeconds: 5, ...options },
			options: { retryWait: 0.01 },
			...parameters,
		},
		credentials: { whatsAppConversationsApi: conversationsCredential() },
	};
}

/** What the trigger's Messages output holds for one customer text. */
function messageItem(text: string, from: string, id: string): INodeExecutionData {
	const [message] = normalizeWebhook(textMessageBody(text, { from, id }), {
		replyCallback: () => `https://n8n.example.com/webhook/wh/reply?token=${id}`,
	}).messages;
	return { json: message as unknown as IDataObject };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One n8n execution of Call External Agent for one message: [Reply, Handoff, Paused]. */
async function execution(setup: NodeSetup, item: INodeExecutionData, startAfterMs = 0): Promise<INodeExecutionData[][]> {
	if (startAfterMs > 0) await sleep(startAfterMs);
	return await runNode(setup, [item], 'webhook');
}

const texts = (output: INodeExecutionData[]) => output.flatMap((item) => (item.json.messages as Array<{ text?: string }>).map((message) => message.text));

describe('Conversations: burst buffering', () => {
	it('three messages typed in quick succession reach the agent as one call, answered once', async () => {
		const from = newCustomer();
		agent.setDefault((request) => ({ body: { content: `You said: ${request.json.message}` } }));
		// A quiet time well above the 100 ms gaps, so a busy machine cannot split the burst.
		const setup = agentSetup({ quietSeconds: 0.8 });
		const started = Date.now();
		const runs = await Promise.all([
			execution(setup, messageItem('Hi', from, 'wamid.B1')),
			execution(setup, messageItem('I want', from, 'wamid.B2'), 100),
			execution(setup, messageItem('a table for two tonight', from, 'wamid.B3'), 200),
		]);
		expect(agent.requests).toHaveLength(1);
		const request = agent.requests[0].json;
		expect(request.message).toBe('Hi\nI want\na table for two tonight');
		expect(request.messages.map((message: IDataObject) => message.messageId)).toEqual(['wamid.B1', 'wamid.B2', 'wamid.B3']);
		expect(request.messages.map((message: IDataObject) => message.message)).toEqual(['Hi', 'I want', 'a table for two tonight']);
		// The newest message's run answers; the others end without output.
		expect(request.message_id).toBe('wamid.B3');
		expect(runs.map(([reply]) => reply.length)).toEqual([0, 0, 1]);
		expect(texts(runs[2][0])).toEqual(['You said: Hi\nI want\na table for two tonight']);
		expect(runs[2][0][0].json).toMatchObject({ replyTo: 'wamid.B3', conversation: { messages: 3, history: 0 } });
		// The agent was called after the quiet time that followed the last message.
		expect(agent.requests[0].receivedAt - started).toBeGreaterThanOrEqual(200 + 800);
	});

	it('a message that arrives while the agent answers is not lost: it opens the next burst', async () => {
		const from = newCustomer();
		agent.enqueue({ body: { content: 'first answer' }, delayMs: 700 }, { body: { content: 'second answer' } });
		const setup = agentSetup({ quietSeconds: 0.2 });
		const first = execution(setup, messageItem('What time do you open?', from, 'wamid.W1'));
		// The agent is called ~200 ms in and answers 700 ms later: this one arrives in between.
		const second = execution(setup, messageItem('And on Sundays?', from, 'wamid.W2'), 500);
		const [one, two] = await Promise.all([first, second]);
		expect(agent.requests.map((request) => request.json.message)).toEqual(['What time do you open?', 'And on Sundays?']);
		expect(texts(one[0])).toEqual(['first answer']);
		expect(texts(two[0])).toEqual(['second answer']);
		// The second call was made while the agent was still answering the first: it knows the
		// first message, and the first answer is in the history from then on.
		expect(agent.requests[1].json.history.map((turn: IDataObject) => [turn.role, turn.text])).toEqual([['customer', 'What time do you open?']]);
		await execution(setup, messageItem('Thanks', from, 'wamid.W3'));
		expect(agent.requests[2].json.history.map((turn: IDataObject) => [turn.role, turn.text])).toEqual([
			['customer', 'What time do you open?'],
			['customer', 'And on Sundays?'],
			// In the order the answers came: the second call was answered at once, the first 700 ms late.
			['agent', 'second answer'],
			['agent', 'first answer'],
		]);
	});

	it('a customer who keeps typing is answered after the longest wait, not never', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0.5, maxWaitSeconds: 0.9 });
		const started = Date.now();
		// A message every 300 ms: the 500 ms quiet time never comes.
		const runs = await Promise.all([0, 300, 600, 900, 1200].map((at, index) => execution(setup, messageItem(`part ${index + 1}`, from, `wamid.M${index + 1}`), at)));
		expect(agent.requests.length).toBeGreaterThanOrEqual(1);
		const firstCall = agent.requests[0];
		// Well before the last message's quiet time would have ended (1200 + 500 ms).
		expect(firstCall.receivedAt - started).toBeLessThan(1200 + 500);
		expect(firstCall.json.messages.length).toBeGreaterThanOrEqual(3);
		// Every message was answered exactly once, in order.
		const answered = agent.requests.flatMap((request) => request.json.messages.map((message: IDataObject) => message.messageId));
		expect(answered).toEqual(['wamid.M1', 'wamid.M2', 'wamid.M3', 'wamid.M4', 'wamid.M5']);
		expect(runs.reduce((sum, [reply]) => sum + reply.length, 0)).toBe(agent.requests.length);
	});

	it('orders a burst by when the trigger received each message, not by when its run got there', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0.5 });
		const received = Date.now();
		const first = messageItem('first', from, 'wamid.T1');
		const second = messageItem('second', from, 'wamid.T2');
		first.json.receivedAt = received;
		second.json.receivedAt = received + 100;
		// The second message's run starts first (another worker was quicker).
		await Promise.all([execution(setup, second), execution(setup, first, 150)]);
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.message).toBe('first\nsecond');
	});

	it('several messages in one delivery (one n8n run) are one burst', async () => {
		const from = newCustomer();
		const [reply] = await runNode(agentSetup({ quietSeconds: 0.2 }), [messageItem('one', from, 'wamid.O1'), messageItem('two', from, 'wamid.O2')], 'webhook');
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.message).toBe('one\ntwo');
		expect(reply).toHaveLength(1);
		expect(reply[0].pairedItem).toEqual({ item: 1 });
	});

	it('with the quiet time at 0 every message is its own call', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0 });
		await Promise.all([execution(setup, messageItem('one', from, 'wamid.Z1')), execution(setup, messageItem('two', from, 'wamid.Z2'), 50)]);
		expect(agent.requests.map((request) => request.json.message).sort()).toEqual(['one', 'two']);
	});
});

describe('Conversations: history', () => {
	it('carries the earlier turns of both sides, oldest first, and records replies sent later and by humans', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0 });
		agent.enqueue({ body: { content: 'Hello! How can I help?' } }, { body: { messages: [{ type: 'text', text: 'We open at 9.' }, { image: 'https://cdn.example.com/map.png', caption: 'Here' }] } });
		await execution(setup, messageItem('Hi', from, 'wamid.H1'));
		await execution(setup, messageItem('When do you open?', from, 'wamid.H2'));
		// A reply the agent posted later to reply_callback, sent by Send WhatsApp with "As the Agent's Reply".
		const send = (record: string, messages: unknown[]) =>
			runNode(
				{
					nodeType: new SendWhatsApp(),
					parameters: { operation: 'sendAgentReply', recordInConversation: record },
					credentials: { whatsAppCloudApi: graph.credentials(), whatsAppConversationsApi: conversationsCredential() },
				},
				[{ json: { phone_number: `+${from}`, phoneNumberId: PN, replyTo: 'wamid.H2', messages } as unknown as IDataObject }],
			);
		await send('agent', [{ type: 'text', text: 'PS: we close at 6.' }]);
		await execution(setup, messageItem('Thanks', from, 'wamid.H3'));

		const history = agent.requests[2].json.history as IDataObject[];
		expect(history.map((turn) => [turn.role, turn.type, turn.text])).toEqual([
			['customer', 'text', 'Hi'],
			['agent', 'text', 'Hello! How can I help?'],
			['customer', 'text', 'When do you open?'],
			['agent', 'text', 'We open at 9.'],
			['agent', 'image', '[Sent an image] Here'],
			['agent', 'text', 'PS: we close at 6.'],
		]);
		for (const turn of history) expect(Object.keys(turn).sort()).toEqual(['messageId', 'role', 'text', 'timestamp', 'type']);
		expect(history[0]).toMatchObject({ messageId: 'wamid.H1' });
		// The reply sent through Send WhatsApp has Meta's message id.
		expect(history[5].messageId).toBe(graph.sent.at(-1)!.id);
		// The current message is in `messages`, not in `history`.
		expect(agent.requests[2].json.messages.map((message: IDataObject) => message.messageId)).toEqual(['wamid.H3']);
	});

	it('keeps only as many turns as asked', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0, historyTurns: 2 });
		for (let index = 1; index <= 3; index++) await execution(setup, messageItem(`message ${index}`, from, `wamid.K${index}`));
		expect(agent.requests[2].json.history.map((turn: IDataObject) => turn.text)).toEqual(['message 2', 'ok']);
		expect(agent.requests[0].json.history).toEqual([]);
	});

	it('erase (WhatsApp Conversation) deletes everything kept about one customer, and only that customer', async () => {
		const [from, other] = [newCustomer(), newCustomer()];
		const setup = agentSetup({ quietSeconds: 0 });
		await execution(setup, messageItem('My address is 1 Main St', from, 'wamid.E1'));
		await execution(setup, messageItem('Hello', other, 'wamid.E2'));
		const conversation = (operation: string, customer: string, extra: INodeParameters = {}) =>
			runNode(
				{
					nodeType: new WhatsAppConversation(),
					parameters: { operation, customer: `+${customer}`, phoneNumberId: PN, ...extra },
					credentials: { whatsAppConversationsApi: conversationsCredential() },
				},
				[{ json: {} }],
			);
		const [[before]] = await conversation('get', from);
		expect((before.json.history as IDataObject[]).map((turn) => turn.text)).toEqual(['My address is 1 Main St', 'ok']);
		const [[erased]] = await conversation('erase', from);
		expect(erased.json).toMatchObject({ customer: from, phoneNumberId: PN, erased: 2 });
		const [[after]] = await conversation('get', from);
		expect(after.json).toMatchObject({ paused: false, history: [] });
		expect(api.rowsOf(table).map((row) => row.conversation)).toEqual([`${PN}:${other}`, `${PN}:${other}`]);
		await execution(setup, messageItem('Who am I?', from, 'wamid.E3'));
		expect(agent.requests.at(-1)!.json.history).toEqual([]);
	});
});

describe('Conversations: human takeover', () => {
	const conversationNode = (operation: string, customer: string, extra: INodeParameters = {}) =>
		runNode(
			{
				nodeType: new WhatsAppConversation(),
				parameters: { operation, customer: `+${customer}`, phoneNumberId: PN, ...extra },
				credentials: { whatsAppConversationsApi: conversationsCredential() },
			},
			[{ json: {} }],
		);

	it('a handoff answer tells the customer, emits a Handoff item, and keeps the next messages away from the agent', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0, pauseMinutes: 30 });
		agent.enqueue({ body: { type: 'handoff', reason: 'wants a refund', message: 'I am getting a colleague for you.' } });
		const [reply, handoff, paused] = await execution(setup, messageItem('I want my money back', from, 'wamid.X1'));
		expect(texts(reply)).toEqual(['I am getting a colleague for you.']);
		expect(paused).toEqual([]);
		expect(handoff).toHaveLength(1);
		expect(handoff[0].json).toMatchObject({ phone_number: `+${from}`, phoneNumberId: PN, replyTo: 'wamid.X1', reason: 'wants a refund', message: 'I want my money back', toldCustomer: true, paused: true });
		const until = Date.parse(String(handoff[0].json.pausedUntil));
		expect(until - Date.now()).toBeGreaterThan(29 * 60_000);

		const [reply2, handoff2, paused2] = await execution(setup, messageItem('Hello? Anyone?', from, 'wamid.X2'));
		expect(agent.requests).toHaveLength(1);
		expect(reply2).toEqual([]);
		expect(handoff2).toEqual([]);
		expect(paused2).toHaveLength(1);
		expect(paused2[0].json).toMatchObject({ message: 'Hello? Anyone?', phone_number: `+${from}`, conversation: { paused: true, pausedBy: 'agent', reason: 'wants a refund' } });
		// Still recorded in the history.
		const [[state]] = await conversationNode('get', from);
		expect((state.json.history as IDataObject[]).map((turn) => [turn.role, turn.text])).toEqual([
			['customer', 'I want my money back'],
			['agent', 'I am getting a colleague for you.'],
			['customer', 'Hello? Anyone?'],
		]);
	});

	it('a handoff without a message sends the customer nothing', async () => {
		const from = newCustomer();
		agent.enqueue({ body: { type: 'handoff' } });
		const [reply, handoff] = await execution(agentSetup({ quietSeconds: 0 }), messageItem('Complicated question', from, 'wamid.N1'));
		expect(reply[0].json).toMatchObject({ noReply: true, messages: [] });
		expect(handoff[0].json).toMatchObject({ reason: null, toldCustomer: false, paused: true });
	});

	it('Resume Bot hands the conversation back; a pause also ends by itself', async () => {
		const from = newCustomer();
		const setup = agentSetup({ quietSeconds: 0, pauseMinutes: 0.01 }); // 0.6 s
		agent.enqueue({ body: { type: 'handoff', reason: 'billing' } });
		await execution(setup, messageItem('Billing problem', from, 'wamid.R1'));
		const [[paused]] = await conversationNode('get', from);
		expect(paused.json).toMatchObject({ paused: true, pausedBy: 'agent', reason: 'billing' });
		// The pause runs out on its own.
		await sleep(700);
		const [[expired]] = await conversationNode('get', from);
		expect(expired.json.paused).toBe(false);
		const [reply] = await execution(setup, messageItem('Still there?', from, 'wamid.R2'));
		expect(reply).toHaveLength(1);
		expect(agent.requests).toHaveLength(2);

		// A human pauses it for an hour, then hands back early.
		const [[pausedByHuman]] = await conversationNode('pause', from, { minutes: 60, reason: 'Marco is on it' });
		expect(pausedByHuman.json).toMatchObject({ paused: true, pausedBy: 'human', reason: 'Marco is on it' });
		const [, , whilePaused] = await execution(setup, messageItem('Marco?', from, 'wamid.R3'));
		expect(whilePaused).toHaveLength(1);
		const [[resumed]] = await conversationNode('resume', from);
		expect(resumed.json).toMatchObject({ paused: false });
		const [afterResume] = await execution(setup, messageItem('Thanks Marco', from, 'wamid.R4'));
		expect(afterResume).toHaveLength(1);
		expect(agent.requests.map((request) => request.json.message)).toEqual(['Billing problem', 'Still there?', 'Thanks Marco']);
	});

	it('a handoff the agent posts later to reply_callback pauses the bot through Send Later Reply', async () => {
		const from = newCustomer();
		const later = { phone_number: `+${from}`, phoneNumberId: PN, replyTo: 'wamid.L1', messages: [], noReply: true, handoff: { reason: 'needs a manager' }, callback: {} };
		const output = await runNode(
			{
				nodeType: new SendWhatsApp(),
				parameters: { operation: 'sendAgentReply', recordInConversation: 'agent' },
				credentials: { whatsAppCloudApi: graph.credentials(), whatsAppConversationsApi: conversationsCredential() },
			},
			[{ json: later as unknown as IDataObject }],
		);
		expect(output).toEqual([[]]);
		expect(graph.sent).toHaveLength(0);
		const [[state]] = await conversationNode('get', from);
		expect(state.json).toMatchObject({ paused: true, pausedBy: 'agent', reason: 'needs a manager' });
	});

	it('Send WhatsApp "Sent by a Human" pauses the bot for that conversation', async () => {
		const from = newCustomer();
		await runNode(
			{
				nodeType: new SendWhatsApp(),
				parameters: { operation: 'sendText', text: 'Hi, Marco here. How can I help?', recordInConversation: 'human', humanPauseMinutes: 15 },
				credentials: { whatsAppCloudApi: graph.credentials(), whatsAppConversationsApi: conversationsCredential() },
			},
			[{ json: { phone_number: `+${from}`, phoneNumberId: PN } }],
		);
		expect(graph.sent).toHaveLength(1);
		const [, , paused] = await execution(agentSetup({ quietSeconds: 0 }), messageItem('Hi Marco', from, 'wamid.S1'));
		expect(paused).toHaveLength(1);
		expect(agent.requests).toHaveLength(0);
		const [[state]] = await conversationNode('get', from);
		expect(state.json).toMatchObject({ paused: true, pausedBy: 'human' });
		expect((state.json.history as IDataObject[]).map((turn) => [turn.role, turn.text])).toEqual([
			['human', 'Hi, Marco here. How can I help?'],
			['customer', 'Hi Marco'],
		]);
	});
});

describe('Conversations: events from the trigger (coexistence numbers)', () => {
	const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures/conversation-events', name), 'utf8'));
	const triggerSetup = (options: IDataObject = { conversationEvents: true }): NodeSetup => ({
		nodeType: new WhatsAppAgentTrigger(),
		parameters: { webhookSetup: 'manual', options } as INodeParameters,
		credentials: { whatsAppWebhookApi: { verifyToken: 'v', appSecret: APP_SECRET } },
		webhookId: 'conversation-events',
	});

	/** Posts a signed delivery to the trigger and runs the execution it starts (trigger step, then Call External Agent on its outputs). */
	async function deliver(server: WebhookServer, setup: NodeSetup, body: unknown) {
		const before = server.runs.length;
		const response = await deliverToWebhook(server.url('webhook'), body, APP_SECRET);
		expect(response.status).toBe(200);
		if (server.runs.length === before) return { response: await response.json(), outputs: undefined };
		const outputs = await runNodeOnInputs(setup, server.runs.at(-1)!.workflowData, 'webhook');
		return { response: await response.json(), outputs };
	}

	async function trigger(options?: IDataObject) {
		const setup = triggerSetup(options);
		const server = await startWebhookServer(setup);
		servers.push(server);
		return { setup, server };
	}

	it('a human reply in the WhatsApp Business app is recorded and pauses the bot; it never reaches the agent', async () => {
		const { setup, server } = await trigger();
		const { response, outputs } = await deliver(server, setup, fixture('smb-message-echoes.json'));
		expect(response).toMatchObject({ received: true, messages: 0, events: 1 });
		const [messages, statuses, callbacks, events] = outputs!;
		expect([messages.length, statuses.length, callbacks.length]).toEqual([0, 0, 0]);
		expect(events.map((item) => item.json)).toEqual([
			expect.objectContaining({ event: 'echo', role: 'human', phone_number: '+16505551234', phoneNumberId: PN, message: "Hi Sheena, this is Marco from the shop. I'll take it from here.", type: 'text' }),
		]);
		// Conversation Events → Call External Agent: recorded, no agent call, nothing out.
		const agentNode = agentSetup({ quietSeconds: 0 });
		expect(await runNode(agentNode, events, 'webhook')).toEqual([[], [], []]);
		expect(agent.requests).toHaveLength(0);
		const [, , paused] = await execution(agentNode, messageItem('Thanks Marco!', '16505551234', 'wamid.CO1'));
		expect(paused).toHaveLength(1);
		expect(paused[0].json.conversation).toMatchObject({ paused: true, pausedBy: 'human' });
		expect(agent.requests).toHaveLength(0);

		// Meta delivers the echo again: the trigger drops it (no second turn).
		const again = await deliver(server, setup, fixture('smb-message-echoes.json'));
		expect(again.outputs).toBeUndefined();
		expect(again.response).toMatchObject({ duplicates: 0 });
	});

	it('a history backfill is recorded (in its own order) and never answered', async () => {
		const { setup, server } = await trigger();
		const { outputs } = await deliver(server, setup, fixture('history.json'));
		const events = outputs![3];
		expect(events.map((item) => [item.json.event, item.json.role, item.json.message])).toEqual([
			['history', 'customer', 'Do you still have the blue vase?'],
			['history', 'human', 'Yes, one left.'],
		]);
		const agentNode = agentSetup({ quietSeconds: 0 });
		expect(await runNode(agentNode, events, 'webhook')).toEqual([[], [], []]);
		await execution(agentNode, messageItem('Can I pick it up today?', '16505551234', 'wamid.HB1'));
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.history.map((turn: IDataObject) => [turn.role, turn.text, turn.timestamp])).toEqual([
			['customer', 'Do you still have the blue vase?', '2025-12-05T10:00:00.000Z'],
			['human', 'Yes, one left.', '2025-12-05T10:05:00.000Z'],
		]);
	});

	it('a customer who changed their number keeps their history', async () => {
		const { setup, server } = await trigger();
		const agentNode = agentSetup({ quietSeconds: 0 });
		await execution(agentNode, messageItem('My order is #4411', '16505551234', 'wamid.ID1'));
		const system = JSON.parse(readFileSync(join(__dirname, '../fixtures/webhooks/system.json'), 'utf8'));
		const { outputs } = await deliver(server, setup, system);
		// The system message is an event here, not a message for the agent.
		expect(outputs![0]).toEqual([]);
		expect(outputs![3].map((item) => [item.json.event, item.json.previousCustomer, item.json.phone_number])).toEqual([['identity_change', '16505551234', '+12195555358']]);
		await runNode(agentNode, outputs![3], 'webhook');
		await execution(agentNode, messageItem('Any news on my order?', '12195555358', 'wamid.ID2'));
		expect(agent.requests.at(-1)!.json.history.map((turn: IDataObject) => turn.text)).toEqual(['My order is #4411', 'ok']);
	});

	it('without the option the trigger emits none of these, and unknown fields never reach anyone', async () => {
		const { setup, server } = await trigger({});
		expect((await deliver(server, setup, fixture('smb-message-echoes.json'))).outputs).toBeUndefined();
		expect((await deliver(server, setup, fixture('history.json'))).outputs).toBeUndefined();
		const unknownField = { ...fixture('history.json') };
		unknownField.entry[0].changes[0].field = 'some_future_field';
		const withOption = await trigger();
		expect((await deliver(withOption.server, withOption.setup, unknownField)).outputs).toBeUndefined();
	});

	it('a burst message Meta delivers again is neither lost nor answered twice', async () => {
		const { setup, server } = await trigger();
		const from = '16505550777';
		const agentNode = agentSetup({ quietSeconds: 0.4 });
		const bodies = [
			textMessageBody('Hi', { from, id: 'wamid.RD1' }),
			textMessageBody('two coffees', { from, id: 'wamid.RD2' }),
			textMessageBody('to go', { from, id: 'wamid.RD3' }),
		];
		const executions: Array<Promise<INodeExecutionData[][]>> = [];
		for (const body of [bodies[0], bodies[1], bodies[1], bodies[2], bodies[0]]) {
			const { outputs } = await deliver(server, setup, body);
			if (outputs) executions.push(runNode(agentNode, outputs[0], 'webhook'));
			await sleep(60);
		}
		await Promise.all(executions);
		expect(executions).toHaveLength(3);
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.messages.map((message: IDataObject) => message.messageId)).toEqual(['wamid.RD1', 'wamid.RD2', 'wamid.RD3']);
	});
});

describe('Conversations: when n8n cannot be reached', () => {
	it('the customer is still answered (without history), and the output says why', async () => {
		const from = newCustomer();
		api.failNext(503, 1);
		const [reply] = await execution(agentSetup({ quietSeconds: 0 }), messageItem('Are you open?', from, 'wamid.F1'));
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.history).toBeNull();
		expect(texts(reply)).toEqual(['ok']);
		expect(String((reply[0].json.conversation as IDataObject).error)).toMatch(/503/);
		expect(String((reply[0].json.conversation as IDataObject).error)).not.toContain(API_KEY);
	});

	it('a wrong API key is named as such', async () => {
		const [reply] = await execution(
			{ ...agentSetup({ quietSeconds: 0 }), credentials: { whatsAppConversationsApi: { ...conversationsCredential(), apiKey: 'wrong-key' } } },
			messageItem('Hello', newCustomer(), 'wamid.F2'),
		);
		expect(String((reply[0].json.conversation as IDataObject).error)).toMatch(/refused the API key.*Settings → n8n API/);
	});
});
