import type { INodeProperties } from 'n8n-workflow';

export const sendReactionProperties: INodeProperties[] = [
	{
		displayName: 'Emoji',
		name: 'emoji',
		type: 'string',
		default: '👍',
		description: 'One emoji. Leave empty to remove an earlier reaction.',
		displayOptions: { show: { operation: ['sendReaction'] } },
	},
];
