/**
 * The harness itself: proves that nodes run under it get n8n's real request helpers
 * (credentials applied by the credential's own authenticate) and real webhook plumbing.
 */
import http from 'http';
import type { AddressInfo } from 'net';
import { NodeConnectionTypes, type IExecuteFunctions, type INodeType, type IWebhookFunctions } from 'n8n-workflow';

import { TransportError } from '../../core/http-transport';
import { authenticatedRequester } from '../../nodes/shared/transport';
import { runNode, startWebhookServer } from './n8n';

function probeNode(url: string): INodeType {
	return {
		description: {
			displayName: 'Probe', name: 'probe', group: ['transform'], version: 1, description: 'probe',
			defaults: { name: 'Probe' }, inputs: [NodeConnectionTypes.Main], outputs: [NodeConnectionTypes.Main],
			credentials: [{ name: 'whatsAppCloudApi', required: true }],
			properties: [{ displayName: 'Path', name: 'path', type: 'string', default: '/default-path' }],
		},
		async execute(this: IExecuteFunctions) {
			const request = authenticatedRequester(this, 'whatsAppCloudApi');
			const response = await request({ method: 'POST', url: url + (this.getNodeParameter('path', 0) as string), body: { hello: 'wörld' } });
			return [[{ json: response as never, pairedItem: { item: 0 } }]];
		},
	};
}

describe('n8n harness', () => {
	let server: http.Server;
	let url: string;
	beforeAll(async () => {
		server = http.createServer((req, res) => {
			let body = '';
			req.on('data', (chunk) => (body += chunk));
			req.on('end', () => {
				res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization, body: JSON.parse(body || 'null') }));
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(() => new Promise((resolve) => server.close(resolve)));

	it('runs execute() with real request helpers, parameter defaults and the credential authenticate', async () => {
		const [[item]] = await runNode({ nodeType: probeNode(url), credentials: { whatsAppCloudApi: { accessToken: 'T0K', phoneNumberId: '1' } } });
		expect(item.json).toMatchObject({ statusCode: 200, body: { path: '/default-path', auth: 'Bearer T0K', body: { hello: 'wörld' } } });
	});

	it('returns HTTP errors as responses and network failures as TransportError', async () => {
		const [[item]] = await runNode({ nodeType: probeNode(url), parameters: { path: '/fail' }, credentials: { whatsAppCloudApi: { accessToken: 'T', phoneNumberId: '1' } } });
		expect(item.json).toMatchObject({ statusCode: 503 });
		const closed = http.createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
		await new Promise((resolve) => closed.close(resolve));
		await expect(runNode({ nodeType: probeNode(deadUrl), credentials: { whatsAppCloudApi: { accessToken: 'T', phoneNumberId: '1' } } })).rejects.toBeInstanceOf(TransportError);
	});

	it('serves webhooks with the raw body and the webhook name', async () => {
		const trigger: INodeType = {
			description: {
				displayName: 'Probe Trigger', name: 'probeTrigger', group: ['trigger'], version: 1, description: 'probe',
				defaults: { name: 'Probe Trigger' }, inputs: [], outputs: [NodeConnectionTypes.Main], properties: [],
				webhooks: [
					{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' },
					{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'webhook' },
				],
			},
			async webhook(this: IWebhookFunctions) {
				const req = this.getRequestObject();
				const res = this.getResponseObject();
				res.status(202).json({ name: this.getWebhookName(), raw: req.rawBody.toString('utf8'), url: this.getNodeWebhookUrl('default') });
				return { noWebhookResponse: true, workflowData: [[{ json: this.getBodyData() }]] };
			},
		};
		const hooks = await startWebhookServer({ nodeType: trigger, webhookId: 'abc' });
		try {
			const response = await fetch(hooks.url('webhook'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": 1,  "b":"\\u00e4"}' });
			expect(response.status).toBe(202);
			const body = await response.json();
			expect(body).toEqual({ name: 'default', raw: '{"a": 1,  "b":"\\u00e4"}', url: `${hooks.baseUrl}/webhook` });
			expect(hooks.runs[0].workflowData[0][0].json).toEqual({ a: 1, b: 'ä' });
			const bad = await fetch(hooks.url('webhook'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
			expect(bad.status).toBe(422);
			expect(hooks.runs).toHaveLength(1);
		} finally {
			await hooks.close();
		}
	});
});
