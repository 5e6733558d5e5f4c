import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

/**
 * What Send WhatsApp (and the trigger, for media and automatic webhook setup) needs to talk
 * to Meta's Cloud API. Field names are fixed by SPEC §2: saved workflows rely on them.
 */
export class WhatsAppCloudApi implements ICredentialType {
	name = 'whatsAppCloudApi';

	displayName = 'WhatsApp Cloud API';

	icon = {
		light: 'file:../icons/whatsapp-agent.svg',
		dark: 'file:../icons/whatsapp-agent.dark.svg',
	} as const;

	documentationUrl =
		'https://developers.facebook.com/docs/whatsapp/cloud-api/get-started';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'A permanent token lets the workflow keep working. In Meta Business Suite open Business Settings → Users → System Users, add a system user, assign it your WhatsApp app with the whatsapp_business_messaging and whatsapp_business_management permissions, then click "Generate New Token". The 24-hour token on the app\'s "API Setup" page also works for a first test.',
		},
		{
			displayName: 'Phone Number ID',
			name: 'phoneNumberId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '106540352242922',
			description:
				'Not the phone number itself: the long number Meta shows as "Phone number ID" under WhatsApp → API Setup in your app at developers.facebook.com.',
		},
		{
			displayName: 'WhatsApp Business Account ID',
			name: 'businessAccountId',
			type: 'string',
			default: '',
			placeholder: '102290129340398',
			description:
				'Optional. Shown as "WhatsApp Business Account ID" on the same API Setup page. Needed only for automatic webhook setup (the trigger subscribes this account to your app).',
		},
		{
			displayName: 'API Version',
			name: 'apiVersion',
			type: 'string',
			default: 'v24.0',
			description:
				"The Graph API version to call. Keep the default unless Meta tells you that it has expired; any version Meta still supports works (for example v25.0).",
		},
		{
			displayName: 'Graph API Base URL',
			name: 'graphApiBaseUrl',
			type: 'string',
			default: 'https://graph.facebook.com',
			description:
				"Leave as is. Change it only to go through a proxy or a test server that imitates Meta's Graph API.",
		},
	];

	/**
	 * A plain function rather than an `={{ }}` expression: n8n evaluates credential
	 * expressions in a sandbox on every request, which costs more than the request itself.
	 */
	authenticate = async (
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> => ({
		...requestOptions,
		headers: { ...(requestOptions.headers ?? {}), Authorization: `Bearer ${String(credentials.accessToken ?? '')}` },
	});

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ ($credentials.graphApiBaseUrl || "https://graph.facebook.com").replace(/\\/+$/, "") + "/" + ($credentials.apiVersion || "v24.0") }}',
			url: '=/{{ $credentials.phoneNumberId }}',
			qs: { fields: 'display_phone_number,verified_name' },
		},
	};
}
