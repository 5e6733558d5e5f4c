import {
	NodeConnectionTypes,
	VersionedNodeType,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeBaseDescription,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { externalAgentApiTest } from './credentialTest';
import { callExternalAgentProperties, callExternalAgentPropertiesV1 } from './description';
import { executeCallExternalAgent } from './execute';

const BASE: INodeTypeBaseDescription = {
	displayName: 'Call External Agent',
	name: 'callExternalAgent',
	icon: { light: 'file:../../icons/external-agent.svg', dark: 'file:../../icons/external-agent.dark.svg' },
	group: ['transform'],
	description:
		'Send each WhatsApp message to your own AI agent (LangChain, CrewAI, Flask, any HTTP endpoint) and get its reply ready for Send WhatsApp',
	defaultVersion: 1.1,
};

const SUBTITLE = '={{ $parameter["url"] ? "POST " + $parameter["url"] : "Set the agent URL" }}';

// n8n's lint reads icon, subtitle and usableAsTool from each class's own description.
const COMMON: Omit<INodeTypeDescription, 'version' | 'outputs' | 'properties' | 'icon' | 'subtitle' | 'usableAsTool'> = {
	...BASE,
	defaults: { name: 'Call External Agent' },
	inputs: [NodeConnectionTypes.Main],
};

/**
 * Version 1: one output. Kept as it was for saved workflows: with "On Error → Continue (using
 * error output)" n8n adds the error output after the node's own, so new outputs would move it.
 */
class CallExternalAgentV1 implements INodeType {
	description: INodeTypeDescription = {
		...COMMON,
		icon: { light: 'file:../../icons/external-agent.svg', dark: 'file:../../icons/external-agent.dark.svg' },
		subtitle: SUBTITLE,
		usableAsTool: true,
		version: 1,
		outputs: [NodeConnectionTypes.Main],
		// Optional: an agent without authentication needs no credential. Bearer token, custom
		// header and request signing all come from it.
		credentials: [{ name: 'externalAgentApi', required: false, testedBy: 'externalAgentApiTest' }],
		properties: callExternalAgentPropertiesV1,
	};

	methods = { credentialTest: { externalAgentApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const [reply] = await executeCallExternalAgent.call(this);
		return [reply];
	}
}

/** Version 1.1: conversations (SPEC §10), with the Handoff and Paused outputs. */
class CallExternalAgentV11 implements INodeType {
	description: INodeTypeDescription = {
		...COMMON,
		icon: { light: 'file:../../icons/external-agent.svg', dark: 'file:../../icons/external-agent.dark.svg' },
		subtitle: SUBTITLE,
		usableAsTool: true,
		version: 1.1,
		// Reply: what Send WhatsApp sends. Handoff: the agent asked for a human (wire an alert).
		// Paused: customer messages while a human has the conversation (wire a human inbox).
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Reply', 'Handoff', 'Paused'],
		credentials: [
			{ name: 'externalAgentApi', required: false, testedBy: 'externalAgentApiTest' },
			{ name: 'whatsAppConversationsApi', required: true, displayOptions: { show: { conversations: [true] } } },
		],
		properties: callExternalAgentProperties,
	};

	methods = { credentialTest: { externalAgentApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await executeCallExternalAgent.call(this);
	}
}

export class CallExternalAgent extends VersionedNodeType {
	constructor() {
		super({ 1: new CallExternalAgentV1(), 1.1: new CallExternalAgentV11() }, BASE);
	}
}
