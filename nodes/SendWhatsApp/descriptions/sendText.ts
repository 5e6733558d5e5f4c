import type { INodeProperties } from 'n8n-workflow';

export const sendTextProperties: INodeProperties[] = [
	{
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		required: true,
		description: 'The message. Text longer than the text limit (4096 characters) is sent as several messages.',
		displayOptions: { show: { operation: ['sendText'] } },
	},
];
