import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

/**
 * Where conversations (bursts, history, human takeover) are kept: an n8n data table in this
 * n8n's own database, reached through n8n's public API with an API key, so every n8n process
 * (queue mode included) sees the same conversations. Community nodes may not open data tables
 * directly (n8n lets only its own Data table nodes do that), hence the key.
 */
export class WhatsAppConversationsApi implements ICredentialType {
	name = 'whatsAppConversationsApi';

	displayName = 'WhatsApp Conversations API';

	icon = {
		light: 'file:../icons/whatsapp-agent.svg',
		dark: 'file:../icons/whatsapp-agent.dark.svg',
	} as const;

	documentationUrl = 'https://github.com/n8n-nodes-whatsapp-agent/n8n-nodes-whatsapp-agent#conversations-bursts-memory-and-human-takeover';

	properties: INodeProperties[] = [
		{
			displayName:
				'Conversations are kept in a data table of this n8n (Overview → Data tables). In n8n, open Settings → n8n API → Create an API key (with the data table scopes if n8n asks) and paste it here.',
			name: 'notice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'n8n API URL',
			name: 'baseUrl',
			type: 'string',
			default: 'http://localhost:5678/api/v1',
			placeholder: 'https://n8n.example.com/api/v1',
			required: true,
			description:
				"This n8n's address followed by /api/v1. In queue mode use the main process's address, the one the editor opens on.",
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'An n8n API key (Settings → n8n API). It is sent only to the n8n API URL above.',
		},
		{
			displayName: 'Table Name',
			name: 'tableName',
			type: 'string',
			default: 'WhatsApp Agent conversations',
			description: 'The data table the conversations are kept in. It is created on first use.',
		},
	];

	/** A function, not an expression: no sandbox per request. */
	authenticate = async (
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> => ({
		...requestOptions,
		headers: { ...(requestOptions.headers ?? {}), 'X-N8N-API-KEY': String(credentials.apiKey ?? '') },
	});

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}',
			url: '/data-tables',
			qs: { limit: 1 },
			method: 'GET',
		},
	};
}
