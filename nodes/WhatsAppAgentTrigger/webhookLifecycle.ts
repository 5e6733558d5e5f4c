/**
 * n8n's webhook lifecycle for the trigger (`webhookMethods.default`): on activation n8n calls
 * checkExists, then create when it answers false; on deactivation (and when test listening
 * ends) it calls delete. n8n runs them once per `default` webhook (the events POST and the
 * media GET), so all three are idempotent: the second checkExists finds the override in place.
 *
 * Manual setup (`webhookSetup: 'manual'`): the user pastes the URL and verify token into Meta's
 * dashboard, so there is nothing to register; nothing the user configured in Meta is touched.
 *
 * Automatic setup (`webhookSetup: 'automatic'`): Meta's per-phone-number webhook override
 * (core/webhook-registration.ts) points the Cloud API credential's phone number at
 * `getNodeWebhookUrl('default')` (…/webhook: the production URL, or the test URL while "Listen
 * for test event" runs):
 * - checkExists: true only when the number's override is exactly that URL.
 * - create, activating: replaces a leftover test URL of this same trigger ('own'); someone
 *   else's URL only with "Replace Existing Webhook" ('any'), else refused.
 * - create, testing (n8n's mode/activation 'manual'): never takes the production URL of this
 *   workflow ('none'), so live messages are never diverted; someone else's URL only with the
 *   replace option.
 * - create, then: makes sure the Meta app itself subscribes to WhatsApp "messages"
 *   (ensureAppMessagesSubscription): an override only redirects fields the app subscribes to, so
 *   an app whose WhatsApp webhook was never configured would receive nothing anywhere. With no
 *   app subscription at all, this trigger's URL becomes the app's callback URL; an app webhook
 *   at someone else's URL is never changed (a warning gives the one-time step). This uses the
 *   app access token `<app id>|<App Secret>` (the webhook credential's App Secret), sent without
 *   the Cloud API credential. It never fails activation: the number's override is set by then.
 * - delete: removes the override only while it is still this URL; never someone else's, never the
 *   business account's override or subscription, never the app's own subscription (other numbers
 *   and workflows of the app rely on it; its URL only receives numbers without an override and
 *   template/account notifications). Failures are logged, never thrown, so deactivation is never
 *   blocked.
 * Meta's verification GET reaches the trigger during create (n8n has already registered the GET
 * `webhook` endpoint: it comes first in the node's `webhooks`), answered with the webhook
 * credential's verify token.
 */
import { NodeApiError, NodeOperationError, sleep, type IHookFunctions, type JsonObject } from 'n8n-workflow';

import { WhatsAppValidationError } from '../../core/errors';
import { GraphClient } from '../../core/graph-client';
import { GraphApiError, scrubSecrets } from '../../core/graph-errors';
import { TransportError } from '../../core/http-transport';
import {
	WebhookRegistrationError,
	ensureAppMessagesSubscription,
	getPhoneWebhookConfiguration,
	isPhoneOverrideOurs,
	isPrivateHost,
	registerPhoneOverride,
	removePhoneOverrideIfOurs,
	type AppMessagesSubscriptionResult,
	type RegisterPhoneOverrideOptions,
	type RegisterPhoneOverrideResult,
} from '../../core/webhook-registration';
import { plainRequester } from '../shared/transport';
import { createMediaClient } from './media';
import { CLOUD_CREDENTIAL, WEBHOOK_CREDENTIAL } from './request';

export type WebhookSetup = 'automatic' | 'manual';

/** Per Graph request while registering (Meta verifies the URL inside the POST). */
const REGISTRATION_TIMEOUT_MS = 30_000;
const REGISTRATION_MAX_RETRIES = 2;

const REPLACE_OPTION = 'Replace Existing Webhook';

export const LIFECYCLE_MESSAGES = {
	noCloudCredential: 'Automatic webhook setup needs a WhatsApp Cloud API credential',
	noCloudCredentialHint:
		'Select a WhatsApp Cloud API credential in this trigger (its Phone Number ID is the number whose messages come here; add the WhatsApp Business Account ID too), ' +
		"or set Webhook Setup to Manual and enter this trigger's Production URL and verify token in your Meta app yourself",
	noUrl: 'n8n gave this trigger no webhook URL, so Meta cannot be told where to send messages',
	noUrlHint: "Set N8N_WEBHOOK_URL (or WEBHOOK_URL) to n8n's public https:// address and restart n8n",
	productionActive: (phone: string, current: string) =>
		`Cannot listen for a test event on phone number ${phone}: this workflow is active, and the number's WhatsApp messages go to its production URL ${current}`,
	productionActiveHint:
		'A test never takes live messages away from the active workflow. Deactivate the workflow first (and activate it again when you are done testing), ' +
		'or test with a copy of the workflow that uses another phone number (another WhatsApp Cloud API credential)',
	takenHint:
		'Another workflow or program uses this phone number. Deactivate it, or give this workflow another phone number (another WhatsApp Cloud API credential). ' +
		`If that address is no longer used, turn on "${REPLACE_OPTION}" in this trigger and try again, ` +
		"or set Webhook Setup to Manual and enter the URL and verify token in Meta's dashboard yourself",
	takenByOldAddressHint:
		"That address is this same workflow at another n8n address: n8n's public address changed (a new tunnel address, a new N8N_WEBHOOK_URL), or the workflow also runs in another n8n. " +
		`If that address is no longer used, turn on "${REPLACE_OPTION}" in this trigger and try again. ` +
		'If another n8n still uses it, deactivate the workflow there first, or give this one another phone number',
} as const;

/** The `webhookSetup` parameter (n8n fills in the default, `automatic`, when a node has no value). */
export function webhookSetupOf(context: IHookFunctions): WebhookSetup {
	const value = context.getNodeParameter('webhookSetup', 'automatic');
	return value === 'manual' ? 'manual' : 'automatic';
}

/** "Listen for test event": n8n runs checkExists/create with mode and activation 'manual'. */
export function isTestListening(context: IHookFunctions): boolean {
	return context.getActivationMode() === 'manual' || context.getMode() === 'manual';
}

/**
 * The same trigger's other URL: production `…/webhook/<id>/…` ↔ test `…/webhook-test/<id>/…`
 * (n8n's default endpoint names). Undefined when the URL does not have that shape (custom
 * N8N_ENDPOINT_WEBHOOK*): the other URL is then simply not recognised as this trigger's.
 */
export function counterpartUrl(url: string, webhookId: string | undefined, isTest: boolean): string | undefined {
	const [from, to] = isTest ? ['webhook-test', 'webhook'] : ['webhook', 'webhook-test'];
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return undefined;
	}
	const segments = parsed.pathname.split('/');
	const index = webhookId
		? segments.findIndex((segment, at) => segment === from && segments[at + 1] === webhookId)
		: segments.findIndex((segment, at) => segment === from && at + 2 < segments.length);
	if (index < 0) return undefined;
	segments[index] = to;
	parsed.pathname = segments.join('/');
	return parsed.toString();
}

interface Account {
	client: GraphClient;
	/** The same Graph API Base URL without any credential: for calls with the app access token. */
	appClient: GraphClient;
	phoneNumberId: string;
	businessAccountId?: string;
	/** The Graph API is a local stand-in (a fake on loopback): accept a loopback http callback URL. */
	allowInsecureUrl: boolean;
}

function nodeName(context: IHookFunctions): string {
	return context.getNode().name;
}

function callbackUrlOf(context: IHookFunctions): string {
	const url = context.getNodeWebhookUrl('default');
	if (!url) {
		throw operationError(context, LIFECYCLE_MESSAGES.noUrl, LIFECYCLE_MESSAGES.noUrlHint);
	}
	return url;
}

async function accountOf(context: IHookFunctions): Promise<Account> {
	if (!context.getNode().credentials?.[CLOUD_CREDENTIAL]) {
		throw operationError(context, LIFECYCLE_MESSAGES.noCloudCredential, LIFECYCLE_MESSAGES.noCloudCredentialHint);
	}
	const credentials = await context.getCredentials(CLOUD_CREDENTIAL);
	let host = '';
	try {
		host = new URL(String(credentials.graphApiBaseUrl || 'https://graph.facebook.com')).hostname;
	} catch {
		host = '';
	}
	const client = await createMediaClient(context, REGISTRATION_TIMEOUT_MS, REGISTRATION_MAX_RETRIES);
	const appClient = new GraphClient({
		request: plainRequester(context),
		sleep,
		baseUrl: String(credentials.graphApiBaseUrl || 'https://graph.facebook.com'),
		apiVersion: String(credentials.apiVersion || 'v24.0'),
		timeoutMs: REGISTRATION_TIMEOUT_MS,
		retry: { maxRetries: REGISTRATION_MAX_RETRIES },
	});
	const businessAccountId = String(credentials.businessAccountId ?? '').trim();
	return {
		client,
		appClient,
		phoneNumberId: String(credentials.phoneNumberId ?? '').trim(),
		...(businessAccountId ? { businessAccountId } : {}),
		allowInsecureUrl: host !== '' && isPrivateHost(host),
	};
}

async function verifyTokenOf(context: IHookFunctions): Promise<string> {
	const data = await context.getCredentials(WEBHOOK_CREDENTIAL);
	return typeof data.verifyToken === 'string' ? data.verifyToken : '';
}

/** The webhook credential's App Secret (with the app id it makes the app access token). */
async function appSecretOf(context: IHookFunctions): Promise<string> {
	const data = await context.getCredentials(WEBHOOK_CREDENTIAL);
	return typeof data.appSecret === 'string' ? data.appSecret : '';
}

const FIELD_HINTS: Record<string, string> = {
	phoneNumberId:
		'Set the Phone Number ID in the WhatsApp Cloud API credential: the long ID shown as "Phone number ID" under WhatsApp → API Setup in your Meta app, not the phone number itself',
	businessAccountId:
		'Set the WhatsApp Business Account ID in the WhatsApp Cloud API credential as shown under WhatsApp → API Setup, or leave it empty',
	verifyToken:
		'Set a Verify Token in the WhatsApp Webhook credential: any phrase of letters and digits. The trigger gives it to Meta and answers Meta\'s check with it',
};

interface Situation {
	testing: boolean;
	phoneNumberId: string;
	/** This trigger's URLs (the one being registered, and its other one). */
	urls: string[];
}

function pathOf(url: string | undefined): string | undefined {
	if (!url) return undefined;
	try {
		return new URL(url).pathname.replace(/\/+$/, '');
	} catch {
		return undefined;
	}
}

/** Same path as one of ours on another host: this workflow at an older n8n address, or in another n8n. */
function looksLikeOurOldAddress(current: string | undefined, urls: string[]): boolean {
	const path = pathOf(current);
	return path !== undefined && urls.some((url) => pathOf(url) === path);
}

/**
 * n8n replaces a message that mentions a network code (ECONNREFUSED, ETIMEDOUT…) with a generic
 * sentence ("The service refused the connection…"), which would hide what failed (e.g. Meta
 * could not reach the trigger): the message is set back after construction.
 */
function keepMessage<T extends NodeOperationError | NodeApiError>(error: T, message: string): T {
	error.message = message;
	return error;
}

const sentence = (text: string) => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

/**
 * Where n8n shows an activation error, 2.41 shows only its message and 2.8 only a
 * NodeApiError's description: both carry what happened and what to do.
 */
function selfContained(message: string, hint?: string): string {
	return hint ? `${sentence(message)} ${sentence(hint)}` : message;
}

function operationError(context: IHookFunctions, message: string, description?: string): NodeOperationError {
	const full = selfContained(message, description);
	return keepMessage(new NodeOperationError(context.getNode(), full, description ? { description } : {}), full);
}

/** Whatever went wrong → the error n8n shows when activating or starting a test (never a token). */
export function activationError(context: IHookFunctions, error: unknown, situation?: Situation): NodeOperationError | NodeApiError {
	const node = context.getNode();
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	if (error instanceof WebhookRegistrationError) {
		if (error.reason === 'overrideTaken' && situation) {
			if (error.currentIsOwn && situation.testing) {
				return operationError(
					context,
					LIFECYCLE_MESSAGES.productionActive(situation.phoneNumberId, error.currentUrl ?? ''),
					LIFECYCLE_MESSAGES.productionActiveHint,
				);
			}
			if (!error.currentIsOwn) {
				const hint = looksLikeOurOldAddress(error.currentUrl, situation.urls)
					? LIFECYCLE_MESSAGES.takenByOldAddressHint
					: LIFECYCLE_MESSAGES.takenHint;
				return operationError(context, error.message, hint);
			}
		}
		return operationError(context, error.message, error.hint);
	}
	if (error instanceof WhatsAppValidationError) {
		return operationError(context, error.message, FIELD_HINTS[error.field]);
	}
	if (error instanceof GraphApiError) {
		const data: JsonObject = { message: error.message, httpCode: String(error.httpStatus) };
		if (error.code !== undefined) data.code = error.code;
		if (error.title) data.title = error.title;
		if (error.details) data.details = error.details;
		if (error.fbtraceId) data.fbtraceId = error.fbtraceId;
		const full = selfContained(error.message, error.hint);
		const apiError = new NodeApiError(node, data, {
			message: full,
			httpCode: String(error.httpStatus),
			description: full,
		});
		return keepMessage(apiError, full);
	}
	if (error instanceof TransportError) {
		return operationError(
			context,
			`Automatic webhook setup could not reach Meta: ${error.message}`,
			'Check that n8n can reach the Graph API Base URL of the WhatsApp Cloud API credential (https://graph.facebook.com unless you changed it), then try again',
		);
	}
	const message = error instanceof Error ? error.message : String(error);
	return operationError(context, `Automatic webhook setup failed: ${scrubSecrets(message)}`);
}

function describe(error: unknown): string {
	const converted = error instanceof Error ? error : new Error(String(error));
	const hint = (converted as { description?: unknown; hint?: unknown }).description ?? (converted as { hint?: unknown }).hint;
	const message = sentence(converted.message);
	if (typeof hint !== 'string' || hint === '' || message.includes(hint.trim().replace(/[.!?]$/, ''))) return message;
	return `${message} ${sentence(hint)}`;
}

function logRegistration(context: IHookFunctions, phoneNumberId: string, url: string, result: RegisterPhoneOverrideResult): void {
	const who = `WhatsApp Agent Trigger "${nodeName(context)}"`;
	if (result.subscription?.action === 'subscribed') {
		context.logger.info(`${who}: subscribed your Meta app to the WhatsApp Business Account, so that it receives its webhooks`);
	}
	if (result.action === 'unchanged') {
		context.logger.info(`${who}: phone number ${phoneNumberId} already sends its WhatsApp messages to ${url}`);
	} else {
		context.logger.info(`${who}: Meta now sends the WhatsApp messages of phone number ${phoneNumberId} to ${url}`);
	}
	if (result.replaced?.own) {
		context.logger.info(`${who}: replaced this trigger's other URL ${result.replaced.url} on phone number ${phoneNumberId}`);
	} else if (result.replaced) {
		context.logger.warn(
			`${who}: replaced ${result.replaced.url}, which something else had set on phone number ${phoneNumberId} ("${REPLACE_OPTION}" is on); that address no longer receives this number's messages`,
		);
	}
	for (const warning of result.warnings) context.logger.warn(`${who}: ${warning}`);
}

function logAppSubscription(context: IHookFunctions, url: string, result: AppMessagesSubscriptionResult): void {
	const who = `WhatsApp Agent Trigger "${nodeName(context)}"`;
	const app = result.appName ? `"${result.appName}"` : (result.appId ?? '');
	if (result.action === 'subscribed') {
		if (result.created) {
			context.logger.info(
				`${who}: your Meta app ${app} had no WhatsApp webhook, so Meta sent its WhatsApp messages nowhere: subscribed it to "messages" with ${url} as the app's callback URL. ` +
					'Deactivating the workflow leaves this in place (other numbers and workflows of the app may rely on it).',
			);
		} else if (result.movedFrom) {
			context.logger.info(`${who}: moved your Meta app ${app}'s callback URL from this trigger's other URL ${result.movedFrom} to ${url}`);
		}
		if (!result.created && result.addedMessages) {
			context.logger.info(`${who}: subscribed your Meta app ${app}'s WhatsApp webhook (${url}) to the "messages" field, keeping its other fields`);
		}
	}
	if (result.warning) context.logger.warn(`${who}: ${result.warning}`);
}

/**
 * After the number's override is set: makes sure the app itself subscribes to "messages", or
 * says exactly what to do. Never throws (the override works; activation goes on).
 */
async function makeAppReceiveMessages(
	context: IHookFunctions,
	account: Account,
	url: string,
	ownUrls: string[],
	registered: RegisterPhoneOverrideResult,
): Promise<void> {
	let result: AppMessagesSubscriptionResult;
	try {
		result = await ensureAppMessagesSubscription(account.client, account.appClient, {
			appSecret: await appSecretOf(context),
			callbackUrl: url,
			verifyToken: await verifyTokenOf(context),
			ownUrls,
			allowInsecureUrl: account.allowInsecureUrl,
			...(registered.subscription?.appId ? { appId: registered.subscription.appId } : {}),
			...(registered.subscription?.appName ? { appName: registered.subscription.appName } : {}),
		});
	} catch (error) {
		result = { action: 'failed', problem: 'error', warning: `Could not check that your Meta app receives WhatsApp messages: ${scrubSecrets(error instanceof Error ? error.message : String(error))}` };
	}
	logAppSubscription(context, url, result);
}

/**
 * Meta answers every path of these calls (an unknown id is a 400 with code 100), never 404,
 * 405 or 501: those come from a proxy or test server at the Graph API Base URL that does not
 * offer webhook overrides. Automatic setup then steps aside (with a warning saying what to
 * set by hand) instead of making the workflow impossible to activate.
 */
function overridesUnsupported(error: unknown): boolean {
	if (!(error instanceof GraphApiError || error instanceof WebhookRegistrationError)) return false;
	if (error.httpStatus === 404 || error.httpStatus === 405 || error.httpStatus === 501) return true;
	// Graph versions (and stand-ins) without the field say so in a 400: "(#100) Tried accessing
	// nonexisting field (webhook_configuration)".
	return error.code === 100 && /nonexisting field \(webhook_configuration\)/i.test(error.message);
}

function warnOverridesUnsupported(context: IHookFunctions, url: string, error: unknown): void {
	const status = (error as { httpStatus?: number }).httpStatus;
	context.logger.warn(
		`WhatsApp Agent Trigger "${nodeName(context)}": the Graph API Base URL and API Version of the WhatsApp Cloud API credential do not offer Meta's webhook overrides (HTTP ${status}), ` +
			`so automatic webhook setup was skipped. Set the callback URL ${url} and the verify token in your Meta app yourself, as with Webhook Setup: Manual.`,
	);
}

/** Meta unreachable or failing for a while (network, 5xx, throttling): not the user's doing. */
function isPassing(error: unknown): boolean {
	return (error instanceof TransportError || error instanceof GraphApiError) && error.retryable;
}

/**
 * Manual: true (nothing to create). Automatic: whether the number's override is exactly this
 * trigger's URL. When n8n re-activates workflows at startup (activation 'init' or
 * 'leadershipChange') and Meta cannot be asked right then, it answers true with a warning: the
 * override set before the restart keeps working, where failing would unregister the webhook
 * until n8n retries.
 */
export async function checkExists(this: IHookFunctions): Promise<boolean> {
	if (webhookSetupOf(this) === 'manual') return true;
	const url = callbackUrlOf(this);
	const account = await accountOf(this);
	let exists = false;
	let failure: unknown;
	try {
		exists = isPhoneOverrideOurs(await getPhoneWebhookConfiguration(account.client, account.phoneNumberId), url);
	} catch (error) {
		failure = error;
	}
	const restarting = ['init', 'leadershipChange'].includes(this.getActivationMode());
	if (failure !== undefined && restarting && isPassing(failure)) {
		this.logger.warn(
			`WhatsApp Agent Trigger "${nodeName(this)}": could not check phone number ${account.phoneNumberId}'s webhook while n8n started (${describe(activationError(this, failure))}) ` +
				'Keeping the setting made before the restart; if messages do not arrive, deactivate and activate the workflow again.',
		);
		return true;
	}
	if (failure !== undefined && overridesUnsupported(failure)) {
		warnOverridesUnsupported(this, url, failure);
		return true;
	}
	if (failure !== undefined) throw activationError(this, failure);
	return exists;
}

/** Manual: nothing to register. Automatic: points the phone number's webhooks at this trigger (Meta verifies it meanwhile). */
export async function create(this: IHookFunctions): Promise<boolean> {
	if (webhookSetupOf(this) === 'manual') return true;
	const testing = isTestListening(this);
	const url = callbackUrlOf(this);
	const other = counterpartUrl(url, this.getNode().webhookId, testing);
	const replace = this.getNodeParameter('replaceOtherWebhook', false) === true;
	const account = await accountOf(this);
	const options: RegisterPhoneOverrideOptions = {
		phoneNumberId: account.phoneNumberId,
		...(account.businessAccountId ? { businessAccountId: account.businessAccountId } : {}),
		callbackUrl: url,
		verifyToken: await verifyTokenOf(this),
		ownUrls: other ? [other] : [],
		allowInsecureUrl: account.allowInsecureUrl,
		// Testing never takes this workflow's production URL, even with the replace option.
		takeOver: testing ? 'none' : replace ? 'any' : 'own',
	};
	let result: RegisterPhoneOverrideResult | undefined;
	let failure: unknown;
	try {
		result = await registerPhoneOverride(account.client, options);
	} catch (error) {
		failure = error;
	}
	const someoneElses = failure instanceof WebhookRegistrationError && failure.reason === 'overrideTaken' && failure.currentIsOwn !== true;
	if (testing && replace && someoneElses) {
		failure = undefined;
		try {
			result = await registerPhoneOverride(account.client, { ...options, takeOver: 'any' });
		} catch (error) {
			failure = error;
		}
	}
	if (failure !== undefined && overridesUnsupported(failure)) {
		warnOverridesUnsupported(this, url, failure);
		return true;
	}
	if (failure !== undefined || result === undefined) {
		throw activationError(this, failure, { testing, phoneNumberId: account.phoneNumberId, urls: other ? [url, other] : [url] });
	}
	logRegistration(this, account.phoneNumberId, url, result);
	// Activating may move the app's callback URL off this trigger's own test URL; a test never
	// takes the production URL (which stays the app's callback URL).
	await makeAppReceiveMessages(this, account, url, !testing && other ? [other] : [], result);
	return true;
}

/**
 * Manual: nothing of ours to remove. Automatic: removes the number's override only while it is
 * still this trigger's URL. Never throws: a failure is logged and deactivation goes on.
 */
export async function deleteWebhook(this: IHookFunctions): Promise<boolean> {
	if (webhookSetupOf(this) === 'manual') return true;
	const who = `WhatsApp Agent Trigger "${nodeName(this)}"`;
	let phoneNumberId = '';
	let url = '';
	let failure: unknown;
	let outcome: Awaited<ReturnType<typeof removePhoneOverrideIfOurs>> | undefined;
	try {
		url = callbackUrlOf(this);
		const account = await accountOf(this);
		phoneNumberId = account.phoneNumberId;
		outcome = await removePhoneOverrideIfOurs(account.client, phoneNumberId, url);
	} catch (error) {
		failure = error;
	}
	if (failure !== undefined || outcome === undefined) {
		this.logger.warn(
			`${who}: could not remove its webhook from phone number ${phoneNumberId || '(unknown)'}: ${describe(activationError(this, failure))} ` +
				`If Meta keeps sending this number's messages to ${url || 'this trigger'}, activate and deactivate the workflow again, or point the number elsewhere.`,
		);
		return true;
	}
	if (outcome.action === 'removed') {
		this.logger.info(
			`${who}: removed ${url} from phone number ${phoneNumberId}` +
				(outcome.nowGoesTo ? `; Meta now sends its WhatsApp messages to ${outcome.nowGoesTo}` : '; Meta now sends its WhatsApp messages to your app\'s callback URL, if it has one'),
		);
	} else if (outcome.action === 'notOurs') {
		this.logger.info(`${who}: left phone number ${phoneNumberId} alone: its webhooks go to ${outcome.found ?? 'another address'}, not to ${url}`);
	}
	return true;
}

export const webhookLifecycle = { checkExists, create, delete: deleteWebhook };
