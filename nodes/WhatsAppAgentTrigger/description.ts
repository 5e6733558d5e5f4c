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
	displayName:
		'<b>Automatic setup</b>: when you activate (publish) this workflow, the trigger asks Meta to send the messages of the phone number in the <b>WhatsApp Cloud API</b> credential to this workflow\'s Production URL. Meta checks the address once, with the Verify Token of the WhatsApp Webhook credential. Nothing to paste in Meta\'s dashboard. Deactivating the workflow removes it again, but only if it still points here.<br>' +
		'<b>Needs</b>: a WhatsApp Cloud API credential whose access token has the <code>whatsapp_business_management</code> permission (add the WhatsApp Business Account ID too), and n8n reachable from the internet over https: set <code>N8N_WEBHOOK_URL</code> (or <code>WEBHOOK_URL</code>) to n8n\'s public address; on your own computer use a tunnel such as cloudflared or ngrok.<br>' +
		'<b>Listen for test event</b> points the number at the Test URL until the first event arrives or you stop listening, then removes it. While this workflow is active, its live messages are never taken away for a test: listening is refused, so deactivate first or test with another phone number.<br>' +
		'Several workflows can share one Meta app: give each its own phone number (its own WhatsApp Cloud API credential).',
	name: 'automaticSetupNotice',
	type: 'notice',
	default: '',
	displayOptions: { show: { webhookSetup: ['automatic'] } },
};

export const replaceOtherWebhookProperty: INodeProperties = {
	displayName: 'Replace Another Webhook on This Number',
	name: 'replaceOtherWebhook',
	type: 'boolean',
	default: false,
	description:
		"Whether to take the phone number over when its messages already go to another address (another workflow, n8n or program). That address then stops receiving them, and it is not restored when this workflow is deactivated. Off: activation fails and names the address. This workflow's own production URL is never replaced by a test.",
	displayOptions: { show: { webhookSetup: ['automatic'] } },
};

export const setupNotice: INodeProperties = {
	displayName:
		'<b>Connect Meta to this trigger</b> (in your app at developers.facebook.com → WhatsApp → Configuration → Webhook → Edit):<br>' +
		'1. <b>Callback URL</b>: the <b>Production URL</b> shown above under "Webhook URLs" (it ends in <code>/webhook</code>). Meta needs a public https address.<br>' +
		'2. <b>Verify token</b>: the same phrase as "Verify Token" in the WhatsApp Webhook credential.<br>' +
		'3. Publish (activate) this workflow, then click "Verify and save" in Meta.<br>' +
		'4. Under "Webhook fields" click Manage and subscribe to <b>messages</b>.<br>' +
		'The credential\'s App Secret (App Settings → Basic) lets the trigger check that every message really comes from Meta; refused requests are answered 401 and logged.<br>' +
		'To use <b>Listen for test event</b>, put the <b>Test URL</b> in Meta\'s Callback URL instead, and the Production URL back afterwards: Meta sends to one address only. One Meta app has one Callback URL; for several workflows on several numbers, use Automatic setup.',
	name: 'setupNotice',
	type: 'notice',
	default: '',
	displayOptions: { show: { webhookSetup: ['manual'] } },
};

export const optionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	options: [
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
				'Whether to skip a message or status that Meta delivers again (Meta retries when it does not get an answer in time). Remembered for 24 hours, per n8n process.',
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
