import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { whatsAppConversationProperties } from './description';
import { executeWhatsAppConversation } from './execute';

export class WhatsAppConversation implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Conversation',
		name: 'whatsAppConversation',
		icon: { light: 'file:../../icons/whatsapp-agent.svg', dark: 'file:../../icons/whatsapp-agent.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ {"erase": "Erase", "get": "Get", "pause": "Pause Bot", "resume": "Resume Bot"}[$parameter["operation"]] }}',
		description:
			'Read or change the conversations Call External Agent remembers: pause or resume the bot for a customer, read their history, erase it',
		defaults: { name: 'WhatsApp Conversation' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'whatsAppConversationsApi', required: true }],
		properties: whatsAppConversationProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeWhatsAppConversation.call(this);
	}
}
