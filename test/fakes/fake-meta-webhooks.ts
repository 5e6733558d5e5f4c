/**
 * Meta's webhook-override endpoints on top of the fake Graph API (through its `addRoute`
 * extension point), with per-phone and per-business-account state, permission simulation,
 * and — like Meta — a real verification GET to every callback URL before it is stored.
 *
 * ## Install
 *   const fake = await startFakeGraphApi();
 *   const meta = installFakeMetaWebhooks(fake, options);   // once per fake (routes survive fake.reset())
 *   meta.reset();                                           // back to the initial state, in beforeEach
 *
 * ## Routes (versioned, Bearer token as the fake's; route names for fake.requestsTo / fake.fail)
 *   GET    /app?fields=id,name                       'webhooks.app'             → {id, name, link} of the token's app
 *   GET    /{phone}?fields=webhook_configuration      'webhooks.phone.get'       → {webhook_configuration: {phone_number?,
 *                                                                                  whatsapp_business_account?, application?}, id}
 *   POST   /{phone} {webhook_configuration: {override_callback_uri, verify_token}}
 *                                                     'webhooks.phone.set'       verification GET, then → {success: true};
 *                                                                                  "" removes the override (no verification)
 *   GET    /{waba}/phone_numbers                      'webhooks.phoneNumbers'    → {data: [{id, display_phone_number}], paging}
 *   GET    /{waba}/subscribed_apps                    'webhooks.subscribedApps.get'
 *                                                                                → {data: [{whatsapp_business_api_data: {id, link, name},
 *                                                                                  override_callback_uri?}]}
 *   POST   /{waba}/subscribed_apps [{override_callback_uri, verify_token}]
 *                                                     'webhooks.subscribedApps.post'  subscribes the token's app; with a URL:
 *                                                                                  verification GET then WABA override; without:
 *                                                                                  REMOVES the app's WABA override (Meta's documented way)
 *   DELETE /{waba}/subscribed_apps                    'webhooks.subscribedApps.delete' unsubscribes the token's app
 *
 * The app's own webhook (App Dashboard → WhatsApp → Configuration), with the APP access token
 * `<appId>|<appSecret>` as `access_token` (query, or form/JSON body) and no Bearer header:
 *   GET    /{app}/subscriptions                       'webhooks.appSubscriptions.get'
 *                                                     → {data: [{object, callback_url, active, fields: [{name, version}]}]}
 *   POST   /{app}/subscriptions object, callback_url, verify_token, fields (comma list or JSON array),
 *          include_values? (form-urlencoded or JSON)   'webhooks.appSubscriptions.post'  verification GET to callback_url,
 *                                                     then the object's callback URL AND field list are REPLACED
 *                                                     (send the union to add a field) → {success: true}
 *   DELETE /{app}/subscriptions object, fields?       'webhooks.appSubscriptions.delete' removes those fields (all: the object)
 * Token answers: none → 400 (#104) "An access token is required to request this resource.";
 * the user's token (Bearer, or as access_token) → 400 (#15) "This method must be called with an
 * app access_token."; `<id>|<wrong secret>` → 400 code 190 "Invalid OAuth access token signature."
 * (Meta's answers). Both a Bearer header and an access_token → 400 (#100): deliberately strict,
 * Meta's own answer to that is not documented. Another app's id → 100/33.
 * Phones and business accounts the token cannot see (options.hidden) and unknown ids answer like
 * Meta: 100, subcode 33 "Unsupported <method> request. Object with ID '<id>' does not exist, cannot
 * be loaded due to missing permissions, or does not support this operation.".
 * Without the whatsapp_business_management permission (setPermissions) every route but GET /app
 * answers 403, code 200 "(#200) Permissions error" (Meta's 200–299 family; exact wording not published).
 *
 * ## The verification GET (exactly what Meta does when a callback URL is set)
 *   GET <url>[?|&]hub.mode=subscribe&hub.challenge=<random digits>&hub.verify_token=<token>
 *   Accepted only when the answer is HTTP 200 and its body equals the challenge (no redirects
 *   followed). Otherwise the POST fails with HTTP 400, code 2200:
 *   "(#2200) Callback verification failed with the following errors: HTTP Status Code = 404; HTTP Message = Not Found"
 *   (wording from Meta's app-subscription answers; Meta does not document the override's own).
 *   Every attempt is recorded in `meta.verifications`.
 *
 * ## State and helpers
 *   meta.phoneOverride(phone) / setPhoneOverride(phone, url | undefined)   (set directly: "someone else did it")
 *   meta.wabaOverride(waba)   / setWabaOverride(waba, url | undefined)      (our app's WABA-level override)
 *   meta.isSubscribed(waba, appId?) / subscribeApp(waba, {id, name, overrideCallbackUri?}) / unsubscribeApp(waba, appId)
 *   meta.setPermissions([...]), meta.setAppLookup(false) (GET /app fails)
 *   meta.appSubscription(object = 'whatsapp_business_account') / setAppSubscription({callbackUrl?, fields, active?} | undefined)
 *                             the app's own webhook subscription (default: FAKE_APP_CALLBACK_URL with ["messages"]);
 *   meta.setAppCallbackUrl(url | undefined)   its callback URL, keeping its fields (["messages"] if new);
 *                             undefined removes the subscription (an app whose webhook was never configured)
 *   meta.appSecret / setAppSecret(secret) / appToken    the secret the app token must carry
 *   meta.receivesMessages()   whether the app has an active whatsapp_business_account subscription with "messages"
 *   meta.deliveryUrl(phone)   where Meta would send this number's `messages` webhooks now
 *                             (phone override → WABA override → app URL); undefined when the app does not
 *                             receive "messages" at all (receivesMessages() false: overrides redirect only
 *                             fields the app subscribes to) or is not subscribed to the number's business account
 *
 * Limits of this fake (known, deliberate): one app and one token (the fake Graph API's); overrides
 * of other apps are not modelled (Meta never shows them to our token anyway); the text of Meta's
 * answers to a too-long or non-https URL is a guess (code 100).
 */
import { randomInt } from 'crypto';

import { FAKE_WABA_ID, metaError, type FakeGraphApi, type FakeReply, type FakeRouteRequest } from './fake-graph-api';

export const FAKE_APP_ID = '670843887433847';
export const FAKE_APP_NAME = 'Fake Test App';
export const FAKE_APP_CALLBACK_URL = 'https://app-callback.example.com/whatsapp/webhook';
/** The App Secret of the fake app (App Settings → Basic): the app token is `${FAKE_APP_ID}|${FAKE_APP_SECRET}`. */
export const FAKE_APP_SECRET = 'f4k3a99s3cr3t0f7h3f4k3t35t4pp01';
export const WHATSAPP_OBJECT = 'whatsapp_business_account';
export const MANAGEMENT = 'whatsapp_business_management';
export const MESSAGING = 'whatsapp_business_messaging';

export interface FakeWebhookPhone {
	id: string;
	/** The WhatsApp Business Account that owns the number. */
	businessAccountId: string;
	displayPhoneNumber?: string;
}

export interface FakeSubscribedApp {
	id: string;
	name: string;
	overrideCallbackUri?: string;
}

export interface FakeMetaWebhooksOptions {
	/** Default: the fake's phone number, owned by FAKE_WABA_ID. */
	phones?: FakeWebhookPhone[];
	/** Business accounts with no phone numbers of their own (they still answer). */
	businessAccounts?: string[];
	/** Business accounts our app is subscribed to at the start. Default: all of them. */
	subscribed?: string[];
	/** Other apps subscribed at the start, per business account. */
	otherApps?: Record<string, FakeSubscribedApp[]>;
	/** Phone overrides at the start (set by "someone else": not verified). */
	phoneOverrides?: Record<string, string>;
	/** Our app's WABA overrides at the start. */
	wabaOverrides?: Record<string, string>;
	/** Ids (phones or business accounts) the token cannot see: 100/33. */
	hidden?: string[];
	/**
	 * The callback URL of the app's own whatsapp_business_account subscription; null: the app has
	 * no such subscription (its WhatsApp webhook was never configured). Default FAKE_APP_CALLBACK_URL.
	 */
	appCallbackUrl?: string | null;
	/** The fields of that subscription. Default ["messages"]. */
	appFields?: string[];
	/** The app's App Secret. Default FAKE_APP_SECRET. */
	appSecret?: string;
	appId?: string;
	appName?: string;
	/** The token's permissions. Default both WhatsApp permissions. */
	permissions?: string[];
	/** Refuse callback URLs that are not https:// (Meta does). Default false: the fakes run on http loopback. */
	requireHttps?: boolean;
	/** How long the verification GET may take. Default 5000 ms. */
	verificationTimeoutMs?: number;
}

export interface VerificationAttempt {
	url: string;
	/** The exact URL requested, query included. */
	requestedUrl: string;
	challenge: string;
	verifyToken: string;
	status?: number;
	body?: string;
	/** Network failure, when there was no answer. */
	error?: string;
	ok: boolean;
	/** 'phone', 'waba' or 'app' (the app's own subscription), and which id. */
	level: 'phone' | 'waba' | 'app';
	target: string;
	at: number;
}

/** The app's subscription for one object (GET /{app}/subscriptions). */
export interface FakeAppSubscription {
	callbackUrl?: string;
	fields: string[];
	/** Default true. */
	active?: boolean;
}

export interface FakeMetaWebhooks {
	readonly appId: string;
	readonly appSecret: string;
	/** `${appId}|${appSecret}`: the app access token the app-subscription routes require. */
	readonly appToken: string;
	readonly verifications: VerificationAttempt[];
	phoneOverride(phoneId: string): string | undefined;
	setPhoneOverride(phoneId: string, url: string | undefined): void;
	wabaOverride(businessAccountId: string): string | undefined;
	setWabaOverride(businessAccountId: string, url: string | undefined): void;
	isSubscribed(businessAccountId: string, appId?: string): boolean;
	subscribedApps(businessAccountId: string): FakeSubscribedApp[];
	subscribeApp(businessAccountId: string, app: FakeSubscribedApp): void;
	unsubscribeApp(businessAccountId: string, appId: string): void;
	setPermissions(permissions: string[]): void;
	setAppCallbackUrl(url: string | undefined): void;
	appSubscription(object?: string): FakeAppSubscription | undefined;
	setAppSubscription(subscription: FakeAppSubscription | undefined, object?: string): void;
	setAppSecret(secret: string): void;
	receivesMessages(): boolean;
	setAppLookup(works: boolean): void;
	deliveryUrl(phoneId: string): string | undefined;
	/** Back to the options' state; forgets verifications. */
	reset(): void;
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function notFound(method: string, id: string): FakeReply {
	const text = `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`;
	return metaError(100, { subcode: 33, title: 'Invalid parameter', message: text, details: text });
}

function permissionError(): FakeReply {
	return metaError(200, { status: 403, title: 'Permissions error', details: `The access token needs the ${MANAGEMENT} permission for this request.` });
}

function invalidParameter(details: string): FakeReply {
	return metaError(100, { title: 'Invalid parameter', details });
}

function verificationFailed(errors: string): FakeReply {
	const message = `(#2200) Callback verification failed with the following errors: ${errors}`;
	return metaError(2200, { status: 400, title: 'Callback verification failed', message, details: message.replace(/^\(#2200\) /, '') });
}

const HTTP_MESSAGES: Record<number, string> = {
	200: 'OK',
	301: 'Moved Permanently',
	302: 'Found',
	400: 'Bad Request',
	401: 'Unauthorized',
	403: 'Forbidden',
	404: 'Not Found',
	405: 'Method Not Allowed',
	410: 'Gone',
	500: 'Internal Server Error',
	502: 'Bad Gateway',
	503: 'Service Unavailable',
};

/** Installs the routes on `fake` and returns the state handle. Call once per fake. */
export function installFakeMetaWebhooks(fake: FakeGraphApi, options: FakeMetaWebhooksOptions = {}): FakeMetaWebhooks {
	const appId = options.appId ?? FAKE_APP_ID;
	const appName = options.appName ?? FAKE_APP_NAME;
	const timeoutMs = options.verificationTimeoutMs ?? 5000;
	const verifications: VerificationAttempt[] = [];

	let phones = new Map<string, FakeWebhookPhone>();
	let accounts = new Set<string>();
	let subscriptions = new Map<string, FakeSubscribedApp[]>();
	let phoneOverrides = new Map<string, { url: string; verifyToken?: string }>();
	let hidden = new Set<string>();
	let permissions = new Set<string>();
	let appSubscriptions = new Map<string, { callbackUrl?: string; fields: string[]; active: boolean; verifyToken?: string }>();
	let appSecret = options.appSecret ?? FAKE_APP_SECRET;
	let appLookup = true;

	function init(): void {
		phones = new Map((options.phones ?? [{ id: fake.phoneNumberId, businessAccountId: FAKE_WABA_ID }]).map((phone) => [phone.id, { ...phone }]));
		accounts = new Set([...[...phones.values()].map((phone) => phone.businessAccountId), ...(options.businessAccounts ?? [])]);
		subscriptions = new Map([...accounts].map((account) => [account, (options.otherApps?.[account] ?? []).map((app) => ({ ...app }))]));
		for (const account of options.subscribed ?? [...accounts]) {
			const list = subscriptions.get(account) ?? [];
			const override = options.wabaOverrides?.[account];
			list.push({ id: appId, name: appName, ...(override ? { overrideCallbackUri: override } : {}) });
			subscriptions.set(account, list);
			accounts.add(account);
		}
		phoneOverrides = new Map(Object.entries(options.phoneOverrides ?? {}).map(([phone, url]) => [phone, { url }]));
		hidden = new Set(options.hidden ?? []);
		permissions = new Set(options.permissions ?? [MANAGEMENT, MESSAGING]);
		appSubscriptions = new Map();
		if (options.appCallbackUrl !== null) {
			appSubscriptions.set(WHATSAPP_OBJECT, { callbackUrl: options.appCallbackUrl ?? FAKE_APP_CALLBACK_URL, fields: [...(options.appFields ?? ['messages'])], active: true });
		}
		appSecret = options.appSecret ?? FAKE_APP_SECRET;
		appLookup = true;
		verifications.length = 0;
	}
	init();

	const ours = (account: string) => subscriptions.get(account)?.find((app) => app.id === appId);
	const visiblePhone = (id: string) => (phones.has(id) && !hidden.has(id) && !hidden.has(phones.get(id)!.businessAccountId) ? phones.get(id) : undefined);
	const visibleAccount = (id: string) => accounts.has(id) && !hidden.has(id);
	const canManage = () => permissions.has(MANAGEMENT);
	const appCallbackUrl = () => appSubscriptions.get(WHATSAPP_OBJECT)?.callbackUrl;
	const receivesMessages = () => {
		const subscription = appSubscriptions.get(WHATSAPP_OBJECT);
		return subscription !== undefined && subscription.active && subscription.callbackUrl !== undefined && subscription.fields.includes('messages');
	};

	/** Meta's verification GET. Resolves with undefined when accepted, else the "errors" text. */
	async function verify(url: string, verifyToken: string, level: VerificationAttempt['level'], target: string): Promise<string | undefined> {
		const challenge = String(randomInt(100_000_000, 2_147_483_647));
		const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.challenge': challenge, 'hub.verify_token': verifyToken }).toString();
		const requestedUrl = `${url}${url.includes('?') ? '&' : '?'}${query}`;
		const attempt: VerificationAttempt = { url, requestedUrl, challenge, verifyToken, ok: false, level, target, at: Date.now() };
		verifications.push(attempt);
		let response: Response | undefined;
		try {
			response = await fetch(requestedUrl, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
			attempt.status = response.status;
			attempt.body = await response.text();
		} catch (error) {
			const cause = (error as { cause?: { code?: string } }).cause;
			attempt.error = cause?.code ?? (error as Error).name;
			const timedOut = attempt.error === 'TimeoutError' || attempt.error === 'AbortError';
			return timedOut
				? 'curl_errno = 28; curl_error = Operation timed out; HTTP Status Code = 0'
				: `curl_errno = 7; curl_error = Failed to connect (${attempt.error}); HTTP Status Code = 0`;
		}
		if (attempt.status !== 200) {
			return `HTTP Status Code = ${attempt.status}; HTTP Message = ${HTTP_MESSAGES[attempt.status] ?? response.statusText ?? 'Error'}`;
		}
		if (attempt.body !== challenge) {
			return `Response does not match challenge, expected value="${challenge}", received="${attempt.body.slice(0, 40)}"`;
		}
		attempt.ok = true;
		return undefined;
	}

	function checkUrl(url: string): FakeReply | undefined {
		if (url.length > 200) return invalidParameter('The callback URL must be at most 200 characters long.');
		let parsed: URL;
		try {
			parsed = new URL(url);
		} catch {
			return invalidParameter('The callback URL is not a valid URL.');
		}
		if (parsed.protocol !== 'https:' && (options.requireHttps || parsed.protocol !== 'http:')) {
			return invalidParameter('The callback URL must be a valid https URL.');
		}
		return undefined;
	}

	const phoneFields = (request: FakeRouteRequest | { query: Record<string, string> }) =>
		(request.query.fields ?? '').split(',').map((name) => name.trim()).filter(Boolean);

	fake.addRoute({
		name: 'webhooks.app',
		method: 'GET',
		path: /^\/app\/?$/,
		handle: () => (appLookup ? { json: { link: `https://www.facebook.com/games/?app_id=${appId}`, name: appName, id: appId } } : metaError(100, { subcode: 33, details: "Unsupported get request. Object with ID 'app' does not exist, cannot be loaded due to missing permissions, or does not support this operation." })),
	});

	fake.addRoute({
		name: 'webhooks.phone.get',
		method: 'GET',
		path: /^\/([^/]+)\/?$/,
		when: (request) => {
			const fields = phoneFields(request);
			return fields.includes('webhook_configuration') && fields.every((name) => name === 'webhook_configuration' || name === 'id');
		},
		handle: (request) => {
			const id = decodeURIComponent(request.params[0]);
			const phone = visiblePhone(id);
			if (!phone) return notFound('get', id);
			if (!canManage()) return permissionError();
			const configuration: Record<string, string> = {};
			const own = phoneOverrides.get(id);
			if (own) configuration.phone_number = own.url;
			const waba = ours(phone.businessAccountId)?.overrideCallbackUri;
			if (waba) configuration.whatsapp_business_account = waba;
			const application = appCallbackUrl();
			if (application) configuration.application = application;
			return { json: { webhook_configuration: configuration, id } };
		},
	});

	fake.addRoute({
		name: 'webhooks.phone.set',
		method: 'POST',
		path: /^\/([^/]+)\/?$/,
		when: (request) => isObject(request.json) && 'webhook_configuration' in request.json,
		handle: async (request) => {
			const id = decodeURIComponent(request.params[0]);
			if (!visiblePhone(id)) return notFound('post', id);
			if (!canManage()) return permissionError();
			const configuration = (request.json as Record<string, unknown>).webhook_configuration;
			if (!isObject(configuration)) return invalidParameter('The parameter webhook_configuration must be an object.');
			const url = configuration.override_callback_uri;
			if (typeof url !== 'string') return invalidParameter('The parameter webhook_configuration[override_callback_uri] is required.');
			if (url === '') {
				phoneOverrides.delete(id);
				return { json: { success: true } };
			}
			const verifyToken = configuration.verify_token;
			if (typeof verifyToken !== 'string' || verifyToken === '') return invalidParameter('The parameter webhook_configuration[verify_token] is required.');
			const bad = checkUrl(url);
			if (bad) return bad;
			const failed = await verify(url, verifyToken, 'phone', id);
			if (failed) return verificationFailed(failed);
			phoneOverrides.set(id, { url, verifyToken });
			return { json: { success: true } };
		},
	});

	fake.addRoute({
		name: 'webhooks.phoneNumbers',
		method: 'GET',
		path: /^\/([^/]+)\/phone_numbers\/?$/,
		handle: (request) => {
			const account = decodeURIComponent(request.params[0]);
			if (!visibleAccount(account)) return notFound('get', account);
			if (!canManage()) return permissionError();
			const all = [...phones.values()].filter((phone) => phone.businessAccountId === account);
			const limit = Math.max(1, Math.min(Number(request.query.limit) || 25, 100));
			const start = request.query.after ? Number(Buffer.from(request.query.after, 'base64').toString('utf8')) || 0 : 0;
			const page = all.slice(start, start + limit);
			const data = page.map((phone) => ({ id: phone.id, display_phone_number: phone.displayPhoneNumber ?? '15550000000' }));
			const cursors = { before: Buffer.from(String(start)).toString('base64'), after: Buffer.from(String(start + page.length)).toString('base64') };
			const next = start + page.length < all.length ? { next: fake.url(`${account}/phone_numbers?after=${cursors.after}&limit=${limit}`) } : {};
			return { json: { data, paging: { cursors, ...next } } };
		},
	});

	fake.addRoute({
		name: 'webhooks.subscribedApps.get',
		method: 'GET',
		path: /^\/([^/]+)\/subscribed_apps\/?$/,
		handle: (request) => {
			const account = decodeURIComponent(request.params[0]);
			if (!visibleAccount(account)) return notFound('get', account);
			if (!canManage()) return permissionError();
			const data = (subscriptions.get(account) ?? []).map((app) => ({
				whatsapp_business_api_data: { id: app.id, link: `https://www.facebook.com/games/?app_id=${app.id}`, name: app.name },
				...(app.overrideCallbackUri ? { override_callback_uri: app.overrideCallbackUri } : {}),
			}));
			return { json: { data } };
		},
	});

	fake.addRoute({
		name: 'webhooks.subscribedApps.post',
		method: 'POST',
		path: /^\/([^/]+)\/subscribed_apps\/?$/,
		handle: async (request) => {
			const account = decodeURIComponent(request.params[0]);
			if (!visibleAccount(account)) return notFound('post', account);
			if (!canManage()) return permissionError();
			const body = isObject(request.json) ? request.json : {};
			const url = typeof body.override_callback_uri === 'string' && body.override_callback_uri !== '' ? body.override_callback_uri : undefined;
			if (url !== undefined) {
				const verifyToken = body.verify_token;
				if (typeof verifyToken !== 'string' || verifyToken === '') return invalidParameter('The parameter verify_token is required.');
				const bad = checkUrl(url);
				if (bad) return bad;
				const failed = await verify(url, verifyToken, 'waba', account);
				if (failed) return verificationFailed(failed);
			}
			const list = subscriptions.get(account) ?? [];
			const existing = list.find((app) => app.id === appId);
			const entry: FakeSubscribedApp = { id: appId, name: appName, ...(url ? { overrideCallbackUri: url } : {}) };
			if (existing) list.splice(list.indexOf(existing), 1, entry);
			else list.push(entry);
			subscriptions.set(account, list);
			return { json: { success: true } };
		},
	});

	fake.addRoute({
		name: 'webhooks.subscribedApps.delete',
		method: 'DELETE',
		path: /^\/([^/]+)\/subscribed_apps\/?$/,
		handle: (request) => {
			const account = decodeURIComponent(request.params[0]);
			if (!visibleAccount(account)) return notFound('delete', account);
			if (!canManage()) return permissionError();
			subscriptions.set(account, (subscriptions.get(account) ?? []).filter((app) => app.id !== appId));
			return { json: { success: true } };
		},
	});

	// ---- The app's own webhook subscriptions (app access token) --------------------------

	/** The request's parameters: query, then a form-urlencoded or JSON body. */
	function appParams(request: FakeRouteRequest): Record<string, string> {
		const params: Record<string, string> = { ...request.query };
		const type = String(request.headers['content-type'] ?? '');
		let body: Record<string, unknown> = {};
		if (isObject(request.json)) body = request.json;
		else if (/application\/x-www-form-urlencoded/i.test(type)) body = Object.fromEntries(new URLSearchParams(request.body.toString('utf8')).entries());
		for (const [key, value] of Object.entries(body)) {
			params[key] = typeof value === 'string' ? value : JSON.stringify(value);
		}
		return params;
	}

	/** Meta's answers for the app token; undefined when the request carries exactly the app token. */
	function appAuthFailure(request: FakeRouteRequest, params: Record<string, string>, id: string): FakeReply | undefined {
		const bearer = /^Bearer\s+\S/i.test(String(request.headers.authorization ?? ''));
		const token = params.access_token;
		if (bearer && token !== undefined) {
			return invalidParameter('The fake refuses a request with both a Bearer token and an access_token parameter (send the app token alone).');
		}
		if (token === undefined && !bearer) {
			return metaError(104, { status: 400, title: 'OAuthException', message: 'An access token is required to request this resource.' });
		}
		if (token === undefined || !token.includes('|')) {
			return metaError(15, { status: 400, title: 'This method must be called with an app access_token' });
		}
		if (token !== `${appId}|${appSecret}`) {
			return metaError(190, { status: 400, title: 'OAuthException', message: 'Invalid OAuth access token signature.', details: 'Invalid OAuth access token signature.' });
		}
		if (id !== appId) return notFound(request.method, id);
		return undefined;
	}

	const fieldList = (value: string | undefined): string[] => {
		const raw = (value ?? '').trim();
		let names: unknown = raw.split(',');
		if (raw.startsWith('[')) {
			try {
				names = JSON.parse(raw);
			} catch {
				names = [];
			}
		}
		return Array.isArray(names) ? [...new Set(names.map((name) => String(name).trim()).filter(Boolean))] : [];
	};

	fake.addRoute({
		name: 'webhooks.appSubscriptions.get',
		method: 'GET',
		path: /^\/([^/]+)\/subscriptions\/?$/,
		auth: 'none',
		handle: (request) => {
			const id = decodeURIComponent(request.params[0]);
			const failure = appAuthFailure(request, appParams(request), id);
			if (failure) return failure;
			const version = request.version ?? 'v24.0';
			const data = [...appSubscriptions.entries()].map(([object, subscription]) => ({
				object,
				...(subscription.callbackUrl ? { callback_url: subscription.callbackUrl } : {}),
				active: subscription.active,
				fields: subscription.fields.map((name) => ({ name, version })),
			}));
			return { json: { data } };
		},
	});

	fake.addRoute({
		name: 'webhooks.appSubscriptions.post',
		method: 'POST',
		path: /^\/([^/]+)\/subscriptions\/?$/,
		auth: 'none',
		handle: async (request) => {
			const id = decodeURIComponent(request.params[0]);
			const params = appParams(request);
			const failure = appAuthFailure(request, params, id);
			if (failure) return failure;
			const object = params.object;
			if (!object) return invalidParameter('The parameter object is required.');
			const url = params.callback_url;
			if (!url) return invalidParameter('The parameter callback_url is required.');
			const verifyToken = params.verify_token;
			if (!verifyToken) return invalidParameter('The parameter verify_token is required.');
			const fields = fieldList(params.fields);
			if (fields.length === 0) return invalidParameter('The parameter fields is required.');
			const bad = checkUrl(url);
			if (bad) return bad;
			const failed = await verify(url, verifyToken, 'app', appId);
			if (failed) return verificationFailed(failed);
			appSubscriptions.set(object, { callbackUrl: url, fields, active: true, verifyToken });
			return { json: { success: true } };
		},
	});

	fake.addRoute({
		name: 'webhooks.appSubscriptions.delete',
		method: 'DELETE',
		path: /^\/([^/]+)\/subscriptions\/?$/,
		auth: 'none',
		handle: (request) => {
			const id = decodeURIComponent(request.params[0]);
			const params = appParams(request);
			const failure = appAuthFailure(request, params, id);
			if (failure) return failure;
			const objects = params.object ? [params.object] : [...appSubscriptions.keys()];
			const fields = fieldList(params.fields);
			for (const object of objects) {
				const subscription = appSubscriptions.get(object);
				if (!subscription) continue;
				subscription.fields = fields.length === 0 ? [] : subscription.fields.filter((name) => !fields.includes(name));
				if (subscription.fields.length === 0) appSubscriptions.delete(object);
			}
			return { json: { success: true } };
		},
	});

	return {
		appId,
		get appSecret() {
			return appSecret;
		},
		get appToken() {
			return `${appId}|${appSecret}`;
		},
		verifications,
		phoneOverride: (phoneId) => phoneOverrides.get(phoneId)?.url,
		setPhoneOverride: (phoneId, url) => {
			if (url === undefined) phoneOverrides.delete(phoneId);
			else phoneOverrides.set(phoneId, { url });
		},
		wabaOverride: (account) => ours(account)?.overrideCallbackUri,
		setWabaOverride: (account, url) => {
			const entry = ours(account);
			if (!entry) throw new Error(`the app is not subscribed to ${account}: subscribe it first`);
			if (url === undefined) delete entry.overrideCallbackUri;
			else entry.overrideCallbackUri = url;
		},
		isSubscribed: (account, id = appId) => (subscriptions.get(account) ?? []).some((app) => app.id === id),
		subscribedApps: (account) => (subscriptions.get(account) ?? []).map((app) => ({ ...app })),
		subscribeApp: (account, app) => {
			accounts.add(account);
			const list = (subscriptions.get(account) ?? []).filter((entry) => entry.id !== app.id);
			list.push({ ...app });
			subscriptions.set(account, list);
		},
		unsubscribeApp: (account, id) => {
			subscriptions.set(account, (subscriptions.get(account) ?? []).filter((app) => app.id !== id));
		},
		setPermissions: (list) => {
			permissions = new Set(list);
		},
		setAppCallbackUrl: (url) => {
			if (url === undefined) {
				appSubscriptions.delete(WHATSAPP_OBJECT);
				return;
			}
			const current = appSubscriptions.get(WHATSAPP_OBJECT);
			appSubscriptions.set(WHATSAPP_OBJECT, { ...(current ?? { fields: ['messages'], active: true }), callbackUrl: url });
		},
		appSubscription: (object = WHATSAPP_OBJECT) => {
			const subscription = appSubscriptions.get(object);
			if (!subscription) return undefined;
			return { ...(subscription.callbackUrl ? { callbackUrl: subscription.callbackUrl } : {}), fields: [...subscription.fields], active: subscription.active };
		},
		setAppSubscription: (subscription, object = WHATSAPP_OBJECT) => {
			if (subscription === undefined) appSubscriptions.delete(object);
			else appSubscriptions.set(object, { callbackUrl: subscription.callbackUrl, fields: [...subscription.fields], active: subscription.active ?? true });
		},
		setAppSecret: (secret) => {
			appSecret = secret;
		},
		receivesMessages,
		setAppLookup: (works) => {
			appLookup = works;
		},
		deliveryUrl: (phoneId) => {
			const phone = phones.get(phoneId);
			if (!phone) return undefined;
			const entry = ours(phone.businessAccountId);
			if (!entry || !receivesMessages()) return undefined;
			return phoneOverrides.get(phoneId)?.url ?? entry.overrideCallbackUri ?? appCallbackUrl();
		},
		reset: init,
	};
}
