import type { INodeProperties } from 'n8n-workflow';

const show = { show: { operation: ['sendTemplate'] } };

export const sendTemplateProperties: INodeProperties[] = [
	{
		displayName: 'Template',
		name: 'templateName',
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		required: true,
		description:
			'An approved template. The list needs the WhatsApp Business Account ID in the credential; otherwise type the name shown in WhatsApp Manager → Message templates.',
		displayOptions: show,
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: 'searchTemplates', searchable: true },
			},
			{
				displayName: 'By Name',
				name: 'name',
				type: 'string',
				placeholder: 'order_update',
			},
		],
	},
	{
		displayName: 'Language Code',
		name: 'templateLanguage',
		type: 'string',
		default: 'en_US',
		required: true,
		placeholder: 'en_US',
		description: 'The language of the approved template (for example en, en_US, es, pt_BR); the list shows it next to each name',
		displayOptions: show,
	},
	{
		displayName: 'Body Variables',
		name: 'bodyParameters',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Variable',
		description: 'Values for the placeholders {{1}}, {{2}}… of the template body, in order',
		displayOptions: show,
		options: [
			{
				displayName: 'Variable',
				name: 'parameter',
				values: [
					{
						displayName: 'Text',
						name: 'text',
						type: 'string',
						default: '',
					},
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						description: 'Only for templates with named variables (for example first_name). Leave empty for {{1}}, {{2}}….',
					},
				],
			},
		],
	},
	{
		displayName: 'Components (JSON)',
		name: 'components',
		type: 'json',
		default: '[]',
		description:
			"Advanced: the template's components exactly as Meta's API takes them (header images, buttons, currency…). Body Variables are added as the body component unless this already has one.",
		displayOptions: show,
	},
];
