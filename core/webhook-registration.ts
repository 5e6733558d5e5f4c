/**
 * Automatic webhook setup with Meta's webhook overrides: a business phone number can send
 * its webhooks to an "alternate callback URL" of its own instead of the app's callback URL
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/override).
 *
 * What Meta does (its override page, checked 2026):
 * - Set:    POST /<PHONE_NUMBER_ID> {"webhook_configuration": {"override_callback_uri": url, "verify_token": t}}
 *           → {"success": true}. Meta first sends the usual verification GET
 *           (hub.mode=subscribe, hub.challenge, hub.verify_token) to the URL; if that does not
 *           answer 200 with the challenge, the call fails (code 2200 "Callback verification failed").
 * - Remove: the same POST with "override_callback_uri": "".
 * - Read:   GET /<PHONE_NUMBER_ID>?fields=webhook_configuration → {"webhook_configuration":
 *           {"phone_number"?, "whatsapp_business_account"?, "application"?}, "id"}; a key is
 *           absent when that level has no URL.
 * - Meta routes a webhook to the phone's URL, else the business account's (WABA) override,
 *   else the app's callback URL. Only "messages"-type fields follow overrides; template and
 *   account webhooks always go to the app's URL. URLs are at most 200 characters.
 * - The app must be subscribed to the business account (POST /<WABA_ID>/subscribed_apps).
 *   That same POST without a body also REMOVES the app's WABA-level override, so it is only
 *   sent when our app is known not to be subscribed (then it has no override to lose).
 *   DELETE /<WABA_ID>/subscribed_apps unsubscribes the app: never called here.
 * Overrides belong to the app whose token sets them: another app's settings are never seen.
 *
 * The app's own webhook (Graph API reference "/{app-id}/subscriptions", Webhooks "Subscriptions
 * Edge" page, checked 2026; n8n's WhatsApp Trigger uses the same edge):
 * - Read:   GET /<APP_ID>/subscriptions → {"data": [{"object", "callback_url", "active",
 *           "fields": [{"name", "version"}]}]}, with an APP access token.
 * - Write:  POST /<APP_ID>/subscriptions object, callback_url, verify_token, fields (+ include_values),
 *           with an app access token → {"success": true} (Meta's sample: "true"); Meta sends the
 *           verification GET to callback_url first. One entry per object (n8n's trigger assumes so too).
 * - Both need an app access token ("required to return subscriptions for that app"); the app id
 *   and the App Secret joined, `<APP_ID>|<APP_SECRET>`, is one, sent as `access_token` (Meta's
 *   app access token pages). A wrong secret is refused with code 190 "Invalid OAuth access token
 *   signature." (HTTP 400, as reported against Meta's SDKs).
 * - Meta sends a number's "messages" webhooks, override or not, only when the app subscribes the
 *   object whatsapp_business_account with the field "messages": an app whose WhatsApp webhook
 *   was never configured receives nothing. ensureAppMessagesSubscription closes that gap.
 *
 * Every failure is a WhatsAppValidationError (bad input, nothing sent), a
 * WebhookRegistrationError (what went wrong + `hint`: what to do), a GraphApiError or a
 * TransportError. None ever contains the verify token.
 *
 * For the trigger's n8n lifecycle (`webhookMethods.default`, automatic setup), with
 * `url = getNodeWebhookUrl('default')` (the test URL while "Listen for test event" runs):
 * - checkExists: `isPhoneOverrideOurs(await getPhoneWebhookConfiguration(client, phoneId), url)`.
 * - create: `registerPhoneOverride(client, {phoneNumberId, businessAccountId, callbackUrl: url,
 *   verifyToken, ownUrls: [the trigger's other URL], takeOver})` with takeOver 'own' when
 *   activating (a leftover test URL of this trigger is replaced) and 'none' while testing (an
 *   active production URL is never taken: the user is told to deactivate first); 'any' only
 *   when the user allows replacing someone else's URL. Log `warnings`.
 *   Then `ensureAppMessagesSubscription(client, appClient, {appSecret, callbackUrl: url,
 *   verifyToken, ownUrls})` (appClient: the same Graph API Base URL without any credential;
 *   ownUrls: the trigger's test URL when activating, none while testing); log its outcome. It
 *   never throws: the number's override works, so activation goes on, with a warning if needed.
 * - delete: `removePhoneOverrideIfOurs(client, phoneId, url)`; log and swallow failures so
 *   deactivation is never blocked. The app's subscription is never removed: other numbers and
 *   workflows of the app depend on it, and its URL matters only for numbers without an override.
 * n8n calls these once per `default` webhook (twice here); all three are idempotent. Meta's
 * verification GET arrives during create, so the GET `webhook` endpoint must already be
 * registered: n8n registers a node's webhooks in the order of its `webhooks` array and runs
 * each one's lifecycle right after registering it, so the GET verification webhook must come
 * before the first `default` one.
 */
import { WhatsAppValidationError } from './errors';
import type { GraphClient } from './graph-client';
import { GraphApiError, scrubSecrets } from './graph-errors';
import { TransportError } from './http-transport';

/** Meta's limit for override_callback_uri. */
export const MAX_CALLBACK_URL_LENGTH = 200;

/** The Graph client's `call`: all this module needs. */
export type GraphCaller = Pick<GraphClient, 'call'>;

/** Where Meta sends a phone number's webhooks, per level (absent: no URL at that level). */
export interface PhoneWebhookConfiguration {
	/** The phone number's own override (alternate callback URL). */
	phoneNumber?: string;
	/** The WhatsApp Business Account's override, if any. */
	businessAccount?: string;
	/** The Meta app's callback URL (App Dashboard → WhatsApp → Configuration). */
	application?: string;
}

export type WebhookRegistrationProblem =
	/** The trigger's URL is not a public https:// address of at most 200 characters. */
	| 'callbackUrl'
	/** The token lacks whatsapp_business_management (Meta codes 3, 10, 200–299). */
	| 'permission'
	/** Meta's verification GET to the URL did not get the challenge back. */
	| 'verification'
	/** Meta does not know the phone number id, or the token cannot see it (100/33). */
	| 'phoneNumberNotFound'
	/** Meta does not know the business account id, or the token cannot see it (100/33). */
	| 'businessAccountNotFound'
	/** The phone number is not one of the business account's numbers. */
	| 'phoneInOtherAccount'
	/** The phone number's override already points at another URL. */
	| 'overrideTaken';

export interface WebhookRegistrationErrorDetails {
	httpStatus?: number;
	/** Meta's error code, when Meta answered with one. */
	code?: number;
	fbtraceId?: string;
	/** For 'overrideTaken': the URL the phone number's webhooks go to now. */
	currentUrl?: string;
	/** For 'overrideTaken': whether that URL is one of the caller's own (`ownUrls`). */
	currentIsOwn?: boolean;
}

/**
 * Automatic webhook setup failed for a reason the user can fix. `message` says what
 * happened, `hint` what to do (nodes show it as the error's description).
 */
export class WebhookRegistrationError extends Error {
	readonly httpStatus?: number;
	readonly code?: number;
	readonly fbtraceId?: string;
	readonly currentUrl?: string;
	readonly currentIsOwn?: boolean;

	constructor(
		readonly reason: WebhookRegistrationProblem,
		message: string,
		readonly hint: string,
		details: WebhookRegistrationErrorDetails = {},
	) {
		super(message);
		this.name = 'WebhookRegistrationError';
		this.httpStatus = details.httpStatus;
		this.code = details.code;
		this.fbtraceId = details.fbtraceId;
		this.currentUrl = details.currentUrl;
		this.currentIsOwn = details.currentIsOwn;
	}
}

// ---------------------------------------------------------------------------------------
// Hints (plain words; they name where things are in Meta's and n8n's settings)

const SWITCH_TO_MANUAL = 'Or set Webhook Setup to Manual and enter the URL and verify token in Meta yourself';

const PUBLIC_URL_HINT =
	"Set N8N_WEBHOOK_URL (or the older WEBHOOK_URL) to your n8n's public https:// address and restart n8n. " +
	'If n8n runs on your own computer, start a tunnel (for example `cloudflared tunnel --url http://localhost:5678` or `ngrok http 5678`) and use the https address it gives you. ' +
	SWITCH_TO_MANUAL;

const PERMISSION_HINT =
	'Automatic webhook setup needs the whatsapp_business_management permission (sending needs only whatsapp_business_messaging). ' +
	'In Meta Business Suite open Business Settings → Users → System Users, select the system user, click "Assign assets" and give it your app and the WhatsApp account (full control), ' +
	'then click "Generate new token", tick whatsapp_business_management and whatsapp_business_messaging, and paste the new token into the WhatsApp Cloud API credential. ' +
	SWITCH_TO_MANUAL;

const PHONE_NOT_FOUND_HINT =
	'Check the Phone Number ID in the WhatsApp Cloud API credential: it is the long ID shown as "Phone number ID" under WhatsApp → API Setup, not the phone number itself. ' +
	"If it is right, the token's system user cannot see this number: in Business Settings → Users → System Users → Assign assets, give it the WhatsApp account that owns the number, then generate a new token";

const ACCOUNT_NOT_FOUND_HINT =
	'Check the WhatsApp Business Account ID in the WhatsApp Cloud API credential: it is shown as "WhatsApp Business Account ID" under WhatsApp → API Setup. ' +
	"If it is right, the token's system user cannot see this account: in Business Settings → Users → System Users → Assign assets, give it the WhatsApp account, then generate a new token";

// ---------------------------------------------------------------------------------------
// Small helpers

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function text(value: unknown): string | undefined {
	if (typeof value === 'string' && value.trim() !== '') return value.trim();
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return undefined;
}

/** Requesters are told to parse JSON; tolerate one that hands back JSON as text. */
function asJson(body: unknown): unknown {
	if (typeof body !== 'string' && !Buffer.isBuffer(body)) return body;
	const raw = body.toString().trim();
	if (!raw.startsWith('{')) return body;
	try {
		return JSON.parse(raw);
	} catch {
		return body;
	}
}

/** One id as a path segment; refuses anything that could change the path. */
function idSegment(value: string, field: string, what: string): string {
	const trimmed = typeof value === 'string' ? value.trim() : '';
	if (trimmed === '') throw new WhatsAppValidationError(`${what} is missing`, field);
	if (!/^[A-Za-z0-9_-]+$/.test(trimmed)) {
		throw new WhatsAppValidationError(`${what} "${trimmed}" is not valid: it must be an ID like 106540352242922`, field);
	}
	return trimmed;
}

async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
	try {
		return { ok: true, value: await promise };
	} catch (error) {
		return { ok: false, error };
	}
}

/** Tokens shorter than this are not redacted (they would mangle every word they occur in). */
const MIN_REDACTED_LENGTH = 4;

function redact(value: string | undefined, secret: string | undefined, label = '[verify token]'): string | undefined {
	if (value === undefined || !secret || secret.length < MIN_REDACTED_LENGTH) return value;
	const variants = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ t: secret }).toString().slice(2)]);
	let result = value;
	for (const variant of variants) result = result.split(variant).join(label);
	return result;
}

/** The same error with the verify token (and anything token-like) removed from its text. */
function withoutSecret(error: unknown, secret: string | undefined): unknown {
	if (error instanceof GraphApiError) {
		const message = redact(error.message, secret) as string;
		const title = redact(error.title, secret);
		const details = redact(error.details, secret);
		if (message === error.message && title === error.title && details === error.details) return error;
		return new GraphApiError(message, {
			httpStatus: error.httpStatus,
			code: error.code,
			subcode: error.subcode,
			title,
			details,
			fbtraceId: error.fbtraceId,
			retryable: error.retryable,
			hint: error.hint,
			attempts: error.attempts,
			operation: error.operation,
		});
	}
	if (error instanceof TransportError) {
		const message = redact(error.message, secret) as string;
		return message === error.message ? error : new TransportError(message, error.code, error.retryable);
	}
	if (error instanceof WebhookRegistrationError || error instanceof WhatsAppValidationError) return error;
	if (error instanceof Error) return new Error(scrubSecrets(redact(error.message, secret) as string));
	return new Error('The request to Meta failed');
}

function metaSays(error: GraphApiError): string {
	const parts = [error.code !== undefined ? `(#${error.code})` : undefined, error.title, error.details && error.details !== error.title ? error.details : undefined];
	return parts.filter(Boolean).join(' ').replace(/[\s.]+$/, '');
}

function metaDetails(error: GraphApiError): WebhookRegistrationErrorDetails {
	return { httpStatus: error.httpStatus, code: error.code, fbtraceId: error.fbtraceId };
}

function isPermissionError(error: GraphApiError): boolean {
	const code = error.code;
	if (code === 3 || code === 10 || (code !== undefined && code >= 200 && code <= 299)) return true;
	return code === undefined && error.httpStatus === 403;
}

function isMissingObject(error: GraphApiError): boolean {
	if (error.code !== 100) return false;
	if (error.subcode === 33) return true;
	return /does not exist|cannot be loaded|missing permissions/i.test(`${error.title ?? ''} ${error.details ?? ''}`);
}

function isVerificationFailure(error: GraphApiError): boolean {
	if (error.code === 2200) return true;
	return /callback verification|verify[ _]token|could ?n[o']t be validated|challenge/i.test(`${error.title ?? ''} ${error.details ?? ''}`);
}

interface FailureContext {
	operation: string;
	/** What the call was about, for a 100/33 answer. */
	subject: 'phone' | 'businessAccount' | 'other';
	phoneNumberId?: string;
	businessAccountId?: string;
	/** Set when the call asked Meta to verify this URL. */
	verifying?: string;
	verifyToken?: string;
}

/** A failed Graph call → the error to throw (never throws itself). */
function explain(failure: unknown, context: FailureContext): unknown {
	const error = withoutSecret(failure, context.verifyToken);
	if (!(error instanceof GraphApiError)) return error;
	const says = redact(metaSays(error), context.verifyToken) as string;
	if (isPermissionError(error)) {
		return new WebhookRegistrationError(
			'permission',
			`${context.operation} failed: the access token is not allowed to manage this WhatsApp account's webhooks (Meta says: ${says}).`,
			PERMISSION_HINT,
			metaDetails(error),
		);
	}
	if (context.verifying !== undefined && isVerificationFailure(error)) {
		const tokenNote =
			context.verifyToken && /[^A-Za-z0-9._~-]/.test(context.verifyToken)
				? ' Your verify token contains characters other than letters, digits and . _ ~ - (for example + / = or spaces), which can reach n8n altered: use only letters and digits.'
				: '';
		return new WebhookRegistrationError(
			'verification',
			`Meta could not verify this trigger's webhook URL ${context.verifying} (Meta says: ${says}).`,
			`While saving the URL, Meta calls it with a challenge and the verify token and expects the challenge back. Check that: ` +
				`1) n8n is reachable from the internet at that address (N8N_WEBHOOK_URL, or the older WEBHOOK_URL, must be n8n's public https:// address; with n8n on your own computer use a tunnel); ` +
				'2) the trigger is listening: activate the workflow, or for a test click "Listen for test event" first; ' +
				'3) the verify token in the WhatsApp Webhook credential is the one this trigger answers with (do not change it while activating).' +
				tokenNote,
			metaDetails(error),
		);
	}
	if (isMissingObject(error) && context.subject === 'phone') {
		return new WebhookRegistrationError(
			'phoneNumberNotFound',
			`${context.operation} failed: Meta does not know the Phone Number ID ${context.phoneNumberId ?? ''}, or the access token cannot see it (Meta says: ${says}).`,
			PHONE_NOT_FOUND_HINT,
			metaDetails(error),
		);
	}
	if (isMissingObject(error) && context.subject === 'businessAccount') {
		return new WebhookRegistrationError(
			'businessAccountNotFound',
			`${context.operation} failed: Meta does not know the WhatsApp Business Account ID ${context.businessAccountId ?? ''}, or the access token cannot see it (Meta says: ${says}).`,
			ACCOUNT_NOT_FOUND_HINT,
			metaDetails(error),
		);
	}
	return error;
}

// ---------------------------------------------------------------------------------------
// URLs

const BLOCKED_SUFFIXES = ['localhost', 'local', 'internal', 'lan', 'home.arpa', 'test', 'example', 'invalid', 'onion'];

function ipv4Parts(host: string): number[] | undefined {
	const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
	if (!match) return undefined;
	const parts = match.slice(1).map(Number);
	return parts.every((part) => part <= 255) ? parts : undefined;
}

function isPrivateIpv4([a, b]: number[]): boolean {
	return (
		a === 0 ||
		a === 10 ||
		a === 127 ||
		(a === 100 && b >= 64 && b <= 127) ||
		(a === 169 && b === 254) ||
		(a === 172 && b >= 16 && b <= 31) ||
		(a === 192 && b === 168) ||
		(a === 198 && (b === 18 || b === 19)) ||
		a >= 224
	);
}

function isPrivateIpv6(host: string): boolean {
	const address = host.toLowerCase();
	if (address === '::' || address === '::1') return true;
	if (/^f[cd][0-9a-f]{0,2}:/.test(address)) return true;
	if (/^fe[89ab][0-9a-f]?:/.test(address)) return true;
	const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(address);
	if (mapped) {
		if (mapped[1]) return isPrivateIpv4(ipv4Parts(mapped[1]) ?? [0]);
		const high = parseInt(mapped[2], 16);
		return isPrivateIpv4([high >> 8, high & 0xff]);
	}
	return false;
}

/** Whether a host name or address cannot be reached from the internet. */
export function isPrivateHost(hostname: string): boolean {
	const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
	if (host === '') return true;
	if (host.includes(':')) return isPrivateIpv6(host);
	const ipv4 = ipv4Parts(host);
	if (ipv4) return isPrivateIpv4(ipv4);
	if (!host.includes('.')) return true;
	return BLOCKED_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`));
}

/**
 * Checks that Meta can call this URL: at most 200 characters, https://, and a host that is
 * reachable from the internet (not localhost, 127.x, 10.x, 172.16–31.x, 192.168.x,
 * 169.254.x, ::1, fc00::/7, fe80::/10, *.local, a bare name like `n8n`…).
 * `allowInsecureUrl` skips the https and public-host checks (tests and fakes on loopback);
 * the length limit always applies. Returns the URL trimmed.
 */
export function checkCallbackUrl(url: string, options: { allowInsecureUrl?: boolean } = {}): string {
	const value = typeof url === 'string' ? url.trim() : '';
	let parsed: URL | undefined;
	try {
		parsed = new URL(value);
	} catch {
		parsed = undefined;
	}
	if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
		throw new WebhookRegistrationError(
			'callbackUrl',
			`The trigger's webhook URL "${value}" is not a web address Meta can call.`,
			PUBLIC_URL_HINT,
		);
	}
	if (value.length > MAX_CALLBACK_URL_LENGTH) {
		throw new WebhookRegistrationError(
			'callbackUrl',
			`The trigger's webhook URL is ${value.length} characters long; Meta accepts at most ${MAX_CALLBACK_URL_LENGTH}.`,
			`Use a shorter public address for n8n in N8N_WEBHOOK_URL (or WEBHOOK_URL) and restart n8n. ${SWITCH_TO_MANUAL}`,
		);
	}
	if (options.allowInsecureUrl) return value;
	if (parsed.protocol !== 'https:') {
		throw new WebhookRegistrationError(
			'callbackUrl',
			`Meta only sends webhooks to https:// addresses, but this trigger's webhook URL is ${value}.`,
			PUBLIC_URL_HINT,
		);
	}
	if (isPrivateHost(parsed.hostname)) {
		throw new WebhookRegistrationError(
			'callbackUrl',
			`Meta cannot reach this trigger's webhook URL ${value}: ${parsed.hostname} is a local or private address, not one on the internet.`,
			PUBLIC_URL_HINT,
		);
	}
	return value;
}

function normalizedUrl(value: string): string {
	const trimmed = value.trim();
	let parsed: URL;
	try {
		parsed = new URL(trimmed);
	} catch {
		return trimmed;
	}
	const path = parsed.pathname.replace(/\/+$/, '') || '/';
	const credentials = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
	// URL lower-cases scheme and host and drops a default port.
	return `${parsed.protocol}//${credentials}${parsed.host}${path}${parsed.search}`;
}

/**
 * Whether two callback URLs name the same endpoint: scheme and host compared without case,
 * a default port (:443, :80) ignored, trailing slashes of the path ignored (n8n ignores
 * them too); path and query compared exactly.
 */
export function sameCallbackUrl(a: string | undefined, b: string | undefined): boolean {
	if (typeof a !== 'string' || typeof b !== 'string' || a.trim() === '' || b.trim() === '') return false;
	return normalizedUrl(a) === normalizedUrl(b);
}

/** Whether the phone number's own override is this URL (see sameCallbackUrl). */
export function isPhoneOverrideOurs(config: PhoneWebhookConfiguration, callbackUrl: string): boolean {
	return sameCallbackUrl(config.phoneNumber, callbackUrl);
}

// ---------------------------------------------------------------------------------------
// Reading

function parseConfiguration(body: unknown): PhoneWebhookConfiguration {
	const json = asJson(body);
	const configuration = isRecord(json) && isRecord(json.webhook_configuration) ? json.webhook_configuration : {};
	const result: PhoneWebhookConfiguration = {};
	const phoneNumber = text(configuration.phone_number);
	const businessAccount = text(configuration.whatsapp_business_account);
	const application = text(configuration.application);
	if (phoneNumber) result.phoneNumber = phoneNumber;
	if (businessAccount) result.businessAccount = businessAccount;
	if (application) result.application = application;
	return result;
}

/** GET /<phone>?fields=webhook_configuration: where Meta sends this number's webhooks. */
export async function getPhoneWebhookConfiguration(client: GraphCaller, phoneNumberId: string): Promise<PhoneWebhookConfiguration> {
	const phone = idSegment(phoneNumberId, 'phoneNumberId', 'The Phone Number ID');
	const operation = "Reading the phone number's webhook settings";
	const outcome = await settle(client.call<unknown>('GET', phone, { qs: { fields: 'webhook_configuration' }, operation }));
	if (!outcome.ok) throw explain(outcome.error, { operation, subject: 'phone', phoneNumberId: phone });
	return parseConfiguration(outcome.value);
}

export interface SubscribedApp {
	id?: string;
	name?: string;
	/** The app's WABA-level override, when it has one. */
	overrideCallbackUri?: string;
}

/** GET /<waba>/subscribed_apps: the apps that receive this business account's webhooks. */
export async function listSubscribedApps(client: GraphCaller, businessAccountId: string): Promise<SubscribedApp[]> {
	const account = idSegment(businessAccountId, 'businessAccountId', 'The WhatsApp Business Account ID');
	const operation = 'Reading the apps subscribed to the WhatsApp Business Account';
	const outcome = await settle(client.call<unknown>('GET', `${account}/subscribed_apps`, { operation }));
	if (!outcome.ok) throw explain(outcome.error, { operation, subject: 'businessAccount', businessAccountId: account });
	const json = asJson(outcome.value);
	const data = isRecord(json) && Array.isArray(json.data) ? json.data : [];
	return data.filter(isRecord).map((entry) => {
		const api = isRecord(entry.whatsapp_business_api_data) ? entry.whatsapp_business_api_data : {};
		const app: SubscribedApp = {};
		const id = text(api.id) ?? text(entry.id);
		const name = text(api.name) ?? text(entry.name);
		const override = text(entry.override_callback_uri);
		if (id) app.id = id;
		if (name) app.name = name;
		if (override) app.overrideCallbackUri = override;
		return app;
	});
}

/** GET /app: the Meta app the access token belongs to, or undefined when Meta does not say. */
export async function getTokenApp(client: GraphCaller): Promise<{ id: string; name?: string } | undefined> {
	const outcome = await settle(client.call<unknown>('GET', 'app', { qs: { fields: 'id,name' }, operation: "Reading the token's Meta app" }));
	if (!outcome.ok) return undefined;
	const json = asJson(outcome.value);
	const id = isRecord(json) ? text(json.id) : undefined;
	if (!id) return undefined;
	const name = isRecord(json) ? text(json.name) : undefined;
	return name ? { id, name } : { id };
}

const MAX_PHONE_PAGES = 20;

/** GET /<waba>/phone_numbers (all pages): the ids of the business account's phone numbers. */
export async function listPhoneNumberIds(client: GraphCaller, businessAccountId: string): Promise<string[]> {
	const account = idSegment(businessAccountId, 'businessAccountId', 'The WhatsApp Business Account ID');
	const operation = "Listing the WhatsApp Business Account's phone numbers";
	const ids: string[] = [];
	let after: string | undefined;
	for (let page = 0; page < MAX_PHONE_PAGES; page++) {
		const qs: Record<string, string | number> = { fields: 'id', limit: 100 };
		if (after) qs.after = after;
		const outcome = await settle(client.call<unknown>('GET', `${account}/phone_numbers`, { qs, operation }));
		if (!outcome.ok) throw explain(outcome.error, { operation, subject: 'businessAccount', businessAccountId: account });
		const json = asJson(outcome.value);
		const data = isRecord(json) && Array.isArray(json.data) ? json.data : [];
		for (const entry of data) {
			const id = isRecord(entry) ? text(entry.id) : undefined;
			if (id) ids.push(id);
		}
		const paging = isRecord(json) && isRecord(json.paging) ? json.paging : {};
		const cursors = isRecord(paging.cursors) ? paging.cursors : {};
		after = paging.next ? text(cursors.after) : undefined;
		if (!after || data.length === 0) break;
	}
	return ids;
}

// ---------------------------------------------------------------------------------------
// Subscription of the app to the business account

export interface AppSubscriptionResult {
	/**
	 * alreadySubscribed: our app is in the list. subscribed: it was not, and this call
	 * subscribed it. unverified: other apps are subscribed and Meta did not say which app the
	 * token belongs to, so nothing was changed (a blind subscribe could remove our app's
	 * WABA-level override).
	 */
	action: 'alreadySubscribed' | 'subscribed' | 'unverified';
	/** The token's app id, when known. */
	appId?: string;
	/** The app's name, when GET /app said it. */
	appName?: string;
	/** The subscribed apps as read before any change. */
	apps: SubscribedApp[];
	/** Set with 'unverified': what the user should check. */
	warning?: string;
}

/**
 * Makes sure the token's Meta app is subscribed to the business account, without ever
 * clearing anything: it POSTs /<waba>/subscribed_apps (no body) only when our app is known
 * to be absent — the list is empty, or our app id (from `options.appId` or GET /app) is not
 * in it. Never sends DELETE (that would unsubscribe the app).
 */
export async function ensureAppSubscribed(
	client: GraphCaller,
	businessAccountId: string,
	options: { appId?: string } = {},
): Promise<AppSubscriptionResult> {
	const account = idSegment(businessAccountId, 'businessAccountId', 'The WhatsApp Business Account ID');
	const apps = await listSubscribedApps(client, account);
	let appId = text(options.appId);
	let appName: string | undefined;
	if (apps.length > 0 && !appId) {
		const app = await getTokenApp(client);
		appId = app?.id;
		appName = app?.name;
	}
	const named = appName ? { appName } : {};
	if (apps.length > 0) {
		if (!appId) {
			return {
				action: 'unverified',
				apps,
				warning:
					`The WhatsApp Business Account ${account} has subscribed apps (${apps.map((app) => app.name ?? app.id ?? 'unnamed').join(', ')}), but Meta did not say which app the access token belongs to, so the trigger could not check that yours is one of them. ` +
					'If messages do not arrive, open WhatsApp → Configuration in your app at developers.facebook.com and make sure the app is subscribed to this account.',
			};
		}
		if (apps.some((app) => app.id === appId)) return { action: 'alreadySubscribed', appId, ...named, apps };
	}
	const operation = 'Subscribing your Meta app to the WhatsApp Business Account';
	const outcome = await settle(client.call<unknown>('POST', `${account}/subscribed_apps`, { operation }));
	if (!outcome.ok) throw explain(outcome.error, { operation, subject: 'businessAccount', businessAccountId: account });
	const json = asJson(outcome.value);
	if (isRecord(json) && json.success === false) {
		throw new GraphApiError(`${operation} failed: Meta answered {"success": false}.`, { httpStatus: 200, retryable: false, operation });
	}
	return appId ? { action: 'subscribed', appId, ...named, apps } : { action: 'subscribed', apps };
}

// ---------------------------------------------------------------------------------------
// Registering and removing the phone number's override

export interface RegisterPhoneOverrideOptions {
	phoneNumberId: string;
	/** When given: check the number belongs to it, and make sure our app is subscribed to it. */
	businessAccountId?: string;
	/** This trigger's webhook URL (what Meta should call). */
	callbackUrl: string;
	/** The verify token the trigger answers Meta's verification GET with. */
	verifyToken: string;
	/**
	 * What to do when the phone number's override already points elsewhere:
	 * 'none' (default) fails with reason 'overrideTaken'; 'own' replaces it only when it is one
	 * of `ownUrls`; 'any' replaces whatever is there.
	 */
	takeOver?: 'none' | 'own' | 'any';
	/** Other URLs of the same trigger (e.g. its test URL while activating production). */
	ownUrls?: string[];
	/** Skip the https/public-host check (tests and fakes on loopback). The 200-character limit still applies. */
	allowInsecureUrl?: boolean;
	/** Our Meta app's id, if the caller knows it (saves the GET /app). */
	appId?: string;
}

export interface RegisterPhoneOverrideResult {
	/** set: Meta verified the URL and stored it. unchanged: it was already this URL. */
	action: 'set' | 'unchanged';
	/** The phone number's webhook settings before this call. */
	before: PhoneWebhookConfiguration;
	/** The override this call replaced, and whether it was one of `ownUrls`. */
	replaced?: { url: string; own: boolean };
	/** Present when a business account id was given. */
	subscription?: AppSubscriptionResult;
	/** Things the user may need to know even though registration worked (plain sentences). */
	warnings: string[];
}

function takenError(phoneNumberId: string, currentUrl: string, own: boolean): WebhookRegistrationError {
	if (own) {
		return new WebhookRegistrationError(
			'overrideTaken',
			`The phone number ${phoneNumberId} already sends its WhatsApp messages to this trigger's other URL ${currentUrl}.`,
			'If the workflow is active, its production URL receives the messages: to listen for a test event, deactivate the workflow first (and activate it again afterwards), or test with another phone number. ' +
				'If a test is listening, stop it before activating the workflow',
			{ currentUrl, currentIsOwn: true },
		);
	}
	return new WebhookRegistrationError(
		'overrideTaken',
		`The phone number ${phoneNumberId} already sends its WhatsApp messages to another address: ${currentUrl}.`,
		'Another workflow or program uses this phone number. Deactivate it, or use a different phone number for this workflow. ' +
			"If that address is no longer used, allow this trigger to replace it (the trigger's option for that), or " +
			SWITCH_TO_MANUAL.charAt(0).toLowerCase() +
			SWITCH_TO_MANUAL.slice(1),
		{ currentUrl, currentIsOwn: false },
	);
}

/**
 * Points the phone number's webhooks at `callbackUrl` (Meta's phone-level override):
 * 1. checks the URL (checkCallbackUrl) and the verify token;
 * 2. reads the current settings (phone id unknown → 'phoneNumberNotFound');
 * 3. already this URL → 'unchanged'; another URL → see `takeOver`;
 * 4. with a business account id: checks the number is one of its numbers
 *    ('phoneInOtherAccount') and makes sure our app is subscribed (ensureAppSubscribed);
 * 5. POSTs the override; Meta verifies the URL meanwhile (failure → 'verification').
 * The business account's own override and subscription are never removed.
 */
export async function registerPhoneOverride(client: GraphCaller, options: RegisterPhoneOverrideOptions): Promise<RegisterPhoneOverrideResult> {
	const phone = idSegment(options.phoneNumberId, 'phoneNumberId', 'The Phone Number ID');
	const account = options.businessAccountId?.trim() ? idSegment(options.businessAccountId, 'businessAccountId', 'The WhatsApp Business Account ID') : undefined;
	const verifyToken = typeof options.verifyToken === 'string' ? options.verifyToken : '';
	if (verifyToken.trim() === '') {
		throw new WhatsAppValidationError('The verify token is missing: set it in the WhatsApp Webhook credential', 'verifyToken');
	}
	const callbackUrl = checkCallbackUrl(options.callbackUrl, { allowInsecureUrl: options.allowInsecureUrl });
	const warnings: string[] = [];

	const before = await getPhoneWebhookConfiguration(client, phone);
	const current = before.phoneNumber;
	const alreadyOurs = isPhoneOverrideOurs(before, callbackUrl);
	let replaced: RegisterPhoneOverrideResult['replaced'];
	if (current !== undefined && !alreadyOurs) {
		const own = (options.ownUrls ?? []).some((url) => sameCallbackUrl(url, current));
		const takeOver = options.takeOver ?? 'none';
		if (takeOver === 'none' || (takeOver === 'own' && !own)) throw takenError(phone, current, own);
		replaced = { url: current, own };
	}

	let subscription: AppSubscriptionResult | undefined;
	if (account) {
		const numbers = await listPhoneNumberIds(client, account);
		if (!numbers.includes(phone)) {
			throw new WebhookRegistrationError(
				'phoneInOtherAccount',
				`The phone number ${phone} is not one of the phone numbers of the WhatsApp Business Account ${account}` +
					(numbers.length > 0 ? ` (its numbers: ${numbers.slice(0, 5).join(', ')}${numbers.length > 5 ? ', …' : ''}).` : ' (Meta lists no phone numbers for it).'),
				'The WhatsApp Cloud API credential names a phone number and a business account that do not belong together: under WhatsApp → API Setup, copy the Phone Number ID and the WhatsApp Business Account ID shown together for the number you want, ' +
					'or leave the business account ID empty',
			);
		}
		subscription = await ensureAppSubscribed(client, account, { appId: options.appId });
		if (subscription.warning) warnings.push(subscription.warning);
	} else {
		warnings.push(
			'The WhatsApp Cloud API credential has no WhatsApp Business Account ID, so the trigger could not check that the account is subscribed to your Meta app. ' +
				'If messages do not arrive, add the ID (WhatsApp → API Setup) to the credential and activate the workflow again.',
		);
	}

	if (alreadyOurs) return { action: 'unchanged', before, ...(subscription ? { subscription } : {}), warnings };

	const operation = "Pointing the phone number's webhooks at this trigger";
	const outcome = await settle(
		client.call<unknown>('POST', phone, {
			body: { webhook_configuration: { override_callback_uri: callbackUrl, verify_token: verifyToken } },
			operation,
		}),
	);
	if (!outcome.ok) {
		throw explain(outcome.error, { operation, subject: 'phone', phoneNumberId: phone, verifying: callbackUrl, verifyToken });
	}
	const json = asJson(outcome.value);
	if (isRecord(json) && json.success === false) {
		throw new GraphApiError(`${operation} failed: Meta answered {"success": false}.`, { httpStatus: 200, retryable: false, operation });
	}
	return { action: 'set', before, ...(replaced ? { replaced } : {}), ...(subscription ? { subscription } : {}), warnings };
}

export interface RemovePhoneOverrideResult {
	/**
	 * removed: the override was our URL and is gone. notOurs: it points elsewhere and was
	 * left alone. absent: the number has no override of its own; nothing was sent.
	 */
	action: 'removed' | 'notOurs' | 'absent';
	/** The phone number's override found before acting. */
	found?: string;
	/** Where the number's messages go now (the business account's override, else the app's URL). */
	nowGoesTo?: string;
}

/**
 * Removes the phone number's override only when it is still `callbackUrl` (see
 * sameCallbackUrl). A URL someone else set is never touched, nor is the business account's
 * override or subscription. Afterwards Meta sends the number's messages to the business
 * account's override if there is one, else to the app's callback URL.
 */
export async function removePhoneOverrideIfOurs(
	client: GraphCaller,
	phoneNumberId: string,
	callbackUrl: string,
): Promise<RemovePhoneOverrideResult> {
	const phone = idSegment(phoneNumberId, 'phoneNumberId', 'The Phone Number ID');
	const config = await getPhoneWebhookConfiguration(client, phone);
	const nowGoesTo = config.businessAccount ?? config.application;
	const fallback = nowGoesTo ? { nowGoesTo } : {};
	if (config.phoneNumber === undefined) return { action: 'absent', ...fallback };
	if (!isPhoneOverrideOurs(config, callbackUrl)) {
		return { action: 'notOurs', found: config.phoneNumber, nowGoesTo: config.phoneNumber };
	}
	const operation = "Removing this trigger's webhook from the phone number";
	const outcome = await settle(client.call<unknown>('POST', phone, { body: { webhook_configuration: { override_callback_uri: '' } }, operation }));
	if (!outcome.ok) throw explain(outcome.error, { operation, subject: 'phone', phoneNumberId: phone });
	return { action: 'removed', found: config.phoneNumber, ...fallback };
}

// ---------------------------------------------------------------------------------------
// The app's own webhook subscription (App Dashboard → WhatsApp → Configuration → Webhook)

/** The Graph webhook object of WhatsApp Business Accounts (App Dashboard: "WhatsApp Business Account"). */
export const WHATSAPP_WEBHOOK_OBJECT = 'whatsapp_business_account';
/** The webhook field of incoming messages and their statuses. */
export const MESSAGES_FIELD = 'messages';

/** One entry of GET /<APP_ID>/subscriptions. */
export interface AppWebhookSubscription {
	/** e.g. whatsapp_business_account, page, user. */
	object: string;
	/** The app's callback URL for this object (absent when Meta reports none). */
	callbackUrl?: string;
	active: boolean;
	/** Subscribed field names, e.g. ["messages", "message_template_status_update"]. */
	fields: string[];
}

/** Meta's "app access token" without a round trip: the app id and the App Secret joined by "|". */
function appAccessToken(appId: string, appSecret: string): string {
	return `${appId}|${appSecret}`;
}

/** The text with the App Secret (alone or inside the app token) and the verify token replaced. */
function withoutAppSecrets(value: string, appSecret: string | undefined, verifyToken: string | undefined): string {
	return scrubSecrets(redact(redact(value, appSecret, '[app secret]'), verifyToken) as string);
}

function parseFieldNames(value: unknown): string[] {
	if (!Array.isArray(value)) return typeof value === 'string' ? value.split(',').map((name) => name.trim()).filter(Boolean) : [];
	const names: string[] = [];
	for (const entry of value) {
		const name = isRecord(entry) ? text(entry.name) : text(entry);
		if (name && !names.includes(name)) names.push(name);
	}
	return names;
}

function parseAppSubscriptions(body: unknown): AppWebhookSubscription[] {
	const json = asJson(body);
	const data = isRecord(json) && Array.isArray(json.data) ? json.data : [];
	return data.filter(isRecord).map((entry) => {
		const subscription: AppWebhookSubscription = {
			object: text(entry.object) ?? '',
			active: entry.active !== false && entry.active !== 'false',
			fields: parseFieldNames(entry.fields),
		};
		const callbackUrl = text(entry.callback_url);
		if (callbackUrl) subscription.callbackUrl = callbackUrl;
		return subscription;
	});
}

/**
 * GET /<APP_ID>/subscriptions with the app access token `<APP_ID>|<APP_SECRET>` (as the
 * `access_token` query parameter; `appClient` must add no credential of its own): the app's
 * webhook subscriptions per object. Failures are thrown without the App Secret in their text.
 */
export async function listAppSubscriptions(appClient: GraphCaller, appId: string, appSecret: string): Promise<AppWebhookSubscription[]> {
	const app = idSegment(appId, 'appId', 'The Meta app ID');
	const operation = "Reading your Meta app's webhook subscriptions";
	const outcome = await settle(
		appClient.call<unknown>('GET', `${app}/subscriptions`, { qs: { access_token: appAccessToken(app, appSecret) }, operation }),
	);
	if (!outcome.ok) throw withoutSecret(outcome.error, appSecret);
	return parseAppSubscriptions(outcome.value);
}

export interface AppMessagesSubscriptionOptions {
	/** The App Secret (WhatsApp Webhook credential): with the app id it makes the app access token. */
	appSecret: string;
	/** This trigger's URL: the callback URL of a subscription this call writes (Meta verifies it meanwhile). */
	callbackUrl: string;
	/** What the trigger answers Meta's verification GET with. */
	verifyToken: string;
	/**
	 * Other URLs of this same trigger (its test URL while activating). An app subscription
	 * pointing at one of them is moved to `callbackUrl`; any other URL is never replaced.
	 */
	ownUrls?: string[];
	/** The app's id if already known (saves GET /app), and its name for the messages. */
	appId?: string;
	appName?: string;
	/** Skip the https/public-host check (tests and fakes on loopback). */
	allowInsecureUrl?: boolean;
}

export type AppMessagesSubscriptionProblem =
	/** The webhook credential has no App Secret. */
	| 'noAppSecret'
	/** GET /app did not name the token's app (unsupported there, or failed). */
	| 'appUnknown'
	/** Meta refused the app access token: the App Secret is not this app's. */
	| 'appSecret'
	/** Anything else (network, Meta failing, verification, a proxy without the endpoint). */
	| 'error';

export interface AppMessagesSubscriptionResult {
	/**
	 * alreadySubscribed: the app has an active whatsapp_business_account subscription with
	 * "messages"; nothing was sent. subscribed: this call wrote the app's subscription (see
	 * `created`, `addedMessages`, `movedFrom`). needsManualStep: the app's subscription lacks
	 * "messages" (or is off) at someone else's URL, which cannot be changed without that URL's
	 * verify token; `warning` says what to do. failed: could not check; `warning` says why.
	 */
	action: 'alreadySubscribed' | 'subscribed' | 'needsManualStep' | 'failed';
	appId?: string;
	appName?: string;
	/** The app's whatsapp_business_account subscription as read before any change. */
	before?: AppWebhookSubscription;
	/** With 'subscribed': the app had no whatsapp_business_account subscription at all. */
	created?: boolean;
	/** With 'subscribed': "messages" was not subscribed before. */
	addedMessages?: boolean;
	/** With 'subscribed': this trigger's other URL that was the app's callback URL until now. */
	movedFrom?: string;
	/** The fields subscribed after this call. */
	fields?: string[];
	/** With 'failed'. */
	problem?: AppMessagesSubscriptionProblem;
	/** With 'needsManualStep' and 'failed': plain sentences for the log, without any secret. */
	warning?: string;
}

const DASHBOARD_WEBHOOK = 'your app at developers.facebook.com → WhatsApp → Configuration → Webhook';

function subscribeMessagesStep(callbackUrl: string, hasCallbackUrl: boolean): string {
	const urlStep = hasCallbackUrl
		? ''
		: `If no Callback URL is shown, click Edit, enter ${callbackUrl} and the verify token of the WhatsApp Webhook credential, and click "Verify and save". `;
	return `do this once in ${DASHBOARD_WEBHOOK}: ${urlStep}Under "Webhook fields" click Manage and subscribe to "messages".`;
}

function appLabel(appId: string | undefined, appName: string | undefined): string {
	if (appName && appId) return `"${appName}" (${appId})`;
	return appId ? `(${appId})` : '';
}

function failureText(error: unknown): string {
	if (error instanceof GraphApiError) {
		const says = metaSays(error);
		return says ? `HTTP ${error.httpStatus}: ${says}` : `HTTP ${error.httpStatus}`;
	}
	const message = error instanceof Error ? error.message : String(error);
	return message.replace(/[\s.]+$/, '');
}

type TokenAppOutcome = { ok: true; id: string; name?: string } | { ok: false; error: unknown };

/** GET /app with the user's token, keeping the failure (getTokenApp only says "unknown"). */
async function readTokenApp(client: GraphCaller): Promise<TokenAppOutcome> {
	const outcome = await settle(client.call<unknown>('GET', 'app', { qs: { fields: 'id,name' }, operation: "Reading the token's Meta app" }));
	if (!outcome.ok) return { ok: false, error: outcome.error };
	const json = asJson(outcome.value);
	const id = isRecord(json) ? text(json.id) : undefined;
	if (!id) return { ok: false, error: new Error('Meta answered without an app id') };
	const name = isRecord(json) ? text(json.name) : undefined;
	return name ? { ok: true, id, name } : { ok: true, id };
}

/** Meta refused the app access token: `<id>|<secret>` with a secret that is not the app's. */
function isAppTokenRefused(error: unknown): boolean {
	return error instanceof GraphApiError && (error.code === 190 || (error.code === undefined && error.httpStatus === 401));
}

/**
 * Makes sure Meta sends WhatsApp "messages" webhooks at all. A number's override only
 * redirects webhooks of fields the app subscribes to: an app whose WhatsApp webhook was never
 * configured (no subscription of object whatsapp_business_account with field "messages")
 * gets nothing, anywhere.
 *
 * 1. The app id: `options.appId`, else GET /app with the user's token (`client`).
 * 2. GET /<APP_ID>/subscriptions with the app access token `<APP_ID>|<APP_SECRET>` through
 *    `appClient` (a client adding no credential: the app token travels as `access_token`, in the
 *    query of the GET and in the form body of the POST, never next to the user's Bearer token).
 * 3. Then, for the app's whatsapp_business_account subscription:
 *    - none: POST /<APP_ID>/subscriptions object, callback_url = `callbackUrl`, verify_token,
 *      fields=messages, include_values=true. Meta verifies `callbackUrl` meanwhile (the trigger
 *      answers, as for the override).
 *    - active with "messages": nothing, unless its URL is one of `ownUrls` (this trigger's other
 *      URL): then it is moved to `callbackUrl`, same fields.
 *    - without "messages" (or not active) at `callbackUrl`, at one of `ownUrls` or at no URL: the
 *      same POST with the union of its fields and "messages" (Meta's POST replaces the field list).
 *    - without "messages" (or not active) at someone else's URL: nothing is sent (re-posting needs
 *      that URL's verify token, which Meta checks); `warning` gives the one-time manual step.
 * Never deletes a subscription, never removes a field, never replaces someone else's URL.
 * Never throws: every failure is a 'failed' result whose `warning` says what happened and the
 * manual step (a wrong App Secret is named as such). No text contains the App Secret, the app
 * token or the verify token.
 */
export async function ensureAppMessagesSubscription(
	client: GraphCaller,
	appClient: GraphCaller,
	options: AppMessagesSubscriptionOptions,
): Promise<AppMessagesSubscriptionResult> {
	const appSecret = typeof options.appSecret === 'string' ? options.appSecret.trim() : '';
	const verifyToken = typeof options.verifyToken === 'string' ? options.verifyToken : '';
	const outcome = await settle(subscribeAppToMessages(client, appClient, { ...options, appSecret, verifyToken }));
	if (outcome.ok) return outcome.value;
	const manual = subscribeMessagesStep(typeof options.callbackUrl === 'string' ? options.callbackUrl.trim() : '', false);
	const reason = withoutAppSecrets(failureText(outcome.error), appSecret, verifyToken);
	return {
		action: 'failed',
		problem: 'error',
		warning: `Could not check that your Meta app receives WhatsApp messages (${reason}). If messages do not arrive, ${manual}`,
	};
}

async function subscribeAppToMessages(
	client: GraphCaller,
	appClient: GraphCaller,
	options: AppMessagesSubscriptionOptions,
): Promise<AppMessagesSubscriptionResult> {
	const { appSecret, verifyToken } = options;
	const callbackUrl = checkCallbackUrl(options.callbackUrl, { allowInsecureUrl: options.allowInsecureUrl });
	const clean = (value: string) => withoutAppSecrets(value, appSecret, verifyToken);
	const failed = (problem: AppMessagesSubscriptionProblem, warning: string, known: Partial<AppMessagesSubscriptionResult> = {}): AppMessagesSubscriptionResult => ({
		action: 'failed',
		...known,
		problem,
		warning: clean(warning),
	});

	if (appSecret === '') {
		return failed(
			'noAppSecret',
			`The WhatsApp Webhook credential has no App Secret, so the trigger could not check that your Meta app receives WhatsApp messages (and it cannot check any message's signature). ` +
				`Copy it from App Settings → Basic → App secret (Show) into the credential. If messages do not arrive, ${subscribeMessagesStep(callbackUrl, false)}`,
		);
	}
	if (verifyToken.trim() === '') {
		return failed('error', `The WhatsApp Webhook credential has no verify token, so the trigger could not subscribe your Meta app to WhatsApp messages.`);
	}

	let appId = text(options.appId);
	let appName = appId ? text(options.appName) : undefined;
	if (!appId) {
		const app = await readTokenApp(client);
		if (!app.ok) {
			return failed(
				'appUnknown',
				`Could not check that your Meta app receives WhatsApp messages: Meta did not say which app the access token belongs to (GET /app: ${failureText(app.error)}). ` +
					`If messages do not arrive, ${subscribeMessagesStep(callbackUrl, false)}`,
			);
		}
		appId = app.id;
		appName = app.name;
	}
	const app = idSegment(appId, 'appId', 'The Meta app ID');
	const known = { appId: app, ...(appName ? { appName } : {}) };
	const label = appLabel(app, appName);

	const secretRefused = (error: unknown) =>
		failed(
			'appSecret',
			`Meta refused the App Secret of the WhatsApp Webhook credential for your Meta app ${label} (Meta says: ${failureText(error)}): it is not that app's secret. ` +
				'The trigger checks the signature of every message with it, so it will refuse the messages Meta sends until this is fixed: ' +
				"open that app at developers.facebook.com (the app of the WhatsApp Cloud API credential's access token) → App Settings → Basic → App secret (Show), and paste it into the WhatsApp Webhook credential. " +
				`The trigger could not check either that the app receives WhatsApp messages; if messages still do not arrive, ${subscribeMessagesStep(callbackUrl, false)}`,
			known,
		);

	const listed = await settle(listAppSubscriptions(appClient, app, appSecret));
	if (!listed.ok) {
		if (isAppTokenRefused(listed.error)) return secretRefused(listed.error);
		return failed(
			'error',
			`Could not read the webhook settings of your Meta app ${label} (${failureText(listed.error)}). If messages do not arrive, ${subscribeMessagesStep(callbackUrl, false)}`,
			known,
		);
	}
	const before = listed.value.find((entry) => entry.object === WHATSAPP_WEBHOOK_OBJECT);
	const ownUrls = (options.ownUrls ?? []).filter((url) => !sameCallbackUrl(url, callbackUrl));
	const ownOther = before?.callbackUrl ? ownUrls.find((url) => sameCallbackUrl(url, before.callbackUrl)) : undefined;
	const receives = before !== undefined && before.active && before.fields.includes(MESSAGES_FIELD);
	const ours = before !== undefined && (before.callbackUrl === undefined || sameCallbackUrl(before.callbackUrl, callbackUrl) || ownOther !== undefined);

	if (receives && ownOther === undefined) return { action: 'alreadySubscribed', ...known, before };
	if (before !== undefined && !ours) {
		const state = before.active
			? `sends its WhatsApp webhooks to ${before.callbackUrl} but is not subscribed to the "messages" field`
			: `has its WhatsApp webhook to ${before.callbackUrl} switched off`;
		return {
			action: 'needsManualStep',
			...known,
			before,
			warning: clean(
				`Your Meta app ${label} ${state}, so Meta sends no WhatsApp messages anywhere, not even to this trigger's address. ` +
					"The trigger does not change that address's settings (Meta would check them with that address's own verify token). " +
					`To receive them, ${subscribeMessagesStep(callbackUrl, true)} The Callback URL can stay as it is: this number's messages still come to this trigger.`,
			),
		};
	}

	const fields = [...(before?.fields ?? [])];
	if (!fields.includes(MESSAGES_FIELD)) fields.push(MESSAGES_FIELD);
	const operation = before ? "Updating your Meta app's WhatsApp webhook" : 'Subscribing your Meta app to WhatsApp messages';
	const form = new URLSearchParams({
		object: WHATSAPP_WEBHOOK_OBJECT,
		callback_url: callbackUrl,
		verify_token: verifyToken,
		fields: fields.join(','),
		include_values: 'true',
		access_token: appAccessToken(app, appSecret),
	});
	const posted = await settle(
		appClient.call<unknown>('POST', `${app}/subscriptions`, {
			body: form.toString(),
			headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
			operation,
		}),
	);
	if (!posted.ok) {
		if (isAppTokenRefused(posted.error)) return secretRefused(posted.error);
		const verification = posted.error instanceof GraphApiError && isVerificationFailure(posted.error);
		return failed(
			'error',
			(verification
				? `Meta could not verify this trigger's URL ${callbackUrl} as your Meta app's callback URL (${failureText(posted.error)}). `
				: `${operation} failed (${failureText(posted.error)}). `) + `If messages do not arrive, ${subscribeMessagesStep(callbackUrl, before?.callbackUrl !== undefined)}`,
			{ ...known, ...(before ? { before } : {}) },
		);
	}
	const json = asJson(posted.value);
	if (isRecord(json) && (json.success === false || json.success === 'false')) {
		return failed('error', `${operation} failed: Meta answered {"success": false}. If messages do not arrive, ${subscribeMessagesStep(callbackUrl, false)}`, known);
	}
	return {
		action: 'subscribed',
		...known,
		...(before ? { before } : {}),
		created: before === undefined,
		addedMessages: !(before?.fields.includes(MESSAGES_FIELD) ?? false),
		...(ownOther ? { movedFrom: before?.callbackUrl } : {}),
		fields,
	};
}
