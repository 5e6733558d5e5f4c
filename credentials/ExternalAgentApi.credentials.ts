import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

/**
 * How Call External Agent proves itself to the user's agent. The agent's URL is a node
 * parameter (`url`), so the credential cannot be tested with a request on its own; the
 * Call External Agent node checks it instead (`testedBy`).
 */
export class ExternalAgentApi implements ICredentialType {
	name = 'externalAgentApi';

	displayName = 'External Agent API';

	icon = {
		light: 'file:../icons/external-agent.svg',
		dark: 'file:../icons/external-agent.dark.svg',
	} as const;

	documentationUrl = 'https://github.com/n8n-nodes-whatsapp-agent/n8n-nodes-whatsapp-agent#the-agent-contract';

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			default: 'none',
			options: [
				{ name: 'None', value: 'none', description: 'The agent accepts requests without a key' },
				{ name: 'Bearer Token', value: 'bearer', description: 'Sends "Authorization: Bearer <token>"' },
				{ name: 'Custom Header', value: 'header', description: 'Sends a header you name, such as X-API-Key' },
			],
			description: 'How your agent checks that a request comes from you',
		},
		{
			displayName: 'Bearer Token',
			name: 'bearerToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['bearer'] } },
			description: 'The token your agent expects after "Bearer "',
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-API-Key',
			displayOptions: { show: { authentication: ['header'] } },
			description: 'The name of the header your agent reads its key from',
		},
		{
			displayName: 'Header Value',
			name: 'headerValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['header'] } },
			description: 'The key itself',
		},
		{
			displayName: 'Signing Secret',
			name: 'signingSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Optional. When set, every request carries X-Signature-256 (an HMAC-SHA256 of the exact body) and X-Timestamp, so your agent can check that the request is really from this workflow and refuse replays. Use the same secret in your agent.',
		},
	];

	/** A function, not an expression: it branches on the chosen method and costs no sandbox. */
	authenticate = async (
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> => {
		const headers = { ...(requestOptions.headers ?? {}) };
		if (credentials.authentication === 'bearer' && credentials.bearerToken) {
			headers.Authorization = `Bearer ${String(credentials.bearerToken)}`;
		} else if (credentials.authentication === 'header' && credentials.headerName) {
			headers[String(credentials.headerName)] = String(credentials.headerValue ?? '');
		}
		return { ...requestOptions, headers };
	};
}
