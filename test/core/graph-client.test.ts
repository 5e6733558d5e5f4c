/**
 * The Graph client against the fake Graph API over real HTTP (through the axios requester),
 * with a recording fake sleep: every wait the retry policy asks for is checked.
 */
import http from 'http';
import type { AddressInfo } from 'net';

import { WhatsAppValidationError } from '../../core/errors';
import {
	DEFAULT_RETRY_POLICY,
	GraphClient,
	isTrustedMediaHost,
	normalizeApiVersion,
	type GraphClientOptions,
} from '../../core/graph-client';
import { GraphApiError } from '../../core/graph-errors';
import { TransportError } from '../../core/http-transport';
import { FAKE_PHONE_NUMBER_ID, startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api';
import { axiosRequester } from '../harness/axios-requester';

const TO = '+16505551234';
const WAMID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';

let fake: FakeGraphApi;
let sleeps: number[];
let retries: Array<{ attempt: number; delayMs: number; reason: string }>;

function client(overrides: Partial<GraphClientOptions> = {}): GraphClient {
	return new GraphClient({
		request: axiosRequester({ token: fake.token }),
		sleep: async (ms) => {
			sleeps.push(ms);
		},
		baseUrl: `${fake.baseUrl}/`,
		apiVersion: '24.0',
		random: () => 0.5,
		onRetry: (info) => retries.push(info),
		...overrides,
	});
}

async function caught<T>(promise: Promise<T>): Promise<Error> {
	try {
		await promise;
	} catch (error) {
		return error as Error;
	}
	throw new Error('expected a rejection');
}

const text = (body: string) => ({ to: TO, type: 'text', text: { body } });

beforeAll(async () => {
	fake = await startFakeGraphApi();
});
afterAll(() => fake.close());
beforeEach(() => {
	fake.reset();
	sleeps = [];
	retries = [];
});

describe('URLs', () => {
	it('builds <base>/<version>/<path>, tolerating a trailing slash and a bare version', () => {
		expect(client().url('123/messages')).toBe(`${fake.baseUrl}/v24.0/123/messages`);
		expect(client({ baseUrl: 'https://graph.facebook.com///', apiVersion: 'v25.0' }).url('/x')).toBe('https://graph.facebook.com/v25.0/x');
	});

	it.each([
		['24.0', 'v24.0'],
		['v24.0', 'v24.0'],
		['V21.0', 'v21.0'],
		['v24', 'v24.0'],
		[' /v26.0/ ', 'v26.0'],
		['', 'v24.0'],
	])('API version %j → %s', (input, expected) => {
		expect(normalizeApiVersion(input)).toBe(expected);
	});

	it('refuses a malformed version or base URL, naming the credential field', () => {
		expect(() => client({ apiVersion: 'latest' })).toThrow(expect.objectContaining({ field: 'apiVersion' }));
		expect(() => client({ baseUrl: 'graph.facebook.com' })).toThrow(expect.objectContaining({ field: 'graphApiBaseUrl' }));
		expect(() => client({ baseUrl: 'ftp://graph.facebook.com' })).toThrow(WhatsAppValidationError);
	});

	it('refuses ids that would change the path', async () => {
		await expect(client().sendMessage('../me', text('hi'))).rejects.toMatchObject({ field: 'phoneNumberId' });
		await expect(client().sendMessage('', text('hi'))).rejects.toMatchObject({ field: 'phoneNumberId' });
		await expect(client().getMediaInfo('1/2')).rejects.toMatchObject({ field: 'mediaId' });
		expect(fake.requests).toHaveLength(0);
	});
});

describe('sendMessage', () => {
	it('sends once with the token and returns the message id', async () => {
		const result = await client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hello'));
		expect(fake.sent).toHaveLength(1);
		expect(result).toEqual({ messageId: fake.sent[0].id, waId: '16505551234' });
		expect(fake.sent[0]).toMatchObject({ phoneNumberId: FAKE_PHONE_NUMBER_ID, to: TO, type: 'text', version: 'v24.0' });
		expect(fake.sent[0].payload).toEqual({ messaging_product: 'whatsapp', to: TO, type: 'text', text: { body: 'Hello' } });
		expect(fake.requests[0].headers.authorization).toBe(`Bearer ${fake.token}`);
		expect(sleeps).toEqual([]);
	});

	it('500, then 429 (130429, Retry-After 2), then success → delivered exactly once after the policy\'s waits', async () => {
		fake.fail({ status: 500 }, { route: 'messages' });
		fake.fail({ status: 429, code: 130429, retryAfter: 2 }, { route: 'messages' });
		const result = await client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hello'));
		expect(fake.requestsTo('messages').map((request) => request.status)).toEqual([500, 429, 200]);
		expect(fake.sent).toHaveLength(1);
		expect(result.messageId).toBe(fake.sent[0].id);
		// full jitter: 0.5 × min(8000, 500 × 2^0) = 250 ms; then Retry-After: 2 s exactly.
		expect(sleeps).toEqual([250, 2000]);
		expect(retries).toEqual([
			{ attempt: 1, delayMs: 250, reason: 'HTTP 500 (#131000) Something went wrong' },
			{ attempt: 2, delayMs: 2000, reason: 'HTTP 429 (#130429) Rate limit hit' },
		]);
	});

	it('400 with 131047 → readable GraphApiError, exactly one request, no wait', async () => {
		fake.fail({ code: 131047 }, { route: 'messages' });
		const error = await caught(client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hello')));
		expect(error).toBeInstanceOf(GraphApiError);
		expect(error).toMatchObject({ httpStatus: 400, code: 131047, title: 'Re-engagement message', retryable: false });
		expect(error.message).toMatch(/^Sending the message failed \(HTTP 400\): \(#131047\) Re-engagement message – Message failed to send because more than 24 hours have passed/);
		expect(error.message).toContain('only an approved template can be sent now (use Send Template)');
		expect(error.message).not.toMatch(/attempt/);
		expect(fake.requests).toHaveLength(1);
		expect(fake.sent).toHaveLength(0);
		expect(sleeps).toEqual([]);
	});

	it('190 (bad token) → no retry, and the token is in no message', async () => {
		const leaked = 'EAAGm0PX4ZCpsBAKZCv2ZBqZBZAyZC7ZC3ZBvZC0ZDwrong';
		const error = await caught(client({ request: axiosRequester({ token: leaked }) }).sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi')));
		expect(error).toMatchObject({ httpStatus: 401, code: 190, retryable: false });
		expect(error.message).toMatch(/expired or was revoked: generate a new one/);
		expect(error.message).not.toContain(leaked);
		expect(fake.requests).toHaveLength(1);
		expect(fake.requests[0].headers.authorization).toBe(`Bearer ${leaked}`);
		// Even when Meta echoes the token back, it is scrubbed.
		fake.fail({ status: 401, code: 190, details: `Token ${leaked} expired; see ?access_token=${leaked}` });
		const echoed = await caught(client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi')));
		expect(echoed.message).not.toContain(leaked);
		expect(JSON.stringify(echoed)).not.toContain(leaked);
		expect(sleeps).toEqual([]);
	});

	it('a dropped connection, then success → one delivery', async () => {
		fake.fail({ drop: true }, { route: 'messages' });
		const result = await client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi'));
		expect(fake.requestsTo('messages')).toHaveLength(2);
		expect(fake.requestsTo('messages')[0].dropped).toBe(true);
		expect(fake.sent).toHaveLength(1);
		expect(result.messageId).toBe(fake.sent[0].id);
		expect(sleeps).toEqual([250]);
		expect(retries[0].reason).toBe('no response (ECONNRESET)');
	});

	it('retries exhausted → the error says how many attempts were made', async () => {
		fake.fail({ status: 503 }, { route: 'messages', times: Infinity });
		const error = await caught(client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi')));
		expect(error).toBeInstanceOf(GraphApiError);
		expect(error).toMatchObject({ code: 131016, attempts: 4, retryable: true });
		expect(error.message).toMatch(/\(gave up after 4 attempts\)$/);
		expect(fake.requests).toHaveLength(4);
		expect(sleeps).toEqual([250, 500, 1000]);
	});

	it('network failures exhausted → TransportError saying the attempts', async () => {
		fake.fail({ drop: true }, { times: Infinity });
		const error = await caught(client({ retry: { maxRetries: 2 } }).sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi')));
		expect(error).toBeInstanceOf(TransportError);
		expect(error.message).toMatch(/^Sending the message failed: No response from 127\.0\.0\.1:\d+ \(ECONNRESET\) \(gave up after 3 attempts\)$/);
		expect(fake.requests).toHaveLength(3);
		expect(fake.sent).toHaveLength(0);
	});

	it('a Retry-After longer than maxRetryAfterMs fails at once instead of waiting', async () => {
		fake.fail({ status: 429, code: 130429, retryAfter: 120 });
		const error = await caught(client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi')));
		expect(error).toMatchObject({ code: 130429, attempts: 1 });
		expect(error.message).toMatch(/Meta asked to wait 120 s before trying again, longer than the 30 s allowed: try again later; 1 attempt made\)$/);
		expect(fake.requests).toHaveLength(1);
		expect(sleeps).toEqual([]);
	});

	it('honours Retry-After given as an HTTP date', async () => {
		const now = Date.UTC(2026, 0, 1, 12, 0, 0);
		fake.fail({ status: 503, retryAfter: new Date(now + 3000).toUTCString() });
		await client({ now: () => now }).sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi'));
		expect(sleeps).toEqual([3000]);
	});

	it('backs off 4^X seconds on 131056 (pair rate limit), as Meta advises', async () => {
		fake.fail({ code: 131056 }, { times: 3 });
		await client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi'));
		expect(sleeps).toEqual([1000, 4000, 16000]);
		expect(fake.sent).toHaveLength(1);
	});

	it.each([4, 80007, 130429, 131000, 133004, 2])('retries Meta code %i even when it comes with HTTP 400', async (code) => {
		fake.fail({ status: 400, code });
		await client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi'));
		expect(fake.requests.map((request) => request.status)).toEqual([400, 200]);
		expect(fake.sent).toHaveLength(1);
	});

	it.each([
		[400, 100],
		[400, 131026],
		[403, 10],
		[403, 368],
		[400, 131053],
		[404, undefined],
	])('never retries HTTP %i (code %s)', async (status, code) => {
		fake.fail({ status, code });
		await expect(client().sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi'))).rejects.toBeInstanceOf(GraphApiError);
		expect(fake.requests).toHaveLength(1);
	});

	it('caps the backoff at maxDelayMs and uses the injected jitter', async () => {
		fake.fail({ status: 500 }, { times: 4 });
		await client({ random: () => 0.999, retry: { baseDelayMs: 1000, maxDelayMs: 2500, maxRetries: 4 } }).sendMessage(FAKE_PHONE_NUMBER_ID, text('Hi'));
		expect(sleeps).toEqual([999, 1998, 2497, 2497]);
		expect(fake.sent).toHaveLength(1);
	});

	it('the default policy is 3 retries, 500 ms base, 8 s cap, 30 s Retry-After cap', () => {
		expect(DEFAULT_RETRY_POLICY).toEqual({ maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 30000 });
		expect(client({ retry: { maxRetries: 5 } }).retryPolicy).toEqual({ ...DEFAULT_RETRY_POLICY, maxRetries: 5 });
	});

	it('Meta\'s own validation errors come back readable: a bad number, a text over 4096', async () => {
		const badNumber = await caught(client().sendMessage(FAKE_PHONE_NUMBER_ID, { to: '12ab', type: 'text', text: { body: 'x' } }));
		expect(badNumber).toMatchObject({ code: 100 });
		expect(badNumber.message).toMatch(/check the recipient's number: international format with country code/i);
		const tooLong = await caught(client().sendMessage(FAKE_PHONE_NUMBER_ID, text('x'.repeat(4097))));
		expect(tooLong.message).toContain("(#100) Invalid parameter – Param text['body'] must be at most 4096 characters long.");
		expect(fake.sent).toHaveLength(0);
	});

	it('a wrong Phone Number ID → the hint says where to find the right one', async () => {
		const error = await caught(client().sendMessage('999999999', text('Hi')));
		expect(error).toMatchObject({ code: 100, subcode: 33 });
		expect(error.message).toMatch(/Check the Phone Number ID in the credential/);
	});
});

describe('call()', () => {
	it('GETs with query parameters (the credential test request)', async () => {
		const body = await client().call<Record<string, string>>('GET', FAKE_PHONE_NUMBER_ID, { qs: { fields: 'display_phone_number,verified_name' } });
		expect(body).toEqual({ display_phone_number: '15550783881', verified_name: 'Fake Test Business', id: FAKE_PHONE_NUMBER_ID });
	});

	it('retry: false makes a single attempt', async () => {
		fake.fail({ status: 500 });
		await expect(client().call('GET', FAKE_PHONE_NUMBER_ID, { retry: false })).rejects.toMatchObject({ httpStatus: 500 });
		expect(fake.requests).toHaveLength(1);
	});

	it('a request that times out is retried', async () => {
		fake.fail({ delayMs: 1500 });
		const body = await client({ timeoutMs: 200 }).call<Record<string, string>>('GET', FAKE_PHONE_NUMBER_ID);
		expect(body.id).toBe(FAKE_PHONE_NUMBER_ID);
		expect(retries[0].reason).toBe('no response (ETIMEDOUT)');
		expect(fake.requests).toHaveLength(2);
	});
});

describe('markAsRead', () => {
	it('marks as read, with the typing indicator when asked', async () => {
		await client().markAsRead(FAKE_PHONE_NUMBER_ID, WAMID, { typing: true });
		await client().markAsRead(FAKE_PHONE_NUMBER_ID, WAMID);
		expect(fake.reads.map(({ messageId, typing }) => ({ messageId, typing }))).toEqual([
			{ messageId: WAMID, typing: true },
			{ messageId: WAMID, typing: false },
		]);
		expect(fake.requests[0].json).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: WAMID, typing_indicator: { type: 'text' } });
		expect(fake.sent).toHaveLength(0);
	});

	it('an invalid message id → 131009 with a message-id hint, no retry', async () => {
		const error = await caught(client().markAsRead(FAKE_PHONE_NUMBER_ID, 'not-a-wamid'));
		expect(error).toMatchObject({ code: 131009, retryable: false });
		expect(error.message).toMatch(/^Marking the message as read failed \(HTTP 400\): \(#131009\) Parameter value is not valid – Param message_id is not a valid WhatsApp message id\. The message id is not valid/);
		expect(fake.requests).toHaveLength(1);
	});

	it('refuses an empty message id before calling Meta', async () => {
		await expect(client().markAsRead(FAKE_PHONE_NUMBER_ID, ' ')).rejects.toMatchObject({ field: 'messageId' });
		expect(fake.requests).toHaveLength(0);
	});
});

describe('media', () => {
	const pdf = Buffer.concat([Buffer.from('%PDF-1.7\r\n--boundary\r\n'), Buffer.from(Array.from({ length: 3000 }, (_, index) => index % 256))]);

	it('uploads multipart that the fake parses for real', async () => {
		const id = await client().uploadMedia(FAKE_PHONE_NUMBER_ID, { data: pdf, mimeType: 'application/pdf', filename: 'Ré"sumé 2026.pdf' });
		const stored = fake.media.get(id);
		expect(stored).toMatchObject({ id, mimeType: 'application/pdf', filename: 'Ré"sumé 2026.pdf', phoneNumberId: FAKE_PHONE_NUMBER_ID, fileSize: pdf.length });
		expect(stored!.data.equals(pdf)).toBe(true);
		const request = fake.requestsTo('media.upload')[0];
		expect(request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
		expect(request.headers.authorization).toBe(`Bearer ${fake.token}`);
	});

	it('names the file from its MIME type when no filename is given', async () => {
		const id = await client().uploadMedia(FAKE_PHONE_NUMBER_ID, { data: Buffer.from([0xff, 0xd8, 0xff]), mimeType: 'image/jpeg' });
		expect(fake.media.get(id)?.filename).toBe('file.jpg');
	});

	it('an unsupported type → 131053 with what to do, no retry', async () => {
		const error = await caught(client().uploadMedia(FAKE_PHONE_NUMBER_ID, { data: Buffer.from('PK'), mimeType: 'application/zip', filename: 'a.zip' }));
		expect(error).toMatchObject({ code: 131053, retryable: false });
		expect(error.message).toMatch(/^Uploading the media failed \(HTTP 400\): \(#131053\) Media upload error – .*application\/zip.*check that the file type is supported/);
		expect(fake.requests).toHaveLength(1);
	});

	it('refuses an empty file or a missing MIME type before calling Meta', async () => {
		await expect(client().uploadMedia(FAKE_PHONE_NUMBER_ID, { data: Buffer.alloc(0), mimeType: 'image/png' })).rejects.toMatchObject({ field: 'data' });
		await expect(client().uploadMedia(FAKE_PHONE_NUMBER_ID, { data: Buffer.from('x'), mimeType: '' })).rejects.toMatchObject({ field: 'mimeType' });
		expect(fake.requests).toHaveLength(0);
	});

	it('retries an upload after a 5xx and stores it once', async () => {
		fake.fail({ status: 500 }, { route: 'media.upload' });
		const id = await client().uploadMedia(FAKE_PHONE_NUMBER_ID, { data: pdf, mimeType: 'application/pdf' });
		expect([...fake.media.keys()]).toEqual([id]);
	});

	it('gets media info and downloads it with the token from the Graph host', async () => {
		const id = fake.addMedia(Buffer.from('OggS voice'), 'audio/ogg; codecs=opus');
		const info = await client().getMediaInfo(id, FAKE_PHONE_NUMBER_ID);
		expect(info).toEqual({ id, url: expect.stringMatching(new RegExp(`^${fake.baseUrl}/lookaside/whatsapp_business/attachments/\\?mid=${id}&`)), mimeType: 'audio/ogg; codecs=opus', sha256: fake.media.get(id)!.sha256, fileSize: 10 });
		expect(fake.requestsTo('media.info')[0].query).toEqual({ phone_number_id: FAKE_PHONE_NUMBER_ID });
		const download = await client().downloadMedia(info.url);
		expect(download).toEqual({ data: Buffer.from('OggS voice'), mimeType: 'audio/ogg; codecs=opus' });
		expect(fake.requestsTo('media.download')[0].headers.authorization).toBe(`Bearer ${fake.token}`);
	});

	it('reads file_size given as a string', async () => {
		const other = await startFakeGraphApi({ fileSizeAs: 'string' });
		try {
			const id = other.addMedia(Buffer.alloc(61901, 1), 'image/jpeg');
			const body = await client({ baseUrl: other.baseUrl, request: axiosRequester({ token: other.token }) }).call<Record<string, unknown>>('GET', id);
			expect(body.file_size).toBe('61901');
			const info = await client({ baseUrl: other.baseUrl, request: axiosRequester({ token: other.token }) }).getMediaInfo(id);
			expect(info.fileSize).toBe(61901);
		} finally {
			await other.close();
		}
	});

	it('an expired or unknown download link → readable error with what to do, no retry', async () => {
		const error = await caught(client().downloadMedia(`${fake.baseUrl}/lookaside/whatsapp_business/attachments/?mid=404`));
		expect(error).toMatchObject({ httpStatus: 404, retryable: false });
		expect(error.message).toMatch(/^Downloading the media failed \(HTTP 404\): the media link was refused or has expired\. Media links from Meta work for 5 minutes: get the media info again/);
		expect(fake.requests).toHaveLength(1);
	});

	it('refuses non-http(s) URLs without any request', async () => {
		for (const url of ['file:///etc/passwd', 'ftp://lookaside.fbsbx.com/x', 'javascript:alert(1)', 'not a url']) {
			await expect(client().downloadMedia(url)).rejects.toMatchObject({ field: 'url' });
		}
		expect(fake.requests).toHaveLength(0);
	});

	it('refuses a file larger than maxBytes', async () => {
		const id = fake.addMedia(Buffer.alloc(2048), 'image/png');
		const { url } = await client().getMediaInfo(id);
		await expect(client().downloadMedia(url, { maxBytes: 1024 })).rejects.toMatchObject({ field: 'maxBytes' });
		await expect(client().downloadMedia(url, { maxBytes: 2048 })).resolves.toMatchObject({ mimeType: 'image/png' });
	});

	describe('a media URL on a foreign host', () => {
		let foreign: http.Server;
		let foreignUrl: string;
		let seen: http.IncomingHttpHeaders[];
		beforeAll(async () => {
			foreign = http.createServer((request, response) => {
				seen.push(request.headers);
				response.writeHead(200, { 'content-type': 'image/png' });
				response.end(Buffer.from('foreign bytes'));
			});
			await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
			foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
		});
		afterAll(() => new Promise((resolve) => foreign.close(resolve)));
		beforeEach(() => {
			seen = [];
			fake.setMediaUrlBase(foreignUrl);
		});

		it('is fetched without the token through the plain requester', async () => {
			const id = fake.addMedia(Buffer.from('x'), 'image/png');
			const info = await client({ unauthenticatedRequest: axiosRequester() }).getMediaInfo(id);
			expect(info.url.startsWith(`${foreignUrl}/lookaside/`)).toBe(true);
			const download = await client({ unauthenticatedRequest: axiosRequester() }).downloadMedia(info.url);
			expect(download).toEqual({ data: Buffer.from('foreign bytes'), mimeType: 'image/png' });
			expect(seen).toHaveLength(1);
			expect(seen[0].authorization).toBeUndefined();
			expect(JSON.stringify(seen[0])).not.toContain(fake.token);
			expect(fake.requestsTo('media.download')).toHaveLength(0);
		});

		it('a trusted host redirecting there does not carry the token along', async () => {
			fake.addRoute({
				name: 'test.redirect',
				method: 'GET',
				path: /^\/redirect-to-foreign$/,
				versioned: false,
				handle: () => ({ status: 302, body: '', headers: { location: `${foreignUrl}/elsewhere` } }),
			});
			const download = await client().downloadMedia(`${fake.baseUrl}/redirect-to-foreign`);
			expect(download.data).toEqual(Buffer.from('foreign bytes'));
			expect(fake.requestsTo('test.redirect')[0].headers.authorization).toBe(`Bearer ${fake.token}`);
			expect(seen).toHaveLength(1);
			expect(seen[0].authorization).toBeUndefined();
		});

		it('is refused when no plain requester is available, and nothing is sent there', async () => {
			const id = fake.addMedia(Buffer.from('x'), 'image/png');
			const info = await client().getMediaInfo(id);
			const error = await caught(client().downloadMedia(info.url));
			expect(error).toBeInstanceOf(WhatsAppValidationError);
			expect(error.message).toMatch(/access token is not sent there/);
			expect(seen).toHaveLength(0);
		});
	});
});

describe('isTrustedMediaHost', () => {
	const graph = 'https://graph.facebook.com';
	it.each([
		['https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1', graph, true],
		['https://LOOKASIDE.FBSBX.COM./x', graph, true],
		['https://scontent.xx.fbcdn.net/v/t1.jpg', graph, true],
		['https://mmg.whatsapp.net/d/f/x.enc', graph, true],
		['https://graph.facebook.com/v24.0/123', graph, true],
		['https://www.facebook.com/x', graph, true],
		['https://fbsbx.com/x', graph, true],
		['http://lookaside.fbsbx.com/x', graph, false],
		['https://lookaside.fbsbx.com:8443/x', graph, false],
		['https://evilfbsbx.com/x', graph, false],
		['https://lookaside.fbsbx.com.evil.com/x', graph, false],
		['https://graph.facebook.com@evil.com/x', graph, false],
		['https://user:pw@lookaside.fbsbx.com/x', graph, false],
		['https://example.com/a.jpg', graph, false],
		['ftp://lookaside.fbsbx.com/x', graph, false],
		['not a url', graph, false],
		['http://127.0.0.1:8080/lookaside/x', 'http://127.0.0.1:8080', true],
		['http://127.0.0.1:8081/lookaside/x', 'http://127.0.0.1:8080', false],
		['https://127.0.0.1:8080/lookaside/x', 'http://127.0.0.1:8080', false],
		['https://proxy.example.com/media/1', 'https://proxy.example.com/graph/', true],
		['https://proxy.example.com:443/media/1', 'https://proxy.example.com', true],
	])('%s (graph base %s) → %s', (url, base, expected) => {
		expect(isTrustedMediaHost(url, base)).toBe(expected);
	});
});
