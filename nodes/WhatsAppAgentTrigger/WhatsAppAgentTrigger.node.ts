import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { whatsAppWebhookApiTest } from './credentialTest';
import { triggerProperties } from './description';
import { executeTrigger } from './execute';
import { handleEvents } from './handlers/events';
import { handleMediaProxy } from './handlers/mediaProxy';
import { handleReplyCallback } from './handlers/replyCallback';
import { handleVerification } from './handlers/verification';
import { respondJson } from './request';
import { webhookLifecycle } from './webhookLifecycle';

/**
 * Receives WhatsApp messages from Meta's Cloud API webhooks (verified, normalized, deduplicated),
 * delivery statuses, and replies that an external agent posts later to its reply_callback link.
 *
 * Four endpoints under one webhook id (n8n names webhooks only `default` and `setup`, so
 * `webhook()` tells them apart by name and method):
 *   POST webhook (default)  Meta's events             GET webhook (setup)  Meta's verification
 *   POST reply   (setup)    agent reply callbacks     GET media   (default) signed media links
 * Every answer is written here (`noWebhookResponse: true`), so each case gets its own status.
 *
 * `execute` is the first step of every run the webhook starts (n8n runs a webhook node's
 * `execute` with what `webhook()` emitted): there duplicates are dropped across every n8n
 * process, through n8n's database (see execute.ts).
 */
export class WhatsAppAgentTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Agent Trigger',
		name: 'whatsAppAgentTrigger',
		icon: { light: 'file:../../icons/whatsapp-agent.svg', dark: 'file:../../icons/whatsapp-agent.dark.svg' },
		group: ['trigger'],
		// 1.1 behaves exactly as 1. n8n evaluates an expression (`$parameter.options.binaryData`,
		// a sandbox with a lazy expression engine) before every request to a version-1 trigger.
		version: [1, 1.1],
		defaultVersion: 1.1,
		subtitle: '={{ $parameter["webhookSetup"] === "manual" ? "Manual setup" : "Automatic setup" }}',
		description:
			'Starts the workflow when a WhatsApp message or delivery status arrives from Meta, or when your agent posts a later reply',
		defaults: { name: 'WhatsApp Agent Trigger' },
		triggerPanel: {
			header: 'Waiting for a WhatsApp message',
			executionsHelp: {
				inactive:
					'Click "Listen for test event", then send a WhatsApp message to your number: it appears here. Publish the workflow to answer every message automatically.',
				active:
					'This workflow is published: every WhatsApp message to your number runs it. Find them under Executions.',
			},
			activationHint: 'Publish the workflow to answer every WhatsApp message automatically.',
		},
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		// The first three are fixed (SPEC §3); Conversation Events only emits with its option on.
		outputNames: ['Messages', 'Statuses', 'Agent Callbacks', 'Conversation Events'],
		credentials: [
			{ name: 'whatsAppWebhookApi', required: true, testedBy: 'whatsAppWebhookApiTest' },
			{ name: 'whatsAppCloudApi', required: false },
		],
		// Order matters: n8n registers webhooks in this order and runs each `default` one's
		// lifecycle right after registering it, and Meta's verification GET arrives during an
		// automatic setup's create, so the GET comes first. The first `default` webhook is the
		// events POST: getNodeWebhookUrl('default') is the Callback URL (…/webhook).
		webhooks: [
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'webhook' },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' },
			{ name: 'setup', httpMethod: 'POST', responseMode: 'onReceived', path: 'reply', ndvHideUrl: true },
			{ name: 'default', httpMethod: 'GET', responseMode: 'onReceived', path: 'media', ndvHideUrl: true },
		],
		properties: triggerProperties,
	};

	methods = {
		credentialTest: { whatsAppWebhookApiTest },
	};

	webhookMethods = {
		default: webhookLifecycle,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await executeTrigger(this);
	}

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const name = this.getWebhookName();
		const method = this.getRequestObject().method;
		if (name === 'default' && method === 'POST') return await handleEvents(this);
		if (name === 'setup' && method === 'GET') return await handleVerification(this);
		if (name === 'setup' && method === 'POST') return await handleReplyCallback(this);
		if (name === 'default' && method === 'GET') return await handleMediaProxy(this);
		respondJson(this, 405, { error: `${method} is not supported here` });
		return { noWebhookResponse: true };
	}
}
