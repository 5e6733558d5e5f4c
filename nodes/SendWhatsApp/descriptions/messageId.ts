import type { INodeProperties } from 'n8n-workflow';

/** The customer's message a reaction or a read receipt is about. */
export const messageIdProperty: INodeProperties = {
	displayName: 'Message ID',
	name: 'messageId',
	type: 'string',
	default: '',
	placeholder: "Empty: the customer's message that came in",
	description:
		"The WhatsApp message to react to or mark as read. Leave empty to use the messageId field of the incoming item (the customer's message from the WhatsApp Agent Trigger).",
	displayOptions: { show: { operation: ['sendReaction', 'markAsRead'] } },
};
