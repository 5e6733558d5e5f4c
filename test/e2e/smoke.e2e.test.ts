/**
 * Smoke test of the real-n8n runtime: a pinned n8n (N8N_E2E_VERSION, default 2.41.1) boots
 * with this package installed as a community package, loads its node and credential types
 * under their real names, runs a workflow end to end over HTTP, records the execution where
 * the suite reads it, and stops without leaving a process behind.
 */
import { existsSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';

import { E2E_N8N_VERSION, N8N_BOOT_TIMEOUT_MS, REPO_ROOT, nodeOutput, nodesThatRan, startN8n, type N8nInstance, type WorkflowJson } from './support/n8n-instance';

const PKG = 'n8n-nodes-whatsapp-agent';
const CREDENTIAL_TYPES = ['whatsAppCloudApi', 'whatsAppWebhookApi', 'externalAgentApi'];
/** Node types of the package, each expected once its source exists in this checkout. */
const NODE_SOURCES: Record<string, string> = {
	whatsAppAgentTrigger: 'nodes/WhatsAppAgentTrigger/WhatsAppAgentTrigger.node.ts',
	callExternalAgent: 'nodes/CallExternalAgent/CallExternalAgent.node.ts',
	sendWhatsApp: 'nodes/SendWhatsApp/SendWhatsApp.node.ts',
};
const expectedNodes = Object.keys(NODE_SOURCES).filter((name) => existsSync(join(REPO_ROOT, NODE_SOURCES[name])));
const triggerExists = expectedNodes.includes('whatsAppAgentTrigger');

const VERIFY_TOKEN = 'smoke-verify-token';
const HARNESS_PATH = 'e2e-smoke-probe';
const TRIGGER_WEBHOOK_ID = '5f0c2f55-6a8e-4c5b-9d0e-7f1a2b3c4d5e';

/** n8n's own Webhook node → No Operation: proves import, publish, webhooks and executions. */
const harnessWorkflow: WorkflowJson = {
	id: 'e2eSmokeHarness1',
	name: 'E2E smoke (built-in nodes)',
	nodes: [
		{
			id: '0b7c6a1e-0000-4000-8000-000000000001',
			name: 'Webhook',
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2,
			position: [0, 0],
			webhookId: 'a3d1e6f2-0000-4000-8000-000000000002',
			parameters: { httpMethod: 'GET', path: HARNESS_PATH, responseMode: 'onReceived', options: {} },
		},
		{
			id: '0b7c6a1e-0000-4000-8000-000000000003',
			name: 'Done',
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: [220, 0],
			parameters: {},
		},
	],
	connections: { Webhook: { main: [[{ node: 'Done', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
	active: false,
};

/** The package's trigger alone, manual webhook setup: answers Meta's GET verification. */
const triggerWorkflow: WorkflowJson = {
	id: 'e2eSmokeTrigger1',
	name: 'E2E smoke (WhatsApp Agent Trigger)',
	nodes: [
		{
			id: '0b7c6a1e-0000-4000-8000-000000000004',
			name: 'WhatsApp Agent Trigger',
			type: `${PKG}.whatsAppAgentTrigger`,
			typeVersion: 1,
			position: [0, 0],
			webhookId: TRIGGER_WEBHOOK_ID,
			parameters: { webhookSetup: 'manual' },
			credentials: {
				whatsAppWebhookApi: { id: 'e2eSmokeWebhook1', name: 'Smoke webhook' },
				whatsAppCloudApi: { id: 'e2eSmokeCloudAp1', name: 'Smoke cloud' },
			},
		},
	],
	connections: {},
	settings: { executionOrder: 'v1' },
	active: false,
};

let n8n: N8nInstance;

beforeAll(async () => {
	n8n = await startN8n({
		credentials: [
			{ id: 'e2eSmokeWebhook1', name: 'Smoke webhook', type: 'whatsAppWebhookApi', data: { verifyToken: VERIFY_TOKEN, appSecret: 'smoke-app-secret' } },
			{
				id: 'e2eSmokeCloudAp1',
				name: 'Smoke cloud',
				type: 'whatsAppCloudApi',
				// Nothing listens there: the smoke test never sends.
				data: { accessToken: 'smoke-token', phoneNumberId: '1000000001', apiVersion: 'v24.0', graphApiBaseUrl: 'http://127.0.0.1:9' },
			},
		],
		workflows: triggerExists ? [harnessWorkflow, triggerWorkflow] : [harnessWorkflow],
		waitFor: triggerExists ? [{ webhookId: TRIGGER_WEBHOOK_ID, path: 'webhook', method: 'GET' }] : [],
	});
	// The built-in Webhook node's production URL is /webhook/<path>.
	await n8n.waitForUrl(`${n8n.webhookBase}webhook/${HARNESS_PATH}`, 'GET');
	process.stderr.write(
		`[smoke] n8n ${n8n.version}: ${JSON.stringify(n8n.timings)}\n`,
	);
}, N8N_BOOT_TIMEOUT_MS);

afterAll(async () => {
	await n8n?.stop();
});

test(`n8n ${E2E_N8N_VERSION} loads the package's credential types under their real names`, () => {
	const names = n8n.loadedTypes().credentials.map((t) => t.name);
	for (const name of CREDENTIAL_TYPES) expect(names).toContain(name);
});

test(`n8n ${E2E_N8N_VERSION} loads the package's node types as ${PKG}.<name>`, () => {
	const names = n8n.loadedTypes().nodes.map((t) => t.name);
	const ours = names.filter((name) => name.startsWith(`${PKG}.`));
	expect(ours.length).toBeGreaterThan(0);
	for (const name of expectedNodes) expect(ours).toContain(`${PKG}.${name}`);
	// n8n's own nodes are there too, and nothing loaded under the local-extension prefix.
	expect(names).toContain('n8n-nodes-base.webhook');
	expect(names.filter((name) => name.startsWith('CUSTOM.'))).toEqual([]);
});

test('a published workflow answers on its production webhook and its execution is readable', async () => {
	const before = await n8n.lastExecutionId();
	const started = Date.now();
	const res = await fetch(`${n8n.webhookBase}webhook/${HARNESS_PATH}?probe=smoke-42`);
	expect(res.status).toBe(200);
	const [execution] = await n8n.waitForExecutions({ workflowId: harnessWorkflow.id, afterId: before, count: 1 });
	process.stderr.write(`[smoke] webhook → finished execution readable in ${Date.now() - started} ms\n`);
	expect(execution.status).toBe('success');
	expect(execution.mode).toBe('webhook');
	expect(nodesThatRan(execution).sort()).toEqual(['Done', 'Webhook']);
	const [item] = nodeOutput(execution, 'Done');
	expect((item.query as Record<string, string>).probe).toBe('smoke-42');
});

(triggerExists ? test : test.skip)("the package's trigger answers Meta's GET verification with the challenge", async () => {
	const url = new URL(n8n.webhookUrl(TRIGGER_WEBHOOK_ID, 'webhook'));
	url.searchParams.set('hub.mode', 'subscribe');
	url.searchParams.set('hub.verify_token', VERIFY_TOKEN);
	url.searchParams.set('hub.challenge', '1158201444');
	const res = await fetch(url);
	expect(res.status).toBe(200);
	expect(await res.text()).toBe('1158201444');

	url.searchParams.set('hub.verify_token', 'wrong');
	const refused = await fetch(url);
	expect(refused.status).toBe(403);
});

function portFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const server = createServer();
		server.once('error', () => resolve(false));
		server.listen({ port, host: '127.0.0.1' }, () => server.close(() => resolve(true)));
	});
}

test('stop() ends n8n and its task runner (both ports free again)', async () => {
	const { port, brokerPort } = n8n;
	expect(await portFree(port)).toBe(false);
	await n8n.stop();
	expect(await portFree(port)).toBe(true);
	expect(await portFree(brokerPort)).toBe(true);
});
