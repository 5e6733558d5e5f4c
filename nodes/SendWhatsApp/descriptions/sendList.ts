import type { INodeProperties } from 'n8n-workflow';

const show = { show: { operation: ['sendList'] } };

export const sendListProperties: INodeProperties[] = [
	{
		displayName: 'Button Text',
		name: 'buttonText',
		type: 'string',
		default: 'Choose',
		required: true,
		description: 'The label of the button that opens the list, at most 20 characters',
		displayOptions: show,
	},
	{
		displayName: 'Rows',
		name: 'rows',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Row',
		description: 'Up to 10 choices. Rows with the same section title are grouped under it.',
		displayOptions: show,
		options: [
			{
				displayName: 'Row',
				name: 'row',
				values: [
					{
						displayName: 'Title',
						name: 'title',
						type: 'string',
						default: '',
						required: true,
						description: 'At most 24 characters',
					},
					{
						displayName: 'Description',
						name: 'description',
						type: 'string',
						default: '',
						description: 'Smaller text under the title, at most 72 characters',
					},
					{
						displayName: 'ID',
						name: 'id',
						type: 'string',
						default: '',
						description: 'What the trigger receives when the row is chosen. Leave empty to use the title.',
					},
					{
						displayName: 'Section Title',
						name: 'section',
						type: 'string',
						default: '',
						description: 'Groups rows under a heading (at most 24 characters); needed when there are several sections',
					},
				],
			},
		],
	},
];
