/**
 * The fake Meta webhook-override endpoints, checked on their own against Meta's documented
 * shapes (webhooks/override page) through Node's fetch — independent of our Graph client and
 * of core/webhook-registration.ts — including the verification GET it makes, like Meta.
 */
import http from 'http';
import type { AddressInfo } from 'net';

import { FAKE_PHONE_NUMBER_ID, FAKE_WABA_ID, startFakeGraphApi, type FakeGraphApi } from './fake-graph-api';
import { FAKE_APP_CALLBACK_URL, FAKE_APP_ID, FAKE_APP_NAME, FAKE_APP_SECRET, MESSAGING, installFakeMetaWebhooks, type FakeMetaWebhooks } from './fake-meta-webhooks';

const PHONE = FAKE_PHONE_NUMBER_ID;
const WABA = FAKE_WABA_ID;
const TOKEN = 'myvoiceismypassport?';

let fake: FakeGraphApi;
let meta: FakeMetaWebhooks;
let endpoint: http.Server;
let endpointUrl: string;
let answer: (query: URLSearchParams) => { status: number; body: string };
const hits: URLSearchParams[] = [];

async function graph(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
	const headers: Record<string, string> = { Authorization: `Bearer ${fake.token}` };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	const response = await fetch(fake.url(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	return { status: response.status, json: await response.json() };
}

beforeAll(async () => {
	fake = await startFakeGraphApi();
	meta = installFakeMetaWebhooks(fake, {
		phones: [
			{ id: PHONE, businessAccountId: WABA },
			{ id: '209876543210987', businessAccountId: '203040506070809' },
		],
	});
	endpoint = http.createServer((request, response) => {
		const query = new URL(request.url ?? '/', 'http://x.invalid').searchParams;
		hits.push(query);
		const { status, body } = answer(query);
		response.writeHead(status, { 'content-type': 'text/plain' });
		response.end(body);
	});
	await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', () => resolve()));
	endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
	endpoint.closeAllConnections();
	await new Promise<void>((resolve) => endpoint.close(() => resolve()));
	await fake.close();
});
beforeEach(() => {
	fake.reset();
	meta.reset();
	hits.length = 0;
	answer = (query) => ({ status: 200, body: query.get('hub.challenge') ?? '' });
});

describe('phone number override', () => {
	it('GET ?fields=webhook_configuration has Meta’s shape, with only the levels that are set', async () => {
		expect(await graph('GET', `${PHONE}?fields=webhook_configuration`)).toEqual({
			status: 200,
			json: { webhook_configuration: { application: FAKE_APP_CALLBACK_URL }, id: PHONE },
		});
		meta.setPhoneOverride(PHONE, 'https://a.example.com/x');
		meta.setWabaOverride(WABA, 'https://b.example.com/y');
		expect((await graph('GET', `${PHONE}?fields=webhook_configuration`)).json).toEqual({
			webhook_configuration: { phone_number: 'https://a.example.com/x', whatsapp_business_account: 'https://b.example.com/y', application: FAKE_APP_CALLBACK_URL },
			id: PHONE,
		});
		expect(fake.requestsTo('webhooks.phone.get')).toHaveLength(2);
	});

	it('POST sends the verification GET (mode, random numeric challenge, token) and stores the URL on a 200 echo', async () => {
		const set = await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: endpointUrl, verify_token: TOKEN } });
		expect(set).toEqual({ status: 200, json: { success: true } });
		expect(hits).toHaveLength(1);
		expect(hits[0].get('hub.mode')).toBe('subscribe');
		expect(hits[0].get('hub.verify_token')).toBe(TOKEN);
		expect(hits[0].get('hub.challenge')).toMatch(/^\d{9,10}$/);
		expect(meta.phoneOverride(PHONE)).toBe(endpointUrl);
		expect(meta.verifications[0]).toMatchObject({ ok: true, status: 200, level: 'phone', target: PHONE, verifyToken: TOKEN });

		await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: endpointUrl, verify_token: TOKEN } });
		expect(hits[0].get('hub.challenge')).not.toBe(hits[1].get('hub.challenge'));
	});

	it('keeps a query string already in the URL', async () => {
		await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: `${endpointUrl}?tenant=7`, verify_token: TOKEN } });
		expect(hits[0].get('tenant')).toBe('7');
		expect(hits[0].get('hub.mode')).toBe('subscribe');
	});

	it.each([
		['a 404', () => ({ status: 404, body: 'Not Found' }), 'HTTP Status Code = 404; HTTP Message = Not Found'],
		['a 403', () => ({ status: 403, body: 'no' }), 'HTTP Status Code = 403; HTTP Message = Forbidden'],
		['a 200 without the challenge', () => ({ status: 200, body: 'ok' }), 'Response does not match challenge'],
		['the challenge with a newline', (query: URLSearchParams) => ({ status: 200, body: `${query.get('hub.challenge')}\n` }), 'Response does not match challenge'],
		['a redirect', () => ({ status: 302, body: '' }), 'HTTP Status Code = 302'],
	])('refuses %s with 400, code 2200, and stores nothing', async (_name, reply, text) => {
		answer = reply;
		const result = await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: endpointUrl, verify_token: TOKEN } });
		expect(result.status).toBe(400);
		expect(result.json.error.code).toBe(2200);
		expect(result.json.error.type).toBe('OAuthException');
		expect(result.json.error.message).toMatch(/^\(#2200\) Callback verification failed with the following errors: /);
		expect(result.json.error.message).toContain(text);
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
	});

	it('refuses an unreachable URL (HTTP Status Code = 0)', async () => {
		const result = await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: 'http://127.0.0.1:1/hook', verify_token: TOKEN } });
		expect(result.json.error.code).toBe(2200);
		expect(result.json.error.message).toContain('HTTP Status Code = 0');
	});

	it('gives up on an endpoint that does not answer in time (curl_errno = 28)', async () => {
		const silent = http.createServer(() => undefined);
		await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
		const quick = await startFakeGraphApi();
		const quickMeta = installFakeMetaWebhooks(quick, { verificationTimeoutMs: 300 });
		try {
			const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
			const response = await fetch(quick.url(PHONE), {
				method: 'POST',
				headers: { Authorization: `Bearer ${quick.token}`, 'Content-Type': 'application/json' },
				body: JSON.stringify({ webhook_configuration: { override_callback_uri: url, verify_token: TOKEN } }),
			});
			const json = (await response.json()) as any;
			expect(json.error.code).toBe(2200);
			expect(json.error.message).toContain('curl_errno = 28');
			expect(quickMeta.phoneOverride(PHONE)).toBeUndefined();
		} finally {
			silent.closeAllConnections();
			await new Promise<void>((resolve) => silent.close(() => resolve()));
			await quick.close();
		}
	});

	it('"" removes the override without any verification; a missing token or a long URL is code 100', async () => {
		meta.setPhoneOverride(PHONE, 'https://a.example.com/x');
		expect(await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: '' } })).toEqual({ status: 200, json: { success: true } });
		expect(meta.phoneOverride(PHONE)).toBeUndefined();
		expect(hits).toHaveLength(0);
		expect((await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: endpointUrl } })).json.error.code).toBe(100);
		const long = `${endpointUrl}/${'a'.repeat(200)}`;
		expect((await graph('POST', PHONE, { webhook_configuration: { override_callback_uri: long, verify_token: TOKEN } })).json.error.code).toBe(100);
		expect(hits).toHaveLength(0);
	});

	it('unknown ids answer 100/33 like Meta; no management permission answers 403/200', async () => {
		const unknown = await graph('GET', '123123123123123?fields=webhook_configuration');
		expect(unknown.status).toBe(400);
		expect(unknown.json.error).toMatchObject({ code: 100, error_subcode: 33 });
		expect(unknown.json.error.message).toContain("Object with ID '123123123123123' does not exist");
		expect((await graph('POST', '123123123123123', { webhook_configuration: { override_callback_uri: '' } })).json.error.error_subcode).toBe(33);
		meta.setPermissions([MESSAGING]);
		const refused = await graph('GET', `${PHONE}?fields=webhook_configuration`);
		expect(refused.status).toBe(403);
		expect(refused.json.error.code).toBe(200);
		expect((await graph('GET', `${WABA}/subscribed_apps`)).json.error.code).toBe(200);
	});

	it('other phone fields still go to the fake Graph API’s own phone route', async () => {
		expect((await graph('GET', `${PHONE}?fields=display_phone_number`)).json).toEqual({ display_phone_number: '15550783881', id: PHONE });
	});
});

describe('business account subscription', () => {
	it('GET subscribed_apps has Meta’s shape; override_callback_uri only when set', async () => {
		meta.subscribeApp(WABA, { id: '111', name: 'Other' });
		meta.setWabaOverride(WABA, 'https://b.example.com/y');
		expect((await graph('GET', `${WABA}/subscribed_apps`)).json).toEqual({
			data: [
				{ whatsapp_business_api_data: { id: FAKE_APP_ID, link: `https://www.facebook.com/games/?app_id=${FAKE_APP_ID}`, name: FAKE_APP_NAME }, override_callback_uri: 'https://b.example.com/y' },
				{ whatsapp_business_api_data: { id: '111', link: 'https://www.facebook.com/games/?app_id=111', name: 'Other' } },
			],
		});
	});

	it('POST with a URL verifies it and sets the WABA override; a bare POST removes it (Meta’s documented way)', async () => {
		expect((await graph('POST', `${WABA}/subscribed_apps`, { override_callback_uri: endpointUrl, verify_token: TOKEN })).json).toEqual({ success: true });
		expect(hits).toHaveLength(1);
		expect(meta.verifications[0]).toMatchObject({ level: 'waba', target: WABA, ok: true });
		expect(meta.wabaOverride(WABA)).toBe(endpointUrl);
		expect(meta.deliveryUrl(PHONE)).toBe(endpointUrl);
		expect((await graph('POST', `${WABA}/subscribed_apps`)).json).toEqual({ success: true });
		expect(meta.wabaOverride(WABA)).toBeUndefined();
		expect(meta.isSubscribed(WABA)).toBe(true);
	});

	it('DELETE unsubscribes the app, after which Meta delivers nothing for the account', async () => {
		expect((await graph('DELETE', `${WABA}/subscribed_apps`)).json).toEqual({ success: true });
		expect(meta.isSubscribed(WABA)).toBe(false);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		expect(fake.requestsTo('webhooks.subscribedApps.delete')).toHaveLength(1);
	});

	it('GET /app names the token’s app, unless told to fail', async () => {
		expect((await graph('GET', 'app?fields=id,name')).json).toMatchObject({ id: FAKE_APP_ID, name: FAKE_APP_NAME });
		meta.setAppLookup(false);
		expect((await graph('GET', 'app')).json.error.code).toBe(100);
	});

	it('phone_numbers lists only the account’s own numbers', async () => {
		expect((await graph('GET', `${WABA}/phone_numbers`)).json.data.map((phone: { id: string }) => phone.id)).toEqual([PHONE]);
		expect((await graph('GET', '203040506070809/phone_numbers')).json.data.map((phone: { id: string }) => phone.id)).toEqual(['209876543210987']);
	});
});

/** A request with the app token (null: none; no Bearer unless asked): in the query of a GET, in a form body otherwise. */
async function appCall(method: string, params: Record<string, string>, token: string | null = `${FAKE_APP_ID}|${FAKE_APP_SECRET}`, bearer = false): Promise<{ status: number; json: any }> {
	const all = token === null ? params : { ...params, access_token: token };
	const headers: Record<string, string> = bearer ? { Authorization: `Bearer ${fake.token}` } : {};
	const form = new URLSearchParams(all).toString();
	const url = fake.url(`${FAKE_APP_ID}/subscriptions`) + (method === 'GET' ? `?${form}` : '');
	if (method !== 'GET') headers['Content-Type'] = 'application/x-www-form-urlencoded';
	const response = await fetch(url, { method, headers, body: method === 'GET' ? undefined : form });
	return { status: response.status, json: await response.json() };
}

describe("the app's own webhook subscription (app access token)", () => {
	it('GET lists the app subscription in Meta\'s shape', async () => {
		const { status, json } = await appCall('GET', {});
		expect(status).toBe(200);
		expect(json).toEqual({ data: [{ object: 'whatsapp_business_account', callback_url: FAKE_APP_CALLBACK_URL, active: true, fields: [{ name: 'messages', version: 'v24.0' }] }] });
	});

	it('refuses anything but the app token alone, with Meta\'s codes', async () => {
		expect((await appCall('GET', {}, null)).json.error.code).toBe(104);
		expect((await appCall('GET', {}, null, true)).json.error.code).toBe(15);
		expect((await appCall('GET', {}, fake.token)).json.error.code).toBe(15);
		const wrong = await appCall('GET', {}, `${FAKE_APP_ID}|0123456789abcdef0123456789abcdef`);
		expect(wrong.status).toBe(400);
		expect(wrong.json.error).toMatchObject({ code: 190, message: 'Invalid OAuth access token signature.' });
		expect((await appCall('GET', {}, `${FAKE_APP_ID}|${FAKE_APP_SECRET}`, true)).json.error.code).toBe(100);
		meta.setAppSecret('another-secret-0000000000000000');
		expect((await appCall('GET', {})).json.error.code).toBe(190);
		expect((await appCall('GET', {}, meta.appToken)).status).toBe(200);
	});

	it('POST verifies the callback URL, then replaces the URL and the field list; the app then receives messages', async () => {
		meta.setAppCallbackUrl(undefined);
		meta.setPhoneOverride(PHONE, 'https://a.example.com/x');
		expect(meta.receivesMessages()).toBe(false);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		const post = await appCall('POST', { object: 'whatsapp_business_account', callback_url: endpointUrl, verify_token: TOKEN, fields: 'messages', include_values: 'true' });
		expect(post.json).toEqual({ success: true });
		expect(hits).toHaveLength(1);
		expect(hits[0].get('hub.verify_token')).toBe(TOKEN);
		expect(meta.verifications[0]).toMatchObject({ level: 'app', target: FAKE_APP_ID, url: endpointUrl, ok: true });
		expect(meta.appSubscription()).toEqual({ callbackUrl: endpointUrl, fields: ['messages'], active: true });
		expect(meta.receivesMessages()).toBe(true);
		expect(meta.deliveryUrl(PHONE)).toBe('https://a.example.com/x');
		// A second POST replaces the field list (JSON-array form accepted too).
		await appCall('POST', { object: 'whatsapp_business_account', callback_url: endpointUrl, verify_token: TOKEN, fields: '["account_update"]' });
		expect(meta.appSubscription()?.fields).toEqual(['account_update']);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		// The application level of the number's webhook settings shows the app's URL.
		expect((await graph('GET', `${PHONE}?fields=webhook_configuration`)).json.webhook_configuration.application).toBe(endpointUrl);
	});

	it('POST fails like Meta when the callback URL does not answer the challenge; nothing changes', async () => {
		answer = () => ({ status: 403, body: 'no' });
		const post = await appCall('POST', { object: 'whatsapp_business_account', callback_url: endpointUrl, verify_token: TOKEN, fields: 'messages' });
		expect(post.json.error.code).toBe(2200);
		expect(meta.appSubscription()?.callbackUrl).toBe(FAKE_APP_CALLBACK_URL);
	});

	it('DELETE removes fields, or the whole object', async () => {
		meta.setAppSubscription({ callbackUrl: endpointUrl, fields: ['messages', 'account_update'] });
		await appCall('DELETE', { object: 'whatsapp_business_account', fields: 'account_update' });
		expect(meta.appSubscription()?.fields).toEqual(['messages']);
		await appCall('DELETE', { object: 'whatsapp_business_account' });
		expect(meta.appSubscription()).toBeUndefined();
	});
});

describe('where Meta delivers a messages webhook', () => {
	it('phone override, else WABA override, else the app URL; nothing when the app is not subscribed', () => {
		expect(meta.deliveryUrl(PHONE)).toBe(FAKE_APP_CALLBACK_URL);
		meta.setWabaOverride(WABA, 'https://b.example.com/y');
		expect(meta.deliveryUrl(PHONE)).toBe('https://b.example.com/y');
		meta.setPhoneOverride(PHONE, 'https://a.example.com/x');
		expect(meta.deliveryUrl(PHONE)).toBe('https://a.example.com/x');
		meta.unsubscribeApp(WABA, FAKE_APP_ID);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		meta.reset();
		expect(meta.deliveryUrl(PHONE)).toBe(FAKE_APP_CALLBACK_URL);
	});

	it('nothing at all while the app does not subscribe "messages" (or its subscription is off), overrides included', () => {
		meta.setPhoneOverride(PHONE, 'https://a.example.com/x');
		meta.setAppSubscription({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: ['account_update'] });
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		meta.setAppSubscription({ callbackUrl: FAKE_APP_CALLBACK_URL, fields: ['messages'], active: false });
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		meta.setAppCallbackUrl(undefined);
		expect(meta.deliveryUrl(PHONE)).toBeUndefined();
		meta.setAppCallbackUrl('https://c.example.com/z');
		expect(meta.appSubscription()).toEqual({ callbackUrl: 'https://c.example.com/z', fields: ['messages'], active: true });
		expect(meta.deliveryUrl(PHONE)).toBe('https://a.example.com/x');
	});
});
