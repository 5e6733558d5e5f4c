import type { INodeProperties } from 'n8n-workflow';

export const sendButtonsProperties: INodeProperties[] = [
	{
		displayName: 'Buttons',
		name: 'buttons',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Button',
		description: 'One to three reply buttons. The customer\'s tap comes back to the trigger as a message.',
		displayOptions: { show: { operation: ['sendButtons'] } },
		options: [
			{
				displayName: 'Button',
				name: 'button',
				values: [
					{
						displayName: 'Title',
						name: 'title',
						type: 'string',
						default: '',
						required: true,
						description: 'The button label, at most 20 characters',
					},
					{
						displayName: 'ID',
						name: 'id',
						type: 'string',
						default: '',
						description: 'What the trigger receives when the button is tapped. Leave empty to use the title.',
					},
				],
			},
		],
	},
];
