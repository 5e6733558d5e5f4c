import type { INodeProperties } from 'n8n-workflow';

export const sendAgentReplyProperties: INodeProperties[] = [
	{
		displayName:
			'Sends the "messages" list of each incoming item (as Call External Agent and the trigger\'s Agent Callbacks output provide it) to the item\'s phone_number, in order. Items with noReply or an empty list send nothing.',
		name: 'sendAgentReplyNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['sendAgentReply'] } },
	},
];
