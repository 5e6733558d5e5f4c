import type { INodeProperties } from 'n8n-workflow';

export const markAsReadProperties: INodeProperties[] = [
	{
		displayName: 'Show Typing Indicator',
		name: 'typingIndicator',
		type: 'boolean',
		default: true,
		description:
			'Whether to also show "typing…" to the customer until the next message is sent (at most 25 seconds)',
		displayOptions: { show: { operation: ['markAsRead'] } },
	},
];
