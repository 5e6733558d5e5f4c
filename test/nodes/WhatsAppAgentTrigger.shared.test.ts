/**
 * Duplicates across n8n processes: the trigger's execution phase claims each delivery in
 * n8n's processed-data store (reached through n8n-core's real helpers; the store is the
 * model in test/fakes/processed-data-store.ts). Each "process" is a webhook server with its
 * own memory: the in-memory caches are cleared between deliveries, as another webhook
 * process would have its own.
 */
import { createHash } from 'crypto';
import type { INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { ConversationState } from '../../core/conversation-state';
import { KeyedMutex } from '../../core/keyed-mutex';
import { processedDataBackend, SHARED_SET_MAX_ENTRIES } from '../../nodes/shared/processedDataState';
import { resetDedupCaches } from '../../nodes/WhatsAppAgentTrigger/dedupRegistry';
import { LEGACY_ORDER_CARRIER } from '../../nodes/WhatsAppAgentTrigger/request';
import { WhatsAppAgentTrigger } from '../../nodes/WhatsAppAgentTrigger/WhatsAppAgentTrigger.node';
import { deliverToWebhook, textMessageBody } from '../fakes/meta-webhook';
import { ProcessedDataStore } from '../fakes/processed-data-store';
import {
	executeContextFor,
	runNodeOnInputs,
	startWebhookServer,
	useProcessedDataStore,
	type NodeSetup,
	type WebhookServer,
} from '../harness/n8n';

const SECRET = createHash('md5').update('shared state app secret').digest('hex');
const PN = '106540352242922';

const store = new ProcessedDataStore();
let servers: WebhookServer[] = [];

beforeAll(async () => {
	await useProcessedDataStore(store);
});
beforeEach(() => {
	store.clear();
	resetDedupCaches();
});
afterEach(async () => {
	await Promise.all(servers.map((server) => server.close()));
	servers = [];
});

function setup(options: Record<string, unknown> = {}): NodeSetup {
	return {
		nodeType: new WhatsAppAgentTrigger(),
		parameters: { webhookSetup: 'manual', options } as INodeParameters,
		credentials: { whatsAppWebhookApi: { verifyToken: 'v', appSecret: SECRET } },
		webhookId: 'shared-webhook',
	};
}

/** A webhook process: serves the trigger; every run it starts, n8n then begins with execute(). */
async function process(nodeSetup: NodeSetup): Promise<WebhookServer> {
	const server = await startWebhookServer(nodeSetup);
	servers.push(server);
	return server;
}

async function runOf(nodeSetup: NodeSetup, server: WebhookServer, index = -1, logs?: Array<{ level: string; message: string }>) {
	const run = server.runs.at(index);
	if (!run) throw new Error('no run was started');
	return await runNodeOnInputs(nodeSetup, run.workflowData, 'webhook', logs);
}

const ids = (items: INodeExecutionData[]) => items.map((item) => item.json.messageId);

describe('WhatsApp Agent Trigger: duplicates across processes', () => {
	it('a redelivery that reaches another webhook process is dropped in the run it starts', async () => {
		const nodeSetup = setup();
		const [first, second] = [await process(nodeSetup), await process(nodeSetup)];
		const body = textMessageBody('Do you deliver on Sundays?', { id: 'wamid.SUNDAY' });

		expect((await deliverToWebhook(first.url('webhook'), body, SECRET)).status).toBe(200);
		const [messages] = await runOf(nodeSetup, first);
		expect(ids(messages)).toEqual(['wamid.SUNDAY']);

		resetDedupCaches(); // the second process never saw it
		const response = await deliverToWebhook(second.url('webhook'), body, SECRET);
		expect(await response.json()).toMatchObject({ received: true, messages: 1, duplicates: 0 });
		const again = await runOf(nodeSetup, second);
		expect(again).toEqual([[], [], [], []]);

		// And once more much later, from the first process after a restart.
		resetDedupCaches();
		await deliverToWebhook(first.url('webhook'), body, SECRET);
		expect((await runOf(nodeSetup, first))[0]).toEqual([]);
		expect(store.holds('test-workflow', '', `message:${PN}:wamid.SUNDAY`)).toBe(true);
	});

	it('in a batch only the duplicate is dropped; statuses and new messages go on, items unchanged', async () => {
		const nodeSetup = setup();
		const server = await process(nodeSetup);
		await deliverToWebhook(server.url('webhook'), textMessageBody('first', { id: 'wamid.ONE' }), SECRET);
		await runOf(nodeSetup, server);
		resetDedupCaches();

		const batch = textMessageBody('first', { id: 'wamid.ONE' });
		const change = (batch.entry as any)[0].changes[0].value;
		change.messages.push({ ...change.messages[0], id: 'wamid.TWO', text: { body: 'second' } });
		change.statuses = [{ id: 'wamid.SENT', status: 'delivered', timestamp: '1749416383', recipient_id: '16505551234' }];
		await deliverToWebhook(server.url('webhook'), batch, SECRET);
		const emitted = server.runs.at(-1)!.workflowData;
		const [messages, statuses, callbacks] = await runOf(nodeSetup, server);
		expect(ids(messages)).toEqual(['wamid.TWO']);
		expect(messages[0]).toBe(emitted[0][1]);
		expect(statuses.map((item) => item.json.status)).toEqual(['delivered']);
		expect(callbacks).toEqual([]);
	});

	it('two deliveries of one message in flight at once in two processes: exactly one run keeps it', async () => {
		const nodeSetup = setup();
		const [first, second] = [await process(nodeSetup), await process(nodeSetup)];
		const body = textMessageBody('hello?', { id: 'wamid.TWICE' });
		await deliverToWebhook(first.url('webhook'), body, SECRET);
		resetDedupCaches();
		await deliverToWebhook(second.url('webhook'), body, SECRET);
		// Both runs reach their trigger step at the same moment, each in its own process.
		const runIn = (server: WebhookServer) =>
			new ConversationState(processedDataBackend(executeContextFor(nodeSetup, server.runs[0].workflowData, 'webhook')), {
				sleep: async (ms) => await new Promise((resolve) => setTimeout(resolve, ms)),
				localTurns: new KeyedMutex(),
			}).claim([`message:${PN}:wamid.TWICE`]);
		const outcomes = await Promise.all([runIn(first), runIn(second)]);
		expect(outcomes.map((outcome) => outcome.fresh.length).sort()).toEqual([0, 1]);
	});

	it('a reply callback retried with one Idempotency-Key through two processes is emitted once', async () => {
		const nodeSetup = setup();
		const [first, second] = [await process(nodeSetup), await process(nodeSetup)];
		await deliverToWebhook(first.url('webhook'), textMessageBody('Where is my parcel?', { id: 'wamid.PARCEL' }), SECRET);
		const [[message]] = await runOf(nodeSetup, first);
		const replyCallback = String(message.json.reply_callback);
		const post = async (server: WebhookServer, key?: string) => {
			const url = replyCallback.replace(first.baseUrl, server.baseUrl);
			const headers: Record<string, string> = { 'content-type': 'application/json' };
			if (key) headers['idempotency-key'] = key;
			const response = await fetch(url, { method: 'POST', headers, body: '{"content": "It left the warehouse."}' });
			return response.status;
		};

		expect(await post(first, 'late-1')).toBe(202);
		const [, , accepted] = await runOf(nodeSetup, first);
		expect(accepted).toHaveLength(1);
		expect(accepted[0].json.callback).toMatchObject({ idempotencyKey: 'late-1' });

		resetDedupCaches();
		expect(await post(second, 'late-1')).toBe(202); // that process cannot know yet
		expect(await runOf(nodeSetup, second)).toEqual([[], [], [], []]);

		// Another key, or none, is another reply.
		expect(await post(second, 'late-2')).toBe(202);
		expect((await runOf(nodeSetup, second))[2]).toHaveLength(1);
		expect(await post(second)).toBe(202);
		expect((await runOf(nodeSetup, second))[2]).toHaveLength(1);
		expect(await post(second)).toBe(202);
		expect((await runOf(nodeSetup, second))[2]).toHaveLength(1);
	});

	it('"Ignore Duplicate Deliveries" off: nothing is claimed and nothing dropped', async () => {
		const nodeSetup = setup({ ignoreDuplicates: false });
		const server = await process(nodeSetup);
		const body = textMessageBody('again', { id: 'wamid.AGAIN' });
		await deliverToWebhook(server.url('webhook'), body, SECRET);
		await deliverToWebhook(server.url('webhook'), body, SECRET);
		expect(ids((await runOf(nodeSetup, server, 0))[0])).toEqual(['wamid.AGAIN']);
		expect(ids((await runOf(nodeSetup, server, 1))[0])).toEqual(['wamid.AGAIN']);
		expect(store.statements).toEqual({ select: 0, insert: 0, update: 0, delete: 0 });
	});

	it('when n8n\'s database fails, the run goes on with every item and the log says why', async () => {
		const nodeSetup = setup();
		const server = await process(nodeSetup);
		await deliverToWebhook(server.url('webhook'), textMessageBody('hi', { id: 'wamid.DBDOWN' }), SECRET);
		store.failWith = new Error('Connection terminated unexpectedly');
		const logs: Array<{ level: string; message: string }> = [];
		const [messages] = await runOf(nodeSetup, server, -1, logs);
		expect(ids(messages)).toEqual(['wamid.DBDOWN']);
		expect(logs).toContainEqual({
			level: 'warn',
			message: expect.stringContaining('duplicate deliveries could not be checked across n8n processes, so this run goes on: Could not take the shared lock'),
		});
		expect(logs.map((entry) => entry.message).join('\n')).not.toContain(SECRET);
	});

	it('a run without keyed items touches no database; a status-only run passes through', async () => {
		const nodeSetup = setup();
		const status = { id: 'wamid.S', status: 'read', timestamp: '1749416383', recipient_id: '16505551234' };
		const output = await runNodeOnInputs(nodeSetup, [[], [{ json: status }], []], 'webhook');
		expect(output).toEqual([[], [{ json: status }], [], []]);
		expect(store.statements.select).toBe(0);
	});

	it("on n8n's legacy execution order a callback-only run still reaches the trigger step, and only the callback goes on", async () => {
		const nodeSetup = { ...setup(), legacyExecutionOrder: true };
		const server = await process(nodeSetup);
		await deliverToWebhook(server.url('webhook'), textMessageBody('Where is it?', { id: 'wamid.LEGACY' }), SECRET);
		const [[message]] = await runOf(nodeSetup, server);
		const response = await fetch(String(message.json.reply_callback), {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
			body: '"On its way."',
		});
		expect(response.status).toBe(202);
		const emitted = server.runs.at(-1)!.workflowData;
		// v0 runs a node only when its first input has items: the run carries one for the trigger step.
		expect(emitted[0]).toEqual([{ json: { [LEGACY_ORDER_CARRIER]: true } }]);
		const [messages, statuses, callbacks] = await runOf(nodeSetup, server);
		expect(messages).toEqual([]);
		expect(statuses).toEqual([]);
		expect(callbacks.map((item) => item.json.replyTo)).toEqual(['wamid.LEGACY']);
	});

	it('n8n running the trigger step on its own (no inputs) emits nothing and does not fail', async () => {
		const output = await runNodeOnInputs(setup(), [], 'manual');
		expect(output).toEqual([[], [], [], []]);
	});

	it('the shared set keeps the newest entries up to its bound', async () => {
		const nodeSetup = setup();
		const context = executeContextFor(nodeSetup, [[]], 'webhook');
		const state = new ConversationState(processedDataBackend(context, 3), { sleep: async () => undefined, localTurns: new KeyedMutex() });
		await state.claim(['a', 'b']);
		await state.claim(['c', 'd']);
		expect(store.entries('test-workflow', '')).toHaveLength(3);
		expect((await state.claim(['a'])).fresh).toEqual(['a']);
		expect((await state.claim(['d'])).duplicates).toEqual(['d']);
		expect(SHARED_SET_MAX_ENTRIES).toBe(10_000);
	});
});
