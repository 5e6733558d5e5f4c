/**
 * The package installed the way users install it: n8n's Settings → Community Nodes, from an npm
 * registry, then upgraded and uninstalled there. `npm run test:install`.
 *
 * - A real registry on loopback (verdaccio, no uplink) with this package packed and published as
 *   a release is; n8n reaches it under n8n's default registry name through an HTTPS proxy
 *   (support/loopback-registry.ts and scripts/npmjs-front.mjs say why: n8n's custom-registry
 *   setting is an enterprise feature).
 * - A real n8n started **without** the package; install, upgrade and uninstall through the REST
 *   calls the Community Nodes page makes (POST, PATCH, DELETE /rest/community-packages).
 * - In between: the shipped template imported and published, and Meta-signed messages
 *   round-tripped through the fake Graph API and the fake agent, before and after the upgrade.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';

import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';
import { FAKE_PHONE_NUMBER_ID, startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { installFakeMetaWebhooks } from '../fakes/fake-meta-webhooks';
import { deliverToWebhook, webhookBody } from '../fakes/meta-webhook';
import { LoopbackRegistry } from './support/loopback-registry';
import { N8nRest } from './support/n8n-rest';
import { E2E_N8N_VERSION, N8N_BOOT_TIMEOUT_MS, PACKAGE_NAME, REPO_ROOT, startN8n, type CredentialImport, type N8nInstance, type WorkflowJson } from './support/n8n-instance';
import { credentialNamesOf } from './support/n8n-types';

const TEMPLATE = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json'), 'utf8')) as WorkflowJson;
const WORKFLOW_ID = TEMPLATE.id;
const TRIGGER = 'WhatsApp Agent Trigger';
const AGENT = 'Call External Agent';
const WEBHOOK_ID = String(TEMPLATE.nodes.find((node) => node.name === TRIGGER)?.webhookId);
const RELEASE = String((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
const NEXT_RELEASE = RELEASE.replace(/(\d+)$/, (patch) => String(Number(patch) + 1));
const NODE_TYPES = ['whatsAppAgentTrigger', 'callExternalAgent', 'sendWhatsApp', 'whatsAppConversation'].map((name) => `${PACKAGE_NAME}.${name}`).sort();

const ACCESS_TOKEN = 'EAAe2eInstallAccessToken3Vw8RnK1';
const APP_SECRET = 'e2e-install-app-secret-9d2a';
const VERIFY_TOKEN = 'e2e-install-verify-phrase';
const CUSTOMER = '16505557788';

interface InstalledPackage {
	packageName: string;
	installedVersion: string;
	installedNodes: Array<{ name: string; type: string }>;
	updateAvailable?: string;
}

let registry: LoopbackRegistry;
let graph: FakeGraphApi;
let agent: FakeAgent;
let n8n: N8nInstance;
let rest: N8nRest;
const timings: Record<string, number> = {};
let sequence = 0;

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
	const started = Date.now();
	try {
		return await work();
	} finally {
		timings[label] = (Date.now() - started) / 1000;
	}
}

const eventsUrl = () => n8n.webhookUrl(WEBHOOK_ID, 'webhook');

/** One signed customer message through the published template; the agent's reply must reach the fake Graph API. */
async function roundTrip(text: string): Promise<void> {
	graph.reset();
	agent.reset();
	agent.setDefault((request) => ({ body: { content: `You said: ${String(request.json?.message)}` } }));
	const mark = await n8n.lastExecutionId();
	const id = `wamid.E2EINSTALL${Date.now().toString(36)}${(sequence += 1)}`;
	const body = webhookBody({
		contacts: [{ profile: { name: 'Install Tester' }, wa_id: CUSTOMER }],
		messages: [{ from: CUSTOMER, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
	});
	const response = await deliverToWebhook(eventsUrl(), body, APP_SECRET);
	await response.arrayBuffer();
	expect(response.status).toBe(200);
	const [execution] = await n8n.waitForExecutions({ workflowId: WORKFLOW_ID, afterId: mark, count: 1, timeoutMs: 30_000 });
	expect(execution.status).toBe('success');
	expect(agent.requests).toHaveLength(1);
	expect(agent.requests[0].json).toMatchObject({ message: text, phone_number: `+${CUSTOMER}`, message_id: id });
	expect(graph.sent).toEqual([expect.objectContaining({ phoneNumberId: FAKE_PHONE_NUMBER_ID, waId: CUSTOMER, type: 'text', payload: expect.objectContaining({ text: expect.objectContaining({ body: `You said: ${text}` }) }) })]);
}

async function installedPackages(): Promise<InstalledPackage[]> {
	const result = await rest.request('GET', '/community-packages');
	expect(result.status).toBe(200);
	return result.body.data as InstalledPackage[];
}

/** What n8n's community-package folder holds for the package (undefined when absent). */
function versionOnDisk(): string | undefined {
	const file = join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE_NAME, 'package.json');
	return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
}

/** The tarballs verdaccio served (n8n's `npm pack` through the proxy), each once. */
function tarballsServed(): string[] {
	const served = registry
		.requests()
		.filter((request) => request.method === 'GET' && request.url.endsWith('.tgz') && request.status === 200)
		.map((request) => request.url.replace(/^.*\//, ''));
	return [...new Set(served)];
}

beforeAll(async () => {
	const started = Date.now();
	registry = await timed('registry start + pack + publish', () => LoopbackRegistry.start());
	graph = await startFakeGraphApi({ token: ACCESS_TOKEN });
	installFakeMetaWebhooks(graph, { appSecret: APP_SECRET });
	agent = await startFakeAgent();
	n8n = await timed('n8n boot without the package', () => startN8n({ installPackage: false, env: registry.env }));
	rest = await N8nRest.setupOwner(n8n.baseUrl);
	timings.beforeAll = (Date.now() - started) / 1000;
}, N8N_BOOT_TIMEOUT_MS);

afterAll(async () => {
	process.stderr.write(`[install test] n8n ${E2E_N8N_VERSION}, ${RELEASE} → ${NEXT_RELEASE}, seconds: ${JSON.stringify(timings)}\n`);
	await n8n?.stop();
	await agent?.close();
	await graph?.close();
	await registry?.stop();
});

describe(`Community Nodes on n8n ${E2E_N8N_VERSION}: install, upgrade, uninstall from a registry`, () => {
	test('n8n starts without the package and knows none of its nodes', async () => {
		expect(await installedPackages()).toEqual([]);
		expect(versionOnDisk()).toBeUndefined();
	});

	test(`Install (POST /rest/community-packages, as Settings → Community Nodes → Install): ${RELEASE} from the registry, its four nodes`, async () => {
		const result = await timed('install', () => rest.request('POST', '/community-packages', { name: PACKAGE_NAME }));
		expect({ status: result.status, message: result.message }).toEqual({ status: 200, message: '' });
		const installed = result.body.data as InstalledPackage;
		expect(installed).toMatchObject({ packageName: PACKAGE_NAME, installedVersion: RELEASE });
		expect(installed.installedNodes.map((node) => node.type).sort()).toEqual(NODE_TYPES);
		expect(await installedPackages()).toEqual([expect.objectContaining({ packageName: PACKAGE_NAME, installedVersion: RELEASE })]);
		expect(versionOnDisk()).toBe(RELEASE);
		// Downloaded from the loopback registry (the real one has no such package: a bypass would fail).
		expect(tarballsServed()).toEqual([`${PACKAGE_NAME}-${RELEASE}.tgz`]);
		expect(n8n.logs()).toContain(`Community package installed: ${PACKAGE_NAME}`);
	});

	test('the template imports and publishes, and a Meta-signed message makes the full round trip', async () => {
		const names = credentialNamesOf(TEMPLATE);
		const credentials: CredentialImport[] = [
			{ id: 'e2eInsWebhook001', name: names.get('whatsAppWebhookApi')!, type: 'whatsAppWebhookApi', data: { verifyToken: VERIFY_TOKEN, appSecret: APP_SECRET } },
			{ id: 'e2eInsCloudApi01', name: names.get('whatsAppCloudApi')!, type: 'whatsAppCloudApi', data: graph.credentials() },
			{ id: 'e2eInsAgentApi01', name: names.get('externalAgentApi')!, type: 'externalAgentApi', data: { authentication: 'none' } },
		];
		const workflow = structuredClone(TEMPLATE);
		(workflow.nodes.find((node) => node.name === AGENT)!.parameters as Record<string, unknown>).url = agent.url;
		await timed('import', () => n8n.importAll(credentials, [workflow], []));
		const outcome = await timed('publish', () => rest.publish(WORKFLOW_ID));
		expect({ ok: outcome.ok, message: outcome.message }).toEqual({ ok: true, message: '' });
		await n8n.waitForUrl(eventsUrl(), 'GET', 30_000);
		await timed('round trip 1', () => roundTrip('Is it in stock?'));
	});

	test(`Update (PATCH /rest/community-packages): ${NEXT_RELEASE} published, n8n updates to it, the saved workflow and credentials keep working`, async () => {
		await timed('publish next release', () => registry.publishVersion(NEXT_RELEASE));
		// What makes the page show the card's update button: n8n asks the registry (npm outdated).
		expect(await installedPackages()).toEqual([expect.objectContaining({ installedVersion: RELEASE, updateAvailable: NEXT_RELEASE })]);
		const result = await timed('update', () => rest.request('PATCH', '/community-packages', { name: PACKAGE_NAME }));
		expect({ status: result.status, message: result.message }).toEqual({ status: 200, message: '' });
		expect(result.body.data).toMatchObject({ packageName: PACKAGE_NAME, installedVersion: NEXT_RELEASE });
		expect(await installedPackages()).toEqual([expect.objectContaining({ packageName: PACKAGE_NAME, installedVersion: NEXT_RELEASE })]);
		expect(versionOnDisk()).toBe(NEXT_RELEASE);
		expect(tarballsServed()).toEqual([`${PACKAGE_NAME}-${RELEASE}.tgz`, `${PACKAGE_NAME}-${NEXT_RELEASE}.tgz`]);

		const [row] = await n8n.query<{ active: number | boolean }>('SELECT active FROM workflow_entity WHERE id = ?', [WORKFLOW_ID]);
		expect(Boolean(row.active)).toBe(true);
		await timed('round trip 2', () => roundTrip('And in blue?'));
		// Published again after the update (the editor's Publish): activation still succeeds.
		expect((await rest.unpublish(WORKFLOW_ID)).ok).toBe(true);
		const again = await rest.publish(WORKFLOW_ID);
		expect({ ok: again.ok, message: again.message }).toEqual({ ok: true, message: '' });
		await n8n.waitForUrl(eventsUrl(), 'GET', 30_000);
		await timed('round trip 3', () => roundTrip('Thanks!'));
	});

	test('Uninstall (DELETE /rest/community-packages?name=…) while the workflow is active: n8n stays up, keeps the workflow and says its nodes are unknown', async () => {
		const result = await timed('uninstall', () => rest.request('DELETE', `/community-packages?name=${encodeURIComponent(PACKAGE_NAME)}`));
		expect({ status: result.status, message: result.message }).toEqual({ status: 200, message: '' });
		expect(await installedPackages()).toEqual([]);
		expect(versionOnDisk()).toBeUndefined();

		// Still up and serving.
		expect((await fetch(`${n8n.baseUrl}/healthz`)).status).toBe(200);
		// A message for the still-active workflow: n8n answers it, naming the missing node.
		const missing = new RegExp(`Unrecognized node type: ${PACKAGE_NAME}\\.whatsAppAgentTrigger`);
		const body = webhookBody({ messages: [{ from: CUSTOMER, id: `wamid.E2EINSTALLgone${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Anyone there?' } }] });
		const delivery = await deliverToWebhook(eventsUrl(), body, APP_SECRET);
		// 2.41.1 answers 400, 2.8.4 500; both with the message.
		expect([400, 500]).toContain(delivery.status);
		expect(await delivery.text()).toMatch(missing);
		expect((await fetch(`${n8n.baseUrl}/healthz`)).status).toBe(200);
		n8n.process.checkAlive('after the uninstall');

		// The saved workflow is kept as it was, with the package's node types...
		const saved = await rest.workflow(WORKFLOW_ID);
		const types = (saved.nodes as Array<{ type: string }>).map((node) => node.type).filter((type) => type.startsWith(`${PACKAGE_NAME}.`));
		// The template uses every node but WhatsApp Conversation (for other workflows).
		expect([...new Set(types)].sort()).toEqual(NODE_TYPES.filter((type) => !type.endsWith('.whatsAppConversation')));
		// ...it can be unpublished, and not published again: n8n names the missing node.
		expect((await rest.unpublish(WORKFLOW_ID)).ok).toBe(true);
		const outcome = await rest.publish(WORKFLOW_ID);
		expect(outcome.ok).toBe(false);
		expect(outcome.message).toMatch(missing);
		process.stderr.write(`[install test] publishing after the uninstall: ${outcome.message}\n`);
		const hook = await fetch(eventsUrl());
		await hook.arrayBuffer();
		expect(hook.status).toBe(404);
	});
});
