/**
 * Automatic webhook setup (Meta webhook overrides) over real HTTP: the Graph client (axios
 * requester) against the fake Graph API extended with Meta's override endpoints, and a small
 * real HTTP server standing in for the trigger's verification endpoint, which the fake Meta
 * calls (GET hub.mode/hub.challenge/hub.verify_token) before it stores a URL.
 *
 * The app's own webhook subscription (ensureAppMessagesSubscription) goes through a second
 * client without any credential, like the node's: the fake requires the app access token
 * `<appId>|<appSecret>` and refuses a Bearer header next to it.
 *
 * Every error and warning any test provokes is collected; the last tests check that none of
 * them carries a verify token, the App Secret or the app token.
 */
import fc from 'fast-check';
import http from 'http';
import type { AddressInfo } from 'net';

import { WhatsAppValidationError } from '../../core/errors';
import { GraphClient } from '../../core/graph-client';
import { GraphApiError, scrubSecrets } from '../../core/graph-errors';
import {
	MAX_CALLBACK_URL_LENGTH,
	WebhookRegistrationError,
	MESSAGES_FIELD,
	WHATSAPP_WEBHOOK_OBJECT,
	checkCallbackUrl,
	ensureAppMessagesSubscription,
	ensureAppSubscribed,
	getPhoneWebhookConfiguration,
	isPhoneOverrideOurs,
	isPrivateHost,
	listAppSubscriptions,
	listPhoneNumberIds,
	registerPhoneOverride,
	removePhoneOverrideIfOurs,
	sameCallbackUrl,
	type AppMessagesSubscriptionOptions,
	type AppMessagesSubscriptionResult,
	type RegisterPhoneOverrideOptions,
} from '../../core/webhook-registration';
import { FAKE_PHONE_NUMBER_ID, FAKE_WABA_ID, startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { FAKE_APP_CALLBACK_URL, FAKE_APP_ID, FAKE_APP_NAME, FAKE_APP_SECRET, MESSAGING, installFakeMetaWebhooks, type FakeMetaWebhooks } from '../fakes/fake-meta-webhooks';
import { axiosRequester } from '../harness/axios-requester';

const PHONE = FAKE_PHONE_NUMBER_ID;
const WABA = FAKE_WABA_ID;
const SECOND_PHONE = '106540352242923';
const OTHER_WABA_PHONE = '209876543210987';
const OTHER_WABA = '203040506070809';
const HIDDEN_WABA = '304050607080910';
const VERIFY_TOKEN = 'vt-Secret-4f9c2e7a91';
const PLUS_TOKEN = 'a+b/c=d e-Secret-77';
const TOKENS = [VERIFY_TOKEN, PLUS_TOKEN];
const WRONG_APP_SECRET = '0123456789abcdef0123456789abcdef';
const SECRETS = [...TOKENS, FAKE_APP_SECRET, WRONG_APP_SECRET];
const FOREIGN_URL = 'https://other-n8n.example.org/webhook/4b1c/webhook';
const WABA_OVERRIDE = 'https://waba-override.example.net/hooks/whatsapp';

// ---------------------------------------------------------------------------------------
// The stand-in for the trigger's verification endpoint

type Behaviour = 'answer' | 'wrongBody' | 'notFound' | 'echoToken';

interface StandIn {
	readonly base: string;
	url(path?: string): string;
	received: Array<{ path: string; query: Record<string, string> }>;
	behaviour: Behaviour;
	/** The token it accepts (like the trigger: its webhook credential's verify token). */
	expectedToken: string;
	close(): Promise<void>;
}

async function startStandIn(): Promise<StandIn> {
	const state = { behaviour: 'answer' as Behaviour, expectedToken: VERIFY_TOKEN };
	const received: StandIn['received'] = [];
	const server = http.createServer((request, response) => {
		const url = new URL(request.url ?? '/', 'http://stand-in.invalid');
		const query = Object.fromEntries(url.searchParams.entries());
		received.push({ path: url.pathname, query });
		const challenge = query['hub.challenge'] ?? '';
		const reply = (status: number, body: string) => {
			response.writeHead(status, { 'content-type': 'text/plain' });
			response.end(body);
		};
		switch (state.behaviour) {
			case 'notFound':
				return reply(404, 'not registered');
			case 'wrongBody':
				return reply(200, '{"message":"Webhook call received"}');
			case 'echoToken':
				return reply(200, `got ${query['hub.verify_token']}`);
			default:
				if (query['hub.mode'] === 'subscribe' && query['hub.verify_token'] === state.expectedToken) return reply(200, challenge);
				return reply(403, 'verify token mismatch');
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		base,
		url: (path = '/webhook/7d7e5a0c-trigger/webhook') => `${base}${path}`,
		received,
		get behaviour() {
			return state.behaviour;
		},
		set behaviour(value: Behaviour) {
			state.behaviour = value;
		},
		get expectedToken() {
			return state.expectedToken;
		},
		set expectedToken(value: string) {
			state.expectedToken = value;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

// ---------------------------------------------------------------------------------------

let fake: FakeGraphApi;
let meta: FakeMetaWebhooks;
let standIn: StandIn;
let ourUrl: string;
const errors: unknown[] = [];
/** Every warning any call produced (registration and app subscription). */
const warnings: string[] = [];
/** Every request the credential-less app client sent, as sent. */
const appLog: Array<{ method: string; url: string; headers: Record<string, string> }> = [];

function client(token = fake.token): GraphClient {
	return new GraphClient({
		request: axiosRequester({ token }),
		sleep: async () => undefined,
		baseUrl: fake.baseUrl,
		apiVersion: 'v24.0',
		random: () => 0,
	});
}

/** The client without any credential, as the node's (plainRequester): the app token goes in the request itself. */
function appClient(): GraphClient {
	return new GraphClient({
		request: axiosRequester({ log: appLog }),
		sleep: async () => undefined,
		baseUrl: fake.baseUrl,
		apiVersion: 'v24.0',
		random: () => 0,
	});
}

async function ensureMessages(overrides: Partial<AppMessagesSubscriptionOptions> = {}): Promise<AppMessagesSubscriptionResult> {
	const result = await ensureAppMessagesSubscription(client(), appClient(), {
		appSecret: FAKE_APP_SECRET,
		callbackUrl: ourUrl,
		verifyToken: VERIFY_TOKEN,
		allowInsecureUrl: true,
		...overrides,
	});
	if (result.warning) warnings.push(result.warning);
	return result;
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

function caughtSync(run: () => unknown): any {
	try {
		run();
	} catch (error) {
		errors.push(error);
		return error;
	}
	throw new Error('expected an exception');
}

function register(overrides: Partial<RegisterPhoneOverrideOptions> = {}) {
	return registerPhoneOverride(client(), {
		phoneNumberId: PHONE,
		businessAccountId: WABA,
		callbackUrl: ourUrl,
		verifyToken: VERIFY_TOKEN,
		allowInsecureUrl: true,
		...overrides,
	});
}

const routes = () => fake.requests.map((request) => `${request.method} ${request.route ?? request.path}`);
const phoneSets = () => fake.requestsTo('webhooks.phone.set');
const subscribePosts = () => fake.requestsTo('webhooks.subscribedApps.post');
const appPosts = () => fake.requestsTo('webhooks.appSubscriptions.post');
const appForm = (index = 0) => Object.fromEntries(new URLSearchParams(appPosts()[index].body.toString('utf8')).entries());

beforeAll(async () => {
	fake = await startFakeGraphApi();
	meta = installFakeMetaWebhooks(fake, {
		phones: [
			{ id: PHONE, businessAccountId: WABA },
			{ id: SECOND_PHONE, businessAccountId: WABA },
			{ id: OTHER_WABA_PHONE, businessAccountId: OTHER_WABA },
		],
		businessAccounts: [HIDDEN_WABA],
		hidden: [HIDDEN_WABA],
	});
	standIn = await startStandIn();
	ourUrl = standIn.url();
});
afterAll(async () => {
	await standIn.close();
	await fake.close();
});
beforeEach(() => {
	fake.reset();
	meta.reset();
	standIn.received.length = 0;
	standIn.behaviour = 'answer';
	standIn.expectedToken = VERIFY_TOKEN;
	appLog.length = 0;
});
afterEach(() => {
	// Unsubscribing the app (from the account or from a webhook field) would cut every workflow of the app off: never.
	expect(fake.requestsTo('webhooks.subscribedApps.delete')).toHaveLength(0);
	expect(fake.requestsTo('webhooks.appSubscriptions.delete')).toHaveLength(0);
	// The user's token never travels with the app token.
	for (const request of appLog) expect(Object.keys(request.headers).map((name) => name.toLowerCase())).not.toContain('authorization');
});

// ---------------------------------------------------------------------------------------

describe('checkCallbackUrl', () => {
	it('accepts a public https URL of at most 200 characters and returns it trimmed', () => {
		expect(checkCallbackUrl('  https://n8n.example.com/webhook/abc/webhook ')).toBe('https://n8n.example.com/webhook/abc/webhook');
		const longest = `https://n8n.example.com/${'a'.repeat(MAX_CALLBACK_URL_LENGTH - 'https://n8n.example.com/'.length)}`;
		expect(longest).toHaveLength(200);
		expect(checkCallbackUrl(longest)).toBe(longest);
		expect(checkCallbackUrl('https://203.0.113.7:8443/webhook/x')).toBe('https://203.0.113.7:8443/webhook/x');
		expect(checkCallbackUrl('https://172.32.0.1/webhook/x')).toBe('https://172.32.0.1/webhook/x');
		expect(checkCallbackUrl('https://[2001:4860:4860::8888]/webhook/x')).toBe('https://[2001:4860:4860::8888]/webhook/x');
	});

	it('refuses http:// naming N8N_WEBHOOK_URL, WEBHOOK_URL and a tunnel', () => {
		const error = caughtSync(() => checkCallbackUrl('http://n8n.example.com/webhook/abc/webhook'));
		expect(error).toBeInstanceOf(WebhookRegistrationError);
		expect(error.reason).toBe('callbackUrl');
		expect(error.message).toContain('https://');
		expect(error.message).toContain('http://n8n.example.com/webhook/abc/webhook');
		expect(error.hint).toContain('N8N_WEBHOOK_URL');
		expect(error.hint).toContain('WEBHOOK_URL');
		expect(error.hint).toMatch(/tunnel/);
		expect(error.hint).toContain('Manual');
	});

	it.each([
		'https://localhost:5678/webhook/x',
		'https://n8n.localhost/webhook/x',
		'https://127.0.0.1/webhook/x',
		'https://127.1.2.3/webhook/x',
		'https://10.0.0.5/webhook/x',
		'https://172.16.0.1/webhook/x',
		'https://172.31.255.254/webhook/x',
		'https://192.168.1.20/webhook/x',
		'https://169.254.169.254/webhook/x',
		'https://100.64.1.1/webhook/x',
		'https://0.0.0.0/webhook/x',
		'https://[::1]/webhook/x',
		'https://[fd12:3456::1]/webhook/x',
		'https://[fe80::1]/webhook/x',
		'https://[::ffff:127.0.0.1]/webhook/x',
		'https://[::ffff:10.1.2.3]/webhook/x',
		'https://n8n.local/webhook/x',
		'https://n8n/webhook/x',
		'https://host.docker.internal/webhook/x',
		'https://router.home.arpa/webhook/x',
	])('refuses %s as not reachable from the internet', (url) => {
		const error = caughtSync(() => checkCallbackUrl(url));
		expect(error).toBeInstanceOf(WebhookRegistrationError);
		expect(error.reason).toBe('callbackUrl');
		expect(error.message).toMatch(/local or private address/);
		expect(error.hint).toContain('N8N_WEBHOOK_URL');
	});

	it('treats every address of 10/8, 127/8, 192.168/16 and 172.16/12 as private', () => {
		const octet = fc.integer({ min: 0, max: 255 });
		fc.assert(
			fc.property(fc.constantFrom('10', '127', '192.168', '172.16', '172.24', '172.31'), octet, octet, octet, (prefix, b, c, d) => {
				const parts = [...prefix.split('.'), String(b), String(c), String(d)].slice(0, 4);
				return isPrivateHost(parts.join('.'));
			}),
		);
		expect(isPrivateHost('8.8.8.8')).toBe(false);
		expect(isPrivateHost('n8n.example.com')).toBe(false);
	});

	it('refuses a URL over 200 characters even when insecure URLs are allowed', () => {
		const url = `http://127.0.0.1/${'a'.repeat(200)}`;
		const error = caughtSync(() => checkCallbackUrl(url, { allowInsecureUrl: true }));
		expect(error.reason).toBe('callbackUrl');
		expect(error.message).toContain(`${url.length} characters`);
		expect(error.message).toContain('200');
	});

	it('refuses what is not a web address; allows http loopback only when told to', () => {
		expect(caughtSync(() => checkCallbackUrl('not a url')).reason).toBe('callbackUrl');
		expect(caughtSync(() => checkCallbackUrl('ftp://n8n.example.com/x')).reason).toBe('callbackUrl');
		expect(checkCallbackUrl('http://127.0.0.1:5678/webhook/x', { allowInsecureUrl: true })).toBe('http://127.0.0.1:5678/webhook/x');
	});
});

describe('sameCallbackUrl / isPhoneOverrideOurs', () => {
	it('ignores host case, a default port and trailing slashes; not path case, query or scheme', () => {
		const url = 'https://n8n.example.com/webhook/AbC/webhook';
		expect(sameCallbackUrl(url, 'HTTPS://N8N.Example.COM:443/webhook/AbC/webhook/')).toBe(true);
		expect(sameCallbackUrl(url, 'https://n8n.example.com/webhook/abc/webhook')).toBe(false);
		expect(sameCallbackUrl(url, 'http://n8n.example.com/webhook/AbC/webhook')).toBe(false);
		expect(sameCallbackUrl(url, `${url}?x=1`)).toBe(false);
		expect(sameCallbackUrl(url, 'https://n8n.example.com:8443/webhook/AbC/webhook')).toBe(false);
		expect(sameCallbackUrl(undefined, url)).toBe(false);
		expect(isPhoneOverrideOurs({ phoneNumber: `${url}/` }, url)).toBe(true);
		expect(isPhoneOverrideOurs({ businessAccount: url, application: url }, url)).toBe(false);
	});
});

describe('getPhoneWebhookConfiguration', () => {
	it('reads each level Meta reports, and only those', async () => {
		expect(await getPhoneWebhookConfiguration(client(), PHONE)).toEqual({ application: FAKE_APP_CALLBACK_URL });
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		meta.setWabaOverride(WABA, WABA_OVERRIDE);
		expect(await getPhoneWebhookConfiguration(client(), PHONE)).toEqual({
			phoneNumber: FOREIGN_URL,
			businessAccount: WABA_OVERRIDE,
			application: FAKE_APP_CALLBACK_URL,
		});
		expect(fake.requests[0].query).toEqual({ fields: 'webhook_configuration' });
	});

	it('a wrong phone number id: which ID to check and where to find it', async () => {
		const error = await caught(getPhoneWebhookConfiguration(client(), '999999999999999'));
		expect(error).toBeInstanceOf(WebhookRegistrationError);
		expect(error.reason).toBe('phoneNumberNotFound');
		expect(error.code).toBe(100);
		expect(error.message).toContain('999999999999999');
		expect(error.hint).toContain('Phone Number ID');
		expect(error.hint).toContain('WhatsApp → API Setup');
	});

	it('a token without whatsapp_business_management: which permission and where to add it', async () => {
		meta.setPermissions([MESSAGING]);
		const error = await caught(getPhoneWebhookConfiguration(client(), PHONE));
		expect(error.reason).toBe('permission');
		expect(error.httpStatus).toBe(403);
		expect(error.code).toBe(200);
		expect(error.hint).toContain('whatsapp_business_management');
		expect(error.hint).toContain('System Users');
		expect(error.hint).toContain('Assign assets');
		expect(error.hint).toContain('Generate new token');
	});

	it('refuses an id that could change the path, sending nothing', async () => {
		const error = await caught(getPhoneWebhookConfiguration(client(), '../me'));
		expect(error).toBeInstanceOf(WhatsAppValidationError);
		expect(error.field).toBe('phoneNumberId');
		expect(fake.requests).toHaveLength(0);
	});
});

describe('registerPhoneOverride: states', () => {
	it('no override, account subscribed: Meta verifies the URL against the trigger, then stores it', async () => {
		const result = await register();
		expect(result.action).toBe('set');
		expect(result.before).toEqual({ application: FAKE_APP_CALLBACK_URL });
		expect(result.replaced).toBeUndefined();
		expect(result.subscription).toMatchObject({ action: 'alreadySubscribed', appId: FAKE_APP_ID });
		expect(result.warnings).toEqual([]);

		// The verification GET reached the stand-in during the call, with the right token.
		expect(standIn.received).toHaveLength(1);
		const [verification] = standIn.received;
		expect(verification.path).toBe('/webhook/7d7e5a0c-trigger/webhook');
		expect(verification.query['hub.mode']).toBe('subscribe');
		expect(verification.query['hub.verify_token']).toBe(VERIFY_TOKEN);
		expect(verification.query['hub.challenge']).toMatch(/^\d+$/);
		expect(meta.verifications).toHaveLength(1);
		expect(meta.verifications[0]).toMatchObject({ ok: true, level: 'phone', target: PHONE, challenge: verification.query['hub.challenge'] });

		expect(phoneSets()).toHaveLength(1);
		expect(phoneSets()[0].json).toEqual({ webhook_configuration: { override_callback_uri: ourUrl, verify_token: VERIFY_TOKEN } });
		expect(meta.phoneOverride(PHONE)).toBe(ourUrl);
		expect(meta.deliveryUrl(PHONE)).toBe(ourUrl);
		expect(subscribePosts()).toHaveLength(0);
		expect(isPhoneOverrideOurs(await getPhoneWebhookConfiguration(client(), PHONE), ourUrl)).toBe(true);
	});

	it('already ours: nothing is set again and Meta verifies nothing', async () => {
		meta.setPhoneOverride(PHONE, `${ourUrl}/`);
		const result = await register();
		expect(result.action).toBe('unchanged');
		expect(phoneSets()).toHaveLength(0);
		expect(standIn.received).toHaveLength(0);
		expect(meta.phoneOverride(PHONE)).toBe(`${ourUrl}/`);
	});

	it("someone else's override: refused by default, naming the URL, and left as it was", async () => {
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		const error = await caught(register());
		expect(error).toBeInstanceOf(WebhookRegistrationError);
		expect(error.reason).toBe('overrideTaken');
		expect(error.currentUrl).toBe(FOREIGN_URL);
		expect(error.currentIsOwn).toBe(false);
		expect(error.message).toContain(FOREIGN_URL);
		expect(error.hint).toMatch(/Deactivate it, or use a different phone number/);
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);
		expect(phoneSets()).toHaveLength(0);
		expect(standIn.received).toHaveLength(0);

		expect((await caught(register({ takeOver: 'own', ownUrls: ['https://n8n.example.com/webhook-test/x/webhook'] }))).reason).toBe('overrideTaken');
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);
	});

	it("someone else's override with takeOver 'any': replaced, and reported", async () => {
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		const result = await register({ takeOver: 'any' });
		expect(result).toMatchObject({ action: 'set', replaced: { url: FOREIGN_URL, own: false } });
		expect(meta.phoneOverride(PHONE)).toBe(ourUrl);
	});

	it("the trigger's own other URL: refused by default with what to do, replaced with takeOver 'own'", async () => {
		const testUrl = standIn.url('/webhook-test/7d7e5a0c-trigger/webhook');
		meta.setPhoneOverride(PHONE, testUrl);
		const error = await caught(register({ ownUrls: [testUrl] }));
		expect(error.reason).toBe('overrideTaken');
		expect(error.currentIsOwn).toBe(true);
		expect(error.hint).toMatch(/deactivate the workflow first/);

		const result = await register({ takeOver: 'own', ownUrls: [testUrl] });
		expect(result.replaced).toEqual({ url: testUrl, own: true });
		expect(meta.phoneOverride(PHONE)).toBe(ourUrl);
	});

	it('business account not subscribed to any app: subscribes our app (no body), then sets the override', async () => {
		meta.unsubscribeApp(WABA, FAKE_APP_ID);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		const result = await register();
		expect(result.subscription).toMatchObject({ action: 'subscribed', apps: [] });
		expect(subscribePosts()).toHaveLength(1);
		expect(subscribePosts()[0].body.length).toBe(0);
		expect(meta.isSubscribed(WABA)).toBe(true);
		expect(meta.deliveryUrl(PHONE)).toBe(ourUrl);
		// Subscribing came before the override: Meta asks for it in that order.
		expect(routes().indexOf('POST webhooks.subscribedApps.post')).toBeLessThan(routes().indexOf('POST webhooks.phone.set'));
		expect(fake.requestsTo('webhooks.app')).toHaveLength(0);
	});

	it('another app subscribed, ours not: learns our app id from GET /app and subscribes ours', async () => {
		meta.unsubscribeApp(WABA, FAKE_APP_ID);
		meta.subscribeApp(WABA, { id: '111222333444555', name: 'Someone Else', overrideCallbackUri: 'https://crm.example.com/wa' });
		const result = await register();
		expect(result.subscription).toMatchObject({ action: 'subscribed', appId: FAKE_APP_ID });
		expect(fake.requestsTo('webhooks.app')).toHaveLength(1);
		expect(meta.isSubscribed(WABA)).toBe(true);
		expect(meta.subscribedApps(WABA).find((app) => app.id === '111222333444555')?.overrideCallbackUri).toBe('https://crm.example.com/wa');
	});

	it('a WABA override someone else set on our app is never cleared, by registering or by removing', async () => {
		meta.setWabaOverride(WABA, WABA_OVERRIDE);
		expect(meta.deliveryUrl(PHONE)).toBe(WABA_OVERRIDE);
		const result = await register();
		expect(result.before.businessAccount).toBe(WABA_OVERRIDE);
		expect(result.subscription?.action).toBe('alreadySubscribed');
		expect(subscribePosts()).toHaveLength(0);
		expect(meta.wabaOverride(WABA)).toBe(WABA_OVERRIDE);
		expect(meta.deliveryUrl(PHONE)).toBe(ourUrl);
		expect(meta.deliveryUrl(SECOND_PHONE)).toBe(WABA_OVERRIDE);

		const removed = await removePhoneOverrideIfOurs(client(), PHONE, ourUrl);
		expect(removed).toEqual({ action: 'removed', found: ourUrl, nowGoesTo: WABA_OVERRIDE });
		expect(meta.wabaOverride(WABA)).toBe(WABA_OVERRIDE);
		expect(meta.isSubscribed(WABA)).toBe(true);
		expect(meta.deliveryUrl(PHONE)).toBe(WABA_OVERRIDE);
		expect(subscribePosts()).toHaveLength(0);
	});

	it('apps subscribed and our app id unknown: changes nothing on the account and says what to check', async () => {
		meta.setAppLookup(false);
		meta.setWabaOverride(WABA, WABA_OVERRIDE);
		meta.subscribeApp(WABA, { id: '111222333444555', name: 'Someone Else' });
		const result = await register();
		expect(result.action).toBe('set');
		expect(result.subscription?.action).toBe('unverified');
		expect(result.warnings).toHaveLength(1);
		expect(result.warnings[0]).toContain('Someone Else');
		expect(result.warnings[0]).toContain('WhatsApp → Configuration');
		expect(subscribePosts()).toHaveLength(0);
		expect(meta.wabaOverride(WABA)).toBe(WABA_OVERRIDE);
	});

	it('a known app id is used as given (no GET /app)', async () => {
		meta.setAppLookup(false);
		const result = await register({ appId: FAKE_APP_ID });
		expect(result.subscription?.action).toBe('alreadySubscribed');
		expect(fake.requestsTo('webhooks.app')).toHaveLength(0);
	});

	it('no business account id: sets the override, never touches subscriptions, and warns', async () => {
		const result = await register({ businessAccountId: '' });
		expect(result.action).toBe('set');
		expect(result.subscription).toBeUndefined();
		expect(result.warnings.join(' ')).toContain('WhatsApp Business Account ID');
		expect(fake.requests.filter((request) => /subscribed_apps|phone_numbers/.test(request.path))).toHaveLength(0);
	});

	it('an app without a webhook of its own: the override is set, but Meta delivers nothing until the app subscribes "messages"', async () => {
		meta.setAppCallbackUrl(undefined);
		const result = await register();
		expect(result.before).toEqual({});
		expect(result.action).toBe('set');
		// registerPhoneOverride leaves the app's subscription to ensureAppMessagesSubscription (below).
		expect(result.warnings).toEqual([]);
		expect(meta.phoneOverride(PHONE)).toBe(ourUrl);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
	});

	it('n8n calls the lifecycle once per default webhook: the second create is a no-op', async () => {
		await register();
		const again = await register();
		expect(again.action).toBe('unchanged');
		expect(standIn.received).toHaveLength(1);
		expect(phoneSets()).toHaveLength(1);
	});

	it('several workflows under one app, each on its own phone number, do not disturb each other', async () => {
		const other = standIn.url('/webhook/0b5e-second-trigger/webhook');
		await register();
		await register({ phoneNumberId: SECOND_PHONE, callbackUrl: other });
		expect(meta.deliveryUrl(PHONE)).toBe(ourUrl);
		expect(meta.deliveryUrl(SECOND_PHONE)).toBe(other);
		expect(await removePhoneOverrideIfOurs(client(), PHONE, ourUrl)).toMatchObject({ action: 'removed' });
		expect(await removePhoneOverrideIfOurs(client(), SECOND_PHONE, ourUrl)).toMatchObject({ action: 'notOurs', found: other });
		expect(meta.deliveryUrl(PHONE)).toBe(FAKE_APP_CALLBACK_URL);
		expect(meta.deliveryUrl(SECOND_PHONE)).toBe(other);
	});
});

describe('ensureAppMessagesSubscription', () => {
	it('the app has no WhatsApp webhook at all: subscribes it to "messages" with this URL (Meta verifies it), after which messages reach the override', async () => {
		meta.setAppCallbackUrl(undefined);
		const registered = await register();
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		expect(registered.subscription).toMatchObject({ appId: FAKE_APP_ID, appName: FAKE_APP_NAME });
		const lookups = fake.requestsTo('webhooks.app').length;

		// What the trigger does: the app id and name registerPhoneOverride learnt are reused.
		const result = await ensureMessages({ appId: registered.subscription?.appId, appName: registered.subscription?.appName });
		expect(result).toEqual({
			action: 'subscribed',
			appId: FAKE_APP_ID,
			appName: FAKE_APP_NAME,
			created: true,
			addedMessages: true,
			fields: [MESSAGES_FIELD],
		});
		expect(meta.appSubscription()).toEqual({ callbackUrl: ourUrl, fields: [MESSAGES_FIELD], active: true });
		expect(meta.deliveryUrl(PHONE)).toBe(ourUrl);

		// No second GET /app; the app token alone on the app's edge.
		expect(fake.requestsTo('webhooks.app')).toHaveLength(lookups);
		const [read] = fake.requestsTo('webhooks.appSubscriptions.get');
		expect(read.path).toBe(`/${FAKE_APP_ID}/subscriptions`);
		expect(read.query.access_token).toBe(`${FAKE_APP_ID}|${FAKE_APP_SECRET}`);
		expect(read.headers.authorization).toBeUndefined();
		expect(appPosts()).toHaveLength(1);
		expect(appPosts()[0].headers['content-type']).toMatch(/application\/x-www-form-urlencoded/);
		expect(appPosts()[0].headers.authorization).toBeUndefined();
		expect(appPosts()[0].query).toEqual({});
		expect(appForm()).toEqual({
			object: WHATSAPP_WEBHOOK_OBJECT,
			callback_url: ourUrl,
			verify_token: VERIFY_TOKEN,
			fields: MESSAGES_FIELD,
			include_values: 'true',
			access_token: meta.appToken,
		});
		// Meta's verification GET reached the trigger's stand-in during the POST.
		expect(meta.verifications.map((attempt) => [attempt.level, attempt.target, attempt.url, attempt.ok])).toEqual([
			['phone', PHONE, ourUrl, true],
			['app', FAKE_APP_ID, ourUrl, true],
		]);
		expect(standIn.received.map((hit) => hit.query['hub.verify_token'])).toEqual([VERIFY_TOKEN, VERIFY_TOKEN]);
	});

	it('the app already receives "messages" (anywhere): nothing is written; the app id comes from GET /app', async () => {
		const result = await ensureMessages();
		expect(fake.requestsTo('webhooks.app')).toHaveLength(1);
		expect(result).toMatchObject({ action: 'alreadySubscribed', appId: FAKE_APP_ID, before: { object: WHATSAPP_WEBHOOK_OBJECT, callbackUrl: FAKE_APP_CALLBACK_URL, active: true, fields: [MESSAGES_FIELD] } });
		expect(result.warning).toBeUndefined();
		expect(appPosts()).toHaveLength(0);
		expect(meta.verifications).toHaveLength(0);
		expect(meta.appSubscription()).toEqual({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: [MESSAGES_FIELD], active: true });
	});

	it('a known app id is used as given (no GET /app)', async () => {
		meta.setAppLookup(false);
		expect((await ensureMessages({ appId: FAKE_APP_ID })).action).toBe('alreadySubscribed');
		expect(fake.requestsTo('webhooks.app')).toHaveLength(0);
	});

	it("the app's webhook goes to someone else's URL without \"messages\": changes nothing, and gives the exact one-time step", async () => {
		meta.setAppSubscription({ callbackUrl: FOREIGN_URL, fields: ['message_template_status_update'] });
		await register();
		const result = await ensureMessages();
		expect(result.action).toBe('needsManualStep');
		expect(result.before).toEqual({ object: WHATSAPP_WEBHOOK_OBJECT, callbackUrl: FOREIGN_URL, active: true, fields: ['message_template_status_update'] });
		expect(result.warning).toContain(`"${FAKE_APP_NAME}" (${FAKE_APP_ID})`);
		expect(result.warning).toContain(FOREIGN_URL);
		expect(result.warning).toContain('not subscribed to the "messages" field');
		expect(result.warning).toContain('developers.facebook.com → WhatsApp → Configuration → Webhook');
		expect(result.warning).toContain('Under "Webhook fields" click Manage and subscribe to "messages"');
		expect(result.warning).toMatch(/Callback URL can stay as it is/);
		expect(appPosts()).toHaveLength(0);
		expect(meta.appSubscription()).toEqual({ callbackUrl: FOREIGN_URL, fields: ['message_template_status_update'], active: true });
		// The override itself is set; it receives as soon as the user subscribes the field.
		expect(meta.phoneOverride(PHONE)).toBe(ourUrl);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		meta.setAppSubscription({ callbackUrl: FOREIGN_URL, fields: ['message_template_status_update', MESSAGES_FIELD] });
		expect(meta.deliveryUrl(PHONE)).toBe(ourUrl);
	});

	it("someone else's webhook that is switched off: left alone, with the step", async () => {
		meta.setAppSubscription({ callbackUrl: FOREIGN_URL, fields: [MESSAGES_FIELD], active: false });
		const result = await ensureMessages();
		expect(result.action).toBe('needsManualStep');
		expect(result.warning).toMatch(/switched off/);
		expect(appPosts()).toHaveLength(0);
	});

	it('our own URL without "messages": re-posted with the union of the fields (Meta replaces the list)', async () => {
		meta.setAppSubscription({ callbackUrl: ourUrl, fields: ['message_template_status_update', 'account_update'] });
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'subscribed', created: false, addedMessages: true, fields: ['message_template_status_update', 'account_update', MESSAGES_FIELD] });
		expect(result.movedFrom).toBeUndefined();
		expect(appForm().fields).toBe('message_template_status_update,account_update,messages');
		expect(meta.appSubscription()).toEqual({ callbackUrl: ourUrl, fields: ['message_template_status_update', 'account_update', MESSAGES_FIELD], active: true });
	});

	it('a subscription with fields but no URL: given this URL and "messages"', async () => {
		meta.setAppSubscription({ fields: ['account_update'] });
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'subscribed', created: false, addedMessages: true });
		expect(meta.appSubscription()).toEqual({ callbackUrl: ourUrl, fields: ['account_update', MESSAGES_FIELD], active: true });
	});

	it("the app's URL is this trigger's other URL (a test left it): moved here when activating, same fields; left alone when not told", async () => {
		const testUrl = standIn.url('/webhook-test/7d7e5a0c-trigger/webhook');
		meta.setAppSubscription({ callbackUrl: testUrl, fields: [MESSAGES_FIELD, 'account_update'] });
		expect((await ensureMessages()).action).toBe('alreadySubscribed');
		expect(appPosts()).toHaveLength(0);

		const result = await ensureMessages({ ownUrls: [testUrl] });
		expect(result).toMatchObject({ action: 'subscribed', created: false, addedMessages: false, movedFrom: testUrl, fields: [MESSAGES_FIELD, 'account_update'] });
		expect(meta.appSubscription()).toEqual({ callbackUrl: ourUrl, fields: [MESSAGES_FIELD, 'account_update'], active: true });
		expect(appForm().callback_url).toBe(ourUrl);
	});

	it('a wrong App Secret: says so plainly (messages would be refused too); nothing written', async () => {
		meta.setAppCallbackUrl(undefined);
		const result = await ensureMessages({ appSecret: WRONG_APP_SECRET });
		expect(result.action).toBe('failed');
		expect(result.problem).toBe('appSecret');
		expect(result.appId).toBe(FAKE_APP_ID);
		expect(result.warning).toMatch(/^Meta refused the App Secret of the WhatsApp Webhook credential for your Meta app "Fake Test App" \(670843887433847\)/);
		expect(result.warning).toContain('Invalid OAuth access token signature');
		expect(result.warning).toMatch(/refuse the messages Meta sends/);
		expect(result.warning).toContain('App Settings → Basic → App secret');
		expect(result.warning).toContain('subscribe to "messages"');
		expect(appPosts()).toHaveLength(0);
		expect(meta.appSubscription()).toBeUndefined();
	});

	it('GET /app answering 404 (a proxy or fake without it): a warning with the manual step, nothing else sent', async () => {
		fake.fail({ status: 404, body: 'Not Found', contentType: 'text/plain' }, { route: 'webhooks.app' });
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'failed', problem: 'appUnknown' });
		expect(result.warning).toMatch(/Meta did not say which app the access token belongs to \(GET \/app: HTTP 404/);
		expect(result.warning).toContain('Verify and save');
		expect(result.warning).toContain(ourUrl);
		expect(fake.requestsTo('webhooks.appSubscriptions.get')).toHaveLength(0);
	});

	it('GET /app refused by Meta (a token type without an app): the same warning', async () => {
		meta.setAppLookup(false);
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'failed', problem: 'appUnknown' });
		expect(result.warning).toContain('(#100)');
	});

	it("the app's subscriptions edge missing at the Graph API Base URL (404): a warning, not an error", async () => {
		fake.fail({ status: 404, body: 'Not Found', contentType: 'text/plain' }, { route: 'webhooks.appSubscriptions.get' });
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'failed', problem: 'error', appId: FAKE_APP_ID });
		expect(result.warning).toMatch(/Could not read the webhook settings of your Meta app .*HTTP 404/);
		expect(result.warning).toContain('subscribe to "messages"');
	});

	it('Meta cannot verify the URL while subscribing: a warning naming the URL; nothing stored', async () => {
		meta.setAppCallbackUrl(undefined);
		standIn.behaviour = 'echoToken';
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'failed', problem: 'error' });
		expect(result.warning).toContain(`Meta could not verify this trigger's URL ${ourUrl}`);
		expect(result.warning).toContain('[verify token]');
		expect(meta.appSubscription()).toBeUndefined();
	});

	it('Meta failing (HTTP 500 after retries): a warning', async () => {
		meta.setAppCallbackUrl(undefined);
		fake.fail({ status: 500 }, { route: 'webhooks.appSubscriptions.post', times: Infinity });
		const result = await ensureMessages();
		expect(result).toMatchObject({ action: 'failed', problem: 'error' });
		expect(result.warning).toMatch(/Subscribing your Meta app to WhatsApp messages failed \(HTTP 500/);
		expect(appPosts().length).toBeGreaterThan(1);
	});

	it('no App Secret, or no verify token: a warning, nothing sent', async () => {
		const noSecret = await ensureMessages({ appSecret: ' ' });
		expect(noSecret).toMatchObject({ action: 'failed', problem: 'noAppSecret' });
		expect(noSecret.warning).toContain('App Settings → Basic');
		expect((await ensureMessages({ verifyToken: '' })).action).toBe('failed');
		expect(fake.requests).toHaveLength(0);
	});

	it('an unusable URL never throws: a warning', async () => {
		const result = await ensureMessages({ callbackUrl: 'http://localhost:5678/webhook/x', allowInsecureUrl: false });
		expect(result.action).toBe('failed');
		expect(result.warning).toMatch(/https/);
		expect(fake.requests).toHaveLength(0);
	});

	it('listAppSubscriptions reads every object; a wrong secret is thrown without the secret', async () => {
		meta.setAppSubscription({ callbackUrl: 'https://pages.example.com/hook', fields: ['feed'] }, 'page');
		expect(await listAppSubscriptions(appClient(), FAKE_APP_ID, FAKE_APP_SECRET)).toEqual([
			{ object: WHATSAPP_WEBHOOK_OBJECT, callbackUrl: FAKE_APP_CALLBACK_URL, active: true, fields: [MESSAGES_FIELD] },
			{ object: 'page', callbackUrl: 'https://pages.example.com/hook', active: true, fields: ['feed'] },
		]);
		const error = await caught(listAppSubscriptions(appClient(), FAKE_APP_ID, WRONG_APP_SECRET));
		expect(error).toBeInstanceOf(GraphApiError);
		expect(error.code).toBe(190);
		// With the user's token instead of the app token Meta refuses (#15).
		const withUserToken = await caught(listAppSubscriptions(client(), FAKE_APP_ID, FAKE_APP_SECRET));
		expect(withUserToken.httpStatus).toBe(400);
	});
});

describe('registerPhoneOverride: Meta cannot verify the URL', () => {
	function expectVerificationError(error: any) {
		expect(error).toBeInstanceOf(WebhookRegistrationError);
		expect(error.reason).toBe('verification');
		expect(error.code).toBe(2200);
		expect(error.message).toContain(ourUrl);
		expect(error.hint).toContain('N8N_WEBHOOK_URL');
		expect(error.hint).toContain('Listen for test event');
		expect(error.hint).toContain('verify token');
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	}

	it('the endpoint answers 200 without the challenge', async () => {
		standIn.behaviour = 'wrongBody';
		const error = await caught(register());
		expectVerificationError(error);
		expect(error.message).toContain('Response does not match challenge');
		expect(standIn.received).toHaveLength(1);
	});

	it('the endpoint is not registered (404)', async () => {
		standIn.behaviour = 'notFound';
		const error = await caught(register());
		expectVerificationError(error);
		expect(error.message).toContain('HTTP Status Code = 404');
	});

	it('the trigger answers with a different verify token (403)', async () => {
		standIn.expectedToken = 'the-credential-changed-meanwhile';
		const error = await caught(register());
		expectVerificationError(error);
		expect(error.message).toContain('HTTP Status Code = 403');
	});

	it('nothing listens at the URL', async () => {
		const closed = http.createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
		const port = (closed.address() as AddressInfo).port;
		await new Promise<void>((resolve) => closed.close(() => resolve()));
		ourUrl = `http://127.0.0.1:${port}/webhook/gone/webhook`;
		try {
			const error = await caught(register());
			expectVerificationError(error);
			expect(error.message).toContain('HTTP Status Code = 0');
		} finally {
			ourUrl = standIn.url();
		}
	});

	it('an endpoint that echoes the verify token: the error still never shows it', async () => {
		standIn.behaviour = 'echoToken';
		const error = await caught(register());
		expectVerificationError(error);
		expect(error.message).toContain('[verify token]');
		expect(`${error.message} ${error.hint}`).not.toContain(VERIFY_TOKEN);
	});

	it('a verify token with + / = or spaces: the hint says to use letters and digits', async () => {
		standIn.expectedToken = 'never-matches';
		const error = await caught(register({ verifyToken: PLUS_TOKEN }));
		expect(error.reason).toBe('verification');
		expect(error.hint).toContain('only letters and digits');
		expect(standIn.received[0].query['hub.verify_token']).toBe(PLUS_TOKEN);
	});
});

describe('registerPhoneOverride: other failures, each with its message', () => {
	it('URL not public HTTPS: refused before anything is sent to Meta', async () => {
		const error = await caught(register({ callbackUrl: 'http://localhost:5678/webhook/abc/webhook', allowInsecureUrl: false }));
		expect(error.reason).toBe('callbackUrl');
		expect(error.hint).toContain('N8N_WEBHOOK_URL');
		expect(fake.requests).toHaveLength(0);
	});

	it('no whatsapp_business_management permission: stops at the first read, nothing written', async () => {
		meta.setPermissions([MESSAGING]);
		const error = await caught(register());
		expect(error.reason).toBe('permission');
		expect(error.hint).toContain('whatsapp_business_management');
		expect(error.message).toContain('(#200)');
		expect(phoneSets()).toHaveLength(0);
		expect(subscribePosts()).toHaveLength(0);
	});

	it.each([
		[10, 403],
		[3, 500],
		[200, 403],
	])('Meta refusing the override with code %i (HTTP %i) is a permission problem', async (code, status) => {
		fake.fail({ code, status }, { route: 'webhooks.phone.set', times: Infinity });
		const error = await caught(register());
		expect(error.reason).toBe('permission');
		expect(error.code).toBe(code);
		expect(error.hint).toContain('whatsapp_business_management');
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it("phone number in another business account: names both, and changes nothing", async () => {
		const error = await caught(register({ phoneNumberId: OTHER_WABA_PHONE }));
		expect(error.reason).toBe('phoneInOtherAccount');
		expect(error.message).toContain(OTHER_WABA_PHONE);
		expect(error.message).toContain(WABA);
		expect(error.message).toContain(PHONE);
		expect(error.hint).toContain('WhatsApp → API Setup');
		expect(meta.phoneOverride(OTHER_WABA_PHONE)).toBeUndefined();
		expect(subscribePosts()).toHaveLength(0);
		expect(standIn.received).toHaveLength(0);
	});

	it('wrong phone number id', async () => {
		const error = await caught(register({ phoneNumberId: '123456789012345' }));
		expect(error.reason).toBe('phoneNumberNotFound');
		expect(error.message).toContain('123456789012345');
		expect(error.hint).toContain('Phone Number ID');
	});

	it('a business account the token cannot see (or a wrong id)', async () => {
		const hidden = await caught(ensureAppSubscribed(client(), HIDDEN_WABA));
		expect(hidden.reason).toBe('businessAccountNotFound');
		expect(hidden.hint).toContain('WhatsApp Business Account ID');
		const wrong = await caught(register({ businessAccountId: '999000999000999' }));
		expect(wrong.reason).toBe('businessAccountNotFound');
		expect(wrong.message).toContain('999000999000999');
	});

	it('an expired token: Meta’s own readable error comes through', async () => {
		const error = await caught(registerPhoneOverride(client('expired-token'), { phoneNumberId: PHONE, callbackUrl: ourUrl, verifyToken: VERIFY_TOKEN, allowInsecureUrl: true }));
		expect(error).toBeInstanceOf(GraphApiError);
		expect(error.code).toBe(190);
	});

	it('no verify token: refused before anything is sent', async () => {
		const error = await caught(register({ verifyToken: '  ' }));
		expect(error).toBeInstanceOf(WhatsAppValidationError);
		expect(error.field).toBe('verifyToken');
		expect(fake.requests).toHaveLength(0);
	});
});

describe('removePhoneOverrideIfOurs', () => {
	it('ours: removes it (empty URL, no verify token sent); messages fall back to the app URL', async () => {
		await register();
		fake.reset();
		const result = await removePhoneOverrideIfOurs(client(), PHONE, ourUrl);
		expect(result).toEqual({ action: 'removed', found: ourUrl, nowGoesTo: FAKE_APP_CALLBACK_URL });
		expect(phoneSets().map((request) => request.json)).toEqual([{ webhook_configuration: { override_callback_uri: '' } }]);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(meta.deliveryUrl(PHONE)).toBe(FAKE_APP_CALLBACK_URL);
		expect(meta.isSubscribed(WABA)).toBe(true);
		expect(subscribePosts()).toHaveLength(0);
	});

	it('ours written with a trailing slash and another host case: still ours', async () => {
		meta.setPhoneOverride(PHONE, 'HTTPS://N8N.Example.com/webhook/abc/webhook/');
		expect((await removePhoneOverrideIfOurs(client(), PHONE, 'https://n8n.example.com/webhook/abc/webhook')).action).toBe('removed');
	});

	it("someone else's: left alone, nothing written", async () => {
		meta.setPhoneOverride(PHONE, FOREIGN_URL);
		expect(await removePhoneOverrideIfOurs(client(), PHONE, ourUrl)).toEqual({ action: 'notOurs', found: FOREIGN_URL, nowGoesTo: FOREIGN_URL });
		expect(phoneSets()).toHaveLength(0);
		expect(meta.phoneOverride(PHONE)).toBe(FOREIGN_URL);
	});

	it('none: nothing written; a second delete after a first is harmless', async () => {
		expect(await removePhoneOverrideIfOurs(client(), PHONE, ourUrl)).toEqual({ action: 'absent', nowGoesTo: FAKE_APP_CALLBACK_URL });
		await register();
		expect((await removePhoneOverrideIfOurs(client(), PHONE, ourUrl)).action).toBe('removed');
		expect((await removePhoneOverrideIfOurs(client(), PHONE, ourUrl)).action).toBe('absent');
		expect(phoneSets()).toHaveLength(2);
	});

	it('the app is not subscribed to the business account: removing never subscribes or unsubscribes', async () => {
		meta.setPhoneOverride(PHONE, ourUrl);
		meta.unsubscribeApp(WABA, FAKE_APP_ID);
		expect((await removePhoneOverrideIfOurs(client(), PHONE, ourUrl)).action).toBe('removed');
		expect(meta.isSubscribed(WABA)).toBe(false);
		expect(fake.requests.filter((request) => request.path.includes('subscribed_apps'))).toHaveLength(0);
	});

	it('no permission: a clear error, nothing removed', async () => {
		meta.setPhoneOverride(PHONE, ourUrl);
		meta.setPermissions([MESSAGING]);
		expect((await caught(removePhoneOverrideIfOurs(client(), PHONE, ourUrl))).reason).toBe('permission');
		expect(meta.phoneOverride(PHONE)).toBe(ourUrl);
	});
});

describe('listPhoneNumberIds', () => {
	it('follows the paging cursors', async () => {
		const many = await startFakeGraphApi();
		const phones = Array.from({ length: 230 }, (_, index) => ({ id: String(500000000000000 + index), businessAccountId: WABA }));
		installFakeMetaWebhooks(many, { phones });
		try {
			const manyClient = new GraphClient({ request: axiosRequester({ token: many.token }), sleep: async () => undefined, baseUrl: many.baseUrl, apiVersion: 'v24.0' });
			expect(await listPhoneNumberIds(manyClient, WABA)).toEqual(phones.map((phone) => phone.id));
			expect(many.requestsTo('webhooks.phoneNumbers')).toHaveLength(3);
		} finally {
			await many.close();
		}
	});
});

describe('secrets', () => {
	it('no error or warning raised in this file carries a verify token, the App Secret or the app token', () => {
		expect(errors.length).toBeGreaterThan(20);
		expect(warnings.length).toBeGreaterThan(10);
		const texts = [
			...errors.map((error) => [String((error as Error).message), String((error as { hint?: string }).hint ?? ''), JSON.stringify(error), String((error as Error).stack)].join('\n')),
			...warnings,
		];
		for (const text of texts) {
			for (const secret of SECRETS) {
				expect(text).not.toContain(secret);
				expect(text).not.toContain(encodeURIComponent(secret));
			}
		}
	});

	it('scrubSecrets removes an app token in every form it may take', () => {
		const token = `${FAKE_APP_ID}|${FAKE_APP_SECRET}`;
		for (const text of [
			`GET /v24.0/${FAKE_APP_ID}/subscriptions?access_token=${token}&x=1`,
			`access_token=${encodeURIComponent(token)}`,
			JSON.stringify({ access_token: token }),
			`the token ${token} was refused`,
			`Bearer ${token}`,
		]) {
			expect(scrubSecrets(text)).not.toContain(FAKE_APP_SECRET);
		}
	});
});
