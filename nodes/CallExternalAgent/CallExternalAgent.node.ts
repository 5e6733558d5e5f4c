import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { externalAgentApiTest } from './credentialTest';
import { callExternalAgentProperties } from './description';
import { executeCallExternalAgent } from './execute';

export class CallExternalAgent implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Call External Agent',
		name: 'callExternalAgent',
		icon: { light: 'file:../../icons/external-agent.svg', dark: 'file:../../icons/external-agent.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["url"] ? "POST " + $parameter["url"] : "Set the agent URL" }}',
		description:
			'Send each WhatsApp message to your own AI agent (LangChain, CrewAI, Flask, any HTTP endpoint) and get its reply ready for Send WhatsApp',
		defaults: { name: 'Call External Agent' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Reply: what Send WhatsApp sends. Handoff: the agent asked for a human (wire an alert).
		// Paused: customer messages while a human has the conversation (wire a human inbox).
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Reply', 'Handoff', 'Paused'],
		// Optional: an agent without authentication needs no credential. Bearer token, custom
		// header and request signing all come from it.
		credentials: [
			{ name: 'externalAgentApi', required: false, testedBy: 'externalAgentApiTest' },
			{ name: 'whatsAppConversationsApi', required: true, displayOptions: { show: { conversations: [true] } } },
		],
		properties: callExternalAgentProperties,
	};

	methods = {
		credentialTest: { externalAgentApiTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeCallExternalAgent.call(this);
	}
}
