/**
 * Runs our node classes with n8n's real execution contexts (n8n-core's ExecuteContext,
 * WebhookContext, HookContext), so `this.helpers.httpRequest(WithAuthentication)`,
 * getNodeParameter, binary helpers and error classes are n8n's own code. Only the parts
 * that need a running n8n (the credential store, the webhook server) are stood in for:
 * credentials come from the test, and webhooks are served by express on loopback, feeding
 * the node what n8n feeds it (raw body Buffer, parsed body, headers, query).
 */
import { createHash } from 'crypto';
import express, { type Request, type Response } from 'express';
import type { AddressInfo } from 'net';
import type { Server } from 'http';
import { DataDeduplicationService, ExecuteContext, HookContext, LoadOptionsContext, WebhookContext } from 'n8n-core';
import {
	NodeHelpers,
	Workflow,
	createRunExecutionData,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type IDataDeduplicator,
	type IDataObject,
	type IHttpRequestOptions,
	type INode,
	type INodeExecutionData,
	type INodeListSearchResult,
	type INodeParameters,
	type INodeType,
	type IVersionedNodeType,
	type IWebhookData,
	type IWebhookDescription,
	type IWebhookResponseData,
	type IWorkflowExecuteAdditionalData,
	type WorkflowActivateMode,
	type WorkflowExecuteMode,
} from 'n8n-workflow';

import { ExternalAgentApi } from '../../credentials/ExternalAgentApi.credentials';
import { WhatsAppCloudApi } from '../../credentials/WhatsAppCloudApi.credentials';
import { WhatsAppConversationsApi } from '../../credentials/WhatsAppConversationsApi.credentials';
import { WhatsAppWebhookApi } from '../../credentials/WhatsAppWebhookApi.credentials';

const CREDENTIAL_TYPES: Record<string, ICredentialType> = Object.fromEntries(
	[new WhatsAppCloudApi(), new WhatsAppWebhookApi(), new ExternalAgentApi(), new WhatsAppConversationsApi()].map((type) => [type.name, type]),
);

export type CredentialsByType = Record<string, ICredentialDataDecryptedObject>;

export interface NodeSetup {
	/** A node class, or a versioned one (then `version`, default its default version, picks the class). */
	nodeType: INodeType | IVersionedNodeType;
	/** The node's typeVersion (default: the newest of the class, or the versioned node's default). */
	version?: number;
	parameters?: INodeParameters;
	credentials?: CredentialsByType;
	/** n8n's "Settings → On Error → Continue" */
	continueOnFail?: boolean;
	/** n8n's "Settings → On Error" choice when continuing (default: regular output). */
	onError?: 'continueRegularOutput' | 'continueErrorOutput';
	nodeName?: string;
	webhookId?: string;
	executionId?: string;
	/** Fixed credential ids by type (default: derived from the credential's contents). */
	credentialIds?: Record<string, string>;
	/** Called each time the node reads (decrypts) a credential, with its type. */
	onCredentialRead?: (type: string) => void;
	/** Workflow static data, shared across calls made with the same `NodeSetup` object. */
	staticData?: IDataObject;
	/** The workflow runs on n8n's legacy execution order (v0: settings without `executionOrder`). */
	legacyExecutionOrder?: boolean;
}

/** Applies credential defaults (as n8n's credential form would) then the credential's own `authenticate`. */
function credentialsHelper(credentials: CredentialsByType, onRead?: (type: string) => void) {
	const withDefaults = (type: string): ICredentialDataDecryptedObject => {
		const data = credentials[type];
		if (!data) throw new Error(`The test gave no credentials of type "${type}"`);
		const definition = CREDENTIAL_TYPES[type];
		const defaults = Object.fromEntries(
			(definition?.properties ?? []).map((property) => [property.name, property.default]),
		) as ICredentialDataDecryptedObject;
		return { ...defaults, ...data };
	};
	return {
		getParentTypes: () => [],
		isCredentialUsableByNode: () => true,
		getDecrypted: async (_additionalData: unknown, nodeCredentials: { name?: string }, type: string) => {
			onRead?.(type);
			return withDefaults(type);
		},
		preAuthentication: async () => undefined,
		authenticate: async (
			data: ICredentialDataDecryptedObject,
			type: string,
			requestOptions: IHttpRequestOptions,
		): Promise<IHttpRequestOptions> => {
			const authenticate = CREDENTIAL_TYPES[type]?.authenticate;
			if (typeof authenticate === 'function') return authenticate(data, requestOptions);
			if (authenticate) throw new Error(`The harness supports only function authenticate (credential ${type})`);
			return requestOptions;
		},
	};
}

/** The node class that runs: for a versioned node, the one of `setup.version`. */
export function typeOf(setup: NodeSetup): INodeType {
	const { nodeType } = setup;
	return 'nodeVersions' in nodeType ? nodeType.getNodeType(setup.version) : nodeType;
}

function buildWorkflow(setup: NodeSetup): { workflow: Workflow; node: INode } {
	const nodeType = typeOf(setup);
	const description = nodeType.description;
	const version = setup.version ?? (Array.isArray(description.version) ? Math.max(...description.version) : description.version);
	const nodeBase = {
		id: 'node-under-test',
		name: setup.nodeName ?? description.defaults.name ?? description.displayName,
		type: `n8n-nodes-whatsapp-agent.${description.name}`,
		typeVersion: version,
		position: [0, 0] as [number, number],
		webhookId: setup.webhookId ?? 'test-webhook-id',
	};
	const parameters = NodeHelpers.getNodeParameters(
		description.properties,
		setup.parameters ?? {},
		true,
		false,
		nodeBase,
		description,
	) as INodeParameters;
	const node: INode = {
		...nodeBase,
		parameters,
		credentials: Object.fromEntries(
			// As in n8n, other credential contents are another credential (another id): nodes may
			// cache a credential by id.
			Object.entries(setup.credentials ?? {}).map(([type, data]) => [
				type,
				{ id: setup.credentialIds?.[type] ?? `cred-${type}-${createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 12)}`, name: type },
			]),
		),
		...(setup.continueOnFail ? { onError: setup.onError ?? ('continueRegularOutput' as const), continueOnFail: true } : {}),
	};
	const nodeTypes = {
		getByName: () => setup.nodeType,
		getByNameAndVersion: () => nodeType,
		getKnownTypes: () => ({}),
	};
	setup.staticData ??= {};
	const workflow = new Workflow({
		id: 'test-workflow',
		name: 'test',
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes: nodeTypes as never,
		staticData: setup.staticData,
		// What n8n gives every new workflow (and the template has); `legacyExecutionOrder` tests v0.
		settings: setup.legacyExecutionOrder ? {} : { executionOrder: 'v1' },
	});
	return { workflow, node };
}

function additionalData(setup: NodeSetup, extra: Partial<IWorkflowExecuteAdditionalData> = {}) {
	return {
		credentialsHelper: credentialsHelper(setup.credentials ?? {}, setup.onCredentialRead),
		executionId: setup.executionId ?? 'test-execution',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		...extra,
	} as unknown as IWorkflowExecuteAdditionalData;
}

let processedDataTarget: IDataDeduplicator | undefined;

/**
 * Gives n8n-core's processed-data service (what `this.helpers.checkProcessedAndRecord` and
 * friends call) a store: in n8n the cli gives it one on n8n's database; tests give the
 * model in test/fakes/processed-data-store.ts.
 */
export async function useProcessedDataStore(store: IDataDeduplicator): Promise<void> {
	if (processedDataTarget === undefined) {
		const target = (): IDataDeduplicator => {
			if (!processedDataTarget) throw new Error('no processed-data store');
			return processedDataTarget;
		};
		await DataDeduplicationService.init({
			checkProcessedAndRecord: async (...args) => await target().checkProcessedAndRecord(...args),
			removeProcessed: async (...args) => await target().removeProcessed(...args),
			clearAllProcessedItems: async (...args) => await target().clearAllProcessedItems(...args),
			getProcessedDataCount: async (...args) => await target().getProcessedDataCount(...args),
		});
	}
	processedDataTarget = store;
}

/** Routes what a context logs through n8n's logger into `logs`. */
export function captureLogs(context: object, logs: Array<{ level: string; message: string }>): void {
	const capture = (level: string) => (message: string) => logs.push({ level, message: String(message) });
	Object.defineProperty(context, 'logger', {
		value: { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') },
	});
}

/**
 * n8n's ExecuteContext for the node over `inputs` (one list per input; a webhook node's run
 * starts with what its webhook() emitted, one list per output). `connectionInputData` is the
 * first non-empty list, as n8n's execution order v1 picks it.
 */
export function executeContextFor(
	setup: NodeSetup,
	inputs: INodeExecutionData[][],
	mode: WorkflowExecuteMode = 'manual',
): ExecuteContext {
	const { workflow, node } = buildWorkflow(setup);
	const connectionInput = inputs.find((list) => list.length > 0) ?? inputs[0] ?? [];
	return new ExecuteContext(
		workflow,
		node,
		additionalData(setup),
		mode,
		createRunExecutionData({}),
		0,
		connectionInput,
		{ main: inputs },
		{ node, data: { main: inputs }, source: null },
		[],
	);
}

/** Runs `execute()` once over `input`, as n8n does for one node in a workflow run. */
export async function runNode(
	setup: NodeSetup,
	input: INodeExecutionData[] = [{ json: {} }],
	mode: WorkflowExecuteMode = 'manual',
): Promise<INodeExecutionData[][]> {
	return await runNodeOnInputs(setup, [input], mode);
}

/** Runs `execute()` once over several inputs (a webhook node: what its webhook() emitted). */
export async function runNodeOnInputs(
	setup: NodeSetup,
	inputs: INodeExecutionData[][],
	mode: WorkflowExecuteMode = 'manual',
	logs?: Array<{ level: string; message: string }>,
): Promise<INodeExecutionData[][]> {
	const nodeType = typeOf(setup);
	if (!nodeType.execute) throw new Error('This node has no execute()');
	const context = executeContextFor(setup, inputs, mode);
	if (logs) captureLogs(context, logs);
	const output = await nodeType.execute.call(context);
	return output as INodeExecutionData[][];
}

/** Calls `methods.listSearch.<method>` with n8n's LoadOptionsContext, as the editor does for a "From List" field. */
export async function runListSearch(
	setup: NodeSetup,
	method: string,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const search = typeOf(setup).methods?.listSearch?.[method];
	if (!search) throw new Error(`No methods.listSearch.${method}`);
	const { workflow, node } = buildWorkflow(setup);
	const context = new LoadOptionsContext(workflow, node, additionalData(setup), 'parameters');
	return search.call(context, filter, paginationToken);
}

export type LifecycleMethod = 'checkExists' | 'create' | 'delete';

export interface WebhookMethodOptions {
	/** n8n's production webhook base (`<n8n>/webhook`): what getNodeWebhookUrl uses unless `isTest`. */
	webhookBaseUrl?: string;
	/** n8n's test webhook base (`<n8n>/webhook-test`): what getNodeWebhookUrl uses when `isTest`. */
	webhookTestBaseUrl?: string;
	webhookName?: 'default' | 'setup';
	/** Default 'trigger' (activation). n8n uses 'manual' for "Listen for test event", 'internal' for every delete. */
	mode?: WorkflowExecuteMode;
	/** Default 'activate'. n8n uses 'manual' for "Listen for test event", 'update' for every delete. */
	activation?: WorkflowActivateMode;
	/** The webhook is a test webhook ("Listen for test event"): getNodeWebhookUrl answers the test URL. */
	isTest?: boolean;
	/** When given, what the method logs through n8n's logger is pushed here. */
	logs?: Array<{ level: string; message: string }>;
}

/** Calls `webhookMethods.<name>.<method>` with n8n's HookContext, as n8n does on (de)activation. */
export async function runWebhookMethod(
	setup: NodeSetup,
	method: LifecycleMethod,
	options: WebhookMethodOptions = {},
): Promise<boolean> {
	const { workflow, node } = buildWorkflow(setup);
	const name = options.webhookName ?? 'default';
	const description = typeOf(setup).description.webhooks?.find((webhook) => webhook.name === name);
	if (!description) throw new Error(`No webhook named ${name}`);
	const webhookData = {
		httpMethod: description.httpMethod,
		node: node.name,
		path: String(description.path),
		webhookDescription: description,
		workflowId: workflow.id,
		webhookId: node.webhookId,
		...(options.isTest ? { isTest: true } : {}),
	} as unknown as IWebhookData;
	const context = new HookContext(
		workflow,
		node,
		additionalData(setup, {
			...(options.webhookBaseUrl ? { webhookBaseUrl: options.webhookBaseUrl } : {}),
			...(options.webhookTestBaseUrl ? { webhookTestBaseUrl: options.webhookTestBaseUrl } : {}),
		}),
		options.mode ?? 'trigger',
		options.activation ?? 'activate',
		webhookData,
	);
	if (options.logs) captureLogs(context, options.logs);
	const fn = typeOf(setup).webhookMethods?.[name]?.[method];
	if (!fn) throw new Error(`No webhookMethods.${name}.${method}`);
	return (await fn.call(context)) as boolean;
}

export interface EmittedRun {
	path: string;
	method: string;
	webhookName: string;
	workflowData: INodeExecutionData[][];
}

export interface WebhookServer {
	/** `http://127.0.0.1:<port>/webhook/<webhookId>` */
	baseUrl: string;
	url(path: string): string;
	/** `http://127.0.0.1:<port>/webhook-test/<webhookId>/<path>`: the same webhooks as n8n's test URLs. */
	testUrl(path: string): string;
	/** `http://127.0.0.1:<port>/webhook` and `…/webhook-test`: runWebhookMethod's bases for this server. */
	webhookBaseUrl: string;
	webhookTestBaseUrl: string;
	/** Every workflow run the node started, in order. */
	runs: EmittedRun[];
	/** What the node logged through n8n's logger (level and message). */
	logs: Array<{ level: string; message: string }>;
	close(): Promise<void>;
}

/**
 * Serves a trigger's webhooks the way n8n's webhook server does: `/webhook/<webhookId>/<path>`
 * (and the same under `/webhook-test/`, with the test URLs, as n8n does while "Listen for test
 * event" runs), `rawBody` as a Buffer, JSON parsed (a body that does not parse as JSON is answered 422 before
 * the node runs, as n8n does), then `webhook()` with a real WebhookContext.
 */
export async function startWebhookServer(setup: NodeSetup): Promise<WebhookServer> {
	const nodeType = typeOf(setup);
	const webhooks = (nodeType.description.webhooks ?? []) as IWebhookDescription[];
	const runs: EmittedRun[] = [];
	const logs: Array<{ level: string; message: string }> = [];
	const webhookId = setup.webhookId ?? 'test-webhook-id';
	const app = express();
	let baseUrl = '';

	app.use(express.raw({ type: () => true, limit: '16mb' }));

	app.all(/.*/, async (req: Request, res: Response) => {
		const productionPrefix = `/webhook/${webhookId}/`;
		const testPrefix = `/webhook-test/${webhookId}/`;
		const isTest = req.path.startsWith(testPrefix);
		if (!isTest && !req.path.startsWith(productionPrefix)) {
			res.status(404).json({ message: 'not registered' });
			return;
		}
		const path = req.path.slice((isTest ? testPrefix : productionPrefix).length);
		const description = webhooks.find(
			(webhook) => String(webhook.path) === path && webhook.httpMethod === req.method,
		);
		if (!description) {
			res.status(404).json({ message: `The requested webhook "${req.method} ${path}" is not registered.` });
			return;
		}
		const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
		(req as unknown as { rawBody: Buffer }).rawBody = raw;
		(req as unknown as { readRawBody: () => Promise<void> }).readRawBody = async () => undefined;
		const contentType = String(req.headers['content-type'] ?? '');
		let parsed: unknown = {};
		if (raw.length > 0) {
			if (contentType.includes('json')) {
				try {
					parsed = JSON.parse(raw.toString('utf8'));
				} catch {
					res.status(422).json({ message: 'Failed to parse request body' });
					return;
				}
			} else {
				parsed = raw.toString('utf8');
			}
		}
		Object.defineProperty(req, 'body', { value: parsed, writable: true, configurable: true });

		const { workflow, node } = buildWorkflow(setup);
		const webhookData = {
			httpMethod: description.httpMethod,
			node: node.name,
			path,
			webhookDescription: description,
			workflowId: workflow.id,
			webhookId,
			...(isTest ? { isTest: true } : {}),
		} as unknown as IWebhookData;
		const context = new WebhookContext(
			workflow,
			node,
			additionalData(setup, {
				httpRequest: req,
				httpResponse: res,
				webhookBaseUrl: `${baseUrl}/webhook`,
				webhookTestBaseUrl: `${baseUrl}/webhook-test`,
			} as Partial<IWorkflowExecuteAdditionalData>),
			'webhook',
			webhookData,
			[],
			null,
		);
		captureLogs(context, logs);
		let result: IWebhookResponseData;
		try {
			result = await nodeType.webhook!.call(context);
		} catch (error) {
			logs.push({ level: 'error', message: (error as Error).message });
			if (!res.headersSent) res.status(500).json({ message: 'Error in workflow' });
			return;
		}
		if (result.workflowData) {
			runs.push({ path, method: req.method, webhookName: description.name, workflowData: result.workflowData });
		}
		if (result.noWebhookResponse) {
			if (!res.headersSent) res.status(500).json({ message: 'node set noWebhookResponse but sent nothing' });
			return;
		}
		if (result.webhookResponse !== undefined) {
			res.status(200).send(result.webhookResponse);
			return;
		}
		res.status(200).json(result.workflowData ? { message: 'Workflow was started' } : { message: 'Webhook call received' });
	});

	const server: Server = await new Promise((resolve) => {
		const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
	});
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	const hookBase = `${baseUrl}/webhook/${webhookId}`;
	return {
		baseUrl: hookBase,
		url: (path) => `${hookBase}/${path}`,
		testUrl: (path) => `${baseUrl}/webhook-test/${webhookId}/${path}`,
		webhookBaseUrl: `${baseUrl}/webhook`,
		webhookTestBaseUrl: `${baseUrl}/webhook-test`,
		runs,
		logs,
		close: () => new Promise((resolve) => server.close(() => resolve())),
	};
}
