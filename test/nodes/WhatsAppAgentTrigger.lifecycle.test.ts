/**
 * The trigger's webhook lifecycle (checkExists / create / delete) with automatic setup, run the
 * way n8n runs it: n8n-core's real HookContext (test/harness/n8n.ts runWebhookMethod), the Graph
 * client over n8n's request helpers and the credential's own authenticate, against the fake Graph
 * API with Meta's webhook-override endpoints (test/fakes/fake-meta-webhooks.ts). The trigger is
 * served over real HTTP (startWebhookServer), so the fake Meta's verification GET during create
 * is answered by the trigger's own code, at its production URL (…/webhook/<id>/webhook) or, while
 * "listening for a test event", its test URL (…/webhook-test/<id>/webhook).
 *
 * n8n calls the lifecycle once per `default` webhook (two here): `activate` below does what
 * n8n does on activation (checkExists, create if false, twice), `deactivate` what it does on
 * deactivation or when a test ends (delete twice, mode 'internal', activation 'update').
 *
 * The fake Meta delivers nothing while the app itself does not subscribe to "messages" (as Meta:
 * overrides only redirect fields the app subscribes to), so `meta.deliveryUrl(PHONE)` shows
 * whether messages really reach the trigger. The fake's App Secret is the webhook credential's.
 *
 * Every error and log line is collected; the last test checks that none carries a token.
 */
import { createHash } from 'crypto';
import http from 'http';
import type { AddressInfo } from 'net';
import { NodeApiError, NodeHelpers, NodeOperationError, type INodeParameters, type INodeProperties, type WorkflowActivateMode } from 'n8n-workflow';

import { resetDedupCaches } from '../../nodes/WhatsAppAgentTrigger/dedupRegistry';
import { LIFECYCLE_MESSAGES, counterpartUrl } from '../../nodes/WhatsAppAgentTrigger/webhookLifecycle';
import { WhatsAppAgentTrigger } from '../../nodes/WhatsAppAgentTrigger/WhatsAppAgentTrigger.node';
import { FAKE_PHONE_NUMBER_ID, FAKE_WABA_ID, startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { FAKE_APP_CALLBACK_URL, FAKE_APP_ID, FAKE_APP_NAME, MESSAGING, installFakeMetaWebhooks, type FakeMetaWebhooks } from '../fakes/fake-meta-webhooks';
import { deliverToWebhook, textMessageBody } from '../fakes/meta-webhook';
import { runWebhookMethod, startWebhookServer, type CredentialsByType, type LifecycleMethod, type NodeSetup, type WebhookServer } from '../harness/n8n';

const PHONE = FAKE_PHONE_NUMBER_ID;
const WABA = FAKE_WABA_ID;
const SECOND_PHONE = '106540352242923';
const OTHER_WABA_PHONE = '209876543210987';
const OTHER_WABA = '203040506070809';
const ACCESS_TOKEN = 'EAAlifecycle-Secret-Access-Token-7b1d';
const VERIFY = 'vt-Secret-4f9c2e7a91';
const SECRET = createHash('md5').update('lifecycle app secret').digest('hex');
const WRONG_SECRET = createHash('md5').update('some other app secret').digest('hex');
const FOREIGN_URL = 'https://other-n8n.example.org/webhook/4b1c/webhook';
const WABA_OVERRIDE = 'https://waba-override.example.net/hooks/whatsapp';
const REPLACE = 'Replace Existing Webhook';

type Log = { level: string; message: string };

let fake: FakeGraphApi;
let meta: FakeMetaWebhooks;
let servers: WebhookServer[] = [];
let counter = 0;
const errors: unknown[] = [];
const allLogs: Log[] = [];

beforeAll(async () => {
	fake = await startFakeGraphApi({ token: ACCESS_TOKEN });
	meta = installFakeMetaWebhooks(fake, {
		phones: [
			{ id: PHONE, businessAccountId: WABA },
			{ id: SECOND_PHONE, businessAccountId: WABA },
			{ id: OTHER_WABA_PHONE, businessAccountId: OTHER_WABA },
		],
		appSecret: SECRET,
	});
});
afterAll(async () => {
	await fake.close();
});
beforeEach(() => {
	fake.reset();
	meta.reset();
	resetDedupCaches();
});
afterEach(async () => {
	// Unsubscribing the app (from the account or a webhook field) would cut every workflow of the app off: never.
	expect(fake.requestsTo('webhooks.subscribedApps.delete')).toHaveLength(0);
	expect(fake.requestsTo('webhooks.appSubscriptions.delete')).toHaveLength(0);
	// The app token always travels alone, never with the Cloud API credential's token.
	for (const request of [...fake.requestsTo('webhooks.appSubscriptions.get'), ...fake.requestsTo('webhooks.appSubscriptions.post')]) {
		expect(request.headers.authorization).toBeUndefined();
	}
	await Promise.all(servers.map((server) => server.close()));
	servers = [];
});

// ---------------------------------------------------------------------------------------
// A trigger: its node setup, its real HTTP server, its lifecycle calls

interface TriggerOptions {
	parameters?: INodeParameters;
	/** Overrides of the Cloud API credential; null: the node has no Cloud API credential. */
	cloud?: Record<string, string> | null;
	/** The webhook credential the lifecycle reads (what it gives Meta). */
	webhook?: Record<string, string>;
	/** The webhook credential the served trigger answers with (default: the same). */
	servedWebhook?: Record<string, string>;
}

interface Trigger {
	setup: NodeSetup;
	server: WebhookServer;
	logs: Log[];
	webhookId: string;
	/** …/webhook/<id>/webhook */
	productionUrl: string;
	/** …/webhook-test/<id>/webhook */
	testUrl: string;
	/** Overrides the bases runWebhookMethod gives n8n's getNodeWebhookUrl. */
	bases?: { webhookBaseUrl: string; webhookTestBaseUrl: string };
}

async function trigger(options: TriggerOptions = {}): Promise<Trigger> {
	const webhookId = `5f0c2f55-${String(++counter).padStart(4, '0')}-4c5b-9d0e-7f1a2b3c4d5e`;
	const cloud: CredentialsByType = options.cloud === null ? {} : { whatsAppCloudApi: fake.credentials({ businessAccountId: WABA, ...(options.cloud ?? {}) }) };
	const setup = (webhook: Record<string, string>): NodeSetup => ({
		nodeType: new WhatsAppAgentTrigger(),
		parameters: { webhookSetup: 'automatic', ...(options.parameters ?? {}) },
		credentials: { whatsAppWebhookApi: webhook, ...cloud },
		webhookId,
	});
	const webhook = options.webhook ?? { verifyToken: VERIFY, appSecret: SECRET };
	const server = await startWebhookServer(setup(options.servedWebhook ?? webhook));
	servers.push(server);
	return { setup: setup(webhook), server, logs: [], webhookId, productionUrl: server.url('webhook'), testUrl: server.testUrl('webhook') };
}

interface CallOptions {
	test?: boolean;
	/** n8n's activation mode for checkExists/create (default 'activate'; 'init' when n8n starts). */
	activation?: WorkflowActivateMode;
}

async function lifecycle(t: Trigger, method: LifecycleMethod, { test = false, activation }: CallOptions = {}): Promise<boolean> {
	const logs: Log[] = [];
	try {
		return await runWebhookMethod(t.setup, method, {
			webhookBaseUrl: t.bases?.webhookBaseUrl ?? t.server.webhookBaseUrl,
			webhookTestBaseUrl: t.bases?.webhookTestBaseUrl ?? t.server.webhookTestBaseUrl,
			isTest: test,
			// What n8n passes: activation ('trigger'/'activate'), "Listen for test event" ('manual'/'manual'),
			// and every delete ('internal'/'update').
			mode: method === 'delete' ? 'internal' : test ? 'manual' : 'trigger',
			activation: method === 'delete' ? 'update' : test ? 'manual' : (activation ?? 'activate'),
			logs,
		});
	} finally {
		t.logs.push(...logs);
		allLogs.push(...logs);
	}
}

/** What n8n does for the trigger's two `default` webhooks on activation (or when a test starts). */
async function activate(t: Trigger, options: CallOptions = {}): Promise<void> {
	for (let webhook = 0; webhook < 2; webhook++) {
		if (!(await lifecycle(t, 'checkExists', options))) await lifecycle(t, 'create', options);
	}
}

/** What n8n does on deactivation (or when a test ends). Returns every answer. */
async function deactivate(t: Trigger, options: CallOptions = {}): Promise<boolean[]> {
	return [await lifecycle(t, 'delete', options), await lifecycle(t, 'delete', options)];
}

async function caught(promise: Promise<unknown>): Promise<any> {
	try {
		await promise;
	} catch (error) {
		errors.push(error);
		return error;
	}
	throw new Error('expected a rejection');
}

const phoneSets = () => fake.requestsTo('webhooks.phone.set');
const subscribePosts = () => fake.requestsTo('webhooks.subscribedApps.post');
const appPosts = () => fake.requestsTo('webhooks.appSubscriptions.post');
const appForm = (index = 0) => Object.fromEntries(new URLSearchParams(appPosts()[index].body.toString('utf8')).entries());
const warningsOf = (t: Trigger) => t.logs.filter((log) => log.level === 'warn').map((log) => log.message);
const graphRequests = () => fake.requests.filter((request) => request.route !== undefined);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
	const server = http.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const { port } = server.address() as AddressInfo;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

// ---------------------------------------------------------------------------------------

describe('the panel', () => {
	const { description } = new WhatsAppAgentTrigger();
	const { properties } = description;
	const visible = (values: INodeParameters) =>
		properties
			.filter((property) => NodeHelpers.displayParameter(values, property, { typeVersion: 1 }, description))
			.map((property) => property.name);
	const property = (name: string) => properties.find((entry) => entry.name === name) as INodeProperties;

	it('webhookSetup (fixed name): Automatic (Recommended) by default, or Manual', () => {
		expect(property('webhookSetup')).toMatchObject({
			displayName: 'Webhook Setup',
			type: 'options',
			default: 'automatic',
			options: [
				{ name: 'Automatic (Recommended)', value: 'automatic', description: expect.stringMatching(/activation.*webhook overrides.*nothing to paste/i) },
				{ name: 'Manual', value: 'manual', description: expect.stringMatching(/paste.*URL.*verify token/i) },
			],
		});
		expect(properties[0].name).toBe('webhookSetup');
	});

	it('each mode shows its own explanation; the replace option only with automatic setup', () => {
		expect(visible({ webhookSetup: 'automatic' })).toEqual(['webhookSetup', 'automaticSetupNotice', 'replaceOtherWebhook', 'options']);
		expect(visible({ webhookSetup: 'manual' })).toEqual(['webhookSetup', 'setupNotice', 'options']);
		const automatic = property('automaticSetupNotice').displayName;
		expect(automatic).toMatch(/activate/);
		expect(automatic).toMatch(/deactivating/i);
		expect(automatic).toContain('whatsapp_business_management');
		expect(automatic).toContain('N8N_WEBHOOK_URL');
		expect(automatic).toContain('WEBHOOK_URL');
		expect(automatic).toMatch(/https/);
		expect(automatic).toMatch(/tunnel/);
		expect(automatic).toMatch(/Listen for test event.*Test URL.*refused/s);
		expect(automatic).toMatch(/Several workflows/);
		const manual = property('setupNotice').displayName;
		expect(manual).toMatch(/Callback URL.*Production URL.*Verify token.*messages/s);
		expect(manual).toMatch(/Listen for test event.*Test URL/s);
		expect(property('replaceOtherWebhook')).toMatchObject({ displayName: REPLACE, type: 'boolean', default: false });
	});

	it('a node saved without a value gets n8n\'s default: automatic', async () => {
		const t = await trigger({ parameters: {} });
		t.setup.parameters = {};
		expect(await lifecycle(t, 'checkExists')).toBe(false);
		expect(fake.requestsTo('webhooks.phone.get')).toHaveLength(1);
	});
});

describe('manual setup', () => {
	it('checkExists/create/delete never call Meta, even with a Cloud API credential, and Meta\'s settings stay as they were', async () => {
		const t = await trigger({ parameters: { webhookSetup: 'manual' } });
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		expect(await lifecycle(t, 'checkExists')).toBe(true);
		expect(await lifecycle(t, 'create')).toBe(true);
		expect(await lifecycle(t, 'checkExists', { test: true })).toBe(true);
		expect(await deactivate(t)).toEqual([true, true]);
		expect(graphRequests()).toEqual([]);
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);
	});

	it('needs no Cloud API credential', async () => {
		const t = await trigger({ parameters: { webhookSetup: 'manual' }, cloud: null });
		await activate(t);
		expect(await deactivate(t)).toEqual([true, true]);
	});
});

describe('automatic setup: activation', () => {
	it('no override yet: registers the production URL; Meta\'s verification GET is answered by the trigger with the credential\'s verify token; messages then flow', async () => {
		const t = await trigger();
		expect(await lifecycle(t, 'checkExists')).toBe(false);
		expect(await lifecycle(t, 'create')).toBe(true);

		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(meta.deliveryUrl(PHONE)).toBe(t.productionUrl);
		expect(phoneSets()).toHaveLength(1);
		expect(phoneSets()[0].json).toEqual({ webhook_configuration: { override_callback_uri: t.productionUrl, verify_token: VERIFY } });
		// The verification GET reached the trigger's own GET `webhook` endpoint over HTTP, during create.
		expect(meta.verifications).toHaveLength(1);
		const [verification] = meta.verifications;
		expect(verification).toMatchObject({ url: t.productionUrl, verifyToken: VERIFY, status: 200, ok: true, level: 'phone', target: PHONE });
		expect(verification.body).toBe(verification.challenge);
		expect(verification.requestedUrl.startsWith(`${t.productionUrl}?`)).toBe(true);
		expect(t.server.logs).toEqual([]);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`phone number ${PHONE} to ${t.productionUrl}`) });
		// Already subscribed, never re-subscribed (that POST would clear the app's WABA override).
		expect(subscribePosts()).toHaveLength(0);
		// The app already subscribes to "messages" (at its own URL): read with the app token, nothing written.
		expect(fake.requestsTo('webhooks.appSubscriptions.get')).toHaveLength(1);
		expect(fake.requestsTo('webhooks.appSubscriptions.get')[0].query.access_token).toBe(`${FAKE_APP_ID}|${SECRET}`);
		expect(appPosts()).toHaveLength(0);
		expect(meta.appSubscription()).toEqual({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: ['messages'], active: true });
		expect(warningsOf(t)).toEqual([]);

		// Now it exists, so n8n's second `default` webhook creates nothing.
		expect(await lifecycle(t, 'checkExists')).toBe(true);

		// A signed message sent where Meta now delivers this number's messages starts the workflow.
		const response = await deliverToWebhook(meta.deliveryUrl(PHONE)!, textMessageBody('hello automatic', { phoneNumberId: PHONE }), SECRET);
		expect(response.status).toBe(200);
		expect(t.server.runs).toHaveLength(1);
		expect(t.server.runs[0].workflowData[0][0].json).toMatchObject({ message: 'hello automatic', phoneNumberId: PHONE });
	});

	it('n8n\'s full activation (two default webhooks) registers once', async () => {
		const t = await trigger();
		await activate(t);
		expect(phoneSets()).toHaveLength(1);
		expect(meta.verifications).toHaveLength(1);
		expect(fake.requestsTo('webhooks.phone.get').length).toBeGreaterThanOrEqual(2);
	});

	it('already ours (n8n restarted, activated again): checkExists true, nothing sent to Meta but a read', async () => {
		const t = await trigger();
		meta.setPhoneOverride(PHONE, t.productionUrl);
		await activate(t);
		expect(phoneSets()).toHaveLength(0);
		expect(meta.verifications).toHaveLength(0);
		expect(graphRequests().every((request) => request.method === 'GET')).toBe(true);
		// create is idempotent too, if n8n calls it anyway.
		expect(await lifecycle(t, 'create')).toBe(true);
		expect(phoneSets()).toHaveLength(0);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
	});

	it('someone else\'s URL: refused, naming the address and the way out; nothing changed', async () => {
		const t = await trigger();
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		expect(await lifecycle(t, 'checkExists')).toBe(false);
		const error = await caught(lifecycle(t, 'create'));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain(PHONE);
		expect(error.message).toContain(FOREIGN_URL);
		expect(error.description).toContain(`"${REPLACE}"`);
		expect(error.description).toMatch(/another phone number/);
		expect(error.description).toContain('Manual');
		expect(error.description).not.toMatch(/same workflow/);
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);
		expect(phoneSets()).toHaveLength(0);
		expect(meta.verifications).toHaveLength(0);
	});

	it('this same workflow at an older n8n address (new tunnel): refused, saying so and how to take it back', async () => {
		const t = await trigger();
		const oldAddress = `https://old-tunnel.trycloudflare.com/webhook/${t.webhookId}/webhook`;
		meta.setPhoneOverride(PHONE, oldAddress);
		const error = await caught(activate(t));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain(oldAddress);
		expect(error.description).toMatch(/this same workflow at another n8n address/);
		expect(error.description).toContain(`"${REPLACE}"`);
		expect(meta.phoneOverride(PHONE)).toBe(oldAddress);
	});

	it(`someone else's URL with "${REPLACE}": taken over, with a warning naming the old address`, async () => {
		const t = await trigger({ parameters: { replaceOtherWebhook: true } });
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(t.logs).toContainEqual({ level: 'warn', message: expect.stringContaining(`replaced ${FOREIGN_URL}`) });
		// Deactivating removes ours; the old address is not restored (the option says so).
		await deactivate(t);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it('a leftover test URL of this same trigger is replaced on activation', async () => {
		const t = await trigger();
		meta.setPhoneOverride(PHONE, t.testUrl);
		expect(await lifecycle(t, 'checkExists')).toBe(false);
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`other URL ${t.testUrl}`) });
	});

	it('business account not subscribed to the app: subscribes it, then registers', async () => {
		const t = await trigger();
		meta.unsubscribeApp(WABA, meta.appId);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		await activate(t);
		expect(subscribePosts()).toHaveLength(1);
		expect(subscribePosts()[0].json).toBeUndefined();
		expect(meta.isSubscribed(WABA)).toBe(true);
		expect(meta.deliveryUrl(PHONE)).toBe(t.productionUrl);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining('subscribed your Meta app') });
	});

	it('a business-account override someone set stays untouched, through activation and deactivation', async () => {
		const t = await trigger();
		meta.setWabaOverride(WABA, WABA_OVERRIDE);
		expect(await lifecycle(t, 'checkExists')).toBe(false);
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(meta.wabaOverride(WABA)).toBe(WABA_OVERRIDE);
		expect(subscribePosts()).toHaveLength(0);
		await deactivate(t);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(meta.wabaOverride(WABA)).toBe(WABA_OVERRIDE);
		expect(meta.deliveryUrl(PHONE)).toBe(WABA_OVERRIDE);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`now sends its WhatsApp messages to ${WABA_OVERRIDE}`) });
	});

	it('without a business account id in the credential: registers, and warns that the subscription was not checked', async () => {
		const t = await trigger({ cloud: { businessAccountId: '' } });
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(fake.requestsTo('webhooks.subscribedApps.get')).toHaveLength(0);
		expect(t.logs).toContainEqual({ level: 'warn', message: expect.stringContaining('no WhatsApp Business Account ID') });
	});

	it('an app whose WhatsApp webhook was never configured: the app is subscribed to "messages" with this URL, and a signed message then flows', async () => {
		const t = await trigger();
		meta.setAppCallbackUrl(undefined);
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(meta.appSubscription()).toEqual({ callbackUrl: t.productionUrl, fields: ['messages'], active: true });
		expect(meta.deliveryUrl(PHONE)).toBe(t.productionUrl);
		expect(appPosts()).toHaveLength(1);
		expect(appForm()).toEqual({
			object: 'whatsapp_business_account',
			callback_url: t.productionUrl,
			verify_token: VERIFY,
			fields: 'messages',
			include_values: 'true',
			access_token: `${FAKE_APP_ID}|${SECRET}`,
		});
		// Meta verified the URL twice (override, then the app's subscription), both answered by the trigger itself.
		expect(meta.verifications.map((attempt) => [attempt.level, attempt.url, attempt.status, attempt.ok])).toEqual([
			['phone', t.productionUrl, 200, true],
			['app', t.productionUrl, 200, true],
		]);
		// GET /app was asked once (by the business-account check) and reused.
		expect(fake.requestsTo('webhooks.app')).toHaveLength(1);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`your Meta app "${FAKE_APP_NAME}" had no WhatsApp webhook`) });
		expect(warningsOf(t)).toEqual([]);

		const response = await deliverToWebhook(meta.deliveryUrl(PHONE)!, textMessageBody('hello from a fresh app', { phoneNumberId: PHONE }), SECRET);
		expect(response.status).toBe(200);
		expect(t.server.runs.map((run) => run.workflowData[0][0].json.message)).toEqual(['hello from a fresh app']);

		// Deactivating removes the override but never the app's subscription.
		await deactivate(t);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(meta.appSubscription()).toEqual({ callbackUrl: t.productionUrl, fields: ['messages'], active: true });
		// Activating again: the app's subscription is found in place, nothing written to it.
		await activate(t);
		expect(appPosts()).toHaveLength(1);
		expect(meta.deliveryUrl(PHONE)).toBe(t.productionUrl);
	});

	it('the app\'s webhook goes elsewhere without "messages": the override is set, a warning gives the exact one-time step, the app is untouched', async () => {
		const t = await trigger();
		meta.setAppSubscription({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: ['message_template_status_update'] });
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(appPosts()).toHaveLength(0);
		expect(meta.appSubscription()).toEqual({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: ['message_template_status_update'], active: true });
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		const warnings = warningsOf(t);
		expect(warnings).toHaveLength(1);
		expect(warnings[0]).toContain(`sends its WhatsApp webhooks to ${FAKE_APP_CALLBACK_URL} but is not subscribed to the "messages" field`);
		expect(warnings[0]).toContain('developers.facebook.com → WhatsApp → Configuration → Webhook');
		expect(warnings[0]).toContain('Under "Webhook fields" click Manage and subscribe to "messages"');
		// Once the user did that step, messages arrive here.
		meta.setAppSubscription({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: ['message_template_status_update', 'messages'] });
		expect(meta.deliveryUrl(PHONE)).toBe(t.productionUrl);
	});

	it('a wrong App Secret: activation goes on, and the warning says the secret is wrong (and that messages would be refused)', async () => {
		const t = await trigger({ webhook: { verifyToken: VERIFY, appSecret: WRONG_SECRET } });
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(appPosts()).toHaveLength(0);
		const warnings = warningsOf(t);
		expect(warnings).toHaveLength(1);
		expect(warnings[0]).toMatch(/Meta refused the App Secret of the WhatsApp Webhook credential for your Meta app "Fake Test App"/);
		expect(warnings[0]).toMatch(/refuse the messages Meta sends/);
		expect(warnings[0]).toContain('App Settings → Basic → App secret');
		expect(warnings[0]).not.toContain(WRONG_SECRET);
	});

	it('GET /app answering 404 (a proxy without it): activation goes on with a warning and the manual step', async () => {
		const t = await trigger();
		fake.fail({ status: 404, body: 'Not Found', contentType: 'text/plain' }, { route: 'webhooks.app', times: Infinity });
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(fake.requestsTo('webhooks.appSubscriptions.get')).toHaveLength(0);
		expect(warningsOf(t)).toContainEqual(expect.stringMatching(/Meta did not say which app the access token belongs to \(GET \/app: HTTP 404/));
		expect(warningsOf(t)).toContainEqual(expect.stringContaining('subscribe to "messages"'));
	});

	it('a test on a fresh app subscribes the app with the test URL; activating then moves the app\'s callback URL to production', async () => {
		const t = await trigger();
		meta.setAppCallbackUrl(undefined);
		await activate(t, { test: true });
		expect(meta.appSubscription()?.callbackUrl).toBe(t.testUrl);
		expect(meta.deliveryUrl(PHONE)).toBe(t.testUrl);
		await deactivate(t, { test: true });
		// The test's end leaves the app's subscription (only the number's override goes).
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(meta.appSubscription()?.callbackUrl).toBe(t.testUrl);

		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		expect(meta.appSubscription()).toEqual({ callbackUrl: t.productionUrl, fields: ['messages'], active: true });
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`callback URL from this trigger's other URL ${t.testUrl} to ${t.productionUrl}`) });

		// And a later test never takes the app's callback URL from production.
		await deactivate(t);
		await activate(t, { test: true });
		expect(meta.appSubscription()?.callbackUrl).toBe(t.productionUrl);
		expect(appPosts()).toHaveLength(2);
	});
});

describe('automatic setup: what the user sees when activation fails', () => {
	it('no WhatsApp Cloud API credential: a clear error before anything is sent', async () => {
		const t = await trigger({ cloud: null });
		for (const method of ['checkExists', 'create'] as const) {
			const error = await caught(lifecycle(t, method));
			expect(error).toBeInstanceOf(NodeOperationError);
			// Self-contained: n8n 2.41 shows an activation error's message only.
			expect(error.message.startsWith(`${LIFECYCLE_MESSAGES.noCloudCredential}. `)).toBe(true);
			expect(error.message).toMatch(/Select a WhatsApp Cloud API credential/);
			expect(error.description).toMatch(/Select a WhatsApp Cloud API credential/);
			expect(error.description).toMatch(/Manual/);
		}
		expect(graphRequests()).toEqual([]);
	});

	it('token without whatsapp_business_management: says which permission and where to get it', async () => {
		const t = await trigger();
		meta.setPermissions([MESSAGING]);
		for (const method of ['checkExists', 'create'] as const) {
			const error = await caught(lifecycle(t, method));
			expect(error).toBeInstanceOf(NodeOperationError);
			expect(error.message).toMatch(/not allowed to manage this WhatsApp account's webhooks/);
			expect(error.message).toContain('#200');
			expect(error.description).toContain('whatsapp_business_management');
			expect(error.description).toMatch(/System Users/);
		}
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it.each([
		['http:// on a public host', 'http://n8n.example.com/webhook', /only sends webhooks to https:\/\//],
		['https:// on a private address', 'https://192.168.1.20/webhook', /local or private address/],
		['https:// on localhost', 'https://localhost:5678/webhook', /local or private address/],
	])('URL not public https (%s) against real Meta: refused before anything is sent', async (_name, base, message) => {
		// The Graph API Base URL is Meta's own: the strict check applies (no request ever leaves).
		const t = await trigger({ cloud: { graphApiBaseUrl: 'https://graph.facebook.com' } });
		t.bases = { webhookBaseUrl: base, webhookTestBaseUrl: `${base}-test` };
		const error = await caught(lifecycle(t, 'create'));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toMatch(message);
		expect(error.message).toContain(`${base}/${t.webhookId}/webhook`);
		expect(error.description).toContain('N8N_WEBHOOK_URL');
		expect(error.description).toMatch(/tunnel/);
		expect(graphRequests()).toEqual([]);
	});

	it('loopback http is accepted only because the Graph API Base URL is itself local (a fake)', async () => {
		const t = await trigger();
		expect(new URL(fake.baseUrl).hostname).toBe('127.0.0.1');
		expect(t.productionUrl.startsWith('http://127.0.0.1:')).toBe(true);
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
	});

	it('Meta could not verify: n8n not reachable at its URL', async () => {
		const t = await trigger();
		const port = await closedPort();
		t.bases = { webhookBaseUrl: `http://127.0.0.1:${port}/webhook`, webhookTestBaseUrl: `http://127.0.0.1:${port}/webhook-test` };
		const error = await caught(activate(t));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain(`Meta could not verify this trigger's webhook URL http://127.0.0.1:${port}/webhook/${t.webhookId}/webhook`);
		expect(error.message).toMatch(/Failed to connect/);
		expect(error.description).toMatch(/reachable from the internet/);
		expect(error.description).toContain('N8N_WEBHOOK_URL');
		expect(error.description).toMatch(/Listen for test event/);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it('Meta could not verify: the trigger answers with another verify token (credential changed meanwhile)', async () => {
		const t = await trigger({ servedWebhook: { verifyToken: 'vt-Served-Other-93ab', appSecret: SECRET } });
		const error = await caught(activate(t));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toMatch(/Meta could not verify/);
		expect(error.message).toContain('HTTP Status Code = 403');
		expect(error.description).toMatch(/verify token/);
		// The trigger itself refused the GET and said why in n8n's log.
		expect(meta.verifications[0]).toMatchObject({ url: t.productionUrl, status: 403, ok: false });
		expect(t.server.logs).toContainEqual({ level: 'warn', message: expect.stringMatching(/refused Meta's webhook verification/) });
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it('phone number of another business account: names both, changes nothing', async () => {
		const t = await trigger({ cloud: { phoneNumberId: OTHER_WABA_PHONE, businessAccountId: WABA } });
		const error = await caught(activate(t));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain(`The phone number ${OTHER_WABA_PHONE} is not one of the phone numbers of the WhatsApp Business Account ${WABA}`);
		expect(error.description).toMatch(/API Setup/);
		expect(meta.phoneOverride(OTHER_WABA_PHONE)).toBeUndefined();
		expect(phoneSets()).toHaveLength(0);
	});

	it('unknown phone number id: says where the right one is', async () => {
		const t = await trigger({ cloud: { phoneNumberId: '999999999999999' } });
		const error = await caught(lifecycle(t, 'checkExists'));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toMatch(/does not know the Phone Number ID 999999999999999/);
		expect(error.description).toMatch(/Phone number ID.*API Setup/);
	});

	it('no phone number id, or no verify token: names the credential field', async () => {
		const noPhone = await trigger({ cloud: { phoneNumberId: '' } });
		const phoneError = await caught(lifecycle(noPhone, 'checkExists'));
		expect(phoneError).toBeInstanceOf(NodeOperationError);
		expect(phoneError.message).toMatch(/Phone Number ID is missing/);
		expect(phoneError.description).toMatch(/WhatsApp Cloud API credential/);

		const noToken = await trigger({ webhook: { verifyToken: '', appSecret: SECRET } });
		const tokenError = await caught(lifecycle(noToken, 'create'));
		expect(tokenError).toBeInstanceOf(NodeOperationError);
		expect(tokenError.message).toMatch(/verify token is missing/);
		expect(tokenError.description).toMatch(/WhatsApp Webhook credential/);
		expect(phoneSets()).toHaveLength(0);
	});

	it('Meta failing (HTTP 500 after retries): a readable NodeApiError', async () => {
		const t = await trigger();
		fake.fail({ status: 500 }, { route: 'webhooks.phone.get', times: Infinity });
		const error = await caught(lifecycle(t, 'checkExists'));
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toMatch(/Reading the phone number's webhook settings failed/);
		expect(error.httpCode).toBe('500');
	}, 20_000);

	it('n8n restarting while Meta fails: the setting made before is kept (warning), but a user error still fails', async () => {
		const t = await trigger();
		meta.setPhoneOverride(PHONE, t.productionUrl);
		fake.fail({ status: 500 }, { route: 'webhooks.phone.get', times: Infinity });
		for (const activation of ['init', 'leadershipChange'] as const) {
			expect(await lifecycle(t, 'checkExists', { activation })).toBe(true);
		}
		expect(t.logs.filter((log) => log.level === 'warn')).toHaveLength(2);
		expect(t.logs[0].message).toMatch(/could not check phone number 106540352242922's webhook while n8n started/);
		// On a user's activation the same failure is shown.
		expect(await caught(lifecycle(t, 'checkExists'))).toBeInstanceOf(NodeApiError);
		fake.clearFaults();
		meta.setPermissions([MESSAGING]);
		expect(await caught(lifecycle(t, 'checkExists', { activation: 'init' }))).toBeInstanceOf(NodeOperationError);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
	}, 30_000);
});

describe('automatic setup: a Graph API without webhook overrides', () => {
	// A proxy or test server at the Graph API Base URL that does not implement Meta's override
	// endpoints answers 404 (Meta itself never does): activation goes on, with a warning saying
	// what to set by hand, instead of a workflow that cannot be activated.
	it('404 on reading the settings: checkExists answers true with a warning; nothing is registered', async () => {
		const t = await trigger();
		fake.fail({ status: 404, body: 'Not Found', contentType: 'text/plain' }, { route: 'webhooks.phone.get', times: Infinity });
		await activate(t);
		expect(phoneSets()).toHaveLength(0);
		const warnings = t.logs.filter((log) => log.level === 'warn');
		expect(warnings.length).toBeGreaterThan(0);
		expect(warnings[0].message).toMatch(/do not offer Meta's webhook overrides \(HTTP 404\)/);
		expect(warnings[0].message).toContain(t.productionUrl);
		expect(await deactivate(t)).toEqual([true, true]);
	});

	it('404 on setting the override: create answers true with a warning', async () => {
		const t = await trigger();
		fake.fail({ status: 404, body: 'Not Found', contentType: 'text/plain' }, { route: 'webhooks.phone.set', times: Infinity });
		expect(await lifecycle(t, 'checkExists')).toBe(false);
		expect(await lifecycle(t, 'create')).toBe(true);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(t.logs.some((log) => log.level === 'warn' && /automatic webhook setup was skipped/.test(log.message))).toBe(true);
	});

	it('a Graph API version without the field ("nonexisting field (webhook_configuration)"): steps aside too', async () => {
		const t = await trigger();
		fake.fail(
			{ status: 400, code: 100, message: '(#100) Tried accessing nonexisting field (webhook_configuration) on node type (WhatsAppBusinessPhoneNumber)' },
			{ route: 'webhooks.phone.get', times: Infinity },
		);
		await activate(t);
		expect(phoneSets()).toHaveLength(0);
		expect(t.logs.some((log) => log.level === 'warn' && /HTTP 400/.test(log.message))).toBe(true);
	});

	it('a 400 from Meta (e.g. unknown phone number) still fails activation', async () => {
		const t = await trigger({ cloud: { phoneNumberId: '999999999999999' } });
		expect(await caught(lifecycle(t, 'checkExists'))).toBeInstanceOf(NodeOperationError);
	});
});

describe('automatic setup: "Listen for test event" and production', () => {
	it('while production is ours, a test is refused and production is never diverted (even with the replace option)', async () => {
		for (const replaceOtherWebhook of [false, true]) {
			meta.reset();
			fake.reset();
			const t = await trigger({ parameters: { replaceOtherWebhook } });
			await activate(t);
			expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);

			expect(await lifecycle(t, 'checkExists', { test: true })).toBe(false);
			const error = await caught(lifecycle(t, 'create', { test: true }));
			expect(error).toBeInstanceOf(NodeOperationError);
			expect(error.message.startsWith(`${LIFECYCLE_MESSAGES.productionActive(PHONE, t.productionUrl)}. `)).toBe(true);
			expect(error.message).toMatch(/Deactivate the workflow first/);
			expect(error.message).toMatch(/this workflow is active/);
			expect(error.description).toMatch(/Deactivate the workflow first/);
			expect(error.description).toMatch(/another phone number/);
			expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
			expect(phoneSets()).toHaveLength(1);
			expect(meta.verifications.map((attempt) => attempt.url)).toEqual([t.productionUrl]);

			// n8n then tears the test webhooks down: that delete leaves production alone.
			expect(await deactivate(t, { test: true })).toEqual([true, true]);
			expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		}
	});

	it('with production not set, a test registers the test URL (verified over it), receives, and its end removes only the test URL', async () => {
		const t = await trigger();
		meta.setWabaOverride(WABA, WABA_OVERRIDE);
		await activate(t, { test: true });
		expect(meta.phoneOverride(PHONE)).toBe(t.testUrl);
		expect(t.testUrl).toContain(`/webhook-test/${t.webhookId}/webhook`);
		expect(meta.verifications).toHaveLength(1);
		expect(meta.verifications[0]).toMatchObject({ url: t.testUrl, verifyToken: VERIFY, status: 200, ok: true });
		expect(meta.verifications[0].body).toBe(meta.verifications[0].challenge);

		const response = await deliverToWebhook(meta.deliveryUrl(PHONE)!, textMessageBody('hello test', { phoneNumberId: PHONE }), SECRET);
		expect(response.status).toBe(200);
		expect(t.server.runs).toHaveLength(1);
		expect(t.server.runs[0].workflowData[0][0].json).toMatchObject({ message: 'hello test' });

		expect(await deactivate(t, { test: true })).toEqual([true, true]);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(meta.wabaOverride(WABA)).toBe(WABA_OVERRIDE);
		expect(meta.isSubscribed(WABA)).toBe(true);
		expect(meta.deliveryUrl(PHONE)).toBe(WABA_OVERRIDE);
		expect(phoneSets().map((request) => (request.json as any).webhook_configuration.override_callback_uri)).toEqual([t.testUrl, '']);
	});

	it('activating while a test listens takes the number over; the test\'s end then leaves production alone', async () => {
		const t = await trigger();
		await activate(t, { test: true });
		expect(meta.phoneOverride(PHONE)).toBe(t.testUrl);
		await activate(t);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		await deactivate(t, { test: true });
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		await deactivate(t);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it(`a test on a number someone else uses: refused; with "${REPLACE}" it takes it`, async () => {
		const t = await trigger();
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		const error = await caught(activate(t, { test: true }));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain(FOREIGN_URL);
		expect(error.description).toContain(REPLACE);
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);

		const replacing = await trigger({ parameters: { replaceOtherWebhook: true } });
		await activate(replacing, { test: true });
		expect(meta.phoneOverride(PHONE)).toBe(replacing.testUrl);
		expect(replacing.logs).toContainEqual({ level: 'warn', message: expect.stringContaining(`replaced ${FOREIGN_URL}`) });
	});
});

describe('automatic setup: deactivation', () => {
	it('ours: removed; n8n\'s second delete (and any further one) is a no-op', async () => {
		const t = await trigger();
		await activate(t);
		expect(await deactivate(t)).toEqual([true, true]);
		expect(await lifecycle(t, 'delete')).toBe(true);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(phoneSets().map((request) => request.json)).toEqual([
			{ webhook_configuration: { override_callback_uri: t.productionUrl, verify_token: VERIFY } },
			{ webhook_configuration: { override_callback_uri: '' } },
		]);
		expect(meta.deliveryUrl(PHONE)).toBe(FAKE_APP_CALLBACK_URL);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`removed ${t.productionUrl} from phone number ${PHONE}`) });
		// Neither the subscription nor anything at the business account level was touched.
		expect(subscribePosts()).toHaveLength(0);
		expect(meta.isSubscribed(WABA)).toBe(true);
	});

	it('someone else\'s URL (set after we activated): left alone', async () => {
		const t = await trigger();
		await activate(t);
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		expect(await deactivate(t)).toEqual([true, true]);
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);
		expect(phoneSets()).toHaveLength(1);
		expect(t.logs).toContainEqual({ level: 'info', message: expect.stringContaining(`left phone number ${PHONE} alone`) });
	});

	it('no override: nothing sent but a read', async () => {
		const t = await trigger();
		expect(await deactivate(t)).toEqual([true, true]);
		expect(phoneSets()).toHaveLength(0);
	});

	it('Meta refusing (permission lost) never blocks deactivation: logged, true', async () => {
		const t = await trigger();
		await activate(t);
		meta.setPermissions([MESSAGING]);
		expect(await deactivate(t)).toEqual([true, true]);
		expect(meta.phoneOverride(PHONE)).toBe(t.productionUrl);
		const warnings = t.logs.filter((log) => log.level === 'warn');
		expect(warnings).toHaveLength(2);
		expect(warnings[0].message).toMatch(/could not remove its webhook from phone number 106540352242922/);
		expect(warnings[0].message).toContain('whatsapp_business_management');
	});

	it('Cloud API credential removed meanwhile, or Meta unreachable: logged, true', async () => {
		const t = await trigger({ cloud: null });
		expect(await deactivate(t)).toEqual([true, true]);
		expect(t.logs.filter((log) => log.level === 'warn')[0].message).toContain(LIFECYCLE_MESSAGES.noCloudCredential);

		const port = await closedPort();
		const unreachable = await trigger({ cloud: { graphApiBaseUrl: `http://127.0.0.1:${port}` } });
		expect(await lifecycle(unreachable, 'delete')).toBe(true);
		expect(unreachable.logs.filter((log) => log.level === 'warn')[0].message).toMatch(/could not reach Meta/);
	}, 20_000);
});

describe('several workflows, each on its own phone number, under one Meta app', () => {
	it('each registers its own number; deactivating one leaves the other alone', async () => {
		const first = await trigger();
		const second = await trigger({ cloud: { phoneNumberId: SECOND_PHONE } });
		await activate(first);
		await activate(second);
		expect(meta.phoneOverride(PHONE)).toBe(first.productionUrl);
		expect(meta.phoneOverride(SECOND_PHONE)).toBe(second.productionUrl);
		expect(meta.verifications.map((attempt) => [attempt.target, attempt.url, attempt.ok])).toEqual([
			[PHONE, first.productionUrl, true],
			[SECOND_PHONE, second.productionUrl, true],
		]);

		await deliverToWebhook(meta.deliveryUrl(PHONE)!, textMessageBody('to the first', { phoneNumberId: PHONE }), SECRET);
		await deliverToWebhook(meta.deliveryUrl(SECOND_PHONE)!, textMessageBody('to the second', { phoneNumberId: SECOND_PHONE }), SECRET);
		expect(first.server.runs.map((run) => run.workflowData[0][0].json.message)).toEqual(['to the first']);
		expect(second.server.runs.map((run) => run.workflowData[0][0].json.message)).toEqual(['to the second']);

		await deactivate(first);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(meta.phoneOverride(SECOND_PHONE)).toBe(second.productionUrl);
		// While one is active, the other can listen for tests on its own number.
		await activate(first, { test: true });
		expect(meta.phoneOverride(PHONE)).toBe(first.testUrl);
		expect(meta.phoneOverride(SECOND_PHONE)).toBe(second.productionUrl);
	});

	it('a second workflow on the same number is refused, naming the first one\'s URL', async () => {
		const first = await trigger();
		const second = await trigger();
		await activate(first);
		const error = await caught(activate(second));
		expect(error.message).toContain(first.productionUrl);
		expect(meta.phoneOverride(PHONE)).toBe(first.productionUrl);
		// Deactivating the refused one does not take the number from the first.
		await deactivate(second);
		expect(meta.phoneOverride(PHONE)).toBe(first.productionUrl);
	});
});

describe('the other URL of the same trigger', () => {
	const id = '5f0c2f55-6a8e-4c5b-9d0e-7f1a2b3c4d5e';
	it('swaps /webhook/<id>/ and /webhook-test/<id>/, also under a path prefix', () => {
		expect(counterpartUrl(`https://n8n.example.com/webhook/${id}/webhook`, id, false)).toBe(`https://n8n.example.com/webhook-test/${id}/webhook`);
		expect(counterpartUrl(`https://n8n.example.com/webhook-test/${id}/webhook`, id, true)).toBe(`https://n8n.example.com/webhook/${id}/webhook`);
		expect(counterpartUrl(`https://example.com/webhook/webhook/${id}/webhook`, id, false)).toBe(`https://example.com/webhook/webhook-test/${id}/webhook`);
		expect(counterpartUrl('https://n8n.example.com/n8n/webhook/wf1/my%20trigger/webhook', undefined, false)).toBe(
			'https://n8n.example.com/n8n/webhook-test/wf1/my%20trigger/webhook',
		);
	});

	it('custom endpoint names are not recognised (so never taken for ours)', () => {
		expect(counterpartUrl(`https://n8n.example.com/hooks/${id}/webhook`, id, false)).toBeUndefined();
		expect(counterpartUrl('not a url', id, false)).toBeUndefined();
	});
});

describe('secrets', () => {
	it('no error and no log line of this file contains the verify token, the access token, the app secret or an app token', () => {
		expect(errors.length).toBeGreaterThan(15);
		expect(allLogs.length).toBeGreaterThan(10);
		const texts = [
			...errors.map((error: any) => {
				let json = '';
				try {
					json = JSON.stringify(error);
				} catch {
					json = '';
				}
				return `${error.message} ${error.description ?? ''} ${json} ${error.stack ?? ''}`;
			}),
			...allLogs.map((log) => log.message),
		];
		for (const text of texts) {
			for (const secret of [VERIFY, ACCESS_TOKEN, SECRET, WRONG_SECRET, 'vt-Served-Other-93ab']) expect(text).not.toContain(secret);
		}
	});
});
