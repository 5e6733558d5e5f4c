/**
 * What only queue mode can break, in the cluster of support/n8n-cluster.ts (main, two webhook
 * processes behind a balancer, two workers, Redis, PostgreSQL): deliveries that reach
 * different webhook processes, links answered by the process that did not make them, a worker
 * killed in the middle of a run, and nothing left running afterwards. The template (manual
 * webhook setup) with a fake Graph API and a scripted fake agent; Meta-signed POSTs are sent
 * to each webhook process directly where the test needs to choose.
 *
 * Runs only with N8N_E2E_MODE=queue (`npm run test:e2e:queue`).
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { deliverToWebhook, loadFixture, webhookBody } from '../fakes/meta-webhook';
import { E2E_MODE } from './support/launch';
import { startN8nCluster, type N8nCluster } from './support/n8n-cluster';
import { N8N_BOOT_TIMEOUT_MS, REPO_ROOT, nodesThatRan, type WorkflowJson } from './support/n8n-instance';
import { credentialNamesOf } from './support/n8n-types';
import { isListening } from './support/n8n-process';

const TEMPLATE = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json'), 'utf8')) as WorkflowJson;
const WORKFLOW_ID = 'e2eQueueTemplate';
const WEBHOOK_ID = '3f9a1c7e-6d2b-4e8a-9b1c-5d4e3f2a1b0c';
const APP_SECRET = 'e2e-queue-app-secret-7d2e';
const ACCESS_TOKEN = 'EAAe2eQueueAccessToken9Lm3Vx';
const AGENT = 'Call External Agent';
const describeQueue = E2E_MODE === 'queue' ? describe : describe.skip;

let cluster: N8nCluster;
let graph: FakeGraphApi;
let agent: FakeAgent;
let mark = '0';
let sequence = 0;

function workflow(agentUrl: string): WorkflowJson {
	const copy = structuredClone(TEMPLATE);
	copy.id = WORKFLOW_ID;
	copy.name = 'WhatsApp agent (queue e2e)';
	for (const node of copy.nodes) {
		const parameters = node.parameters as Record<string, unknown>;
		if (node.type === 'n8n-nodes-whatsapp-agent.whatsAppAgentTrigger') {
			node.webhookId = WEBHOOK_ID;
			parameters.webhookSetup = 'manual';
		}
		if (node.name === AGENT) parameters.url = agentUrl;
	}
	return copy;
}

const uniqueId = (label: string) => `wamid.E2EQ${label}${Date.now().toString(36)}${(sequence += 1)}`;

function textBody(text: string, id: string, from = '16505551234', sentAt = Math.floor(Date.now() / 1000)) {
	return webhookBody({
		contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: from }],
		messages: [{ from, id, timestamp: String(sentAt), type: 'text', text: { body: text } }],
	});
}

/** Posts to webhook process `index` (0 or 1) directly, as a balancer would have routed it. */
async function postTo(index: number, body: unknown): Promise<number> {
	const url = cluster.webhookUrlsOfEveryProcess(WEBHOOK_ID, 'webhook')[index];
	const response = await deliverToWebhook(url, body, APP_SECRET);
	await response.arrayBuffer();
	return response.status;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function settledRuns(minimum: number) {
	await cluster.waitForExecutions({ workflowId: WORKFLOW_ID, afterId: mark, count: minimum, timeoutMs: 30_000 });
	await sleep(1000);
	return await Promise.all((await cluster.executions({ workflowId: WORKFLOW_ID, afterId: mark })).map((run) => cluster.execution(run.id)));
}

describeQueue('queue mode: across webhook processes and workers', () => {
	beforeAll(async () => {
		graph = await startFakeGraphApi({ token: ACCESS_TOKEN });
		agent = await startFakeAgent();
		const names = credentialNamesOf(TEMPLATE);
		cluster = await startN8nCluster({
			credentials: [
				{ id: 'e2eQueueWebhook1', name: names.get('whatsAppWebhookApi')!, type: 'whatsAppWebhookApi', data: { verifyToken: 'queue', appSecret: APP_SECRET } },
				{ id: 'e2eQueueCloudApi', name: names.get('whatsAppCloudApi')!, type: 'whatsAppCloudApi', data: graph.credentials() },
				{ id: 'e2eQueueAgentApi', name: names.get('externalAgentApi')!, type: 'externalAgentApi', data: { authentication: 'none' } },
			],
			workflows: [workflow(agent.url)],
			waitFor: [{ webhookId: WEBHOOK_ID, path: 'webhook', method: 'GET' }],
		});
		process.stderr.write(`[queue e2e] cluster up: ${JSON.stringify(cluster.timings)}\n`);
	}, N8N_BOOT_TIMEOUT_MS);

	afterAll(async () => {
		await cluster?.stop();
		await agent?.close();
		await graph?.close();
	});

	beforeEach(async () => {
		graph.reset();
		agent.reset();
		agent.setDefault((request) => ({ body: { content: `You said: ${request.json?.message}` } }));
		mark = await cluster.lastExecutionId();
	});

	test('one message id posted to webhook process 1, then 2, then again later after process 1 restarted: one agent call, one reply', async () => {
		const id = uniqueId('dup');
		expect(await postTo(0, textBody('Only once, please', id))).toBe(200);
		await settledRuns(1);
		expect(await postTo(1, textBody('Only once, please', id))).toBe(200);
		await settledRuns(2);
		// Later: the first process has restarted (its memory is empty), Meta retries minutes on.
		await cluster.webhooks[0].shutdown();
		await cluster.webhooks[0].start();
		await cluster.webhooks[0].waitForUrl(cluster.webhookUrlsOfEveryProcess(WEBHOOK_ID, 'webhook')[0]);
		expect(await postTo(0, textBody('Only once, please', id, '16505551234', Math.floor(Date.now() / 1000) - 300))).toBe(200);
		const runs = await settledRuns(3);
		expect(agent.requests.map((request) => request.json?.message_id)).toEqual([id]);
		expect(graph.sent.map((sent) => (sent.payload.text as { body: string }).body)).toEqual(['You said: Only once, please']);
		expect(runs.filter((run) => nodesThatRan(run).includes(AGENT))).toHaveLength(1);
	});

	test('a reply callback with one Idempotency-Key posted to both webhook processes is sent once', async () => {
		expect(await postTo(0, textBody('Call me back', uniqueId('cb')))).toBe(200);
		await settledRuns(1);
		const callback = String(agent.requests[0].json?.reply_callback);
		const path = new URL(callback);
		const answers: number[] = [];
		for (const base of cluster.webhookUrlsOfEveryProcess(WEBHOOK_ID, 'reply')) {
			const response = await fetch(`${base}${path.search}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'Idempotency-Key': 'late-answer-1' },
				body: JSON.stringify({ content: 'Here is the late answer.' }),
			});
			answers.push(response.status);
			await response.arrayBuffer();
		}
		// The second process cannot know it in its memory: it accepts, and the run drops it.
		expect(answers[0]).toBe(202);
		expect([200, 202]).toContain(answers[1]);
		await settledRuns(2);
		await sleep(1000);
		expect(graph.sent.map((sent) => (sent.payload.text as { body: string }).body)).toEqual(['You said: Call me back', 'Here is the late answer.']);
	});

	test('an inbound image: its signed link, made by one webhook process, is served by the other with the exact bytes', async () => {
		const bytes = Buffer.from('\xff\xd8\xff\xe0 queue-mode jpeg bytes', 'latin1');
		const body = loadFixture('image');
		const message = body.entry[0].changes[0].value.messages[0];
		message.id = uniqueId('img');
		message.image.id = graph.addMedia(bytes, 'image/jpeg');
		expect(await postTo(0, body)).toBe(200);
		await settledRuns(1);
		const link = new URL(String(agent.requests[0].json?.image));
		for (const base of cluster.webhookUrlsOfEveryProcess(WEBHOOK_ID, 'media')) {
			const image = await fetch(`${base}${link.search}`);
			expect(image.status).toBe(200);
			expect(Buffer.from(await image.arrayBuffer())).toEqual(bytes);
		}
	});

	test('a worker killed while the agent thinks: n8n marks the run crashed and does not run it again; nothing is sent twice', async () => {
		agent.setDefault({ body: { content: 'too late' }, delayMs: 4000 });
		expect(await postTo(1, textBody('Are you there?', uniqueId('crash')))).toBe(200);
		const deadline = Date.now() + 20_000;
		while (agent.requests.length === 0 && Date.now() < deadline) await sleep(100);
		expect(agent.requests).toHaveLength(1);
		// Which worker took the job is n8n's choice: both die, as a node failure would take them.
		for (const worker of cluster.workers) worker.kill('SIGKILL');
		await Promise.all(cluster.workers.map((worker) => worker.exited()));
		await Promise.all(cluster.workers.map((worker) => worker.start()));
		// n8n's main process finds the job stalled (Bull's maxStalledCount is 0) and marks the run crashed.
		let runs = await cluster.executions({ workflowId: WORKFLOW_ID, afterId: mark });
		for (const until = Date.now() + 45_000; runs.some((run) => run.status === 'running' || run.status === 'new') && Date.now() < until; ) {
			await sleep(500);
			runs = await cluster.executions({ workflowId: WORKFLOW_ID, afterId: mark });
		}
		expect(runs.map((run) => run.status)).toEqual(['crashed']);
		await sleep(3000);
		// The customer got the read receipt at most; the agent was not asked again.
		expect(agent.requests).toHaveLength(1);
		expect(graph.sent).toEqual([]);
		agent.setDefault({ body: { content: 'back again' } });
		expect(await postTo(0, textBody('Hello again', uniqueId('after')))).toBe(200);
		await cluster.waitForExecutions({ workflowId: WORKFLOW_ID, afterId: mark, count: 2, timeoutMs: 30_000 }).catch(() => undefined);
		const deadlineSent = Date.now() + 20_000;
		while (graph.sent.length === 0 && Date.now() < deadlineSent) await sleep(200);
		expect(graph.sent.map((sent) => (sent.payload.text as { body: string }).body)).toEqual(['back again']);
	});

	test('stopping the cluster leaves nothing behind: no n8n, Redis or PostgreSQL process, port or folder', async () => {
		const { redis, postgres } = cluster.serviceDetails;
		const folders = cluster.processes.map((entry) => entry.process.userFolder);
		const ports = [redis.port, postgres.port, ...cluster.processes.map((entry) => entry.port)];
		expect(cluster.pids().length).toBeGreaterThanOrEqual(4 + 2 * cluster.processes.length - 1);
		await cluster.stop();
		await sleep(500);
		expect(await cluster.leftovers()).toEqual([]);
		for (const port of ports) expect(await isListening(port)).toBe(false);
		for (const folder of folders) expect(existsSync(folder)).toBe(false);
	});
});
