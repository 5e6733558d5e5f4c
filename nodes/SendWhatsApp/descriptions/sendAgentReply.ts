import type { INodeProperties } from 'n8n-workflow';

export const sendAgentReplyProperties: INodeProperties[] = [
	{
		displayName:
			"Sends your agent's answer to the customer who wrote, in order (long texts split, markdown converted). Nothing is sent when the agent chose not to reply. Connect it after Call External Agent or the trigger's Agent Callbacks output.",
		name: 'sendAgentReplyNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['sendAgentReply'] } },
	},
];
