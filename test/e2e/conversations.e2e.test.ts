/**
 * Conversations (SPEC §10) in a real n8n: the template with Remember Conversations turned on
 * as a user turns it on (a WhatsApp Conversations credential holding an n8n API key made in
 * this n8n, the trigger's Conversation Events option, Send Later Reply recording), so the
 * conversation rows live in this n8n's own data table, reached through its public API. Meta
 * is a signed POST, WhatsApp the fake Graph API, the agent a scripted fake agent.
 *
 * Scenarios: a burst answered once, history carried to the next call, a handoff (Handoff
 * output, then Paused), a reply typed in the WhatsApp Business app (echo → paused), and Resume
 * Bot from another workflow (n8n's Webhook node → WhatsApp Conversation).
 */
import { readFileSync } from 'fs';
import { join } from 'path';

import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { deliverToWebhook, webhookBody } from '../fakes/meta-webhook';
import { E2E_MODE, startE2eN8n, type E2eN8n } from './support/launch';
import { N8nRest } from './support/n8n-rest';
import {
	E2E_N8N_VERSION,
	N8N_BOOT_TIMEOUT_MS,
	REPO_ROOT,
	nodeOutput,
	nodesThatRan,
	type ExecutionRecord,
	type WorkflowJson,
} from './support/n8n-instance';
import { credentialNamesOf } from './support/n8n-types';

const PKG = 'n8n-nodes-whatsapp-agent';
const TEMPLATE = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json'), 'utf8')) as WorkflowJson;
const WORKFLOW_ID = 'e2eConversation1';
const RESUME_WORKFLOW_ID = 'e2eConvResume001';
const WEBHOOK_ID = '7d1c9e2a-4b3f-4a6e-9c8d-2e1f0a9b8c7d';
const RESUME_PATH = 'e2e-resume-bot';
const AGENT = 'Call External Agent';
const APP_SECRET = 'e2e-conversations-app-secret-91f3';
const ACCESS_TOKEN = 'EAAe2eConversationsAccessToken4Hs8Wq';
const CONVERSATIONS_CREDENTIAL = { id: 'e2eConversApi001', name: 'WhatsApp Conversations' };
const QUIET_SECONDS = 1.5;

let n8n: E2eN8n;
let graph: FakeGraphApi;
let agent: FakeAgent;
let rest: N8nRest;
let apiKey = '';
let mark = '0';
let sequence = 0;

function conversationsTemplate(agentUrl: string): WorkflowJson {
	const workflow = structuredClone(TEMPLATE);
	workflow.id = WORKFLOW_ID;
	workflow.name = 'WhatsApp agent with conversations (e2e)';
	for (const node of workflow.nodes) {
		const parameters = node.parameters as Record<string, unknown>;
		const credentials = (node.credentials ?? {}) as Record<string, unknown>;
		if (node.type === `${PKG}.whatsAppAgentTrigger`) {
			node.webhookId = WEBHOOK_ID;
			parameters.webhookSetup = 'manual';
			parameters.options = { conversationEvents: true };
		}
		if (node.name === AGENT) {
			Object.assign(parameters, { url: agentUrl, conversations: true, conversationOptions: { quietSeconds: QUIET_SECONDS, pauseMinutes: 60 } });
			node.credentials = { ...credentials, whatsAppConversationsApi: CONVERSATIONS_CREDENTIAL };
		}
		if (node.name === 'Send Later Reply') {
			parameters.recordInConversation = 'agent';
			node.credentials = { ...credentials, whatsAppConversationsApi: CONVERSATIONS_CREDENTIAL };
		}
	}
	return workflow;
}

/** Another workflow: a POST to n8n's Webhook node hands the customer back to the bot. */
function resumeWorkflow(customer: string): WorkflowJson {
	return {
		id: RESUME_WORKFLOW_ID,
		name: 'Resume the bot (e2e)',
		active: false,
		settings: { executionOrder: 'v1' },
		connections: { 'Human is done': { main: [[{ node: 'Resume Bot', type: 'main', index: 0 }]] } },
		nodes: [
			{
				id: 'c0a1b2c3-0000-4000-8000-000000000001',
				name: 'Human is done',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: 'c0a1b2c3-0000-4000-8000-0000000000ff',
				parameters: { httpMethod: 'POST', path: RESUME_PATH, options: {} },
			},
			{
				id: 'c0a1b2c3-0000-4000-8000-000000000002',
				name: 'Resume Bot',
				type: `${PKG}.whatsAppConversation`,
				typeVersion: 1,
				position: [240, 0],
				parameters: { operation: 'resume', customer: `+${customer}`, phoneNumberId: graph.phoneNumberId, reason: 'The human is done' },
				credentials: { whatsAppConversationsApi: CONVERSATIONS_CREDENTIAL },
			},
		],
	} as unknown as WorkflowJson;
}

const RESUMED_CUSTOMER = '16505550404';

const eventsUrl = () => n8n.webhookUrl(WEBHOOK_ID, 'webhook');

async function customerWrites(text: string, from: string): Promise<string> {
	const id = `wamid.E2ECONV${Date.now().toString(36)}${(sequence += 1)}`;
	const body = webhookBody({
		contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: from }],
		messages: [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
	});
	const response = await deliverToWebhook(eventsUrl(), body, APP_SECRET);
	expect(response.status).toBe(200);
	await response.arrayBuffer();
	return id;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function executions(count: number): Promise<ExecutionRecord[]> {
	return await n8n.waitForExecutions({ workflowId: WORKFLOW_ID, afterId: mark, count, timeoutMs: 30_000 });
}

const sentTexts = (to: string) => graph.sent.filter((message) => message.to === to || message.to === `+${to}`).map((message) => (message.payload.text as { body: string } | undefined)?.body);

beforeAll(async () => {
	graph = await startFakeGraphApi({ token: ACCESS_TOKEN });
	agent = await startFakeAgent();
	const names = credentialNamesOf(TEMPLATE);
	n8n = await startE2eN8n({
		credentials: [
			{ id: 'e2eConvWebhook01', name: names.get('whatsAppWebhookApi')!, type: 'whatsAppWebhookApi', data: { verifyToken: 'conversations', appSecret: APP_SECRET } },
			{ id: 'e2eConvCloudApi1', name: names.get('whatsAppCloudApi')!, type: 'whatsAppCloudApi', data: graph.credentials() },
			{ id: 'e2eConvAgentApi1', name: names.get('externalAgentApi')!, type: 'externalAgentApi', data: { authentication: 'none' } },
			// The key is made once n8n runs (below); until then the credential holds a placeholder.
			{ ...CONVERSATIONS_CREDENTIAL, type: 'whatsAppConversationsApi', data: { baseUrl: 'http://127.0.0.1:1/api/v1', apiKey: 'placeholder', tableName: 'WhatsApp Agent conversations' } },
		],
		workflows: [conversationsTemplate(`${agent.url}`), resumeWorkflow(RESUMED_CUSTOMER)],
		publish: [WORKFLOW_ID, RESUME_WORKFLOW_ID],
		waitFor: [{ webhookId: WEBHOOK_ID, path: 'webhook', method: 'GET' }],
	});
	rest = await N8nRest.setupOwner(n8n.baseUrl);
	await rest.settled(WORKFLOW_ID);
	await rest.settled(RESUME_WORKFLOW_ID);
	// What a user does once: Settings → n8n API → Create an API key, pasted into the credential.
	const scopes = await rest.request('GET', '/api-keys/scopes');
	expect(scopes.ok).toBe(true);
	const created = await rest.request('POST', '/api-keys', { label: 'WhatsApp conversations', scopes: (scopes.body as { data: string[] }).data, expiresAt: null });
	expect(created.ok).toBe(true);
	apiKey = String((created.body as { data: { rawApiKey: string } }).data.rawApiKey);
	const updated = await rest.request('PATCH', `/credentials/${CONVERSATIONS_CREDENTIAL.id}`, {
		name: CONVERSATIONS_CREDENTIAL.name,
		type: 'whatsAppConversationsApi',
		data: { baseUrl: `${n8n.baseUrl}/api/v1`, apiKey, tableName: 'WhatsApp Agent conversations' },
	});
	expect(updated.ok).toBe(true);
	process.stderr.write(`[conversations e2e] n8n ${n8n.version} up: ${JSON.stringify(n8n.timings)}\n`);
}, N8N_BOOT_TIMEOUT_MS);

afterAll(async () => {
	await n8n?.stop();
	await agent?.close();
	await graph?.close();
});

beforeEach(async () => {
	graph.reset();
	agent.reset();
	agent.setDefault((request) => ({ body: { content: `You said: ${request.json?.message}` } }));
	mark = await n8n.lastExecutionId();
});

describe(`conversations in a real n8n (${E2E_N8N_VERSION}, ${E2E_MODE} mode)`, () => {
	test('a burst of three messages is one agent call and one reply; the next call carries the history', async () => {
		const from = '16505550101';
		const ids = [await customerWrites('Hi', from)];
		await sleep(250);
		ids.push(await customerWrites('I want', from));
		await sleep(250);
		ids.push(await customerWrites('a table for two tonight', from));
		const runs = await executions(3);
		expect(runs.every((run) => run.status === 'success')).toBe(true);
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.message).toBe('Hi\nI want\na table for two tonight');
		expect(agent.requests[0].json.messages).toHaveLength(3);
		expect(sentTexts(from)).toEqual(['You said: Hi\nI want\na table for two tonight']);
		// Each message still got its read receipt.
		expect(graph.reads.map((read) => read.messageId).sort()).toEqual([...ids].sort());

		mark = await n8n.lastExecutionId();
		await customerWrites('Is 8 pm possible?', from);
		await executions(1);
		expect(agent.requests).toHaveLength(2);
		expect(agent.requests[1].json.history.map((turn: { role: string; text: string }) => [turn.role, turn.text])).toEqual([
			['customer', 'Hi'],
			['customer', 'I want'],
			['customer', 'a table for two tonight'],
			['agent', 'You said: Hi\nI want\na table for two tonight'],
		]);
		// The rows are in n8n's own data table, visible under Overview → Data tables.
		const tables = await fetch(`${n8n.baseUrl}/api/v1/data-tables?limit=250`, { headers: { 'X-N8N-API-KEY': apiKey } });
		expect(((await tables.json()) as { data: Array<{ name: string }> }).data.map((table) => table.name)).toContain('WhatsApp Agent conversations');
	});

	test('a handoff: the customer is told, the Handoff output fires, the next message goes to Paused, not to the agent', async () => {
		const from = '16505550202';
		agent.enqueue({ body: { type: 'handoff', reason: 'refund', message: 'A colleague will write to you.' } });
		await customerWrites('I want my money back', from);
		const [first] = await executions(1);
		expect(sentTexts(from)).toEqual(['A colleague will write to you.']);
		expect(nodeOutput(first, AGENT, 1)).toEqual([expect.objectContaining({ phone_number: `+${from}`, reason: 'refund', paused: true })]);

		mark = await n8n.lastExecutionId();
		await customerWrites('Hello?', from);
		const [second] = await executions(1);
		expect(agent.requests).toHaveLength(1);
		expect(nodeOutput(second, AGENT, 0)).toEqual([]);
		expect(nodeOutput(second, AGENT, 2)).toEqual([expect.objectContaining({ message: 'Hello?', conversation: expect.objectContaining({ paused: true, pausedBy: 'agent' }) })]);
		expect(nodesThatRan(second)).not.toContain('Send Agent Reply');
	});

	test('a reply typed in the WhatsApp Business app pauses the bot; Resume Bot from another workflow hands it back', async () => {
		const from = RESUMED_CUSTOMER;
		const echo = {
			object: 'whatsapp_business_account',
			entry: [{
				id: '102290129340398',
				changes: [{
					field: 'smb_message_echoes',
					value: {
						messaging_product: 'whatsapp',
						metadata: { display_phone_number: '15550783881', phone_number_id: graph.phoneNumberId },
						message_echoes: [{ from: '15550783881', to: from, id: `wamid.E2EECHO${Date.now().toString(36)}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Marco here, I will help you.' } }],
					},
				}],
			}],
		};
		const response = await deliverToWebhook(eventsUrl(), echo, APP_SECRET);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ messages: 0, events: 1 });
		await executions(1);
		expect(agent.requests).toHaveLength(0);

		mark = await n8n.lastExecutionId();
		await customerWrites('Thanks Marco', from);
		const [paused] = await executions(1);
		expect(nodeOutput(paused, AGENT, 2)).toHaveLength(1);
		expect(agent.requests).toHaveLength(0);

		const resumed = await fetch(`${n8n.webhookBase}webhook/${RESUME_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		expect(resumed.status).toBe(200);
		await n8n.waitForExecutions({ workflowId: RESUME_WORKFLOW_ID, count: 1 });

		mark = await n8n.lastExecutionId();
		await customerWrites('One more question', from);
		await executions(1);
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].json.history.map((turn: { role: string; text: string }) => [turn.role, turn.text])).toEqual([
			['human', 'Marco here, I will help you.'],
			['customer', 'Thanks Marco'],
		]);
	});
});
