/**
 * The trigger over real HTTP (test/harness/n8n.ts serves its webhooks the way n8n does: raw
 * body Buffer, parsed JSON, n8n's own 422 for unparsable JSON, a real WebhookContext), with
 * Meta played by test/fakes/meta-webhook.ts and the Graph API by the fake on loopback.
 */
import { createHash } from 'crypto';
import type { IDataObject, INodeExecutionData, INodeParameters } from 'n8n-workflow';

import { normalizeWebhook } from '../../core/inbound-normalizer';
import { SignedTokens } from '../../core/signed-token';
import { SIGNATURE_REASONS } from '../../core/webhook-signature';
import { GRAPH_ERROR_CODES } from '../../core/graph-errors';
import { resetDedupCaches } from '../../nodes/WhatsAppAgentTrigger/dedupRegistry';
import { NOT_JSON_REASON, NO_CLOUD_CREDENTIAL_FOR_DOWNLOAD } from '../../nodes/WhatsAppAgentTrigger/handlers/events';
import { MEDIA_PROXY_REASONS } from '../../nodes/WhatsAppAgentTrigger/handlers/mediaProxy';
import { REPLY_CALLBACK_REASONS } from '../../nodes/WhatsAppAgentTrigger/handlers/replyCallback';
import { VERIFICATION_REASONS } from '../../nodes/WhatsAppAgentTrigger/handlers/verification';
import { WhatsAppAgentTrigger } from '../../nodes/WhatsAppAgentTrigger/WhatsAppAgentTrigger.node';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import {
	deliverToWebhook,
	fixtureNames,
	loadFixture,
	serializeLikeMeta,
	signLikeMeta,
	textMessageBody,
	verifyWebhook,
	webhookBody,
} from '../fakes/meta-webhook';
import { WebhookMutator } from '../fakes/webhook-mutator';
import { runWebhookMethod, startWebhookServer, type NodeSetup, type WebhookServer } from '../harness/n8n';

/** A 32-hex-character test value shaped like a Meta App Secret. */
const SECRET = createHash('md5').update('test app secret').digest('hex');
const OTHER_SECRET = createHash('md5').update('another app').digest('hex');
const VERIFY = 'my-verify-phrase';
const PN = '106540352242922';

let graph: FakeGraphApi;
let servers: WebhookServer[] = [];
let webhookCounter = 0;

beforeAll(async () => {
	graph = await startFakeGraphApi();
});
afterAll(async () => {
	await graph.close();
});
beforeEach(() => {
	graph.reset();
	resetDedupCaches();
});
afterEach(async () => {
	await Promise.all(servers.map((server) => server.close()));
	servers = [];
});

interface SetupOptions {
	options?: IDataObject;
	webhook?: Record<string, string>;
	cloud?: boolean;
}

function setup({ options = {}, webhook, cloud = true }: SetupOptions = {}): NodeSetup {
	return {
		nodeType: new WhatsAppAgentTrigger(),
		parameters: { options } as INodeParameters,
		credentials: {
			whatsAppWebhookApi: webhook ?? { verifyToken: VERIFY, appSecret: SECRET },
			...(cloud ? { whatsAppCloudApi: graph.credentials() } : {}),
		},
		webhookId: `wh-${++webhookCounter}`,
	};
}

async function serve(options: SetupOptions = {}): Promise<WebhookServer> {
	const server = await startWebhookServer(setup(options));
	servers.push(server);
	return server;
}

async function post(server: WebhookServer, body: unknown, secret = SECRET, init: Parameters<typeof deliverToWebhook>[3] = {}) {
	const response = await deliverToWebhook(server.url('webhook'), body, secret, init);
	return { status: response.status, body: (await response.json()) as any };
}

const json = (items: INodeExecutionData[]) => items.map((item) => item.json as any);

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
	const started = Date.now();
	for (;;) {
		const value = probe();
		if (value !== undefined) return value;
		if (Date.now() - started > timeoutMs) throw new Error('timed out');
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

describe('description', () => {
	it('has the fixed names, the three fixed outputs and Conversation Events, four webhooks, and is not a tool', () => {
		const { description, webhookMethods } = new WhatsAppAgentTrigger();
		expect(description).toMatchObject({
			name: 'whatsAppAgentTrigger',
			displayName: 'WhatsApp Agent Trigger',
			group: ['trigger'],
			inputs: [],
			outputNames: ['Messages', 'Statuses', 'Agent Callbacks', 'Conversation Events'],
			icon: { light: 'file:../../icons/whatsapp-agent.svg', dark: 'file:../../icons/whatsapp-agent.dark.svg' },
		});
		expect(description.outputs).toHaveLength(4);
		expect(description.usableAsTool).toBeFalsy();
		expect(description.credentials).toEqual([
			{ name: 'whatsAppWebhookApi', required: true, testedBy: 'whatsAppWebhookApiTest' },
			{ name: 'whatsAppCloudApi', required: false },
		]);
		expect(description.webhooks!.map((hook) => [hook.name, hook.httpMethod, hook.path, hook.responseMode])).toEqual([
			['setup', 'GET', 'webhook', 'onReceived'],
			['default', 'POST', 'webhook', 'onReceived'],
			['setup', 'POST', 'reply', 'onReceived'],
			['default', 'GET', 'media', 'onReceived'],
		]);
		expect(Object.keys(webhookMethods!.default)).toEqual(['checkExists', 'create', 'delete']);
		const notice = description.properties.find((property) => property.name === 'setupNotice');
		expect(notice?.type).toBe('notice');
		expect(notice?.displayName).toMatch(/Production URL.*\/webhook.*Verify Token.*messages/s);
		const options = description.properties.find((property) => property.name === 'options');
		expect((options?.options as Array<{ name: string }>).map((option) => option.name)).toEqual([
			'conversationEvents', 'downloadMedia', 'ignoreDuplicates', 'mediaLinkLifetimeMinutes', 'phoneNumberIds', 'replyCallbackLifetimeHours', 'skipSignatureCheck', 'statuses',
		]);
	});
});

describe('GET webhook: Meta verification', () => {
	it('answers 200 text/plain with exactly hub.challenge', async () => {
		const server = await serve();
		for (const challenge of ['1158201444', 'abc-DEF_123.xyz']) {
			const response = await verifyWebhook(server.url('webhook'), VERIFY, challenge);
			expect(response.status).toBe(200);
			expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
			expect(await response.text()).toBe(challenge);
		}
		expect(server.runs).toEqual([]);
	});

	it.each([
		['a wrong verify token', { token: 'wrong' }, VERIFICATION_REASONS.mismatch],
		['no verify token', { token: undefined }, VERIFICATION_REASONS.noToken],
		['a mode other than subscribe', { mode: 'unsubscribe' }, VERIFICATION_REASONS.badMode],
		['no challenge', { challenge: '' }, VERIFICATION_REASONS.noChallenge],
	])('answers 403 with a reason for %s, and logs it', async (_name, change: { token?: string; mode?: string; challenge?: string }, reason) => {
		const server = await serve();
		const response = await verifyWebhook(server.url('webhook'), 'token' in change ? change.token : VERIFY, change.challenge ?? '42', change.mode ?? 'subscribe');
		expect(response.status).toBe(403);
		expect(await response.text()).toBe(reason);
		expect(server.logs).toEqual([{ level: 'warn', message: expect.stringContaining(reason) }]);
		expect(server.runs).toEqual([]);
	});

	it('answers 403 when the credential has no verify token (even if Meta sends an empty one)', async () => {
		const server = await serve({ webhook: { verifyToken: '', appSecret: SECRET } });
		const response = await fetch(`${server.url('webhook')}?hub.mode=subscribe&hub.challenge=42&hub.verify_token=`);
		expect(response.status).toBe(403);
		expect(await response.text()).toBe(VERIFICATION_REASONS.noVerifyToken);
	});

	it('never checks a signature on GET', async () => {
		const server = await serve({ webhook: { verifyToken: VERIFY, appSecret: '' } });
		expect((await verifyWebhook(server.url('webhook'), VERIFY)).status).toBe(200);
	});
});

describe('POST webhook: signature', () => {
	it('accepts a correctly signed delivery: 200 receipt, one run on Messages', async () => {
		const server = await serve();
		const response = await post(server, loadFixture('text'));
		expect(response).toEqual({ status: 200, body: { received: true, messages: 1, statuses: 0, duplicates: 0, filtered: 0 } });
		expect(server.runs).toHaveLength(1);
		const [messages, statuses, callbacks] = server.runs[0].workflowData;
		expect(statuses).toEqual([]);
		expect(callbacks).toEqual([]);
		expect(json(messages)).toEqual([
			expect.objectContaining({
				message: 'Does it come in another color?',
				phone_number: '+16505551234',
				messageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
				type: 'text',
				timestamp: '2025-06-08T20:59:43.000Z',
				contactName: 'Sheena Nelson',
				waId: '16505551234',
				phoneNumberId: PN,
				displayPhoneNumber: '15550783881',
				image: null,
				reply_callback: expect.stringMatching(new RegExp(`^${server.baseUrl}/reply\\?token=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`)),
			}),
		]);
	});

	it('accepts non-ASCII bodies signed in Meta\'s escaped form', async () => {
		const server = await serve();
		expect((await post(server, loadFixture('non-ascii'))).status).toBe(200);
		expect(json(server.runs[0].workflowData[0])[0].message).toBe('Grüße aus Köln 👋🏽 — ¿qué tal? Das kostet 12 € für Jürgen 🇩🇪');
		// Sent as raw UTF-8 but signed escaped: the fallback accepts it too.
		expect((await post(server, textMessageBody('Schöne Grüße 🌷'), SECRET, { escape: false })).status).toBe(200);
		expect(server.runs).toHaveLength(2);
	});

	it.each([
		['a wrong signature (another app secret)', { secret: 'another-app-secret' }, SIGNATURE_REASONS.mismatch],
		['no signature header', { signature: null }, SIGNATURE_REASONS.missing],
		['a malformed signature header', { signature: 'sha256=nothex' }, SIGNATURE_REASONS.malformed],
	])('refuses %s with 401, the reason in the response and in n8n\'s log, and emits nothing', async (_name, change: { secret?: string; signature?: string | null }, reason) => {
		const server = await serve();
		const response = await post(server, loadFixture('text'), change.secret ?? SECRET, { signature: change.signature });
		expect(response).toEqual({ status: 401, body: { received: false, error: reason } });
		expect(server.runs).toEqual([]);
		expect(server.logs).toEqual([{ level: 'warn', message: `WhatsApp Agent Trigger "WhatsApp Agent Trigger" refused a POST with 401: ${reason}` }]);
		expect(JSON.stringify(server.logs)).not.toContain(SECRET);
	});

	it('refuses a body changed after signing', async () => {
		const server = await serve();
		const signed = serializeLikeMeta(loadFixture('text'));
		const response = await fetch(server.url('webhook'), {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-hub-signature-256': signLikeMeta(signed, SECRET) },
			body: signed.replace('another color', 'a discount'),
		});
		expect(response.status).toBe(401);
		expect(server.runs).toEqual([]);
	});

	it('fails closed with an empty app secret: every POST refused, even one "signed" with the empty key', async () => {
		const server = await serve({ webhook: { verifyToken: VERIFY, appSecret: '' } });
		const response = await post(server, loadFixture('text'), '');
		expect(response).toEqual({ status: 401, body: { received: false, error: SIGNATURE_REASONS.emptySecret } });
		expect(server.runs).toEqual([]);
	});

	it('"Skip Signature Check (Testing Only)" accepts unsigned POSTs, even with an empty app secret', async () => {
		const server = await serve({ webhook: { verifyToken: VERIFY, appSecret: '' }, options: { skipSignatureCheck: true } });
		const response = await post(server, loadFixture('text'), '', { signature: null });
		expect(response.status).toBe(200);
		expect(server.runs).toHaveLength(1);
		// Links are still signed (with a key from the verify token), so they work in tests.
		expect(json(server.runs[0].workflowData[0])[0].reply_callback).toMatch(/\/reply\?token=/);
		const wrong = await post(server, textMessageBody('hi'), 'whatever');
		expect(wrong.status).toBe(200);
	});
});

describe('the webhook credential is read once a minute, and again before any refusal', () => {
	// Outside an execution n8n decrypts a credential in a fresh expression sandbox per read:
	// the most expensive thing a webhook does. The trigger keeps it for a minute per node and
	// credential, and reads it again before refusing, so a changed secret works at once.
	function pinned(onRead: (type: string) => void): NodeSetup {
		return { ...setup(), credentialIds: { whatsAppWebhookApi: 'webhook-credential-1' }, onCredentialRead: onRead };
	}

	it('many deliveries, verifications and callbacks: one read', async () => {
		const reads: string[] = [];
		const server = await startWebhookServer(pinned((type) => reads.push(type)));
		servers.push(server);
		for (let index = 0; index < 5; index++) {
			expect((await post(server, textMessageBody('hi', { id: `wamid.cache-${index}` }))).status).toBe(200);
		}
		expect((await verifyWebhook(server.url('webhook'), VERIFY)).status).toBe(200);
		const callback = json(server.runs[0].workflowData[0])[0].reply_callback;
		expect((await fetch(callback, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"content":"later"}' })).status).toBe(202);
		expect(reads.filter((type) => type === 'whatsAppWebhookApi')).toHaveLength(1);
	});

	it('an App Secret or verify token changed in the credential (same credential) works at once; the old one is refused', async () => {
		const reads: string[] = [];
		const nodeSetup = pinned((type) => reads.push(type));
		const server = await startWebhookServer(nodeSetup);
		servers.push(server);
		expect((await post(server, textMessageBody('hi', { id: 'wamid.rotate-1' }))).status).toBe(200);
		const NEW_SECRET = createHash('md5').update('rotated app secret').digest('hex');
		nodeSetup.credentials!.whatsAppWebhookApi = { verifyToken: 'new-verify-phrase', appSecret: NEW_SECRET };
		expect((await post(server, textMessageBody('hi', { id: 'wamid.rotate-2' }), NEW_SECRET)).status).toBe(200);
		expect((await post(server, textMessageBody('hi', { id: 'wamid.rotate-3' }), SECRET)).status).toBe(401);
		expect((await verifyWebhook(server.url('webhook'), 'new-verify-phrase')).status).toBe(200);
		expect((await verifyWebhook(server.url('webhook'), VERIFY)).status).toBe(403);
		expect(server.runs).toHaveLength(2);
	});
});

describe('POST webhook: bodies', () => {
	it('malformed JSON is answered 422 by n8n before the node runs', async () => {
		const server = await serve();
		const raw = '{"object": "whatsapp_business_account", "entry": [';
		const response = await fetch(server.url('webhook'), {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-hub-signature-256': signLikeMeta(raw, SECRET) },
			body: raw,
		});
		expect(response.status).toBe(422);
		expect(server.runs).toEqual([]);
	});

	it('a signed body that is not JSON (sent as text) gets 400 with a reason', async () => {
		const server = await serve();
		const response = await post(server, 'hello, not json', SECRET, { contentType: 'text/plain' });
		expect(response).toEqual({ status: 400, body: { received: false, error: NOT_JSON_REASON } });
		expect(server.runs).toEqual([]);
	});

	it('JSON sent as text/plain is still read', async () => {
		const server = await serve();
		const response = await post(server, serializeLikeMeta(loadFixture('text')), SECRET, { contentType: 'text/plain' });
		expect(response.body).toMatchObject({ received: true, messages: 1 });
	});

	it('a wrong "object" → 200, nothing emitted, the reason in the receipt', async () => {
		const server = await serve();
		const response = await post(server, { ...loadFixture<IDataObject>('text'), object: 'page' });
		expect(response).toEqual({
			status: 200,
			body: { received: true, messages: 0, statuses: 0, duplicates: 0, filtered: 0, ignored: '"object" is not "whatsapp_business_account"' },
		});
		expect(server.runs).toEqual([]);
	});

	it.each([
		['no entry', { object: 'whatsapp_business_account' }],
		['empty entry', { object: 'whatsapp_business_account', entry: [] }],
		['empty changes', { object: 'whatsapp_business_account', entry: [{ id: '1', changes: [] }] }],
		['empty messages and statuses', webhookBody({ messages: [], statuses: [], contacts: [] })],
		['an empty object', {}],
		['a JSON array', [1, 2, 3]],
		['JSON null', null],
	])('%s → 200 and nothing emitted', async (_name, body) => {
		const server = await serve();
		const response = await post(server, body);
		expect(response.status).toBe(200);
		expect(response.body).toMatchObject({ received: true, messages: 0, statuses: 0 });
		expect(server.runs).toEqual([]);
	});

	it('a batch of 3 (two entries, two changes, three messages) → one run with 3 items', async () => {
		const server = await serve();
		const response = await post(server, loadFixture('batch'));
		expect(response.body).toEqual({ received: true, messages: 3, statuses: 0, duplicates: 0, filtered: 0 });
		expect(server.runs).toHaveLength(1);
		expect(json(server.runs[0].workflowData[0]).map((item) => [item.message, item.phone_number, item.phoneNumberId])).toEqual([
			['first', '+16505551234', PN],
			['', '+447700900123', PN],
			['third', '+4915112345678', '209876543210987'],
		]);
	});

	it('every fixture comes out as the normalizer says, on the right output', async () => {
		const server = await serve();
		for (const name of fixtureNames()) {
			const body = loadFixture(name);
			const expected = normalizeWebhook(body);
			const before = server.runs.length;
			const sentAt = Date.now();
			const response = await post(server, body);
			expect(response.status).toBe(200);
			const run = server.runs[before];
			for (const item of json(run.workflowData[0])) expect(item.receivedAt).toBeGreaterThanOrEqual(sentAt);
			const strip = (item: any) => {
				const rest = { ...item, media: item.media ? { ...item.media, url: null } : undefined };
				delete rest.reply_callback;
				delete rest.image;
				delete rest.receivedAt;
				return rest;
			};
			expect(json(run.workflowData[0]).map(strip)).toEqual(expected.messages.map(strip));
			expect(json(run.workflowData[1])).toEqual([...expected.statuses, ...expected.errors]);
			expect(run.workflowData[2]).toEqual([]);
			for (const item of json(run.workflowData[0])) {
				if (item.media?.id) expect(item.media.url).toMatch(new RegExp(`^${server.baseUrl}/media\\?token=`));
			}
		}
		expect(server.runs).toHaveLength(fixtureNames().length);
	});

	it('statuses: failed 131047 with a readable error and what to do', async () => {
		const server = await serve();
		await post(server, loadFixture('status-failed'));
		const [status] = json(server.runs[0].workflowData[1]);
		expect(status).toMatchObject({ status: 'failed', recipient: '+16505551234', errors: [{ code: 131047, hint: GRAPH_ERROR_CODES[131047].hint }] });
		expect(status.error).toMatch(/^Re-engagement message \(131047\): .*What to do: .*template/);
	});
});

describe('POST webhook: duplicates and filters', () => {
	it('a re-delivered message is answered 200 and not emitted again', async () => {
		const server = await serve();
		const body = loadFixture('text');
		expect((await post(server, body)).body).toMatchObject({ messages: 1, duplicates: 0 });
		expect((await post(server, body)).body).toEqual({ received: true, messages: 0, statuses: 0, duplicates: 1, filtered: 0 });
		expect(server.runs).toHaveLength(1);
	});

	it('a batch re-delivered with one new message emits only the new one', async () => {
		const server = await serve();
		await post(server, textMessageBody('one', { id: 'wamid.A' }));
		const body = loadFixture('batch');
		body.entry[0].changes[0].value.messages[0].id = 'wamid.A';
		expect((await post(server, body)).body).toMatchObject({ messages: 2, duplicates: 1 });
		expect(json(server.runs[1].workflowData[0]).map((item) => item.messageId)).toEqual(['wamid.BATCH0000000000000000000000000002', 'wamid.BATCH0000000000000000000000000003']);
	});

	it('statuses are deduplicated by message id + status', async () => {
		const server = await serve();
		const delivered = loadFixture('status-delivered');
		const read = loadFixture('status-read');
		await post(server, delivered);
		await post(server, read);
		expect((await post(server, read)).body).toMatchObject({ statuses: 0, duplicates: 1 });
		expect(server.runs.map((run) => json(run.workflowData[1])[0].status)).toEqual(['delivered', 'read']);
	});

	it('"Ignore Duplicate Deliveries" off emits every delivery', async () => {
		const server = await serve({ options: { ignoreDuplicates: false } });
		const body = loadFixture('text');
		await post(server, body);
		await post(server, body);
		expect(server.runs).toHaveLength(2);
	});

	it('two triggers each get the message once', async () => {
		const first = await serve();
		const second = await serve();
		const body = loadFixture('text');
		await post(first, body);
		await post(second, body);
		await post(second, body);
		expect([first.runs.length, second.runs.length]).toEqual([1, 1]);
	});

	it('status filter: only the chosen statuses start a run', async () => {
		const server = await serve({ options: { statuses: ['failed', 'error'] } });
		expect((await post(server, loadFixture('status-sent'))).body).toEqual({ received: true, messages: 0, statuses: 0, duplicates: 0, filtered: 1 });
		expect((await post(server, loadFixture('status-read'))).body).toMatchObject({ statuses: 0, filtered: 1 });
		expect((await post(server, loadFixture('status-failed'))).body).toMatchObject({ statuses: 1, filtered: 0 });
		expect((await post(server, loadFixture('value-errors'))).body).toMatchObject({ statuses: 1 });
		expect(server.runs.map((run) => json(run.workflowData[1])[0].status)).toEqual(['failed', 'error']);
		// Messages are never filtered by the status filter.
		expect((await post(server, loadFixture('text'))).body).toMatchObject({ messages: 1 });
	});

	it('status filter with nothing chosen emits no statuses', async () => {
		const server = await serve({ options: { statuses: [] } });
		await post(server, loadFixture('status-sent'));
		expect(server.runs).toEqual([]);
	});

	it('phone number filter: only the chosen business numbers', async () => {
		const server = await serve({ options: { phoneNumberIds: ' 209876543210987 , 999' } });
		expect((await post(server, loadFixture('batch'))).body).toEqual({ received: true, messages: 1, statuses: 0, duplicates: 0, filtered: 2 });
		expect(json(server.runs[0].workflowData[0]).map((item) => item.message)).toEqual(['third']);
		expect((await post(server, loadFixture('status-read'))).body).toMatchObject({ statuses: 0, filtered: 1 });
		expect(server.runs).toHaveLength(1);
	});
});

describe('POST reply: agent reply callbacks', () => {
	async function replyCallbackFrom(server: WebhookServer): Promise<string> {
		await post(server, textMessageBody('Where is my order?', { id: 'wamid.QUESTION' }));
		return json(server.runs[server.runs.length - 1].workflowData[0])[0].reply_callback;
	}

	async function callback(url: string, body: string, contentType = 'application/json') {
		const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
		return { status: response.status, body: (await response.json()) as any };
	}

	it('valid token + valid body → 202 receipt and one Agent Callbacks item', async () => {
		const server = await serve();
		const url = await replyCallbackFrom(server);
		const response = await callback(url, JSON.stringify({ messages: [{ type: 'text', text: 'It ships today.' }, { image: 'https://example.com/label.png', caption: 'Your label' }] }));
		expect(response).toEqual({
			status: 202,
			body: { accepted: true, messages: 2, noReply: false, replyTo: 'wamid.QUESTION', expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
		});
		const run = server.runs[server.runs.length - 1];
		expect(run).toMatchObject({ path: 'reply', method: 'POST', webhookName: 'setup' });
		expect(run.workflowData[0]).toEqual([]);
		expect(run.workflowData[1]).toEqual([]);
		expect(json(run.workflowData[2])).toEqual([
			{
				phone_number: '+16505551234',
				phoneNumberId: PN,
				replyTo: 'wamid.QUESTION',
				messages: [
					{ type: 'text', text: 'It ships today.' },
					{ type: 'image', url: 'https://example.com/label.png', caption: 'Your label' },
				],
				noReply: false,
				callback: { receivedAt: expect.any(String), expiresAt: response.body.expiresAt, idempotencyKey: null },
			},
		]);
		// The link expires 24 h after the message arrived (default).
		expect(Date.parse(response.body.expiresAt) - Date.now()).toBeGreaterThan(23.9 * 3600 * 1000);
	});

	it('accepts the same lenient forms as Call External Agent (plain text, content, no reply)', async () => {
		const server = await serve();
		const url = await replyCallbackFrom(server);
		expect(await callback(url, 'Thanks, on it!', 'text/plain')).toMatchObject({ status: 202, body: { messages: 1 } });
		expect(await callback(url, JSON.stringify({ type: 'message', content: 'Hello' }))).toMatchObject({ status: 202, body: { messages: 1 } });
		expect(await callback(url, JSON.stringify({ type: 'no_reply' }))).toMatchObject({ status: 202, body: { messages: 0, noReply: true } });
		const items = server.runs.slice(1).map((run) => json(run.workflowData[2])[0]);
		expect(items.map((item) => [item.messages, item.noReply])).toEqual([
			[[{ type: 'text', text: 'Thanks, on it!' }], false],
			[[{ type: 'text', text: 'Hello' }], false],
			[[], true],
		]);
	});

	it('works for any trigger process that has the same credential (stateless token)', async () => {
		const first = await serve();
		const url = await replyCallbackFrom(first);
		const second = await serve();
		const otherUrl = url.replace(first.baseUrl, second.baseUrl);
		expect((await callback(otherUrl, '"hi"')).status).toBe(202);
		expect(second.runs).toHaveLength(1);
	});

	it('a retried POST with the same Idempotency-Key is accepted once', async () => {
		const server = await serve();
		const url = await replyCallbackFrom(server);
		const send = async (key: string) => {
			const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: '"Your parcel left the warehouse."' });
			return { status: response.status, body: (await response.json()) as any };
		};
		expect(await send('reply-1')).toMatchObject({ status: 202, body: { accepted: true, messages: 1 } });
		expect(await send('reply-1')).toEqual({ status: 200, body: { accepted: true, duplicate: true, messages: 0, replyTo: 'wamid.QUESTION', expiresAt: expect.any(String) } });
		expect(await send('reply-2')).toMatchObject({ status: 202 });
		expect(server.runs.filter((run) => run.path === 'reply')).toHaveLength(2);
	});

	it('a tampered token → 401 and nothing emitted', async () => {
		const server = await serve();
		const url = await replyCallbackFrom(server);
		const token = new URL(url).searchParams.get('token')!;
		const claims = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
		claims.to = '+19995550000';
		const forged = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${token.split('.')[1]}`;
		expect(await callback(`${server.url('reply')}?token=${forged}`, '"pay me"')).toEqual({ status: 401, body: { accepted: false, error: REPLY_CALLBACK_REASONS.forged } });
		expect(await callback(`${server.url('reply')}?token=garbage`, '"x"')).toEqual({ status: 401, body: { accepted: false, error: REPLY_CALLBACK_REASONS.malformed } });
		expect(await callback(server.url('reply'), '"x"')).toEqual({ status: 401, body: { accepted: false, error: REPLY_CALLBACK_REASONS.missing } });
		expect(server.runs).toHaveLength(1);
	});

	it('a token made with another credential → 401', async () => {
		const server = await serve();
		const token = new SignedTokens({ secret: OTHER_SECRET }).replyCallbackToken({ to: '+1', phoneNumberId: PN, replyTo: 'wamid.X' });
		expect((await callback(`${server.url('reply')}?token=${token}`, '"x"')).status).toBe(401);
		expect(server.runs).toEqual([]);
	});

	it('an expired token → 410 and nothing emitted', async () => {
		const server = await serve();
		const dayAgo = Date.now() - 25 * 3600 * 1000;
		const token = new SignedTokens({ secret: SECRET, now: () => dayAgo }).replyCallbackToken({ to: '+16505551234', phoneNumberId: PN, replyTo: 'wamid.OLD' });
		expect(await callback(`${server.url('reply')}?token=${token}`, '"late"')).toEqual({ status: 410, body: { accepted: false, error: REPLY_CALLBACK_REASONS.expired } });
		expect(server.runs).toEqual([]);
	});

	it('the "Reply Callback Lifetime" option sets the expiry', async () => {
		const server = await serve({ options: { replyCallbackLifetimeHours: 2 } });
		const url = await replyCallbackFrom(server);
		const { body } = await callback(url, '"ok"');
		expect(Math.round((Date.parse(body.expiresAt) - Date.now()) / 60_000)).toBe(120);
	});

	it('an invalid body → 422 saying what is wrong, nothing emitted', async () => {
		const server = await serve();
		const url = await replyCallbackFrom(server);
		const unknown = await callback(url, JSON.stringify({ foo: 1 }));
		expect(unknown.status).toBe(422);
		expect(unknown.body).toEqual({ accepted: false, error: expect.stringContaining('has none of the fields this node reads (it has: foo)') });
		const invalid = await callback(url, JSON.stringify({ type: 'image', url: 'not a url' }));
		expect(invalid.status).toBe(422);
		expect(invalid.body).toEqual({ accepted: false, error: expect.stringContaining('url'), field: expect.stringMatching(/^messages\[0\]/) });
		const html = await callback(url, '<html><body>Login</body></html>', 'text/html');
		expect(html.status).toBe(422);
		expect(server.runs).toHaveLength(1);
	});

	it('JSON that does not parse is refused by n8n itself (422)', async () => {
		const server = await serve();
		const url = await replyCallbackFrom(server);
		expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"content": ' })).status).toBe(422);
		expect(server.runs).toHaveLength(1);
	});
});

describe('media: signed links and downloads', () => {
	const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('fake jpeg bytes '.repeat(100))]);

	function imageMessage(mediaId: string, extra: IDataObject = {}) {
		return webhookBody({
			contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
			messages: [{ from: '16505551234', id: `wamid.IMG${mediaId}`, timestamp: '1750000000', type: 'image', image: { id: mediaId, mime_type: 'image/jpeg', sha256: 'x', caption: 'Look', ...extra } }],
		});
	}

	it('image and media.url point at the trigger; the link streams the bytes without Meta credentials', async () => {
		const server = await serve();
		const mediaId = graph.addMedia(JPEG, 'image/jpeg', { phoneNumberId: PN });
		await post(server, imageMessage(mediaId));
		const [item] = json(server.runs[0].workflowData[0]);
		expect(item.image).toBe(item.media.url);
		expect(item.image).toMatch(new RegExp(`^${server.baseUrl}/media\\?token=`));
		const response = await fetch(item.image);
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('image/jpeg');
		expect(Buffer.from(await response.arrayBuffer()).equals(JPEG)).toBe(true);
		expect(response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
		// The proxy asked Meta with the Bearer token: media info, then the download.
		expect(graph.requests.map((request) => [request.route, request.headers.authorization])).toEqual([
			['media.info', `Bearer ${graph.token}`],
			['media.download', `Bearer ${graph.token}`],
		]);
		expect(graph.requestsTo('media.info')[0].query).toMatchObject({ phone_number_id: PN });
		expect(server.runs).toHaveLength(1);
	});

	it('an expired link → 410; a forged or missing token → 401; nothing fetched', async () => {
		const server = await serve();
		const mediaId = graph.addMedia(JPEG, 'image/jpeg');
		const old = new SignedTokens({ secret: SECRET, now: () => Date.now() - 2 * 3600 * 1000 }).mediaLinkToken({ mediaId });
		const expired = await fetch(`${server.url('media')}?token=${old}`);
		expect([expired.status, await expired.json()]).toEqual([410, { error: MEDIA_PROXY_REASONS.expired }]);
		const foreign = new SignedTokens({ secret: 'another' }).mediaLinkToken({ mediaId });
		const forged = await fetch(`${server.url('media')}?token=${foreign}`);
		expect([forged.status, await forged.json()]).toEqual([401, { error: MEDIA_PROXY_REASONS.forged }]);
		const reply = new SignedTokens({ secret: SECRET }).replyCallbackToken({ to: '+1', phoneNumberId: PN, replyTo: 'x' });
		expect((await fetch(`${server.url('media')}?token=${reply}`)).status).toBe(401);
		expect((await fetch(server.url('media'))).status).toBe(401);
		expect(graph.requests).toEqual([]);
	});

	it('the "Media Link Lifetime" option sets the expiry', async () => {
		const server = await serve({ options: { mediaLinkLifetimeMinutes: 5 } });
		await post(server, imageMessage('123'));
		const token = new URL(json(server.runs[0].workflowData[0])[0].image).searchParams.get('token')!;
		const verified = new SignedTokens({ secret: SECRET }).verifyMediaLinkToken(token);
		expect(verified.ok && verified.payload.expiresAt - Math.floor(Date.now() / 1000)).toBeGreaterThan(4 * 60);
		expect(verified.ok && verified.payload.expiresAt - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(5 * 60);
	});

	it('media Meta no longer has → 404 with a reason', async () => {
		const server = await serve();
		const token = new SignedTokens({ secret: SECRET }).mediaLinkToken({ mediaId: '999000999' });
		const response = await fetch(`${server.url('media')}?token=${token}`);
		expect(response.status).toBe(404);
		expect(((await response.json()) as any).error).toContain(MEDIA_PROXY_REASONS.gone);
	});

	it('Meta failing → 502 with a readable reason and no token in it', async () => {
		const server = await serve();
		const mediaId = graph.addMedia(JPEG, 'image/jpeg');
		graph.fail({ status: 500 }, { times: 5 });
		const token = new SignedTokens({ secret: SECRET }).mediaLinkToken({ mediaId });
		const response = await fetch(`${server.url('media')}?token=${token}`);
		expect(response.status).toBe(502);
		const text = await response.text();
		expect(text).toMatch(/Fetching the media from Meta failed/);
		expect(text).not.toContain(graph.token);
	});

	it('without a WhatsApp Cloud API credential: no links (image null), and the proxy answers 503', async () => {
		const server = await serve({ cloud: false });
		await post(server, imageMessage('123'));
		const [item] = json(server.runs[0].workflowData[0]);
		expect(item.image).toBeNull();
		expect(item.media.url).toBeNull();
		expect(item.reply_callback).toMatch(/\/reply\?token=/);
		const token = new SignedTokens({ secret: SECRET }).mediaLinkToken({ mediaId: '123' });
		const response = await fetch(`${server.url('media')}?token=${token}`);
		expect([response.status, await response.json()]).toEqual([503, { error: MEDIA_PROXY_REASONS.noCloudCredential }]);
	});

	it('"Download Media" puts the bytes into binary property "data"', async () => {
		const server = await serve({ options: { downloadMedia: true } });
		const pdf = Buffer.from('%PDF-1.4 fake invoice');
		const imageId = graph.addMedia(JPEG, 'image/jpeg');
		const documentId = graph.addMedia(pdf, 'application/pdf');
		const body = webhookBody({
			contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
			messages: [
				{ from: '16505551234', id: 'wamid.M1', timestamp: '1750000000', type: 'image', image: { id: imageId, mime_type: 'image/jpeg', sha256: 'x' } },
				{ from: '16505551234', id: 'wamid.M2', timestamp: '1750000001', type: 'document', document: { id: documentId, mime_type: 'application/pdf', sha256: 'y', filename: 'invoice.pdf' } },
				{ from: '16505551234', id: 'wamid.M3', timestamp: '1750000002', type: 'text', text: { body: 'no media' } },
			],
		});
		expect((await post(server, body)).status).toBe(200);
		const items = await waitFor(() => server.runs[0]?.workflowData[0]);
		expect(items.map((item) => item.binary?.data && { mimeType: item.binary.data.mimeType, fileName: item.binary.data.fileName })).toEqual([
			{ mimeType: 'image/jpeg', fileName: `image-${imageId}.jpg` },
			{ mimeType: 'application/pdf', fileName: 'invoice.pdf' },
			undefined,
		]);
		expect(Buffer.from(items[0].binary!.data.data, 'base64').equals(JPEG)).toBe(true);
		expect(Buffer.from(items[1].binary!.data.data, 'base64').equals(pdf)).toBe(true);
	});

	it('Meta is answered before the download: a slow media host delays the run, not the 200', async () => {
		const server = await serve({ options: { downloadMedia: true } });
		const mediaId = graph.addMedia(JPEG, 'image/jpeg');
		graph.fail({ delayMs: 1500 }, { route: 'media.info' });
		const started = Date.now();
		const response = await post(server, imageMessage(mediaId));
		const answeredAfter = Date.now() - started;
		expect(response.status).toBe(200);
		expect(answeredAfter).toBeLessThan(1000);
		expect(server.runs).toHaveLength(0);
		const items = await waitFor(() => server.runs[0]?.workflowData[0]);
		expect(items[0].binary?.data.mimeType).toBe('image/jpeg');
	});

	it('a failed download keeps the message and says why', async () => {
		const server = await serve({ options: { downloadMedia: true } });
		await post(server, imageMessage('404404404'));
		const [item] = await waitFor(() => server.runs[0]?.workflowData[0]);
		expect(item.binary).toBeUndefined();
		expect(item.json).toMatchObject({ type: 'image', messageId: 'wamid.IMG404404404', mediaError: expect.stringMatching(/^The media could not be downloaded: /) });
		expect(server.logs.some((log) => log.level === 'warn' && log.message.includes('404404404'))).toBe(true);
	});

	it('"Download Media" without the Cloud API credential keeps the message and says why', async () => {
		const server = await serve({ options: { downloadMedia: true }, cloud: false });
		await post(server, imageMessage('1'));
		const [item] = json(server.runs[0].workflowData[0]);
		expect(item.mediaError).toBe(NO_CLOUD_CREDENTIAL_FOR_DOWNLOAD);
	});
});

describe('fuzz over real HTTP', () => {
	it('300 mutated, correctly signed deliveries: every one answered (200, or 400/422 for non-JSON), never a 500', async () => {
		const server = await serve({ options: { ignoreDuplicates: false } });
		const mutator = new WebhookMutator(424242);
		const bases = fixtureNames().map((name) => loadFixture(name));
		const statuses = new Map<number, number>();
		for (let run = 0; run < 300; run++) {
			const { text } = mutator.serialise(mutator.mutate(mutator.pick(bases)));
			const response = await fetch(server.url('webhook'), {
				method: 'POST',
				headers: { 'content-type': mutator.chance(0.9) ? 'application/json' : 'text/plain', 'x-hub-signature-256': signLikeMeta(text, SECRET) },
				body: text,
			});
			statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
			expect([200, 400, 422]).toContain(response.status);
			await response.arrayBuffer();
		}
		expect(statuses.get(200)).toBeGreaterThan(200);
		expect(server.logs.filter((log) => log.level === 'error')).toEqual([]);
		for (const run of server.runs) {
			expect(run.workflowData).toHaveLength(4);
			expect(() => JSON.stringify(run.workflowData)).not.toThrow();
		}
		expect(server.runs.length).toBeGreaterThan(50);
	});

	it('mutated reply-callback bodies: 202 or 422, never a 500', async () => {
		const server = await serve();
		await post(server, textMessageBody('hi', { id: 'wamid.FUZZ' }));
		const url = json(server.runs[0].workflowData[0])[0].reply_callback;
		const mutator = new WebhookMutator(777);
		const bases = [{ messages: [{ type: 'text', text: 'a' }, { image: 'https://example.com/a.png' }] }, { content: 'x' }, 'plain text', { type: 'no_reply' }];
		for (let run = 0; run < 100; run++) {
			const { text } = mutator.serialise(mutator.mutate(mutator.pick(bases)));
			const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
			expect([202, 422]).toContain(response.status);
			await response.arrayBuffer();
		}
		expect(server.logs.filter((log) => log.level === 'error')).toEqual([]);
	});
});

describe('webhook lifecycle (manual setup) and credential test', () => {
	it('checkExists/create/delete succeed without touching Meta', async () => {
		const nodeSetup = setup();
		nodeSetup.parameters = { ...nodeSetup.parameters, webhookSetup: 'manual' };
		expect(await runWebhookMethod(nodeSetup, 'checkExists')).toBe(true);
		expect(await runWebhookMethod(nodeSetup, 'create')).toBe(true);
		expect(await runWebhookMethod(nodeSetup, 'delete')).toBe(true);
		expect(graph.requests).toEqual([]);
	});

	it('the credential test checks the verify token and the app secret\'s shape', async () => {
		const test = new WhatsAppAgentTrigger().methods.credentialTest.whatsAppWebhookApiTest;
		const run = (data: IDataObject) => test.call({} as never, { id: '1', name: 'c', type: 'whatsAppWebhookApi', data } as never);
		expect(await run({ verifyToken: VERIFY, appSecret: SECRET })).toEqual({ status: 'OK', message: expect.stringContaining('looks like a Meta App Secret') });
		expect(await run({ verifyToken: '', appSecret: SECRET })).toEqual({ status: 'Error', message: expect.stringMatching(/^Verify Token is empty/) });
		// What users paste by mistake: an access token (built at run time so it does not look like a real one in source).
		const accessTokenPastedInstead = ['EAAG', 'm0PX4ZCpsBAtoken'].join('');
		const wrongField = await run({ verifyToken: VERIFY, appSecret: accessTokenPastedInstead });
		expect(wrongField).toEqual({ status: 'Error', message: expect.stringContaining('does not look like a Meta App Secret') });
		expect(wrongField.message).not.toContain('EAAGm0PX4ZCpsBAtoken');
	});
});
