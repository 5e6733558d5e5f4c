import type { INodeProperties } from 'n8n-workflow';

import { SEND_OPERATIONS } from './operation';

/** Whether what this node sends joins the conversation kept by Call External Agent (SPEC §10). */
export const recordInConversationProperties: INodeProperties[] = [
	{
		displayName: 'Record in Conversation',
		name: 'recordInConversation',
		type: 'options',
		default: 'no',
		options: [
			{ name: 'No', value: 'no', description: 'Nothing is recorded' },
			{
				name: "As the Agent's Reply",
				value: 'agent',
				description: "The messages sent join the conversation's history as the agent's (for replies to reply_callback)",
			},
			{
				name: 'Sent by a Human (Pause the Bot)',
				value: 'human',
				description: "The messages join the history as a human's, and the bot stays out of the conversation for a while",
			},
		],
		description:
			'Whether the conversations kept by Call External Agent (Remember Conversations) should know about what this node sends. Needs the same WhatsApp Conversations credential.',
		displayOptions: { show: { operation: SEND_OPERATIONS } },
	},
	{
		displayName: 'Pause the Bot for (Minutes)',
		name: 'humanPauseMinutes',
		type: 'number',
		typeOptions: { minValue: 0.01 },
		default: 60,
		description: 'How long the bot stays out of the conversation after this message. Resume it earlier with the WhatsApp Conversation node.',
		displayOptions: { show: { operation: SEND_OPERATIONS, recordInConversation: ['human'] } },
	},
];
