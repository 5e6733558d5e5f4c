/**
 * Call External Agent inside a real n8n (the pinned version, package installed as a community
 * package): WhatsApp Agent Trigger → Call External Agent → "Replied", with the node's
 * Settings → On Error → "Continue (using error output)" wired to "Agent Failed". A signed
 * Meta webhook starts each run; a fake agent on loopback answers. Proves, in n8n itself:
 * the credential's bearer token and signing reach the agent, the BYOA body is built from the
 * trigger item, the reply comes out ready for Send WhatsApp, and a failing agent lands on
 * n8n's error output with the customer's fields.
 */
import { createHmac } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';

import { verifyAgentSignature } from '../../core/agent-request';
import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';
import { N8N_BOOT_TIMEOUT_MS, REPO_ROOT, nodeOutput, nodesThatRan, startN8n, type N8nInstance, type WorkflowJson } from './support/n8n-instance';

const PKG = 'n8n-nodes-whatsapp-agent';
const TRIGGER_WEBHOOK_ID = '7a1d3c9e-5b2f-4e8a-9c6d-0e1f2a3b4c5d';
const APP_SECRET = 'e2e-agent-app-secret';
const BEARER = 'e2e-agent-bearer-token-123';
const SIGNING_SECRET = 'e2e-agent-signing-secret-0123456789';

let n8n: N8nInstance;
let agent: FakeAgent;

function workflow(agentUrl: string): WorkflowJson {
	return {
		id: 'e2eCallAgent0001',
		name: 'E2E Call External Agent',
		nodes: [
			{
				id: 'c0a1e000-0000-4000-8000-000000000001',
				name: 'WhatsApp Agent Trigger',
				type: `${PKG}.whatsAppAgentTrigger`,
				typeVersion: 1,
				position: [0, 0],
				webhookId: TRIGGER_WEBHOOK_ID,
				parameters: { webhookSetup: 'manual' },
				credentials: {
					whatsAppWebhookApi: { id: 'e2eAgentWebhook1', name: 'Agent e2e webhook' },
					whatsAppCloudApi: { id: 'e2eAgentCloudAp1', name: 'Agent e2e cloud' },
				},
			},
			{
				id: 'c0a1e000-0000-4000-8000-000000000002',
				name: 'Call External Agent',
				type: `${PKG}.callExternalAgent`,
				typeVersion: 1,
				position: [240, 0],
				onError: 'continueErrorOutput',
				parameters: { url: agentUrl, options: { retries: 0 } },
				credentials: { externalAgentApi: { id: 'e2eAgentExtApi01', name: 'Agent e2e credential' } },
			},
			{ id: 'c0a1e000-0000-4000-8000-000000000003', name: 'Replied', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [480, -100], parameters: {} },
			{ id: 'c0a1e000-0000-4000-8000-000000000004', name: 'Agent Failed', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [480, 100], parameters: {} },
		],
		connections: {
			'WhatsApp Agent Trigger': { main: [[{ node: 'Call External Agent', type: 'main', index: 0 }], [], []] },
			'Call External Agent': {
				main: [[{ node: 'Replied', type: 'main', index: 0 }], [{ node: 'Agent Failed', type: 'main', index: 0 }]],
			},
		},
		settings: { executionOrder: 'v1' },
		active: false,
	};
}

/** A Meta webhook with one text message, signed with the app secret as Meta signs it. */
async function customerWrites(text: string, messageId: string): Promise<number> {
	const body = JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/webhooks/text.json'), 'utf8'));
	const message = body.entry[0].changes[0].value.messages[0];
	message.text.body = text;
	message.id = messageId;
	const raw = JSON.stringify(body);
	const signature = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
	const response = await fetch(n8n.webhookUrl(TRIGGER_WEBHOOK_ID, 'webhook'), {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
		body: raw,
	});
	return response.status;
}

beforeAll(async () => {
	agent = await startFakeAgent();
	agent.setDefault((request) =>
		String(request.json?.message).includes('break')
			? { status: 500, body: { error: 'agent crashed' } }
			: { body: { messages: [`You said: ${request.json?.message}`, { image: 'https://cdn.example.com/a.jpg', caption: 'for you' }] } },
	);
	n8n = await startN8n({
		credentials: [
			{ id: 'e2eAgentWebhook1', name: 'Agent e2e webhook', type: 'whatsAppWebhookApi', data: { verifyToken: 'e2e-verify', appSecret: APP_SECRET } },
			{
				id: 'e2eAgentCloudAp1',
				name: 'Agent e2e cloud',
				type: 'whatsAppCloudApi',
				data: { accessToken: 'e2e-token', phoneNumberId: '106540352242922', apiVersion: 'v24.0', graphApiBaseUrl: 'http://127.0.0.1:9' },
			},
			{
				id: 'e2eAgentExtApi01',
				name: 'Agent e2e credential',
				type: 'externalAgentApi',
				data: { authentication: 'bearer', bearerToken: BEARER, signingSecret: SIGNING_SECRET },
			},
		],
		workflows: [workflow(agent.url)],
		waitFor: [{ webhookId: TRIGGER_WEBHOOK_ID, path: 'webhook', method: 'GET' }],
	});
}, N8N_BOOT_TIMEOUT_MS);

afterAll(async () => {
	await n8n?.stop();
	await agent?.close();
});

test('a customer message reaches the agent signed and authenticated, and its reply comes out for Send WhatsApp', async () => {
	const before = await n8n.lastExecutionId();
	expect(await customerWrites('Does it come in blue?', 'wamid.e2e-agent-ok')).toBe(200);
	const [execution] = await n8n.waitForExecutions({ workflowId: 'e2eCallAgent0001', afterId: before, count: 1 });
	expect(execution.status).toBe('success');

	expect(agent.requests).toHaveLength(1);
	const request = agent.requests[0];
	expect(request.headers.authorization).toBe(`Bearer ${BEARER}`);
	expect(verifyAgentSignature(request.rawBody, request.headers, SIGNING_SECRET)).toMatchObject({ ok: true });
	expect(request.json).toMatchObject({
		message: 'Does it come in blue?',
		phone_number: '+16505551234',
		message_id: 'wamid.e2e-agent-ok',
		conversation_id: '+16505551234',
		name: 'Sheena Nelson',
		reply_callback: expect.stringContaining(`/webhook/${TRIGGER_WEBHOOK_ID}/reply?token=`),
	});

	const [replied] = nodeOutput(execution, 'Replied');
	expect(replied).toMatchObject({
		phone_number: '+16505551234',
		phoneNumberId: '106540352242922',
		replyTo: 'wamid.e2e-agent-ok',
		noReply: false,
		messages: [
			{ type: 'text', text: 'You said: Does it come in blue?' },
			{ type: 'image', url: 'https://cdn.example.com/a.jpg', caption: 'for you' },
		],
		agent: { status: 200, attempts: 1 },
	});
	expect(nodesThatRan(execution)).not.toContain('Agent Failed');
});

test("a failing agent lands on n8n's error output with the customer's fields and a readable error", async () => {
	agent.requests.length = 0;
	const before = await n8n.lastExecutionId();
	expect(await customerWrites('please break', 'wamid.e2e-agent-fail')).toBe(200);
	const [execution] = await n8n.waitForExecutions({ workflowId: 'e2eCallAgent0001', afterId: before, count: 1 });
	expect(agent.requests).toHaveLength(1);
	expect(nodesThatRan(execution)).toContain('Agent Failed');
	expect(nodesThatRan(execution)).not.toContain('Replied');
	const [failed] = nodeOutput(execution, 'Agent Failed');
	expect(failed).toMatchObject({
		phone_number: '+16505551234',
		messageId: 'wamid.e2e-agent-fail',
		message: 'please break',
	});
	expect(String(failed.error)).toMatch(/^The agent answered HTTP 500: \{"error":"agent crashed"\}/);
	expect(Object.keys(failed)).not.toContain('details');
	expect(JSON.stringify(execution.data)).not.toContain(BEARER);
	expect(JSON.stringify(execution.data)).not.toContain(SIGNING_SECRET);
});
