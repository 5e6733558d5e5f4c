/**
 * Conversations (bursts, history, handoff) over real HTTP against the fake of n8n's data-table
 * API: what every n8n process shares in n8n's database.
 */
import { Conversations, conversationKey, customerOf } from '../../core/conversation-state';
import { DataTableConversationRecords, DEFAULT_CONVERSATION_TABLE } from '../../core/conversation-records';
import { historyFromRows } from '../../core/conversation-history';
import { DataTableApiError, N8nDataTables } from '../../core/n8n-data-tables';
import { startFakeN8nApi, type FakeN8nApi } from '../fakes/fake-n8n-api';
import { axiosRequester } from '../harness/axios-requester';

const KEY = 'n8n_api_test_key';
let api: FakeN8nApi;

beforeEach(async () => {
	api = await startFakeN8nApi({ apiKey: KEY });
});
afterEach(async () => {
	await api.close();
});

function tablesWith(apiKey = KEY) {
	return new N8nDataTables({ baseUrl: api.baseUrl, request: axiosRequester({ headers: { 'X-N8N-API-KEY': apiKey } }) });
}

/**
 * A clock the test moves: `sleep` waits until the clock has been advanced past its end, so
 * concurrent runs see time pass together; `drive` advances in steps until a promise settles.
 */
function fakeClock(start = 1_800_000_000_000) {
	let now = start;
	const sleepers: Array<{ until: number; wake: () => void }> = [];
	const advance = (ms: number) => {
		now += ms;
		for (const sleeper of [...sleepers]) {
			if (sleeper.until <= now) {
				sleepers.splice(sleepers.indexOf(sleeper), 1);
				sleeper.wake();
			}
		}
	};
	return {
		now: () => now,
		advance,
		sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
		async drive<T>(promise: Promise<T>, stepMs = 100): Promise<T> {
			let settled = false;
			const watched = promise.finally(() => {
				settled = true;
			});
			while (!settled) {
				await new Promise((resolve) => setTimeout(resolve, 3));
				if (!settled) advance(stepMs);
			}
			return await watched;
		},
	};
}

function conversationsOn(clock: ReturnType<typeof fakeClock>, tables = tablesWith()) {
	return new Conversations(new DataTableConversationRecords(tables), { now: clock.now, sleep: clock.sleep, random: () => 0.99 });
}

const CONV = conversationKey('106540352242922', '+16505551234');
const text = (id: string, message: string) => ({ messageId: id, type: 'text', message, timestamp: '2026-12-06T10:00:00.000Z', waId: '16505551234' });

describe('conversation keys', () => {
	it('use the number without + (echoes and backfills name customers by number), else the business-scoped user id', () => {
		expect(customerOf({ userId: 'US.13491208655302741918', waId: '16505551234' })).toBe('16505551234');
		expect(customerOf({ userId: 'US.13491208655302741918', phone_number: 'US.13491208655302741918', waId: null })).toBe('US.13491208655302741918');
		expect(customerOf({ waId: '16505551234' })).toBe('16505551234');
		expect(customerOf({ phone_number: '+16505551234' })).toBe('16505551234');
		expect(CONV).toBe('106540352242922:16505551234');
	});
});

describe('the data table', () => {
	it('is created once with the conversation columns, also when two stores start together', async () => {
		const clock = fakeClock();
		await Promise.all([conversationsOn(clock).status(CONV), conversationsOn(clock).status(CONV)]);
		expect(api.tableNames()).toEqual([DEFAULT_CONVERSATION_TABLE]);
		expect(api.requests.filter((request) => request.method === 'POST' && request.path === '/data-tables').length).toBeLessThanOrEqual(2);
	});

	it('is found when another process created it between the look-up and the creation (the database refused the second one)', async () => {
		const direct = axiosRequester({ headers: { 'X-N8N-API-KEY': KEY } });
		let raced = false;
		const racing: typeof direct = async (request) => {
			if (request.method === 'POST' && request.url.endsWith('/data-tables') && !raced) {
				raced = true;
				// The other process wins; n8n's own check ran before, so the database's unique constraint answers.
				await direct(request);
				return { statusCode: 500, headers: {}, body: { message: 'duplicate key value violates unique constraint' } };
			}
			return await direct(request);
		};
		const tables = new N8nDataTables({ baseUrl: api.baseUrl, request: racing });
		const id = await tables.ensureTable('raced', [{ name: 'n', type: 'number' }]);
		expect(raced).toBe(true);
		expect(id).toBe(await tables.findTable('raced'));
	});

	it('explains a refused API key without showing it', async () => {
		const error = await conversationsOn(fakeClock(), tablesWith('wrong-key')).status(CONV).catch((caught) => caught);
		expect(error).toBeInstanceOf(DataTableApiError);
		expect(error.message).toMatch(/refused the API key.*Settings → n8n API/);
		expect(error.message).not.toContain('wrong-key');
	});

	it('pages through more rows than one page holds', async () => {
		const tables = tablesWith();
		const id = await tables.ensureTable('big', [{ name: 'n', type: 'number' }]);
		await tables.insert(id, Array.from({ length: 600 }, (_, n) => ({ n })));
		const all = await tables.rows(id, { sortBy: ['n', 'asc'] });
		expect(all.map((row) => row.n)).toEqual(Array.from({ length: 600 }, (_, n) => n));
		expect((await tables.rows(id, { sortBy: ['n', 'desc'], limit: 260 })).length).toBe(260);
	});
});

describe('bursts', () => {
	it('gives three messages typed in a burst to one run, the newest, in order', async () => {
		const clock = fakeClock();
		const burst = { quietMs: 3000, maxWaitMs: 15000, maxMessages: 10 };
		const store = conversationsOn(clock);
		const runs: Array<Promise<unknown>> = [];
		for (const [id, words] of [['wamid.1', 'Hi'], ['wamid.2', 'I want'], ['wamid.3', 'a table for two tonight']]) {
			await store.recordCustomer(CONV, text(id, words), true);
			runs.push(store.collect(CONV, id, `burst-${id}`, burst));
			clock.advance(500);
		}
		const outcomes = (await clock.drive(Promise.all(runs))) as Array<{ answer: boolean; messages?: Array<{ text: string }>; reason?: string }>;
		expect(outcomes.map((outcome) => outcome.answer)).toEqual([false, false, true]);
		expect(outcomes[2].messages?.map((row) => row.text)).toEqual(['Hi', 'I want', 'a table for two tonight']);
		// Taken rows keep the turn, not the item.
		expect(api.rowsOf(DEFAULT_CONVERSATION_TABLE).every((row) => row.burst === 'burst-wamid.3' && row.payload === '')).toBe(true);
	});

	it('answers at once when the maximum count waits, and when the oldest has waited the maximum time', async () => {
		const clock = fakeClock();
		const store = conversationsOn(clock);
		await store.recordCustomer(CONV, text('a', 'one'), true);
		await store.recordCustomer(CONV, text('b', 'two'), true);
		const full = await store.collect(CONV, 'b', 'burst-b', { quietMs: 60_000, maxWaitMs: 120_000, maxMessages: 2 });
		expect(full).toMatchObject({ answer: true });

		const started = clock.now();
		await store.recordCustomer(CONV, text('c', 'three'), true);
		const bounded = await clock.drive(store.collect(CONV, 'c', 'burst-c', { quietMs: 60_000, maxWaitMs: 5_000, maxMessages: 10 }));
		expect(bounded).toMatchObject({ answer: true });
		expect(clock.now() - started).toBeGreaterThanOrEqual(5_000);
		expect(clock.now() - started).toBeLessThan(5_300);
	});

	it('lets a message that arrives while the agent answers open the next burst', async () => {
		const clock = fakeClock();
		const store = conversationsOn(clock);
		const options = { quietMs: 1000, maxWaitMs: 10_000, maxMessages: 10 };
		await store.recordCustomer(CONV, text('m1', 'first'), true);
		const first = await clock.drive(store.collect(CONV, 'm1', 'b1', options));
		expect(first).toMatchObject({ answer: true });
		// The agent is answering b1 now; m2 arrives.
		await store.recordCustomer(CONV, text('m2', 'second'), true);
		const second = (await clock.drive(store.collect(CONV, 'm2', 'b2', options))) as { answer: boolean; messages: Array<{ messageId: string }> };
		expect(second.answer).toBe(true);
		expect(second.messages.map((row) => row.messageId)).toEqual(['m2']);
	});

	it('gives each waiting message to exactly one of two processes that take at the same moment', async () => {
		const clock = fakeClock();
		const one = conversationsOn(clock);
		await one.recordCustomer(CONV, text('x1', 'a'), true);
		await one.recordCustomer(CONV, text('x2', 'b'), true);
		api.setLatency(5);
		const records1 = new DataTableConversationRecords(tablesWith());
		const records2 = new DataTableConversationRecords(tablesWith());
		const [taken1, taken2] = await Promise.all([records1.take(CONV, 'p1', 0, clock.now()), records2.take(CONV, 'p2', 0, clock.now())]);
		expect(taken1.length + taken2.length).toBe(2);
		expect([...taken1, ...taken2].map((row) => row.messageId).sort()).toEqual(['x1', 'x2']);
	});
});

describe('history', () => {
	it('holds both sides in order, without the messages the request carries, media summarised', async () => {
		const clock = fakeClock();
		const store = conversationsOn(clock);
		await store.recordCustomer(CONV, text('c1', 'Do you have tables tonight?'), false);
		clock.advance(1000);
		await store.recordOutgoing(CONV, [{ type: 'text', text: 'Yes, for how many?' }], { role: 'agent', replyTo: 'c1' });
		clock.advance(1000);
		await store.recordCustomer(CONV, { messageId: 'c2', type: 'image', message: '', media: { caption: null } } as never, false);
		clock.advance(1000);
		await store.recordOutgoing(CONV, [{ type: 'text', text: 'I can take it from here.' }], { role: 'human', messageIds: ['wamid.human1'] });
		clock.advance(1000);
		await store.recordCustomer(CONV, text('c3', 'Two people'), false);

		const history = await store.history(CONV, 10, new Set(['c3']));
		expect(history.map((turn) => [turn.role, turn.text, turn.messageId])).toEqual([
			['customer', 'Do you have tables tonight?', 'c1'],
			['agent', 'Yes, for how many?', 'c1#agent1'],
			['customer', '[Sent an image]', 'c2'],
			['human', 'I can take it from here.', 'wamid.human1'],
		]);
		expect((await store.history(CONV, 2, new Set(['c3']))).map((turn) => turn.messageId)).toEqual(['c2', 'wamid.human1']);
		expect(await store.history(CONV, 0, new Set())).toEqual([]);
	});

	it('keeps a redelivered message once', () => {
		const row = { kind: 'message' as const, conversation: CONV, role: 'customer' as const, messageId: 'dup', type: 'text', text: 'hi', timestamp: '', at: 1, burst: '-', until: 0, payload: '' };
		expect(historyFromRows([row, { ...row, at: 0 }], 10)).toHaveLength(1);
	});

	it('follows a customer whose user id changed, and erases one customer on request', async () => {
		const clock = fakeClock();
		const store = conversationsOn(clock);
		const other = conversationKey('106540352242922', '4915112345678');
		await store.recordCustomer(CONV, text('c1', 'hello'), false);
		await store.recordCustomer(other, text('o1', 'hallo'), false);
		const renamed = conversationKey('106540352242922', 'US.1349');
		expect(await store.rename(CONV, renamed)).toBe(1);
		expect((await store.history(renamed, 5, new Set())).map((turn) => turn.messageId)).toEqual(['c1']);
		expect(await store.history(CONV, 5, new Set())).toEqual([]);

		expect(await store.erase(renamed)).toBe(1);
		expect(await store.history(renamed, 5, new Set())).toEqual([]);
		expect((await store.history(other, 5, new Set())).map((turn) => turn.messageId)).toEqual(['o1']);
	});

	it('drops what the retention no longer keeps', async () => {
		const clock = fakeClock();
		const store = new Conversations(new DataTableConversationRecords(tablesWith()), {
			now: clock.now,
			sleep: clock.sleep,
			random: () => 0, // trim on every call
			retention: { keepMessages: 3, keepDays: 1 },
			storeId: `retention-${Date.now()}`,
		});
		await store.recordCustomer(CONV, text('old', 'two days ago'), false);
		clock.advance(2 * 86_400_000);
		for (const id of ['n1', 'n2', 'n3', 'n4']) {
			await store.recordCustomer(CONV, text(id, id), false);
			clock.advance(10);
		}
		await store.upkeep(CONV);
		expect((await store.history(CONV, 10, new Set())).map((turn) => turn.messageId)).toEqual(['n2', 'n3', 'n4']);
	});
});

describe('human takeover', () => {
	it('pauses, expires on the clock, and resumes early when asked', async () => {
		const clock = fakeClock();
		const store = conversationsOn(clock);
		expect((await store.status(CONV)).paused).toBe(false);
		const paused = await store.pause(CONV, { minutes: 30, by: 'agent', reason: 'wants a refund' });
		expect(paused).toMatchObject({ paused: true, pausedBy: 'agent', reason: 'wants a refund' });
		clock.advance(29 * 60_000);
		expect((await store.status(CONV)).paused).toBe(true);
		clock.advance(2 * 60_000);
		expect((await store.status(CONV)).paused).toBe(false);

		await store.pause(CONV, { minutes: 60, by: 'human' });
		clock.advance(1);
		expect(await store.status(CONV)).toMatchObject({ paused: true, pausedBy: 'human' });
		await store.resume(CONV, { by: 'human' });
		expect((await store.status(CONV)).paused).toBe(false);
	});
});
