/**
 * What the user sees in the trigger's panel. Parameter names are relied on by the template
 * and the README: `webhookSetup` (fixed, SPEC §2), `automaticSetupNotice`,
 * `replaceOtherWebhook`, `setupNotice` and `options` (`downloadMedia`, `ignoreDuplicates`,
 * `mediaLinkLifetimeMinutes`, `phoneNumberIds`, `replyCallbackLifetimeHours`,
 * `skipSignatureCheck`, `statuses`).
 */
import type { INodeProperties } from 'n8n-workflow';

/** Values of the "Statuses to Emit" option; `error` is Meta's account/app-level errors. */
export const STATUS_CHOICES = ['delivered', 'error', 'failed', 'other', 'played', 'read', 'sent'] as const;
export type StatusChoice = (typeof STATUS_CHOICES)[number];

export const DEFAULT_REPLY_CALLBACK_HOURS = 24;
export const DEFAULT_MEDIA_LINK_MINUTES = 60;

/**
 * `automatic` is the default. The package has never been released, so no saved workflow
 * lacks this parameter; from the first release on, changing this default needs a new
 * typeVersion (n8n fills a missing value with the default, and the editor does not save
 * values equal to the default).
 */
export const webhookSetupProperty: INodeProperties = {
	displayName: 'Webhook Setup',
	name: 'webhookSetup',
	type: 'options',
	noDataExpression: true,
	options: [
		{
			name: 'Automatic (Recommended)',
			value: 'automatic',
			description:
				"On activation the trigger points this phone number's webhook at this workflow using Meta's webhook overrides: nothing to paste in Meta's dashboard",
		},
		{
			name: 'Manual',
			value: 'manual',
			description: "You paste this trigger's URL and verify token in Meta's dashboard yourself",
		},
	],
	default: 'automatic',
	description: "How Meta learns where to send this phone number's WhatsApp messages",
};

export const automaticSetupNotice: INodeProperties = {
	// n8n's notice box keeps only links and lists (<ul><li>), so the text is a short list.
	displayName:
		'Automatic setup: when you publish (activate) this workflow, Meta is told to send the WhatsApp messages of the phone number in the WhatsApp Cloud API credential here. Nothing to paste in Meta.' +
		'<ul>' +
		'<li>Needs an access token with the whatsapp_business_management permission, and n8n reachable over public https (set N8N_WEBHOOK_URL; on your own computer use a tunnel).</li>' +
		'<li>Unpublishing (deactivating) removes it again, if the number still points here.</li>' +
		'<li>"Listen for test event" uses the Test URL until the first event; it is refused while this workflow is published, so live messages are never taken away.</li>' +
		'<li>Several workflows can share one Meta app: one phone number (one Cloud API credential) each.</li>' +
		'</ul>',
	name: 'automaticSetupNotice',
	type: 'notice',
	default: '',
	displayOptions: { show: { webhookSetup: ['automatic'] } },
};

export const replaceOtherWebhookProperty: INodeProperties = {
	displayName: 'Replace Existing Webhook',
	name: 'replaceOtherWebhook',
	type: 'boolean',
	default: false,
	description:
		"Whether to take the phone number over when its messages already go to another address (another workflow, n8n or program). That address then stops receiving them, and it is not restored when this workflow is deactivated. Off: activation fails and names the address. This workflow's own production URL is never replaced by a test.",
	displayOptions: { show: { webhookSetup: ['automatic'] } },
};

export const setupNotice: INodeProperties = {
	displayName:
		'Manual setup: in your Meta app (developers.facebook.com → WhatsApp → Configuration → Webhook → Edit):' +
		'<ul>' +
		'<li>Callback URL: the Production URL above under "Webhook URLs" (ends in /webhook; Meta needs public https).</li>' +
		'<li>Verify token: the Verify Token of the WhatsApp Webhook credential. Publish (activate) this workflow, then click "Verify and save".</li>' +
		'<li>Webhook fields → Manage → subscribe to messages.</li>' +
		'<li>To use "Listen for test event", put the Test URL in Meta instead, and the Production URL back afterwards.</li>' +
		'</ul>',
	name: 'setupNotice',
	type: 'notice',
	default: '',
	displayOptions: { show: { webhookSetup: ['manual'] } },
};

export const optionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Conversation Events',
			name: 'conversationEvents',
			type: 'boolean',
			default: false,
			description:
				'Whether to emit, on the Conversation Events output, what a number shared with the WhatsApp Business app reports besides customer messages: replies a human typed in the app (field smb_message_echoes), Meta\'s history backfill (field history) and customers who changed their number. Connect that output to Call External Agent with Remember Conversations on: they are recorded and never answered.',
		},
		{
			displayName: 'Download Media',
			name: 'downloadMedia',
			type: 'boolean',
			default: false,
			description:
				"Whether to download photos, videos, voice notes, documents and stickers into the item's binary data (property \"data\"). Meta is answered first, so this never delays Meta, but the workflow starts only after the download. Needs the WhatsApp Cloud API credential.",
		},
		{
			displayName: 'Ignore Duplicate Deliveries',
			name: 'ignoreDuplicates',
			type: 'boolean',
			default: true,
			description:
				"Whether to skip a message or status that Meta delivers again (Meta retries when it does not get an answer in time). Messages are remembered in n8n's database (the workflow's last 10,000), so every n8n process skips them, also after a restart; statuses for 24 hours per n8n process.",
		},
		{
			displayName: 'Media Link Lifetime (Minutes)',
			name: 'mediaLinkLifetimeMinutes',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 10080 },
			default: DEFAULT_MEDIA_LINK_MINUTES,
			description:
				'How long the media links (the "image" field and the link inside "media") work. Anyone holding a link can download that file until then, without any password.',
		},
		{
			displayName: 'Only These Phone Number IDs',
			name: 'phoneNumberIds',
			type: 'string',
			default: '',
			placeholder: '106540352242922, 209876543210987',
			description:
				'Comma-separated Phone Number IDs (WhatsApp → API Setup in your Meta app). Only messages and statuses for these business numbers start the workflow. Empty: all numbers of the app.',
		},
		{
			displayName: 'Reply Callback Lifetime (Hours)',
			name: 'replyCallbackLifetimeHours',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 720 },
			default: DEFAULT_REPLY_CALLBACK_HOURS,
			description:
				'How long an agent may POST more replies to a message\'s "reply_callback" link. WhatsApp allows free-form replies for 24 hours after the customer\'s last message.',
		},
		{
			displayName: 'Skip Signature Check (Testing Only)',
			name: 'skipSignatureCheck',
			type: 'boolean',
			default: false,
			description:
				'Whether to accept messages that are not signed by Meta. Only for tests with hand-made requests: while it is on, anyone who knows the URL can send fake messages into this workflow. Never use it in production.',
		},
		{
			displayName: 'Statuses to Emit',
			name: 'statuses',
			type: 'multiOptions',
			options: [
				{ name: 'Account or App Errors', value: 'error', description: 'Errors Meta reports for the whole number or app (for example rate limits)' },
				{ name: 'Delivered', value: 'delivered' },
				{ name: 'Failed', value: 'failed', description: 'With the reason and what to do' },
				{ name: 'Other', value: 'other', description: 'Any status Meta adds later' },
				{ name: 'Played', value: 'played', description: 'A voice message was played' },
				{ name: 'Read', value: 'read' },
				{ name: 'Sent', value: 'sent' },
			],
			default: [...STATUS_CHOICES],
			description:
				'Which delivery updates go to the Statuses output. Each message you send produces up to three (sent, delivered, read); pick fewer to start fewer executions.',
		},
	],
};

export const triggerProperties: INodeProperties[] = [
	webhookSetupProperty,
	automaticSetupNotice,
	replaceOtherWebhookProperty,
	setupNotice,
	optionsProperty,
];
