import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The two secrets that make Meta's webhooks trustworthy: the verify token (checked when
 * Meta verifies the callback URL) and the app secret (the key of every event's signature).
 * Reply-callback and media links are signed with a key derived from the app secret.
 * Tested by the WhatsApp Agent Trigger (`testedBy`): nothing in it can be checked with a
 * request without also knowing the app id.
 */
export class WhatsAppWebhookApi implements ICredentialType {
	name = 'whatsAppWebhookApi';

	displayName = 'WhatsApp Webhook API';

	icon = {
		light: 'file:../icons/whatsapp-agent.svg',
		dark: 'file:../icons/whatsapp-agent.dark.svg',
	} as const;

	documentationUrl = 'https://developers.facebook.com/docs/graph-api/webhooks/getting-started';

	properties: INodeProperties[] = [
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'Any phrase you make up (for example a long random word). Paste the same phrase into "Verify token" in your Meta app: WhatsApp → Configuration → Webhook → Edit. Meta sends it back once to prove the URL is yours. With automatic webhook setup the trigger sends it for you.',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'In your Meta app: App Settings → Basic → App Secret → Show. Every message Meta sends is signed with it; the trigger refuses anything whose signature does not match.',
		},
	];
}
