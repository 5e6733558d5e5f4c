/**
 * The shipped template (templates/whatsapp-external-agent.json) inside a real n8n (the pinned
 * version, this package installed as a community package): imported as is — node types
 * `n8n-nodes-whatsapp-agent.*`, credentials bound by their names, automatic webhook setup —
 * with only the agent URL filled in, as a user does. Its three credentials point at fakes on
 * loopback: the fake Graph API with Meta's webhook-override endpoints and a fake Meta that
 * verifies callback URLs with a real GET, and a scripted fake agent (behind a switchable
 * port, so "agent down" is a real connection refused).
 *
 * One n8n boot serves every scenario (a boot costs ~45 s and CI runs the suite on two
 * versions); the fakes are reset before each test and each test reads only the executions
 * it caused. Order matters only at the end: deactivation, then a copy of the template whose
 * Graph API has no override endpoints.
 *
 * Meta-signed webhooks drive it (test/fakes/meta-webhook.ts: Meta's \uXXXX wire form, HMAC of
 * those bytes); assertions read what the fakes received and n8n's recorded executions.
 */
import { once } from 'events';
import { readFileSync } from 'fs';
import { createConnection, createServer, type Server, type Socket } from 'net';
import { join } from 'path';

import { startFakeAgent, type FakeAgent, type RecordedAgentRequest } from '../fakes/fake-agent';
import { FAKE_PHONE_NUMBER_ID, FAKE_WABA_ID, startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { installFakeMetaWebhooks, type FakeMetaWebhooks } from '../fakes/fake-meta-webhooks';
import { deliverToWebhook, loadFixture, serializeLikeMeta, signLikeMeta, verifyWebhook, webhookBody } from '../fakes/meta-webhook';
import { E2E_MODE, startE2eN8n, type E2eN8n } from './support/launch';
import { N8nRest } from './support/n8n-rest';
import {
	E2E_N8N_VERSION,
	N8N_BOOT_TIMEOUT_MS,
	REPO_ROOT,
	freePort,
	nodeOutput,
	nodesThatRan,
	type CredentialImport,
	type ExecutionRecord,
	type WorkflowJson,
} from './support/n8n-instance';
import { credentialNamesOf } from './support/n8n-types';

const TEMPLATE = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json'), 'utf8')) as WorkflowJson;
const WORKFLOW_ID = TEMPLATE.id;
const TRIGGER = 'WhatsApp Agent Trigger';
const MARK_READ = 'Mark as Read + Typing';
const AGENT = 'Call External Agent';
const REPLY = 'Send Agent Reply';
const LATER_REPLY = 'Send Later Reply';
const WEBHOOK_ID = String(TEMPLATE.nodes.find((node) => node.name === TRIGGER)?.webhookId);

// Distinctive secrets, so a leak is findable in logs and execution data.
const ACCESS_TOKEN = 'EAAe2eTemplateAccessToken7Qx9ZpL2vK8mN4';
const APP_SECRET = 'e2e-template-app-secret-5b7c';
const VERIFY_TOKEN = 'e2e-template-verify-phrase';
const CUSTOMER = '16505551234';
const FALLBACK = String((TEMPLATE.nodes.find((node) => node.name === AGENT)?.parameters as Record<string, unknown>).fallbackMessage);

/** The template as a user has it after import and filling in the agent URL. */
function templateWithAgentUrl(agentUrl: string): WorkflowJson {
	const workflow = structuredClone(TEMPLATE);
	const agent = workflow.nodes.find((node) => node.name === AGENT)!;
	(agent.parameters as Record<string, unknown>).url = agentUrl;
	return workflow;
}

/**
 * A TCP front for the fake agent on a fixed port: `down()` closes it (and every open
 * connection, so keep-alive sockets cannot sneak through), giving a real ECONNREFUSED; `up()`
 * listens again on the same port.
 */
class SwitchablePort {
	private server: Server | undefined;
	private readonly sockets = new Set<Socket>();

	private constructor(
		readonly port: number,
		private readonly targetPort: number,
	) {}

	static async open(targetPort: number): Promise<SwitchablePort> {
		const front = new SwitchablePort(await freePort(), targetPort);
		await front.up();
		return front;
	}

	async up(): Promise<void> {
		if (this.server) return;
		const server = createServer((socket) => {
			const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
			for (const end of [socket, upstream]) {
				this.sockets.add(end);
				end.on('close', () => this.sockets.delete(end));
				end.on('error', () => undefined);
			}
			socket.on('close', () => upstream.destroy());
			upstream.on('close', () => socket.destroy());
			socket.pipe(upstream).pipe(socket);
		});
		server.listen(this.port, '127.0.0.1');
		await once(server, 'listening');
		this.server = server;
	}

	async down(): Promise<void> {
		const server = this.server;
		this.server = undefined;
		if (!server) return;
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	}
}

let n8n: E2eN8n;
let graph: FakeGraphApi;
let meta: FakeMetaWebhooks;
/** A Graph API with no webhook-override endpoints (what a simpler fake, or a proxy, offers). */
let plainGraph: FakeGraphApi;
let agent: FakeAgent;
let agentFront: SwitchablePort;
let rest: N8nRest;
let mark = '0';
let sequence = 0;

const uniqueId = (label: string) => `wamid.E2E${label.replace(/[^A-Za-z0-9]/g, '')}${Date.now().toString(36)}${(sequence += 1)}`;
const eventsUrl = () => n8n.webhookUrl(WEBHOOK_ID, 'webhook');

/** A customer's text message, signed and posted as Meta does; resolves with n8n's HTTP status. */
async function customerWrites(text: string, options: { id?: string; from?: string; name?: string } = {}): Promise<{ status: number; id: string }> {
	const id = options.id ?? uniqueId('text');
	const from = options.from ?? CUSTOMER;
	const body = webhookBody({
		contacts: [{ profile: { name: options.name ?? 'Sheena Nelson' }, wa_id: from }],
		messages: [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
	});
	const response = await deliverToWebhook(eventsUrl(), body, APP_SECRET);
	await response.arrayBuffer();
	return { status: response.status, id };
}

async function post(body: unknown): Promise<number> {
	const response = await deliverToWebhook(eventsUrl(), body, APP_SECRET);
	await response.arrayBuffer();
	return response.status;
}

/** The executions of the template since this test began (finished ones), exactly `count` of them. */
async function executions(count: number, timeoutMs = 30_000): Promise<ExecutionRecord[]> {
	const found = await n8n.waitForExecutions({ workflowId: WORKFLOW_ID, afterId: mark, count, timeoutMs });
	return found;
}

/** Waits a moment and checks that no further execution appeared (for "nothing happens" cases). */
async function noMoreExecutionsThan(count: number, quietMs = 1500): Promise<void> {
	await new Promise((resolve) => setTimeout(resolve, quietMs));
	expect(await n8n.executions({ workflowId: WORKFLOW_ID, afterId: mark })).toHaveLength(count);
}

function agentRequest(index = 0): RecordedAgentRequest {
	const request = agent.requests[index];
	if (!request) throw new Error(`The agent received ${agent.requests.length} request(s), not ${index + 1}`);
	return request;
}

beforeAll(async () => {
	graph = await startFakeGraphApi({ token: ACCESS_TOKEN });
	// The webhook credential's App Secret is the Meta app's own (automatic setup may use the app token).
	meta = installFakeMetaWebhooks(graph, { appSecret: APP_SECRET });
	plainGraph = await startFakeGraphApi({ token: ACCESS_TOKEN });
	agent = await startFakeAgent();
	agentFront = await SwitchablePort.open(Number(new URL(agent.url).port));

	const names = credentialNamesOf(TEMPLATE);
	const credentials: CredentialImport[] = [
		{ id: 'e2eTplWebhook001', name: names.get('whatsAppWebhookApi')!, type: 'whatsAppWebhookApi', data: { verifyToken: VERIFY_TOKEN, appSecret: APP_SECRET } },
		{ id: 'e2eTplCloudApi01', name: names.get('whatsAppCloudApi')!, type: 'whatsAppCloudApi', data: graph.credentials() },
		{ id: 'e2eTplAgentApi01', name: names.get('externalAgentApi')!, type: 'externalAgentApi', data: { authentication: 'none' } },
		// For the copy of the template whose Graph API has no override endpoints (last test).
		{ id: 'e2eTplCloudApi02', name: 'WhatsApp Cloud API (no overrides)', type: 'whatsAppCloudApi', data: plainGraph.credentials() },
	];
	expect(credentials[1].data).toMatchObject({ graphApiBaseUrl: graph.baseUrl, businessAccountId: FAKE_WABA_ID, phoneNumberId: FAKE_PHONE_NUMBER_ID });

	n8n = await startE2eN8n({
		credentials,
		workflows: [templateWithAgentUrl(`http://127.0.0.1:${agentFront.port}/agent`), plainCopy(`http://127.0.0.1:${agentFront.port}/agent`)],
		publish: [WORKFLOW_ID],
		// The media GET is registered last, after the events POST's automatic setup (create) ran.
		waitFor: [
			{ webhookId: WEBHOOK_ID, path: 'webhook', method: 'GET' },
			{ webhookId: WEBHOOK_ID, path: 'media', method: 'GET' },
		],
	});
	rest = await N8nRest.setupOwner(n8n.baseUrl);
	// 2.41 activates published workflows in the background after start: wait for the outcome.
	const status = await rest.settled(WORKFLOW_ID);
	process.stderr.write(`[template e2e] n8n ${n8n.version} up: ${JSON.stringify(n8n.timings)}; template publication: ${status?.status ?? 'synchronous (no publication service)'}\n`);
}, N8N_BOOT_TIMEOUT_MS);

afterAll(async () => {
	await n8n?.stop();
	await agentFront?.down();
	await agent?.close();
	await graph?.close();
	await plainGraph?.close();
});

beforeEach(async () => {
	graph.reset();
	agent.reset();
	agent.setDefault((request) => ({ body: { content: `You said: ${request.json?.message}` } }));
	await agentFront.up();
	mark = await n8n.lastExecutionId();
});

// ------------------------------------------------------------------------------------------
// The copy whose Graph API lacks the override endpoints.

const PLAIN_COPY_ID = 'WhatsAppAgentTp2';
const PLAIN_COPY_WEBHOOK_ID = '2b6e4d1a-9c3f-4e7b-8a5d-1f0e9d8c7b6a';

function plainCopy(agentUrl: string): WorkflowJson {
	const workflow = templateWithAgentUrl(agentUrl);
	workflow.id = PLAIN_COPY_ID;
	workflow.name = `${TEMPLATE.name} (Graph API without webhook overrides)`;
	for (const node of workflow.nodes) {
		if (node.name === TRIGGER) node.webhookId = PLAIN_COPY_WEBHOOK_ID;
		// With an id: n8n binds a reference without one to the first credential of its type.
		const references = node.credentials as Record<string, { id?: string; name: string }> | undefined;
		if (references?.whatsAppCloudApi) references.whatsAppCloudApi = { id: 'e2eTplCloudApi02', name: 'WhatsApp Cloud API (no overrides)' };
	}
	return workflow;
}

// ------------------------------------------------------------------------------------------

describe(`automatic webhook setup on activation (n8n ${E2E_N8N_VERSION}, ${E2E_MODE} mode)`, () => {
	test("publishing the template pointed the phone number's override at this n8n's trigger URL, after Meta's verification GET succeeded", () => {
		expect(meta.phoneOverride(FAKE_PHONE_NUMBER_ID)).toBe(eventsUrl());
		expect(meta.deliveryUrl(FAKE_PHONE_NUMBER_ID)).toBe(eventsUrl());
		const attempts = meta.verifications.filter((attempt) => attempt.level === 'phone' && attempt.target === FAKE_PHONE_NUMBER_ID);
		expect(attempts.length).toBeGreaterThanOrEqual(1);
		expect(attempts.at(-1)).toMatchObject({ url: eventsUrl(), verifyToken: VERIFY_TOKEN, status: 200, ok: true });
		expect(attempts.at(-1)!.body).toBe(attempts.at(-1)!.challenge);
		// The business account stays subscribed; its own override untouched.
		expect(meta.isSubscribed(FAKE_WABA_ID)).toBe(true);
		expect(meta.wabaOverride(FAKE_WABA_ID)).toBeUndefined();
		expect(n8n.logs()).toContain(`Meta now sends the WhatsApp messages of phone number ${FAKE_PHONE_NUMBER_ID} to ${eventsUrl()}`);
	});

	test('the template imported as shipped: credentials bound by name, webhookId kept, the package’s node types', async () => {
		const [row] = await n8n.query<{ nodes: string | unknown[]; active: number | boolean }>('SELECT nodes, active FROM workflow_entity WHERE id = ?', [WORKFLOW_ID]);
		// SQLite keeps the nodes as JSON text, PostgreSQL (queue mode) as json.
		const nodes = (typeof row.nodes === 'string' ? JSON.parse(row.nodes) : row.nodes) as Array<{ name: string; type: string; webhookId?: string; credentials?: Record<string, { id: string | null; name: string }> }>;
		expect(Boolean(row.active)).toBe(true);
		expect(nodes.find((node) => node.name === TRIGGER)?.webhookId).toBe(WEBHOOK_ID);
		// Bound to the credentials created for it. (n8n binds a reference without an id to the first
		// credential of its type, not by name: the template's ones are imported first here.)
		const expected: Record<string, string> = { whatsAppWebhookApi: 'e2eTplWebhook001', whatsAppCloudApi: 'e2eTplCloudApi01', externalAgentApi: 'e2eTplAgentApi01' };
		for (const node of nodes.filter((candidate) => candidate.type.startsWith('n8n-nodes-whatsapp-agent.'))) {
			for (const [type, reference] of Object.entries(node.credentials ?? {})) expect({ node: node.name, type, id: reference.id }).toEqual({ node: node.name, type, id: expected[type] });
		}
		expect(nodes.map((node) => node.type).filter((type) => type !== 'n8n-nodes-base.stickyNote').sort()).toEqual(
			TEMPLATE.nodes.map((node) => String(node.type)).filter((type) => type !== 'n8n-nodes-base.stickyNote').sort(),
		);
	});
});

describe(`scenarios (${E2E_MODE} mode)`, () => {
	test("verification GET: Meta's challenge echoed for the right verify token, 403 otherwise, no execution", async () => {
		const ok = await verifyWebhook(eventsUrl(), VERIFY_TOKEN, '987654321');
		expect(ok.status).toBe(200);
		expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
		expect(await ok.text()).toBe('987654321');
		const wrong = await verifyWebhook(eventsUrl(), 'not-the-token', '987654321');
		expect(wrong.status).toBe(403);
		expect(await wrong.text()).not.toContain('987654321');
		const missing = await verifyWebhook(eventsUrl(), undefined);
		expect(missing.status).toBe(403);
		await noMoreExecutionsThan(0, 500);
	});

	test('text round trip: read receipt with typing, the agent gets the BYOA fields, the reply reaches the customer', async () => {
		const { status, id } = await customerWrites('Does it come in blue?');
		expect(status).toBe(200);
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		expect(execution.mode).toBe('webhook');
		expect(nodesThatRan(execution).sort()).toEqual([AGENT, MARK_READ, REPLY, TRIGGER].sort());

		expect(graph.reads).toEqual([expect.objectContaining({ phoneNumberId: FAKE_PHONE_NUMBER_ID, messageId: id, typing: true })]);
		const [readRequest] = graph.requestsTo('messages.read');
		expect(readRequest.json).toMatchObject({ messaging_product: 'whatsapp', status: 'read', message_id: id, typing_indicator: { type: 'text' } });
		expect(readRequest.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);

		expect(agent.requests).toHaveLength(1);
		const request = agentRequest().json as Record<string, unknown>;
		expect(request).toMatchObject({
			message: 'Does it come in blue?',
			image: null,
			phone_number: `+${CUSTOMER}`,
			reply_callback: expect.stringMatching(new RegExp(`^${n8n.webhookUrl(WEBHOOK_ID, 'reply').replace(/[.?]/g, '\\$&')}\\?token=`)),
			message_id: id,
			type: 'text',
			name: 'Sheena Nelson',
			conversation_id: `+${CUSTOMER}`,
		});
		expect(Date.parse(String(request.timestamp))).not.toBeNaN();
		// The read receipt went out before the agent was asked.
		expect(readRequest.at).toBeLessThanOrEqual(agentRequest().receivedAt);

		expect(graph.sent).toHaveLength(1);
		expect(graph.sent[0]).toMatchObject({ phoneNumberId: FAKE_PHONE_NUMBER_ID, waId: CUSTOMER, type: 'text', payload: { text: { body: 'You said: Does it come in blue?' } } });

		const [triggerItem] = nodeOutput(execution, TRIGGER, 0);
		expect(triggerItem).toMatchObject({ message: 'Does it come in blue?', phone_number: `+${CUSTOMER}`, messageId: id, type: 'text', phoneNumberId: FAKE_PHONE_NUMBER_ID });
		expect(nodeOutput(execution, MARK_READ)[0]).toMatchObject({ messageId: id, markedAsRead: expect.anything() });
		expect(nodeOutput(execution, AGENT)[0]).toMatchObject({
			phone_number: `+${CUSTOMER}`,
			phoneNumberId: FAKE_PHONE_NUMBER_ID,
			replyTo: id,
			noReply: false,
			messages: [{ type: 'text', text: 'You said: Does it come in blue?' }],
			agent: { status: 200 },
		});
		expect(nodeOutput(execution, REPLY)).toEqual([expect.objectContaining({ messageId: graph.sent[0].id, to: expect.stringContaining(CUSTOMER), type: 'text', part: 1, parts: 1 })]);
	});

	test('a photo: the agent gets an image URL it can fetch without Meta credentials, and the caption as message', async () => {
		const bytes = Buffer.from('\xff\xd8\xff\xe0 fake jpeg bytes for the e2e test', 'latin1');
		const mediaId = graph.addMedia(bytes, 'image/jpeg');
		const body = loadFixture('image');
		const message = body.entry[0].changes[0].value.messages[0];
		message.id = uniqueId('image');
		message.image.id = mediaId;
		expect(await post(body)).toBe(200);
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		const request = agentRequest().json as Record<string, unknown>;
		expect(request).toMatchObject({ message: 'Taj Mahal', type: 'image', image: expect.stringContaining(`/webhook/${WEBHOOK_ID}/media`) });
		const image = await fetch(String(request.image));
		expect(image.status).toBe(200);
		expect(Buffer.from(await image.arrayBuffer())).toEqual(bytes);
		expect(image.headers.get('content-type')).toMatch(/^image\/jpeg/);
	});

	test('long reply: split into ordered parts of at most 4096 characters, each sent once', async () => {
		const paragraphs = Array.from({ length: 30 }, (_, index) => `Paragraph ${index + 1}: ${'lorem ipsum dolor sit amet '.repeat(15).trim()}.`);
		const long = paragraphs.join('\n\n');
		expect(long.length).toBeGreaterThan(3 * 4096);
		agent.setDefault({ body: { content: long } });
		await customerWrites('Tell me everything');
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		const bodies = graph.sent.map((sent) => (sent.payload.text as { body: string }).body);
		expect(bodies.length).toBeGreaterThanOrEqual(4);
		for (const body of bodies) expect(body.length).toBeLessThanOrEqual(4096);
		expect(new Set(graph.sent.map((sent) => sent.id)).size).toBe(bodies.length);
		expect(new Set(bodies).size).toBe(bodies.length);
		// Order and content kept: the parts put back together are the text (split at paragraph breaks).
		expect(bodies.join('\n\n').replace(/\s+/g, ' ')).toBe(long.replace(/\s+/g, ' '));
		for (const body of bodies) expect(body).toMatch(/^Paragraph \d+:/);
		const outputs = nodeOutput(execution, REPLY);
		expect(outputs.map((output) => output.part)).toEqual(bodies.map((_, index) => index + 1));
		expect(outputs.every((output) => output.parts === bodies.length)).toBe(true);
	});

	test('rich replies: image, location and contact card, in order', async () => {
		agent.setDefault({
			body: {
				messages: [
					{ image: 'https://cdn.example.com/blue-shirt.jpg', caption: 'Here it is in blue' },
					{ location: { latitude: 52.52, longitude: 13.405, name: 'Our shop', address: 'Alexanderplatz 1, Berlin' } },
					{ contact: { name: 'Support Team', phone: '+4930123456' } },
				],
			},
		});
		await customerWrites('Show me');
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		expect(graph.sent.map((sent) => sent.type)).toEqual(['image', 'location', 'contacts']);
		expect(graph.sent[0].payload.image).toMatchObject({ link: 'https://cdn.example.com/blue-shirt.jpg', caption: 'Here it is in blue' });
		expect(graph.sent[1].payload.location).toMatchObject({ latitude: 52.52, longitude: 13.405, name: 'Our shop', address: 'Alexanderplatz 1, Berlin' });
		const [card] = graph.sent[2].payload.contacts as Array<{ name: { formatted_name: string }; phones: Array<{ phone: string }> }>;
		expect(card.name.formatted_name).toBe('Support Team');
		expect(card.phones[0].phone).toBe('+4930123456');
		for (const sent of graph.sent) expect(sent.waId).toBe(CUSTOMER);
	});

	test('no reply (204, {"type":"no_reply"}, "No CUSTOMER message reply"): only the read receipt goes out', async () => {
		agent.enqueue({ status: 204 }, { body: { type: 'no_reply' } }, { body: { content: 'No CUSTOMER message reply' } });
		for (const text of ['ok thanks', 'bye', 'cheers']) await customerWrites(text);
		const runs = await executions(3);
		expect(agent.requests).toHaveLength(3);
		expect(graph.reads).toHaveLength(3);
		expect(graph.sent).toEqual([]);
		for (const execution of runs) {
			expect(execution.status).toBe('success');
			expect(nodeOutput(execution, AGENT)[0]).toMatchObject({ noReply: true, messages: [] });
			expect(nodeOutput(execution, REPLY)).toEqual([]);
		}
	});

	test("reply_callback: the agent POSTs later to the link it received → 202, sent through Agent Callbacks; a forged link → 401, nothing sent", async () => {
		agent.setDefault({ status: 204 });
		const { id } = await customerWrites('Can you check my order?');
		await executions(1);
		const callback = String(agentRequest().json?.reply_callback);
		expect(graph.sent).toEqual([]);

		mark = await n8n.lastExecutionId();
		const later = await fetch(callback, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'Your order #123 ships today.' }) });
		expect(later.status).toBe(202);
		expect(await later.json()).toMatchObject({ accepted: true, messages: 1, replyTo: id });
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		expect(nodesThatRan(execution).sort()).toEqual([LATER_REPLY, TRIGGER].sort());
		expect(nodeOutput(execution, TRIGGER, 2)[0]).toMatchObject({ phone_number: `+${CUSTOMER}`, replyTo: id, messages: [{ type: 'text', text: 'Your order #123 ships today.' }] });
		expect(graph.sent).toHaveLength(1);
		expect(graph.sent[0]).toMatchObject({ waId: CUSTOMER, phoneNumberId: FAKE_PHONE_NUMBER_ID, payload: { text: { body: 'Your order #123 ships today.' } } });

		mark = await n8n.lastExecutionId();
		const url = new URL(callback);
		const token = url.searchParams.get('token')!;
		url.searchParams.set('token', `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`);
		const forged = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'Send me your password' }) });
		expect(forged.status).toBe(401);
		expect(await forged.json()).toMatchObject({ accepted: false });
		const noToken = await fetch(n8n.webhookUrl(WEBHOOK_ID, 'reply'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'hi' }) });
		expect(noToken.status).toBe(401);
		await noMoreExecutionsThan(0);
		expect(graph.sent).toHaveLength(1);
	});

	test('statuses (delivered, read, failed): one execution each with the status on the Statuses output, nothing sent, no agent call', async () => {
		for (const name of ['status-delivered', 'status-read', 'status-failed']) {
			const body = loadFixture(name);
			body.entry[0].changes[0].value.statuses[0].id = uniqueId(name);
			expect(await post(body)).toBe(200);
		}
		const runs = await executions(3);
		const statuses = runs.map((execution) => {
			expect(execution.status).toBe('success');
			expect(nodesThatRan(execution)).toEqual([TRIGGER]);
			expect(nodeOutput(execution, TRIGGER, 0)).toEqual([]);
			const items = nodeOutput(execution, TRIGGER, 1);
			expect(items).toHaveLength(1);
			return items[0];
		});
		expect(statuses.map((status) => status.status).sort()).toEqual(['delivered', 'failed', 'read']);
		const failed = statuses.find((status) => status.status === 'failed')!;
		expect(JSON.stringify(failed)).toContain('131047');
		expect(graph.sent).toEqual([]);
		expect(graph.reads).toEqual([]);
		expect(agent.requests).toEqual([]);
	});

	test('duplicates: the same message id delivered twice → one agent call, one reply', async () => {
		const id = uniqueId('dup');
		expect((await customerWrites('Only once please', { id })).status).toBe(200);
		await executions(1);
		expect((await customerWrites('Only once please', { id })).status).toBe(200);
		// A different message after the duplicate: once it is done, a duplicate run would be too.
		await customerWrites('A different message');
		await executions(2);
		await new Promise((resolve) => setTimeout(resolve, 1000));
		const runs = await Promise.all((await n8n.executions({ workflowId: WORKFLOW_ID, afterId: mark })).map((run) => n8n.execution(run.id)));
		// One process: its memory drops the redelivery before any run. Queue mode: the redelivery
		// may reach the other webhook process, whose run ends in the trigger's step (the message is
		// already claimed in n8n's database) without emitting anything.
		const answered = runs.filter((run) => nodesThatRan(run).includes(AGENT));
		expect(answered).toHaveLength(2);
		for (const run of runs.filter((candidate) => !answered.includes(candidate))) {
			expect(E2E_MODE).toBe('queue');
			expect(nodesThatRan(run)).toEqual([TRIGGER]);
			expect(nodeOutput(run, TRIGGER, 0)).toEqual([]);
		}
		expect(agent.requests.map((request) => request.json?.message_id)).toEqual([id, expect.not.stringMatching(id)]);
		expect(graph.sent.map((sent) => (sent.payload.text as { body: string }).body)).toEqual(['You said: Only once please', 'You said: A different message']);
	});

	test('a batch: three messages from three customers in one POST → three agent calls and three replies, each to its sender', async () => {
		const customers = [
			{ from: '4915112345678', name: 'Anna', text: 'Hallo' },
			{ from: '33612345678', name: 'Louis', text: 'Bonjour' },
			{ from: '5511987654321', name: 'Bia', text: 'Olá' },
		];
		const body = webhookBody({
			contacts: customers.map((customer) => ({ profile: { name: customer.name }, wa_id: customer.from })),
			messages: customers.map((customer) => ({ from: customer.from, id: uniqueId('batch'), timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: customer.text } })),
		});
		expect(await post(body)).toBe(200);
		const runs = await executions(1);
		await noMoreExecutionsThan(1, 500);
		expect(runs[0].status).toBe('success');
		expect(nodeOutput(runs[0], TRIGGER, 0)).toHaveLength(3);
		expect(agent.requests.map((request) => [request.json?.phone_number, request.json?.message, request.json?.name])).toEqual(
			customers.map((customer) => [`+${customer.from}`, customer.text, customer.name]),
		);
		expect(graph.reads).toHaveLength(3);
		expect(graph.sent.map((sent) => [sent.waId, (sent.payload.text as { body: string }).body]).sort()).toEqual(
			customers.map((customer) => [customer.from, `You said: ${customer.text}`]).sort(),
		);
	});

	test('unicode: emoji and umlauts signed in Meta’s \\uXXXX form reach the agent as real characters, and the reply keeps them', async () => {
		const text = 'Grüße aus München 👋🏽 — ¿qué tal? 你好 👨‍👩‍👧';
		const body = webhookBody({
			contacts: [{ profile: { name: 'Jürgen Müller' }, wa_id: CUSTOMER }],
			messages: [{ from: CUSTOMER, id: uniqueId('unicode'), timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
		});
		agent.setDefault((request) => ({ body: { content: `Echo: ${request.json?.message} 🙂` } }));
		const wire = serializeLikeMeta(body);
		expect(wire).toContain('\\u00fc');
		expect(wire).toContain('\\ud83d\\udc4b');
		expect([...wire].every((char) => char.charCodeAt(0) < 0x80)).toBe(true);
		const response = await fetch(eventsUrl(), { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signLikeMeta(wire, APP_SECRET) }, body: wire });
		expect(response.status).toBe(200);
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		expect(agentRequest().json).toMatchObject({ message: text, name: 'Jürgen Müller' });
		expect(agentRequest().rawBody.toString('utf8')).toContain('München 👋🏽');
		expect((graph.sent[0].payload.text as { body: string }).body).toBe(`Echo: ${text} 🙂`);
	});

	test('Graph API faults: 500, then 429 with code 130429 → the reply is retried and delivered exactly once', async () => {
		graph.fail({ status: 500 }, { route: 'messages' });
		graph.fail({ status: 429, code: 130429, retryAfter: 1 }, { route: 'messages' });
		await customerWrites('Are you there?');
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		expect(graph.requestsTo('messages').map((request) => request.status)).toEqual([500, 429, 200]);
		expect(graph.sent).toHaveLength(1);
		expect((graph.sent[0].payload.text as { body: string }).body).toBe('You said: Are you there?');
		expect(nodeOutput(execution, REPLY)).toHaveLength(1);
	});

	test('a failing read receipt never blocks the reply (Mark as Read continues on error)', async () => {
		graph.fail({ code: 131009, details: 'Message ID is not valid' }, { route: 'messages.read' });
		await customerWrites('Still answer me');
		const [execution] = await executions(1);
		expect(execution.status).toBe('success');
		expect(graph.reads).toEqual([]);
		expect(agent.requests).toHaveLength(1);
		expect(agentRequest().json).toMatchObject({ message: 'Still answer me', phone_number: `+${CUSTOMER}` });
		expect(graph.sent).toHaveLength(1);
		expect(graph.sent[0].waId).toBe(CUSTOMER);
		// The customer's item goes on, with the error added.
		expect(nodeOutput(execution, MARK_READ)[0]).toMatchObject({ message: 'Still answer me', error: expect.anything() });
	});

	test('agent down: connection refused, then HTTP 500 → the customer gets the fallback message', async () => {
		await agentFront.down();
		await customerWrites('Hello? (agent offline)');
		const [refused] = await executions(1);
		expect(agent.requests).toEqual([]);
		expect(refused.status).toBe('success');
		expect(nodeOutput(refused, AGENT)[0]).toMatchObject({ messages: [{ type: 'text', text: FALLBACK }], agent: { error: expect.anything() } });
		expect(graph.sent.map((sent) => (sent.payload.text as { body: string }).body)).toEqual([FALLBACK]);
		expect(graph.sent[0].waId).toBe(CUSTOMER);

		await agentFront.up();
		graph.reset();
		agent.setDefault({ status: 500, body: { error: 'agent crashed' } });
		mark = await n8n.lastExecutionId();
		await customerWrites('Hello? (agent broken)');
		const [failing] = await executions(1);
		expect(failing.status).toBe('success');
		// Retried (2 retries by default), then the fallback.
		expect(agent.requests).toHaveLength(3);
		expect(nodeOutput(failing, AGENT)[0]).toMatchObject({ messages: [{ type: 'text', text: FALLBACK }], agent: { error: expect.anything() } });
		expect(graph.sent.map((sent) => (sent.payload.text as { body: string }).body)).toEqual([FALLBACK]);
	});

	test('Meta refuses the reply (131047, outside the 24-hour window): the execution fails with a readable error that holds no token', async () => {
		graph.fail({ code: 131047 }, { route: 'messages' });
		await customerWrites('Reply after a day');
		const [execution] = await executions(1);
		expect(execution.status).toBe('error');
		expect(graph.sent).toEqual([]);
		// Not retried: a client error.
		expect(graph.requestsTo('messages')).toHaveLength(1);
		const failure = execution.data.resultData.runData[REPLY][0].error;
		expect(`${failure?.message} ${failure?.description}`).toMatch(/131047|24/);
		expect(JSON.stringify(execution.data)).not.toContain(ACCESS_TOKEN);
	});

	test('a rejected access token (401, code 190): the execution fails with a readable error that holds no token', async () => {
		graph.setToken('EAAsomeOtherTokenThatIsValidNow');
		await customerWrites('Token test');
		const [execution] = await executions(1);
		expect(execution.status).toBe('error');
		expect(graph.sent).toEqual([]);
		const failure = execution.data.resultData.runData[REPLY][0].error;
		expect(`${failure?.message} ${failure?.description}`).toMatch(/190|token/i);
		expect(JSON.stringify(execution.data)).not.toContain(ACCESS_TOKEN);
		// Mark as Read failed too (same token) but continued.
		expect(nodeOutput(execution, MARK_READ)[0]).toMatchObject({ error: expect.anything() });
		expect(JSON.stringify(execution.workflowData)).not.toContain(ACCESS_TOKEN);
	});

	test("the access token and the app secret never appear in n8n's log", () => {
		const log = n8n.logs();
		expect(log.length).toBeGreaterThan(0);
		expect(log).not.toContain(ACCESS_TOKEN);
		expect(log).not.toContain(APP_SECRET);
		expect(log).not.toContain(VERIFY_TOKEN);
	});
});

describe('deactivation and a Graph API without webhook overrides', () => {
	test("unpublishing the template removes the phone number's override (it was still ours); the webhook is gone", async () => {
		expect(meta.phoneOverride(FAKE_PHONE_NUMBER_ID)).toBe(eventsUrl());
		const result = await rest.unpublish(WORKFLOW_ID);
		expect({ ok: result.ok, message: result.message, status: result.status ?? 'not_published' }).toEqual({ ok: true, message: '', status: 'not_published' });
		expect(meta.phoneOverride(FAKE_PHONE_NUMBER_ID)).toBeUndefined();
		// Back to the app's own callback URL; the business account's subscription untouched.
		expect(meta.deliveryUrl(FAKE_PHONE_NUMBER_ID)).not.toBe(eventsUrl());
		expect(meta.isSubscribed(FAKE_WABA_ID)).toBe(true);
		// n8n calls delete once per `default` webhook (2.41 runs both at once, so both may remove): only removals.
		const sets = graph.requestsTo('webhooks.phone.set').map((request) => request.json);
		expect(sets.length).toBeGreaterThanOrEqual(1);
		for (const body of sets) expect(body).toEqual({ webhook_configuration: { override_callback_uri: '' } });
		expect(n8n.logs()).toContain(`removed ${eventsUrl()} from phone number ${FAKE_PHONE_NUMBER_ID}`);
		const gone = await verifyWebhook(eventsUrl(), VERIFY_TOKEN);
		expect(gone.status).toBe(404);
	});

	test('publishing again registers the override again (Meta verifies the URL while n8n activates)', async () => {
		const before = meta.verifications.length;
		const result = await rest.publish(WORKFLOW_ID);
		expect({ ok: result.ok, message: result.message }).toEqual({ ok: true, message: '' });
		expect(meta.phoneOverride(FAKE_PHONE_NUMBER_ID)).toBe(eventsUrl());
		expect(meta.verifications.slice(before).map((attempt) => attempt.ok)).toEqual([true]);
		const { status } = await customerWrites('Back again');
		expect(status).toBe(200);
		await executions(1);
		expect(graph.sent).toHaveLength(1);
	});

	test('a Graph API without the override endpoints (or an API version without the field): publishing still works, and n8n\'s log says what to set by hand', async () => {
		const result = await rest.publish(PLAIN_COPY_ID);
		expect({ ok: result.ok, message: result.message }).toEqual({ ok: true, message: '' });
		// Meta answers "(#100) Tried accessing nonexisting field (webhook_configuration)": the trigger
		// steps aside with a warning naming the URL, instead of a workflow that cannot be activated.
		expect(plainGraph.requests.some((request) => /fields=webhook_configuration/.test(request.url))).toBe(true);
		const plainUrl = n8n.webhookUrl(PLAIN_COPY_WEBHOOK_ID, 'webhook');
		expect(n8n.logs()).toMatch(/do not offer Meta's webhook overrides \(HTTP 400\), so automatic webhook setup was skipped/);
		expect(n8n.logs()).toContain(`Set the callback URL ${plainUrl}`);
		expect(n8n.logs()).not.toContain(ACCESS_TOKEN);
		// The trigger is live: Meta's verification (pasted by hand) works.
		const verification = await verifyWebhook(plainUrl, VERIFY_TOKEN, '424242');
		expect(verification.status).toBe(200);
		expect(await verification.text()).toBe('424242');
	});
});
