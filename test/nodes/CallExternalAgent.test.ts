/**
 * Call External Agent run through n8n-core's real execution context (test/harness/n8n.ts)
 * against a fake agent over real HTTP on loopback, and against the example agent
 * (examples/agent/server.js) started as its own process.
 */
import { spawn, type ChildProcess } from 'child_process';
import { readFileSync } from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import { join } from 'path';
import type { ICredentialsDecrypted, IDataObject, INodeExecutionData, INodeParameters, INodeType } from 'n8n-workflow';

import { signAgentRequest } from '../../core/agent-request';
import { normalizeWebhook } from '../../core/inbound-normalizer';
import { CallExternalAgent } from '../../nodes/CallExternalAgent/CallExternalAgent.node';
import { DEFAULT_FALLBACK_MESSAGE } from '../../nodes/CallExternalAgent/description';
import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';
import { runNode, type CredentialsByType, type NodeSetup } from '../harness/n8n';

const IMG = 'https://cdn.example.com/cat.jpg';
const TOKEN = 'tok-bearer-9f8e7d6c5b4a';
const HEADER_KEY = 'key-header-1a2b3c4d5e6f';
const SIGNING_SECRET = 'signing-secret-0123456789abcdef';

let agent: FakeAgent;

beforeAll(async () => {
	agent = await startFakeAgent();
});
afterAll(() => agent.close());
beforeEach(() => agent.reset());

const fixture = (name: string) =>
	JSON.parse(readFileSync(join(__dirname, '../fixtures/webhooks', name), 'utf8'));

/** What the WhatsApp Agent Trigger emits on Messages for a fixture. */
function triggerItems(name = 'text.json', replyCallback = 'https://n8n.example.com/webhook/wh/reply?token=abc'): INodeExecutionData[] {
	const normalized = normalizeWebhook(fixture(name), {
		replyCallback: () => replyCallback,
		mediaUrl: () => 'https://n8n.example.com/webhook/wh/media?token=m',
	});
	return normalized.messages.map((message) => ({ json: message as unknown as IDataObject }));
}

const customer = () => triggerItems()[0].json;

function setup(parameters: INodeParameters = {}, extra: Partial<NodeSetup> = {}): NodeSetup {
	return {
		nodeType: new CallExternalAgent(),
		parameters: { url: agent.url, ...parameters, options: { retryWait: 0.01, ...((parameters.options as IDataObject) ?? {}) } },
		...extra,
	};
}

async function run(parameters: INodeParameters = {}, input = triggerItems(), extra: Partial<NodeSetup> = {}) {
	const [output] = await runNode(setup(parameters, extra), input);
	return output;
}

async function runError(parameters: INodeParameters = {}, input = triggerItems(), extra: Partial<NodeSetup> = {}) {
	let error: unknown;
	try {
		await run(parameters, input, extra);
	} catch (caught) {
		error = caught;
	}
	expect(error).toBeInstanceOf(Error);
	return error as Error & { description?: string; httpCode?: string; constructor: { name: string } };
}

describe('Call External Agent: description', () => {
	const versioned = new CallExternalAgent();
	const { description } = versioned.getNodeType(1.1) as INodeType;

	it('has the fixed names, an optional tested credential and is usable as a tool', () => {
		expect(description.name).toBe('callExternalAgent');
		expect(description.displayName).toBe('Call External Agent');
		expect(description.usableAsTool).toBe(true);
		expect(description.credentials).toEqual([
			{ name: 'externalAgentApi', required: false, testedBy: 'externalAgentApiTest' },
			// Only with Remember Conversations on.
			{ name: 'whatsAppConversationsApi', required: true, displayOptions: { show: { conversations: [true] } } },
		]);
		expect(description.outputNames).toEqual(['Reply', 'Handoff', 'Paused']);
		expect(description.properties.find((property) => property.name === 'url')).toMatchObject({ type: 'string', required: true });
		expect(description.icon).toEqual({ light: 'file:../../icons/external-agent.svg', dark: 'file:../../icons/external-agent.dark.svg' });
		// New workflows get 1.1; saved ones keep the version they were made with.
		expect(versioned.description).toMatchObject({ name: 'callExternalAgent', defaultVersion: 1.1 });
		expect(Object.keys(versioned.nodeVersions).map(Number).sort()).toEqual([1, 1.1]);
	});

	it('version 1 keeps its one output and parameters, so a saved error branch stays on the error output', () => {
		const v1 = versioned.getNodeType(1).description;
		expect(v1.outputs).toEqual(['main']);
		expect(v1.outputNames).toBeUndefined();
		expect(v1.credentials).toEqual([{ name: 'externalAgentApi', required: false, testedBy: 'externalAgentApiTest' }]);
		expect(v1.properties.map((property) => property.name)).toEqual(['url', 'notice', 'onAgentError', 'fallbackMessage', 'options']);
		expect(description.properties.map((property) => property.name)).toEqual([
			'url', 'notice', 'onAgentError', 'fallbackMessage', 'conversations', 'conversationsNotice', 'conversationOptions', 'options',
		]);
	});

	it('tests the credential without calling anything', async () => {
		const test = new CallExternalAgent().getNodeType(1.1).methods!.credentialTest!.externalAgentApiTest;
		const check = (data: IDataObject) => test.call({} as never, { id: '1', name: 'agent', type: 'externalAgentApi', data } as ICredentialsDecrypted);
		expect(await check({ authentication: 'bearer', bearerToken: TOKEN })).toMatchObject({ status: 'OK' });
		expect(await check({ authentication: 'bearer', bearerToken: '' })).toEqual({ status: 'Error', message: expect.stringMatching(/Bearer Token is empty/) });
		expect(await check({ authentication: 'header', headerName: 'X-API-Key', headerValue: '' })).toMatchObject({ status: 'Error', message: expect.stringMatching(/Header Value is empty/) });
	});
});

describe('Call External Agent: the request', () => {
	it('posts the BYOA body built from the trigger item, with no expressions', async () => {
		const input = triggerItems();
		const [item] = await run({}, input);
		expect(agent.requests).toHaveLength(1);
		const sent = agent.requests[0];
		expect(sent.method).toBe('POST');
		expect(sent.headers['content-type']).toMatch(/^application\/json/);
		const trigger = input[0].json;
		expect(sent.json).toMatchObject({
			message: 'Does it come in another color?',
			image: null,
			phone_number: '+16505551234',
			reply_callback: 'https://n8n.example.com/webhook/wh/reply?token=abc',
			message_id: trigger.messageId,
			type: 'text',
			name: 'Sheena Nelson',
			timestamp: trigger.timestamp,
			media: null,
			location: null,
			contacts: null,
			interactive: null,
			context: null,
			conversation_id: '+16505551234',
			phone_number_id: '106540352242922',
		});
		expect(sent.headers['idempotency-key']).toBe(trigger.messageId);
		expect(sent.headers['x-signature-256']).toBeUndefined();
		expect(sent.headers.authorization).toBeUndefined();
		expect(item.json).toMatchObject({
			phone_number: '+16505551234',
			phoneNumberId: '106540352242922',
			replyTo: trigger.messageId,
			messages: [{ type: 'text', text: 'ok' }],
			noReply: false,
			agent: { status: 200, attempts: 1 },
		});
		expect(typeof (item.json.agent as IDataObject).latencyMs).toBe('number');
		expect(item.pairedItem).toEqual({ item: 0 });
	});

	it('sends the image link and media of an image message', async () => {
		await run({}, triggerItems('image.json'));
		expect(agent.requests[0].json).toMatchObject({ type: 'image', image: 'https://n8n.example.com/webhook/wh/media?token=m', media: { id: expect.any(String) } });
	});

	it('answers each item of a batch in order, with pairedItem on every item', async () => {
		const input = triggerItems('batch.json');
		expect(input.length).toBeGreaterThan(1);
		agent.setDefault((request) => ({ body: { content: `re: ${request.json.message_id}` } }));
		const output = await run({}, input);
		expect(output).toHaveLength(input.length);
		output.forEach((item, index) => {
			expect(item.pairedItem).toEqual({ item: index });
			expect(item.json.replyTo).toBe(input[index].json.messageId);
			expect(item.json.messages).toEqual([{ type: 'text', text: `re: ${input[index].json.messageId}` }]);
		});
		expect(agent.requests.map((request) => request.json.message_id)).toEqual(input.map((item) => item.json.messageId));
	});

	it('adds the original Meta message when asked', async () => {
		await run({ options: { includeRaw: true } });
		expect(agent.requests[0].json.raw).toMatchObject({ type: 'text', text: { body: 'Does it come in another color?' } });
	});
});

describe('Call External Agent: every accepted answer', () => {
	const forms: Array<[string, { body?: unknown; contentType?: string; status?: number }, unknown[]]> = [
		['plain text', { body: 'Hello from text/plain' }, [{ type: 'text', text: 'Hello from text/plain' }]],
		['JSON text sent as text/plain', { body: '{"content":"sneaky json"}', contentType: 'text/plain' }, [{ type: 'text', text: 'sneaky json' }]],
		['a JSON string', { body: '"just a string"', contentType: 'application/json' }, [{ type: 'text', text: 'just a string' }]],
		['{"type":"message","content"}', { body: { type: 'message', content: 'typed' } }, [{ type: 'text', text: 'typed' }]],
		['{"content"}', { body: { content: 'plain content' } }, [{ type: 'text', text: 'plain content' }]],
		['{"content": message object}', { body: { content: { type: 'image', url: IMG, caption: 'cat' } } }, [{ type: 'image', url: IMG, caption: 'cat' }]],
		['{"messages": [...]}', { body: { messages: ['one', { type: 'text', text: 'two' }] } }, [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }]],
		['an array', { body: ['a', { content: 'b' }] }, [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }]],
		['{"image", "caption"}', { body: { image: IMG, caption: 'A cat' } }, [{ type: 'image', url: IMG, caption: 'A cat' }]],
		['{"video"}', { body: { video: 'https://v.example.com/v.mp4' } }, [{ type: 'video', url: 'https://v.example.com/v.mp4' }]],
		['{"audio"}', { body: { audio: 'https://a.example.com/a.ogg' } }, [{ type: 'audio', url: 'https://a.example.com/a.ogg' }]],
		['{"document", "filename"}', { body: { document: 'https://d.example.com/f.pdf', filename: 'f.pdf' } }, [{ type: 'document', url: 'https://d.example.com/f.pdf', filename: 'f.pdf' }]],
		['{"location"}', { body: { location: { latitude: 52.5, longitude: 13.4, name: 'Berlin', address: 'Mitte' } } }, [{ type: 'location', latitude: 52.5, longitude: 13.4, name: 'Berlin', address: 'Mitte' }]],
		['{"contact"}', { body: { contact: { name: 'Ana', phone: '+4915112345678' } } }, [{ type: 'contacts', contacts: [{ name: 'Ana', phone: '+4915112345678' }] }]],
		['a canonical buttons message', { body: { type: 'buttons', body: 'Pick one', buttons: [{ id: 'y', title: 'Yes' }, { id: 'n', title: 'No' }] } }, [{ type: 'buttons', body: 'Pick one', buttons: [{ id: 'y', title: 'Yes' }, { id: 'n', title: 'No' }] }]],
		['{"reply"}', { body: { reply: 'r' } }, [{ type: 'text', text: 'r' }]],
		['{"output"} (LangChain)', { body: { output: 'o', metadata: {} } }, [{ type: 'text', text: 'o' }]],
		['{"answer"}', { body: { answer: 'a' } }, [{ type: 'text', text: 'a' }]],
		['{"response"}', { body: { response: 'resp' } }, [{ type: 'text', text: 'resp' }]],
		['{"text"}', { body: { text: 't' } }, [{ type: 'text', text: 't' }]],
		['UTF-8 text', { body: 'Grüße 👋 — ünïcödé' }, [{ type: 'text', text: 'Grüße 👋 — ünïcödé' }]],
	];

	it.each(forms)('%s', async (_name, script, messages) => {
		agent.enqueue(script);
		const [item] = await run();
		expect(item.json).toMatchObject({ messages, noReply: false });
		expect(item.pairedItem).toEqual({ item: 0 });
	});

	const noReply: Array<[string, { body?: unknown; status?: number; contentType?: string }]> = [
		['an empty body', { body: '' }],
		['an empty JSON body', { body: '', contentType: 'application/json' }],
		['status 204', { status: 204 }],
		['{"type":"no_reply"}', { body: { type: 'no_reply' } }],
		['the magic text', { body: 'No CUSTOMER message reply' }],
		['the magic text as content', { body: { type: 'message', content: 'No CUSTOMER message reply' } }],
	];

	it.each(noReply)('no reply: %s', async (_name, script) => {
		agent.enqueue(script);
		const [item] = await run();
		expect(item.json).toMatchObject({ messages: [], noReply: true, phone_number: '+16505551234' });
		expect(item.pairedItem).toEqual({ item: 0 });
	});
});

describe('Call External Agent: failures', () => {
	it('times out with the short timeout option and does not retry it', async () => {
		agent.setDefault({ delayMs: 3000, body: 'too late' });
		const started = Date.now();
		const error = await runError({ options: { timeout: 0.3 } });
		expect(Date.now() - started).toBeLessThan(2500);
		expect(error.message).toMatch(/did not answer within 0\.3 s/);
		expect(agent.requests).toHaveLength(1);
	});

	it('retries a 500, then succeeds', async () => {
		agent.enqueue({ status: 500, body: 'temporary' }, { body: { content: 'second time lucky' } });
		const [item] = await run();
		expect(agent.requests).toHaveLength(2);
		expect(agent.requests[1].rawBody.equals(agent.requests[0].rawBody)).toBe(true);
		expect(item.json).toMatchObject({ messages: [{ type: 'text', text: 'second time lucky' }], agent: { status: 200, attempts: 2 } });
	});

	it('stops after the configured retries', async () => {
		agent.setDefault({ status: 503, body: 'down' });
		const error = await runError({ options: { retries: 3 } });
		expect(agent.requests).toHaveLength(4);
		expect(error.message).toBe('The agent answered HTTP 503 after 4 attempts: down. The agent itself failed: look at its logs.');
	});

	it('does not retry a 401: exactly one request, a clear error with the status and body', async () => {
		agent.setDefault({ status: 401, body: { error: 'invalid api key' } });
		const error = await runError({}, triggerItems(), { credentials: { externalAgentApi: { authentication: 'bearer', bearerToken: TOKEN } } });
		expect(agent.requests).toHaveLength(1);
		expect(error.constructor.name).toBe('NodeApiError');
		expect(error.httpCode).toBe('401');
		expect(error.message).toBe(
			'The agent answered HTTP 401: {"error":"invalid api key"}. Check the External Agent credential: the agent refused its token or key.',
		);
	});

	it('a garbage body fails clearly, with an excerpt', async () => {
		agent.setDefault({ body: { status: 'ok', data: { foo: 'bar' } } });
		const error = await runError();
		expect(error.message).toMatch(/none of the fields this node reads \(it has: status, data\)\. Received: \{"status":"ok","data":\{"foo":"bar"\}\}/);
		expect(error.message).toMatch(/Accepted forms: plain text/);
		expect(agent.requests).toHaveLength(1);
	});

	it('an HTML page fails clearly', async () => {
		agent.setDefault({ body: '<!DOCTYPE html><html><body>Please log in</body></html>', contentType: 'text/html' });
		const error = await runError();
		expect(error.message).toMatch(/HTML page.*Received: <!DOCTYPE html><html><body>Please log in/);
	});

	it('an invalid message names its field', async () => {
		agent.setDefault({ body: { messages: [{ type: 'location', latitude: 200, longitude: 0 }] } });
		const error = await runError();
		expect(error.message).toMatch(/messages\[0\]\.latitude: latitude must be between -90 and 90/);
	});

	it('an unreachable agent fails after the retries', async () => {
		const closed = http.createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const { port } = closed.address() as AddressInfo;
		await new Promise((resolve) => closed.close(resolve));
		const error = await runError({ url: `http://127.0.0.1:${port}/agent`, options: { retries: 1 } });
		expect(error.message).toMatch(/^Could not reach the agent at http:\/\/127\.0\.0\.1:\d+\/agent \(connection refused\) \(2 attempts\)\. Is the agent running/);
	});

	it('a status item is refused, naming the Statuses output', async () => {
		const status = normalizeWebhook(fixture('status-delivered.json')).statuses[0];
		const error = await runError({}, [{ json: status as unknown as IDataObject }]);
		expect(error.message).toMatch(/^Item 0 cannot be sent to the agent: this item is a status update \("delivered"\).*not its Statuses output/);
		expect(agent.requests).toHaveLength(0);
	});

	it('an item without a customer is refused, listing what it has', async () => {
		const error = await runError({}, [{ json: { hello: 'world' } }]);
		expect(error.message).toMatch(/no phone_number.*\(the item has: hello\)/);
	});

	it('an empty or non-http URL is refused before anything is sent', async () => {
		expect((await runError({ url: '' })).message).toBe('Agent URL is empty');
		expect((await runError({ url: 'ftp://agent' })).message).toBe('Agent URL must start with http:// or https://');
	});
});

describe('Call External Agent: On Agent Error', () => {
	it('"fail" is the default', async () => {
		agent.setDefault({ status: 500, body: 'broken' });
		const error = await runError({ options: { retries: 0 } });
		expect(error.message).toMatch(/^The agent answered HTTP 500: broken\./);
	});

	it('"fallback" sends the default fallback message and keeps the error', async () => {
		agent.setDefault({ status: 500, body: 'broken' });
		const [item] = await run({ onAgentError: 'fallback', options: { retries: 1 } });
		expect(DEFAULT_FALLBACK_MESSAGE).toBe('Sorry, something went wrong — please try again.');
		expect(item.json).toMatchObject({
			phone_number: '+16505551234',
			replyTo: customer().messageId,
			messages: [{ type: 'text', text: DEFAULT_FALLBACK_MESSAGE }],
			noReply: false,
			fallback: true,
			agent: { status: 500, attempts: 2, error: { kind: 'http', status: 500, body: 'broken', message: expect.stringMatching(/HTTP 500 after 2 attempts/) } },
		});
		expect(item.pairedItem).toEqual({ item: 0 });
	});

	it('"fallback" uses the edited text, for timeouts and unreadable answers too', async () => {
		agent.enqueue({ delayMs: 2000 }, { body: { nonsense: true } });
		const output = await run({ onAgentError: 'fallback', fallbackMessage: 'One moment, a human will answer.', options: { timeout: 0.2 } }, [...triggerItems(), ...triggerItems()]);
		expect(output.map((item) => item.json.messages)).toEqual([
			[{ type: 'text', text: 'One moment, a human will answer.' }],
			[{ type: 'text', text: 'One moment, a human will answer.' }],
		]);
		expect(output.map((item) => (item.json.agent as { error: { kind: string } }).error.kind)).toEqual(['timeout', 'format']);
		expect(output.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});

	it('"fallback" with an empty text sends nothing', async () => {
		agent.setDefault({ status: 500 });
		const [item] = await run({ onAgentError: 'fallback', fallbackMessage: '  ', options: { retries: 0 } });
		expect(item.json).toMatchObject({ messages: [], noReply: true, fallback: true });
	});

	it('"continue" sends nothing and keeps the error', async () => {
		agent.setDefault({ status: 404, body: 'Cannot POST /agent' });
		const [item] = await run({ onAgentError: 'continue' });
		expect(agent.requests).toHaveLength(1);
		expect(item.json).toMatchObject({
			messages: [],
			noReply: true,
			agent: { status: 404, error: { kind: 'http', body: 'Cannot POST /agent', message: expect.stringMatching(/Check the agent's URL/) } },
		});
		expect(item.json.error).toBeUndefined();
	});

	it('Continue (using error output): the failed item holds only a readable error, so n8n routes it to the error output on every version', async () => {
		agent.enqueue({ status: 400, body: 'bad request' });
		const [item] = await run({}, triggerItems(), { continueOnFail: true, onError: 'continueErrorOutput' });
		// n8n 2.8 routes an item to the error output only when its json has no keys but
		// error/message (2.41 also details); n8n then adds the customer's fields itself.
		expect(Object.keys(item.json)).toEqual(['error']);
		expect(item.json.error).toMatch(/HTTP 400: bad request/);
		expect(item.json.error).toMatch(/Nothing was sent/);
		expect(item.pairedItem).toEqual({ item: 0 });
	});

	it('Continue On Fail: an error item per failed item, the others still answered', async () => {
		agent.enqueue({ status: 400, body: 'bad request' }, { body: 'fine' });
		const output = await run({}, [...triggerItems(), ...triggerItems()], { continueOnFail: true });
		expect(output).toHaveLength(2);
		expect(output[0].json).toMatchObject({
			error: expect.stringMatching(/HTTP 400: bad request/),
			details: { httpCode: '400', description: expect.stringMatching(/Nothing was sent/) },
			messages: [],
			noReply: true,
			phone_number: '+16505551234',
		});
		// Not item.error: n8n would replace the json with the message alone (and lose noReply).
		expect(output[0].error).toBeUndefined();
		expect(output[0].pairedItem).toEqual({ item: 0 });
		expect(output[1].json).toMatchObject({ messages: [{ type: 'text', text: 'fine' }] });
		expect(output[1].pairedItem).toEqual({ item: 1 });
	});

	it('Continue On Fail also covers wiring errors', async () => {
		const output = await run({}, [{ json: { status: 'read', recipient: '+1', errors: [] } }], { continueOnFail: true });
		expect(output[0].json.error).toMatch(/status update/);
		expect(output[0].pairedItem).toEqual({ item: 0 });
	});
});

describe('Call External Agent: authentication', () => {
	const cases: Array<[string, CredentialsByType | undefined, (headers: http.IncomingHttpHeaders) => void]> = [
		['no credential', undefined, (headers) => expect(headers.authorization).toBeUndefined()],
		['credential with None', { externalAgentApi: { authentication: 'none' } }, (headers) => expect(headers.authorization).toBeUndefined()],
		['bearer token', { externalAgentApi: { authentication: 'bearer', bearerToken: TOKEN } }, (headers) => expect(headers.authorization).toBe(`Bearer ${TOKEN}`)],
		['custom header', { externalAgentApi: { authentication: 'header', headerName: 'X-API-Key', headerValue: HEADER_KEY } }, (headers) => {
			expect(headers['x-api-key']).toBe(HEADER_KEY);
			expect(headers.authorization).toBeUndefined();
		}],
	];

	it.each(cases)('%s reaches the agent as expected', async (_name, credentials, check) => {
		await run({}, triggerItems(), { credentials });
		check(agent.requests[0].headers);
		expect(agent.requests[0].headers['x-signature-256']).toBeUndefined();
	});

	it('a run over several customers reads the credential once; every request still carries it', async () => {
		const reads: string[] = [];
		const credentials: CredentialsByType = { externalAgentApi: { authentication: 'bearer', bearerToken: TOKEN } };
		const input = triggerItems('batch.json');
		const output = await run({}, input, { credentials, onCredentialRead: (type) => reads.push(type) });
		expect(output).toHaveLength(3);
		expect(agent.requests.map((request) => request.headers.authorization)).toEqual(Array(3).fill(`Bearer ${TOKEN}`));
		expect(reads).toEqual(['externalAgentApi']);
	});

	it.each(cases.slice(2))('%s never appears in errors, even when the agent echoes it', async (_name, credentials) => {
		agent.setDefault((request) => ({ status: 401, body: `rejected: ${request.headers.authorization ?? request.headers['x-api-key']}` }));
		const error = await runError({}, triggerItems(), { credentials });
		const shown = JSON.stringify({ message: error.message, description: error.description, error });
		expect(shown).not.toContain(TOKEN);
		expect(shown).not.toContain(HEADER_KEY);
		expect(error.message).toContain('rejected:');

		const [item] = await run({ onAgentError: 'continue' }, triggerItems(), { credentials });
		expect(JSON.stringify(item.json)).not.toContain(TOKEN);
		expect(JSON.stringify(item.json)).not.toContain(HEADER_KEY);
	});
});

describe('Call External Agent: request signing, checked by the example agent', () => {
	let example: ChildProcess;
	let exampleUrl: string;
	let callbacks: Array<{ body: string; at: number }>;
	let callbackServer: http.Server;
	let callbackUrl: string;

	beforeAll(async () => {
		callbacks = [];
		callbackServer = http.createServer((req, res) => {
			let body = '';
			req.on('data', (chunk) => (body += chunk));
			req.on('end', () => {
				callbacks.push({ body, at: Date.now() });
				res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
			});
		});
		await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
		callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/webhook/wh/reply?token=t`;

		example = spawn(process.execPath, [join(__dirname, '../../examples/agent/server.js')], {
			env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SIGNING_SECRET, BEARER_TOKEN: TOKEN, LATE_REPLY_MS: '200' },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		exampleUrl = await new Promise<string>((resolve, reject) => {
			let out = '';
			example.stdout!.on('data', (chunk) => {
				out += chunk;
				const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
				if (match) resolve(`${match[1]}/whatsapp`);
			});
			example.on('exit', (code) => reject(new Error(`example agent exited with ${code}: ${out}`)));
		});
	});
	afterAll(async () => {
		example.kill('SIGTERM');
		await new Promise((resolve) => callbackServer.close(resolve));
	});

	const signed: CredentialsByType = { externalAgentApi: { authentication: 'bearer', bearerToken: TOKEN, signingSecret: SIGNING_SECRET } };

	it('the example agent accepts the node\'s signed request and answers', async () => {
		const [item] = await run({ url: exampleUrl }, triggerItems(), { credentials: signed });
		expect(item.json).toMatchObject({ noReply: false, messages: [{ type: 'text', text: 'Hi Sheena Nelson! You said: Does it come in another color?' }] });
	});

	it('answers "photo" with an image, "where" with a location, "menu" with buttons', async () => {
		const ask = async (message: string, messageId: string) => {
			const [item] = await run({ url: exampleUrl }, [{ json: { ...customer(), message, messageId } }], { credentials: signed });
			return item.json.messages as Array<{ type: string }>;
		};
		expect((await ask('send a photo', 'wamid.photo'))[0]).toMatchObject({ type: 'image', url: expect.stringMatching(/^https:/), caption: expect.any(String) });
		expect((await ask('where are you?', 'wamid.where'))[0]).toMatchObject({ type: 'location', latitude: 52.5163 });
		expect((await ask('menu', 'wamid.menu'))[0]).toMatchObject({ type: 'buttons' });
		const quiet = await run({ url: exampleUrl }, [{ json: { ...customer(), message: 'be quiet', messageId: 'wamid.quiet' } }], { credentials: signed });
		expect(quiet[0].json).toMatchObject({ noReply: true, messages: [] });
	});

	it('sends a late second message to reply_callback', async () => {
		const [item] = await run({ url: exampleUrl }, [{ json: { ...customer(), message: 'tell me later', messageId: 'wamid.later', reply_callback: callbackUrl } }], { credentials: signed });
		expect(item.json.messages).toEqual([{ type: 'text', text: 'Let me check that for you…' }]);
		const deadline = Date.now() + 5000;
		while (callbacks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
		expect(callbacks).toHaveLength(1);
		expect(JSON.parse(callbacks[0].body)).toEqual({ content: 'Thanks for waiting: here is the late answer.' });
	});

	it('refuses a request without the signature, and one without the bearer token', async () => {
		const error = await runError({ url: exampleUrl }, [{ json: { ...customer(), messageId: 'wamid.unsigned' } }], {
			credentials: { externalAgentApi: { authentication: 'bearer', bearerToken: TOKEN } },
		});
		expect(error.message).toMatch(/HTTP 401.*bad or missing X-Signature-256/);
		const noToken = await runError({ url: exampleUrl }, [{ json: { ...customer(), messageId: 'wamid.notoken' } }], {
			credentials: { externalAgentApi: { authentication: 'none', signingSecret: SIGNING_SECRET } },
		});
		expect(noToken.message).toMatch(/HTTP 401.*bearer token/);
	});

	it('refuses tampered and replayed requests captured from the node', async () => {
		// Capture a real signed request of the node on the fake agent.
		await run({}, [{ json: { ...customer(), messageId: 'wamid.captured' } }], { credentials: signed });
		const captured = agent.requests[0];
		const headers = (extra: Record<string, string> = {}) => ({
			'content-type': 'application/json',
			authorization: `Bearer ${TOKEN}`,
			'x-signature-256': String(captured.headers['x-signature-256']),
			'x-timestamp': String(captured.headers['x-timestamp']),
			'x-timestamp-signature-256': String(captured.headers['x-timestamp-signature-256']),
			...extra,
		});
		const post = async (body: Buffer | string, extra?: Record<string, string>) => {
			const response = await fetch(exampleUrl, { method: 'POST', headers: headers(extra), body });
			return { status: response.status, body: await response.json() };
		};

		const tampered = Buffer.from(captured.rawBody.toString('utf8').replace('Does it come', 'Does it NOT come'));
		expect(await post(tampered)).toMatchObject({ status: 401, body: { error: 'bad or missing X-Signature-256' } });
		const newTimestamp = String(Math.floor(Date.now() / 1000) + 5);
		expect(await post(captured.rawBody, { 'x-timestamp': newTimestamp })).toMatchObject({ status: 401, body: { error: 'bad or missing X-Timestamp-Signature-256' } });

		// Genuine: answered once; the same request replayed within the window gets no second answer.
		expect(await post(captured.rawBody)).toMatchObject({ status: 200, body: { content: expect.stringMatching(/You said/) } });
		expect(await post(captured.rawBody)).toMatchObject({ status: 200, body: { type: 'no_reply' } });

		// A request signed ten minutes ago (replayed later) is refused.
		const old = signAgentRequest(captured.rawBody.toString('utf8'), SIGNING_SECRET, Date.now() / 1000 - 600);
		expect(
			await post(captured.rawBody, {
				'x-signature-256': old['X-Signature-256'],
				'x-timestamp': old['X-Timestamp'],
				'x-timestamp-signature-256': old['X-Timestamp-Signature-256'],
			}),
		).toMatchObject({ status: 401, body: { error: expect.stringMatching(/too old/) } });
	});
});
