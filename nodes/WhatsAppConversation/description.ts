import type { INodeProperties } from 'n8n-workflow';

/** Operation values are stored in saved workflows: never rename them. */
export const CONVERSATION_OPERATIONS = ['erase', 'get', 'pause', 'resume'] as const;
export type ConversationOperation = (typeof CONVERSATION_OPERATIONS)[number];

export const whatsAppConversationProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'get',
		options: [
			{
				name: 'Erase',
				value: 'erase',
				action: 'Erase a conversation',
				description: 'Delete everything kept about the conversation (history, pauses): for a customer who asks you to forget them',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get a conversation',
				description: 'Whether the bot is paused for this customer, and the latest messages of both sides',
			},
			{
				name: 'Pause Bot',
				value: 'pause',
				action: 'Pause the bot for a customer',
				description: 'Keep the bot out of the conversation for a while: a human has it. Their messages go out on Call External Agent\'s Paused output.',
			},
			{
				name: 'Resume Bot',
				value: 'resume',
				action: 'Resume the bot for a customer',
				description: 'Hand the conversation back to the bot now',
			},
		],
	},
	{
		displayName: 'Customer',
		name: 'customer',
		type: 'string',
		default: '',
		placeholder: 'Empty: the phone_number of the incoming item (or +1 650 555 1234)',
		description:
			"The customer's phone number with its country code, or their WhatsApp user ID. Leave empty to use the phone_number field of the incoming item (as the WhatsApp nodes output it).",
	},
	{
		displayName: 'Business Phone Number ID',
		name: 'phoneNumberId',
		type: 'string',
		default: '',
		placeholder: 'Empty: the phoneNumberId of the incoming item',
		description:
			"The ID of your WhatsApp business number (Meta app → WhatsApp → API Setup). Leave empty to use the phoneNumberId field of the incoming item.",
	},
	{
		displayName: 'Pause for (Minutes)',
		name: 'minutes',
		type: 'number',
		typeOptions: { minValue: 0.01 },
		default: 60,
		displayOptions: { show: { operation: ['pause'] } },
		description: 'How long the bot stays out of the conversation',
	},
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'string',
		default: '',
		displayOptions: { show: { operation: ['pause', 'resume'] } },
		description: 'Optional: kept with the pause or resume, shown by Get',
	},
	{
		displayName: 'Messages to Return',
		name: 'historyTurns',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 20,
		displayOptions: { show: { operation: ['get'] } },
		description: 'How many of the latest messages (both sides) to return, oldest first',
	},
];
