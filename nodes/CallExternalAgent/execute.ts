/**
 * The item loop of Call External Agent: each trigger Messages item becomes one BYOA request
 * (core/agent-request.ts), sent with retries and read leniently (core/agent-call.ts), and one
 * output item shaped for Send WhatsApp's "Send Agent Reply". Items go one after another so
 * a customer's replies keep the order of their messages.
 *
 * Outputs: Reply (for Send WhatsApp), Handoff (the agent asked for a human) and Paused
 * (customer messages while a human has the conversation; see conversation.ts).
 */
import {
	NodeApiError,
	NodeOperationError,
	sleep,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type JsonObject,
} from 'n8n-workflow';

import { callAgent, type AgentCallOutcome, type AgentFailure } from '../../core/agent-call';
import {
	agentRequestHeaders,
	buildAgentRequestBody,
	missingCustomerReason,
	serializeAgentRequestBody,
	type AgentRequestBody,
} from '../../core/agent-request';
import type { CanonicalMessage } from '../../core/canonical-message';
import type { HttpRequester } from '../../core/http-transport';
import type { ConversationStore } from '../shared/conversations';
import { authenticatedRequester, plainRequester } from '../shared/transport';
import {
	admitTurn,
	finishTurn,
	openStore,
	pausedItem,
	planTurn,
	readConversationSettings,
	type Admission,
	type ConversationSettings,
	type TurnPlan,
} from './conversation';
import { DEFAULT_FALLBACK_MESSAGE, type OnAgentError } from './description';

const CREDENTIAL = 'externalAgentApi';

interface AgentConnection {
	request: HttpRequester;
	signingSecret?: string;
	/** Credential values that must never show up in an error. */
	secrets: string[];
}

interface CallOptions {
	timeoutMs: number;
	retries: number;
	retryDelayMs: number;
	retryOnTimeout: boolean;
	includeRaw: boolean;
}

function readOptions(context: IExecuteFunctions, itemIndex: number): CallOptions {
	const options = context.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const number = (value: unknown, fallback: number, min: number) =>
		typeof value === 'number' && Number.isFinite(value) ? Math.max(min, value) : fallback;
	return {
		timeoutMs: Math.round(number(options.timeout, 30, 0.1) * 1000),
		retries: Math.floor(number(options.retries, 2, 0)),
		retryDelayMs: Math.round(number(options.retryWait, 1, 0) * 1000),
		retryOnTimeout: options.retryOnTimeout === true,
		includeRaw: options.includeRaw === true,
	};
}

/** The credential is optional: without one the agent gets plain, unsigned requests. */
async function connect(context: IExecuteFunctions): Promise<AgentConnection> {
	if (!context.getNode().credentials?.[CREDENTIAL]) return { request: plainRequester(context), secrets: [] };
	const credentials = await context.getCredentials(CREDENTIAL);
	const text = (key: string) => (typeof credentials[key] === 'string' ? (credentials[key] as string) : '');
	const signingSecret = text('signingSecret');
	return {
		request: authenticatedRequester(context, CREDENTIAL, credentials),
		signingSecret: signingSecret === '' ? undefined : signingSecret,
		secrets: [text('bearerToken'), text('headerValue'), signingSecret].filter((secret) => secret !== ''),
	};
}

function agentUrl(context: IExecuteFunctions, itemIndex: number): string {
	const url = String(context.getNodeParameter('url', itemIndex, '') ?? '').trim();
	if (!/^https?:\/\/[^\s/]+/i.test(url)) {
		throw new NodeOperationError(
			context.getNode(),
			url === '' ? 'Agent URL is empty' : 'Agent URL must start with http:// or https://',
			{ itemIndex, description: "Enter your agent's web address in the node's Agent URL field, for example https://my-agent.example.com/whatsapp." },
		);
	}
	return url;
}

function agentInfo(outcome: AgentCallOutcome): IDataObject {
	const info: IDataObject = {
		status: outcome.ok ? outcome.status : outcome.failure.status,
		latencyMs: outcome.latencyMs,
		elapsedMs: outcome.elapsedMs,
		attempts: outcome.attempts,
	};
	if (!outcome.ok) {
		const { kind, message, status, bodyExcerpt, field, code } = outcome.failure;
		info.error = { kind, message, status, body: bodyExcerpt, ...(field ? { field } : {}), ...(code ? { code } : {}) };
	}
	return info;
}

function outputItem(
	body: AgentRequestBody,
	messages: CanonicalMessage[],
	noReply: boolean,
	agent: IDataObject,
	itemIndex: number,
	extra: IDataObject = {},
): INodeExecutionData {
	return {
		json: {
			phone_number: body.phone_number,
			phoneNumberId: body.phone_number_id,
			replyTo: body.message_id,
			messages: messages as unknown as IDataObject[],
			noReply,
			agent,
			...extra,
		},
		pairedItem: { item: itemIndex },
	};
}

function failureError(context: IExecuteFunctions, failure: AgentFailure, itemIndex: number): NodeApiError | NodeOperationError {
	const node = context.getNode();
	const details = failure.bodyExcerpt ? `The agent answered: ${failure.bodyExcerpt}` : undefined;
	if (failure.kind === 'http') {
		const response: JsonObject = { message: failure.message, status: failure.status, body: failure.bodyExcerpt };
		return new NodeApiError(node, response, {
			message: failure.message,
			description: 'Nothing was sent to the customer. Choose "Send a Fallback Message" under On Agent Error to answer the customer anyway.',
			httpCode: String(failure.status),
			itemIndex,
		});
	}
	return new NodeOperationError(node, failure.message, {
		itemIndex,
		description: [details, 'Nothing was sent to the customer.'].filter(Boolean).join(' '),
	});
}

/** What one input item gives each output. */
interface ItemResult {
	reply?: INodeExecutionData;
	handoff?: INodeExecutionData;
	paused?: INodeExecutionData;
}

interface ConversationContext {
	store: ConversationStore;
	settings: ConversationSettings;
}

/** Runs a store step; when n8n's API fails, logs why and says so (the customer is answered anyway). */
async function tryStore<T>(context: IExecuteFunctions, conversation: ConversationContext, what: string, step: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
	try {
		return { ok: true, value: await step() };
	} catch (error) {
		conversation.store.failed(error);
		const reason = error instanceof Error ? error.message : String(error);
		context.logger.warn(`Call External Agent "${context.getNode().name}": the conversation could not be ${what}, so this message is answered without it: ${reason}`);
		return { ok: false, reason };
	}
}

async function callForItem(
	context: IExecuteFunctions,
	connection: AgentConnection,
	items: INodeExecutionData[],
	itemIndex: number,
	conversation: ConversationContext | undefined,
	admission: { ok: true; value: Admission } | { ok: false; reason: string } | undefined,
): Promise<ItemResult> {
	const item = (items[itemIndex].json ?? {}) as IDataObject;
	// Conversation events from the trigger (echoes, history backfills, changed numbers) never reach the agent.
	if (typeof item.event === 'string' && conversation === undefined) return {};
	const missing = missingCustomerReason(item);
	if (missing && typeof item.event !== 'string') {
		throw new NodeOperationError(context.getNode(), `Item ${itemIndex} cannot be sent to the agent: ${missing}`, {
			itemIndex,
			description: 'Call External Agent needs the customer message items of the WhatsApp Agent Trigger (its Messages output).',
		});
	}
	let plan: TurnPlan = { kind: 'call', burst: [item], history: [] };
	let storeError: string | undefined;
	if (conversation && admission) {
		const planned = admission.ok
			? await tryStore(context, conversation, 'read', async () => await planTurn(conversation.store.conversations, item, conversation.settings, admission.value))
			: admission;
		if (planned.ok) plan = planned.value;
		else if (typeof item.event === 'string') return {};
		else storeError = planned.reason;
	}
	if (plan.kind === 'recorded' || plan.kind === 'later') return {};
	if (plan.kind === 'paused') return { paused: pausedItem(items[itemIndex], plan.status, itemIndex) };

	const url = agentUrl(context, itemIndex);
	const options = readOptions(context, itemIndex);
	const body = buildAgentRequestBody(item, {
		includeRaw: options.includeRaw,
		burst: plan.burst,
		history: conversation && storeError === undefined ? plan.history : null,
	});
	const outcome = await callAgent(connection.request, {
		url,
		body: serializeAgentRequestBody(body),
		headers: agentRequestHeaders(body),
		signingSecret: connection.signingSecret,
		timeoutMs: options.timeoutMs,
		retries: options.retries,
		retryDelayMs: options.retryDelayMs,
		retryOnTimeout: options.retryOnTimeout,
		sleep,
		redact: connection.secrets,
	});
	const extra: IDataObject = {};
	if (conversation) {
		extra.conversation = storeError === undefined ? { messages: plan.burst.length, history: plan.history.length } : { error: storeError };
	}
	let result: ItemResult;
	if (outcome.ok) {
		result = { reply: outputItem(body, outcome.reply.messages, outcome.reply.noReply, agentInfo(outcome), itemIndex, extra) };
	} else {
		const onAgentError = context.getNodeParameter('onAgentError', itemIndex, 'fail') as OnAgentError;
		if (onAgentError === 'fallback') {
			const text = String(context.getNodeParameter('fallbackMessage', itemIndex, DEFAULT_FALLBACK_MESSAGE) ?? '').trim();
			const messages: CanonicalMessage[] = text === '' ? [] : [{ type: 'text', text }];
			result = { reply: outputItem(body, messages, messages.length === 0, agentInfo(outcome), itemIndex, { ...extra, fallback: true }) };
		} else if (onAgentError === 'continue') {
			result = { reply: outputItem(body, [], true, agentInfo(outcome), itemIndex, extra) };
		} else {
			throw failureError(context, outcome.failure, itemIndex);
		}
	}
	const handoff = outcome.ok ? outcome.reply.handoff : undefined;
	const sent = (result.reply?.json.messages ?? []) as unknown as CanonicalMessage[];
	let pausedUntil: string | null = null;
	if (conversation && storeError === undefined) {
		const finished = await tryStore(context, conversation, 'saved', async () => await finishTurn(conversation.store.conversations, item, conversation.settings, { messages: sent, handoff }));
		if (finished.ok) pausedUntil = finished.value?.pausedUntil ?? null;
	}
	if (handoff) {
		result.handoff = {
			json: {
				phone_number: body.phone_number,
				phoneNumberId: body.phone_number_id,
				replyTo: body.message_id,
				customerName: body.name,
				reason: handoff.reason,
				message: body.message,
				toldCustomer: sent.length > 0,
				paused: pausedUntil !== null,
				pausedUntil,
			},
			pairedItem: { item: itemIndex },
		};
	}
	return result;
}

export async function executeCallExternalAgent(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const connection = await connect(this);
	const settings = readConversationSettings(this);
	const conversation = settings ? { store: await openStore(this, settings), settings } : undefined;
	const output: INodeExecutionData[] = [];
	const handoffs: INodeExecutionData[] = [];
	const paused: INodeExecutionData[] = [];
	// Every message of this run joins its conversation first, so one delivery of several
	// messages is one burst (their runs would otherwise wait one after another).
	const admissions: Array<Awaited<ReturnType<typeof tryStore<Admission>>> | undefined> = [];
	if (conversation) {
		for (const item of items) {
			const json = (item.json ?? {}) as IDataObject;
			admissions.push(
				missingCustomerReason(json) && typeof json.event !== 'string'
					? undefined
					: await tryStore(this, conversation, 'read', async () => await admitTurn(conversation.store.conversations, json, conversation.settings)),
			);
		}
	}
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		let failure: unknown;
		try {
			const result = await callForItem(this, connection, items, itemIndex, conversation, admissions[itemIndex]);
			if (result.reply) output.push(result.reply);
			if (result.handoff) handoffs.push(result.handoff);
			if (result.paused) paused.push(result.paused);
		} catch (error) {
			failure = error;
		}
		if (failure === undefined) continue;
		const error =
			failure instanceof NodeApiError || failure instanceof NodeOperationError
				? failure
				: new NodeOperationError(this.getNode(), failure instanceof Error ? failure : String(failure), { itemIndex });
		if (!this.continueOnFail()) throw error;
		output.push(errorItem(this, error, items[itemIndex], itemIndex));
	}
	return [output, handoffs, paused];
}

/**
 * The item "Continue On Fail" outputs for a failed item. With "Continue (using error output)"
 * n8n moves items whose json holds only `error` to the error output and adds the input item's
 * fields (the customer's message), so that is all it holds: one readable line with the
 * reason and what to do (n8n 2.8 accepts only `error`/`message` keys there, and `message`
 * would hide the customer's text). With "Continue (using regular output)" it also carries
 * `details`, the customer and `noReply`, so a following Send WhatsApp sends nothing.
 * (`item.error` is not set: n8n would then replace the whole json with the message.)
 */
function errorItem(
	context: IExecuteFunctions,
	error: NodeApiError | NodeOperationError,
	input: INodeExecutionData,
	itemIndex: number,
): INodeExecutionData {
	const summary = error.description ? `${error.message} — ${error.description}` : error.message;
	const json: IDataObject = { error: summary };
	if (context.getNode().onError !== 'continueErrorOutput') {
		const details: IDataObject = {};
		if (error.description) details.description = error.description;
		if (error instanceof NodeApiError && error.httpCode) details.httpCode = error.httpCode;
		const item = (input.json ?? {}) as IDataObject;
		Object.assign(json, {
			...(Object.keys(details).length ? { details } : {}),
			phone_number: item.phone_number ?? null,
			phoneNumberId: item.phoneNumberId ?? null,
			replyTo: item.messageId ?? null,
			messages: [],
			noReply: true,
		});
	}
	return { json, pairedItem: { item: itemIndex } };
}
