import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { sendWhatsAppProperties } from './descriptions';
import { executeSendWhatsApp } from './execute';
import { searchTemplates } from './listSearch/searchTemplates';

export class SendWhatsApp implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Send WhatsApp',
		name: 'sendWhatsApp',
		icon: { light: 'file:../../icons/whatsapp-agent.svg', dark: 'file:../../icons/whatsapp-agent.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ {"markAsRead": "Mark as Read", "sendAgentReply": "Send Agent Reply", "sendButtons": "Send Buttons", "sendContact": "Send Contact", "sendList": "Send List", "sendLocation": "Send Location", "sendMedia": "Send Media", "sendReaction": "Send Reaction", "sendTemplate": "Send Template", "sendText": "Send Text"}[$parameter["operation"]] }}',
		description:
			"Send WhatsApp messages through Meta's Cloud API: agent replies, text, media, buttons, lists, templates, reactions and read receipts",
		defaults: { name: 'Send WhatsApp' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'whatsAppCloudApi', required: true },
			{ name: 'whatsAppConversationsApi', required: true, displayOptions: { show: { recordInConversation: ['agent', 'human'] } } },
		],
		properties: sendWhatsAppProperties,
	};

	methods = {
		listSearch: { searchTemplates },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeSendWhatsApp.call(this);
	}
}
