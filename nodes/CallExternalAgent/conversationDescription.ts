import type { INodeProperties } from 'n8n-workflow';

export const DEFAULT_HISTORY_TURNS = 20;
// The numbers below are written out (n8n's lint wants literal defaults); they match
// DEFAULT_BURST_OPTIONS (core/conversation-bursts.ts) and DEFAULT_RETENTION (core/conversation-state.ts).

/** Conversations (SPEC §10): bursts, history and human takeover, kept in an n8n data table. */
export const conversationProperties: INodeProperties[] = [
	{
		displayName: 'Remember Conversations',
		name: 'conversations',
		type: 'boolean',
		default: false,
		description:
			'Whether to keep each conversation in a data table of this n8n: messages typed in quick succession reach the agent as one, the agent gets the earlier messages (history), and it can hand the customer over to a human',
	},
	{
		displayName:
			'Needs a "WhatsApp Conversations API" credential: an n8n API key, because community nodes may only reach data tables through n8n\'s API. The Handoff output gets an item when the agent asks for a human; the Paused output gets customer messages while a human has the conversation.',
		name: 'conversationsNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { conversations: [true] } },
	},
	{
		displayName: 'Conversation Options',
		name: 'conversationOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { conversations: [true] } },
		options: [
			{
				displayName: 'History Turns Sent to the Agent',
				name: 'historyTurns',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 20,
				description: 'How many earlier messages (both sides) the request carries in "history". 0 sends none.',
			},
			{
				displayName: 'Keep Messages for (Days)',
				name: 'keepDays',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30,
				description: 'Messages older than this are deleted from every conversation',
			},
			{
				displayName: 'Keep Messages per Conversation',
				name: 'keepMessages',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 200,
				description: 'Older messages of a conversation are deleted',
			},
			{
				displayName: 'Longest Wait (Seconds)',
				name: 'maxWaitSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 15,
				description: 'The agent is called at the latest this long after the first message of a burst, even if the customer keeps typing',
			},
			{
				displayName: 'Most Messages per Burst',
				name: 'maxMessages',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 10,
				description: 'The agent is called at once when this many messages are waiting',
			},
			{
				displayName: 'Pause After Handoff (Minutes)',
				name: 'pauseMinutes',
				type: 'number',
				typeOptions: { minValue: 0.01 },
				default: 60,
				description:
					'How long the bot stays out of a conversation after the agent handed it to a human, or a human answered. Resume it earlier with the WhatsApp Conversation node.',
			},
			{
				displayName: 'Quiet Time Before Answering (Seconds)',
				name: 'quietSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 3,
				description:
					'Messages that arrive less than this apart go to the agent as one call (their texts joined, each in "messages"). 0 answers every message on its own.',
			},
		],
	},
];
