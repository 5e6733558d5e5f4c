import type { INodeProperties } from 'n8n-workflow';

import { conversationProperties } from './conversationDescription';

export const DEFAULT_FALLBACK_MESSAGE = 'Sorry, something went wrong — please try again.';

export const ON_AGENT_ERROR = ['fail', 'fallback', 'continue'] as const;
export type OnAgentError = (typeof ON_AGENT_ERROR)[number];

/** Version 1's parameters: everything but conversations. */
export const callExternalAgentPropertiesV1: INodeProperties[] = [
	{
		displayName: 'Agent URL',
		name: 'url',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'https://my-agent.example.com/whatsapp',
		description:
			"Your agent's web address. For each customer message it receives a POST with message, image, phone_number and reply_callback (plus more details), and answers with the reply to send.",
	},
	{
		displayName:
			'Connect this node to the Messages output of the WhatsApp Agent Trigger (a Send WhatsApp "Mark as Read" in between is fine), and its output to Send WhatsApp with "Send Agent Reply". Authentication and request signing come from the optional External Agent credential.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'On Agent Error',
		name: 'onAgentError',
		type: 'options',
		default: 'fail',
		options: [
			{
				name: 'Stop With an Error',
				value: 'fail',
				description:
					"The execution fails with the agent's status and the start of its answer. To handle it in your own branch, set Settings → On Error → Continue (using error output).",
			},
			{
				name: 'Send a Fallback Message',
				value: 'fallback',
				description: 'The customer gets the fallback message below; the error is kept in the output under agent.error',
			},
			{
				name: 'Continue Without Replying',
				value: 'continue',
				description: 'Nothing is sent to the customer; the error is kept in the output under agent.error',
			},
		],
		description:
			'What to do when the agent cannot be reached, answers with an error, times out, or answers something that cannot be sent',
	},
	{
		displayName: 'Fallback Message',
		name: 'fallbackMessage',
		type: 'string',
		typeOptions: { rows: 2 },
		default: DEFAULT_FALLBACK_MESSAGE,
		description: 'The text the customer gets when the agent fails',
		displayOptions: { show: { onAgentError: ['fallback'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Include Original WhatsApp Message',
				name: 'includeRaw',
				type: 'boolean',
				default: false,
				description: "Whether to add Meta's original message object to the request as raw",
			},
			{
				displayName: 'Retries',
				name: 'retries',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 10 },
				default: 2,
				description:
					'How many times to try again when the agent cannot be reached or answers with a server error (5xx). Answers such as 400 or 401 are never retried.',
			},
			{
				displayName: 'Retry On Timeout',
				name: 'retryOnTimeout',
				type: 'boolean',
				default: false,
				description:
					'Whether to try again when the agent does not answer in time. Off by default: the agent may still be working on the message and could answer twice.',
			},
			{
				displayName: 'Timeout (Seconds)',
				name: 'timeout',
				type: 'number',
				typeOptions: { minValue: 0.1 },
				default: 30,
				description: 'How long to wait for the agent to answer. A slow agent can answer at once and send its reply later to reply_callback.',
			},
			{
				displayName: 'Wait Before Retry (Seconds)',
				name: 'retryWait',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1,
				description: 'The wait before the first retry; it doubles for each further retry',
			},
		],
	},
];

/** Version 1.1: Remember Conversations before the options. */
export const callExternalAgentProperties: INodeProperties[] = [
	...callExternalAgentPropertiesV1.slice(0, -1),
	...conversationProperties,
	...callExternalAgentPropertiesV1.slice(-1),
];
