import type { INodeProperties } from 'n8n-workflow';

/** Operation values are stored in saved workflows: never rename them. */
export const OPERATIONS = [
	'markAsRead',
	'sendAgentReply',
	'sendButtons',
	'sendContact',
	'sendList',
	'sendLocation',
	'sendMedia',
	'sendReaction',
	'sendTemplate',
	'sendText',
] as const;

export type Operation = (typeof OPERATIONS)[number];

/** Every operation that sends WhatsApp messages (all but Mark as Read). */
export const SEND_OPERATIONS: Operation[] = OPERATIONS.filter((operation) => operation !== 'markAsRead');

export const operationProperty: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	options: [
		{
			name: 'Mark as Read',
			value: 'markAsRead',
			action: 'Mark a message as read',
			description: "Show the customer's message as read (blue ticks), optionally with a typing indicator",
		},
		{
			name: 'Send Agent Reply',
			value: 'sendAgentReply',
			action: 'Send an agent reply',
			description: 'Send the messages an agent produced (the "messages" field of each item), in order',
		},
		{
			name: 'Send Buttons',
			value: 'sendButtons',
			action: 'Send buttons',
			description: 'Send a message with up to 3 reply buttons',
		},
		{
			name: 'Send Contact',
			value: 'sendContact',
			action: 'Send a contact card',
			description: 'Send one or more contact cards',
		},
		{
			name: 'Send List',
			value: 'sendList',
			action: 'Send a list',
			description: 'Send a message with a menu of up to 10 choices',
		},
		{
			name: 'Send Location',
			value: 'sendLocation',
			action: 'Send a location',
			description: 'Send a pin on the map',
		},
		{
			name: 'Send Media',
			value: 'sendMedia',
			action: 'Send media',
			description: 'Send an image, video, audio, document or sticker from a URL, a media ID or binary data',
		},
		{
			name: 'Send Reaction',
			value: 'sendReaction',
			action: 'React to a message',
			description: 'React to a message with an emoji',
		},
		{
			name: 'Send Template',
			value: 'sendTemplate',
			action: 'Send a template',
			description: 'Send an approved template (the only kind of message allowed 24 hours after the customer last wrote)',
		},
		{
			name: 'Send Text',
			value: 'sendText',
			action: 'Send a text message',
			description: 'Send a text message; long text is split into several messages',
		},
	],
	default: 'sendAgentReply',
};
