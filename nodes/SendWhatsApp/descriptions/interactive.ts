import type { INodeProperties } from 'n8n-workflow';

const show = { show: { operation: ['sendButtons', 'sendList'] } };

/** Body, header and footer shared by Send Buttons and Send List. */
export const interactiveProperties: INodeProperties[] = [
	{
		displayName: 'Body',
		name: 'body',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		required: true,
		description: 'The message text, at most 1024 characters',
		displayOptions: show,
	},
	{
		displayName: 'Header',
		name: 'header',
		type: 'string',
		default: '',
		description: 'Optional bold title above the text, at most 60 characters',
		displayOptions: show,
	},
	{
		displayName: 'Footer',
		name: 'footer',
		type: 'string',
		default: '',
		description: 'Optional small grey text below, at most 60 characters',
		displayOptions: show,
	},
];
