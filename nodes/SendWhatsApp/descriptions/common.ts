import type { INodeProperties } from 'n8n-workflow';

import { SEND_OPERATIONS, type Operation } from './operation';

const TEXT_OPERATIONS: Operation[] = ['sendAgentReply', 'sendText', 'sendMedia'];
const FORMATTED_OPERATIONS: Operation[] = ['sendAgentReply', 'sendText', 'sendMedia', 'sendButtons', 'sendList'];
const THREADED_OPERATIONS: Operation[] = SEND_OPERATIONS.filter((operation) => operation !== 'sendReaction');

export const toProperty: INodeProperties = {
	displayName: 'To',
	name: 'to',
	type: 'string',
	default: '',
	placeholder: 'Empty: the customer who wrote (or +1 650 555 1234)',
	description:
		"The customer's phone number with its country code (or their WhatsApp user ID). Leave empty to use the phone_number field of the incoming item, as the WhatsApp Agent Trigger and Call External Agent provide it.",
	displayOptions: { show: { operation: SEND_OPERATIONS } },
};

export const optionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Convert Markdown',
			name: 'convertMarkdown',
			type: 'boolean',
			default: true,
			description:
				'Whether to turn markdown from agents into WhatsApp formatting (**bold** → *bold*, # Title → *Title*, [text](link) → text (link), ~~struck~~ → ~struck~)',
			displayOptions: { show: { '/operation': FORMATTED_OPERATIONS } },
		},
		{
			displayName: 'Link Preview',
			name: 'linkPreview',
			type: 'boolean',
			default: false,
			description: 'Whether WhatsApp shows a preview of the first link in a text message',
			displayOptions: { show: { '/operation': TEXT_OPERATIONS } },
		},
		{
			displayName: 'Max Retries',
			name: 'maxRetries',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 10 },
			default: 3,
			description:
				'How many times to try again when WhatsApp is busy or briefly unavailable (rate limits, server errors, network errors). Messages WhatsApp refuses (for example outside the 24-hour window) are never retried.',
		},
		{
			displayName: 'Number Long Messages',
			name: 'numbering',
			type: 'boolean',
			default: false,
			description: 'Whether to add (1/3), (2/3)… to each part of a text that had to be split',
			displayOptions: { show: { '/operation': TEXT_OPERATIONS } },
		},
		{
			displayName: 'Pause Between Messages (Ms)',
			name: 'pauseBetweenMessages',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description: 'Milliseconds to wait between two messages to the same customer, so a long reply reads naturally',
			displayOptions: { show: { '/operation': SEND_OPERATIONS } },
		},
		{
			displayName: 'Reply In Thread',
			name: 'replyInThread',
			type: 'boolean',
			default: false,
			description:
				"Whether to quote the customer's message above the first message sent (the incoming item's replyTo, or its messageId)",
			displayOptions: { show: { '/operation': THREADED_OPERATIONS } },
		},
		{
			displayName: 'Reply To Message ID',
			name: 'replyToMessageId',
			type: 'string',
			default: '',
			placeholder: 'wamid.HBgL…',
			description: 'The message to quote when Reply In Thread is on. Leave empty to use the incoming item\'s replyTo or messageId.',
			displayOptions: { show: { '/operation': THREADED_OPERATIONS } },
		},
		{
			displayName: 'Sender Phone Number ID',
			name: 'phoneNumberId',
			type: 'string',
			default: '',
			description:
				"The Phone Number ID to send from. Leave empty to use the incoming item's phoneNumberId (the number the customer wrote to), or else the one in the credential.",
		},
		{
			displayName: 'Text Limit',
			name: 'textLimit',
			type: 'number',
			typeOptions: { minValue: 32, maxValue: 4096 },
			default: 4096,
			description:
				"Longest text message in characters. Longer text is split at paragraphs, lines, sentences or words. WhatsApp's maximum is 4096; a lower value gives shorter messages.",
			displayOptions: { show: { '/operation': TEXT_OPERATIONS } },
		},
	],
};
