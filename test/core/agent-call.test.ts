import http from 'http';
import type { AddressInfo } from 'net';

import { callAgent, type AgentCallOptions } from '../../core/agent-call';
import { verifyAgentSignature } from '../../core/agent-request';
import { axiosRequester } from '../harness/axios-requester';
import { startFakeAgent, type FakeAgent } from '../fakes/fake-agent';

describe('callAgent over real HTTP', () => {
	let agent: FakeAgent;
	let waits: number[];
	const request = axiosRequester();
	const body = JSON.stringify({ message: 'hi', phone_number: '+15550001111', message_id: 'wamid.A' });

	const options = (extra: Partial<AgentCallOptions> = {}): AgentCallOptions => ({
		url: agent.url,
		body,
		headers: { 'Content-Type': 'application/json' },
		timeoutMs: 2000,
		retries: 2,
		retryDelayMs: 100,
		sleep: async (ms) => {
			waits.push(ms);
		},
		...extra,
	});

	beforeAll(async () => {
		agent = await startFakeAgent();
	});
	afterAll(() => agent.close());
	beforeEach(() => {
		agent.reset();
		waits = [];
	});

	it('posts the exact body and reads the reply', async () => {
		agent.enqueue({ body: { content: 'Hello!' } });
		const outcome = await callAgent(request, options());
		expect(outcome).toMatchObject({ ok: true, status: 200, attempts: 1, reply: { noReply: false, messages: [{ type: 'text', text: 'Hello!' }] } });
		expect(agent.requests).toHaveLength(1);
		expect(agent.requests[0].method).toBe('POST');
		expect(agent.requests[0].rawBody.toString('utf8')).toBe(body);
		expect(outcome.latencyMs).toBeGreaterThanOrEqual(0);
		expect(waits).toEqual([]);
	});

	it('reads a 204 and a 202 with an empty body as no reply', async () => {
		agent.enqueue({ status: 204 }, { status: 202 });
		expect(await callAgent(request, options())).toMatchObject({ ok: true, status: 204, reply: { noReply: true, messages: [] } });
		expect(await callAgent(request, options())).toMatchObject({ ok: true, status: 202, reply: { noReply: true, messages: [] } });
	});

	it('retries a 5xx with a doubling wait, then succeeds', async () => {
		agent.enqueue({ status: 500, body: 'boom' }, { status: 503 }, { body: 'finally' });
		const outcome = await callAgent(request, options());
		expect(outcome).toMatchObject({ ok: true, attempts: 3, reply: { messages: [{ type: 'text', text: 'finally' }] } });
		expect(agent.requests).toHaveLength(3);
		expect(waits).toEqual([100, 200]);
		expect(new Set(agent.requests.map((r) => r.rawBody.toString('utf8')))).toEqual(new Set([body]));
	});

	it('gives up after the retries with the last status and body', async () => {
		agent.setDefault({ status: 502, body: { error: 'bad gateway upstream' } });
		const outcome = await callAgent(request, options({ retries: 1 }));
		expect(outcome.ok).toBe(false);
		if (outcome.ok) return;
		expect(agent.requests).toHaveLength(2);
		expect(outcome.failure).toMatchObject({ kind: 'http', status: 502, bodyExcerpt: '{"error":"bad gateway upstream"}' });
		expect(outcome.failure.message).toMatch(/^The agent answered HTTP 502 after 2 attempts: \{"error":"bad gateway upstream"\}\. The agent itself failed/);
	});

	it.each([400, 401, 403, 404, 422, 429])('never retries a %i', async (status) => {
		agent.setDefault({ status, body: 'nope' });
		const outcome = await callAgent(request, options());
		expect(agent.requests).toHaveLength(1);
		expect(waits).toEqual([]);
		expect(outcome).toMatchObject({ ok: false, attempts: 1, failure: { kind: 'http', status, bodyExcerpt: 'nope' } });
	});

	it('says what to check on 401 and 404', async () => {
		agent.enqueue({ status: 401 }, { status: 404, body: 'Cannot POST /agent' });
		const unauthorized = await callAgent(request, options());
		const notFound = await callAgent(request, options());
		expect(!unauthorized.ok && unauthorized.failure.message).toBe(
			'The agent answered HTTP 401 with an empty body. Check the External Agent credential: the agent refused its token or key.',
		);
		expect(!notFound.ok && notFound.failure.message).toMatch(/HTTP 404: Cannot POST \/agent\. Check the agent's URL/);
	});

	it('retries a dropped connection', async () => {
		agent.enqueue({ drop: true }, { body: 'after the drop' });
		const outcome = await callAgent(request, options());
		expect(outcome).toMatchObject({ ok: true, attempts: 2 });
		expect(waits).toEqual([100]);
	});

	it('reports an unreachable agent after every attempt, without the query string', async () => {
		const closed = http.createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const { port } = closed.address() as AddressInfo;
		await new Promise((resolve) => closed.close(resolve));
		const outcome = await callAgent(request, options({ url: `http://127.0.0.1:${port}/hook?key=SECRETKEY` }));
		expect(outcome).toMatchObject({ ok: false, attempts: 3, failure: { kind: 'network', status: null, code: 'ECONNREFUSED' } });
		expect(!outcome.ok && outcome.failure.message).toBe(
			`Could not reach the agent at http://127.0.0.1:${port}/hook (connection refused) (3 attempts). Is the agent running, and is the URL right?`,
		);
		expect(waits).toEqual([100, 200]);
	});

	it('does not retry a timeout unless asked', async () => {
		agent.setDefault({ delayMs: 1500, body: 'too late' });
		const started = Date.now();
		const outcome = await callAgent(request, options({ timeoutMs: 200 }));
		expect(Date.now() - started).toBeLessThan(1400);
		expect(outcome).toMatchObject({ ok: false, attempts: 1, failure: { kind: 'timeout', status: null } });
		expect(!outcome.ok && outcome.failure.message).toMatch(/did not answer within 0\.2 s\. Raise "Timeout"/);
		expect(agent.requests).toHaveLength(1);

		agent.reset();
		agent.enqueue({ delayMs: 1500 }, { body: 'quick now' });
		const retried = await callAgent(request, options({ timeoutMs: 200, retryOnTimeout: true }));
		expect(retried).toMatchObject({ ok: true, attempts: 2, reply: { messages: [{ text: 'quick now' }] } });
	});

	it('does not retry an unreadable reply, and shows its start', async () => {
		agent.setDefault({ body: '{"weird": ' + '"x'.repeat(400) + '"}', contentType: 'application/json' });
		const outcome = await callAgent(request, options());
		expect(agent.requests).toHaveLength(1);
		expect(outcome).toMatchObject({ ok: false, failure: { kind: 'format', status: 200 } });
		if (outcome.ok) return;
		expect(outcome.failure.message).toMatch(/not valid JSON\. Received: \{"weird": "x"x/);
		expect(outcome.failure.bodyExcerpt!.length).toBeLessThanOrEqual(301);
	});

	it('reports an invalid message with its field', async () => {
		agent.setDefault({ body: { messages: ['ok', { image: 'ftp://nope' }] } });
		const outcome = await callAgent(request, options());
		expect(outcome).toMatchObject({ ok: false, failure: { kind: 'invalid', field: 'messages[1].url' } });
		expect(!outcome.ok && outcome.failure.message).toMatch(/^The agent's reply has a message WhatsApp cannot send: messages\[1\]\.url/);
	});

	it('signs every attempt over the same body with a fresh timestamp', async () => {
		const secret = 'signing-secret-for-tests-123';
		let clock = 1_760_000_000_000;
		agent.enqueue({ status: 500 }, { body: 'ok' });
		const outcome = await callAgent(request, options({
			signingSecret: secret,
			now: () => clock,
			sleep: async (ms) => {
				waits.push(ms);
				clock += 5000;
			},
		}));
		expect(outcome.ok).toBe(true);
		const [first, second] = agent.requests;
		expect(first.headers['x-timestamp']).toBe('1760000000');
		expect(second.headers['x-timestamp']).toBe('1760000005');
		for (const recorded of agent.requests) {
			expect(verifyAgentSignature(recorded.rawBody, recorded.headers, secret, { now: () => clock }).ok).toBe(true);
		}
		expect(first.headers['x-signature-256']).toBe(second.headers['x-signature-256']);
		expect(first.headers['x-timestamp-signature-256']).not.toBe(second.headers['x-timestamp-signature-256']);
	});

	it('never shows a secret the agent echoes back', async () => {
		agent.setDefault({ status: 401, body: 'bad token Bearer tok-ABCDEF-123456, signing secret-for-redaction' });
		const outcome = await callAgent(request, options({ redact: ['tok-ABCDEF-123456'], signingSecret: 'secret-for-redaction' }));
		expect(outcome.ok).toBe(false);
		const shown = JSON.stringify(outcome);
		expect(shown).not.toContain('tok-ABCDEF-123456');
		expect(shown).not.toContain('secret-for-redaction');
		expect(shown).toContain('Bearer ***');
	});
});
