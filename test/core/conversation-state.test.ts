import type { ICheckProcessedOptions, IExecuteFunctions } from 'n8n-workflow';

import {
	ConversationState,
	ConversationStateError,
	callbackClaimKey,
	messageClaimKey,
	type StateBackend,
} from '../../core/conversation-state';
import { KeyedMutex } from '../../core/keyed-mutex';
import { processedDataBackend } from '../../nodes/shared/processedDataState';
import { ProcessedDataStore } from '../fakes/processed-data-store';

const WORKFLOW = { id: 'wf-1', active: true };
const TRIGGER = { id: 'trigger-1', name: 'WhatsApp Agent Trigger', type: 't', typeVersion: 1, position: [0, 0] as [number, number], parameters: {} };

/** The backend the trigger builds (nodes/shared/processedDataState.ts), over the model of n8n's store. */
function backendOn(store: ProcessedDataStore, options: { lockless?: boolean } = {}): StateBackend {
	const contextData = { workflow: WORKFLOW, node: TRIGGER };
	const context = {
		getNode: () => TRIGGER,
		getWorkflow: () => WORKFLOW,
		helpers: {
			checkProcessedAndRecord: async (items: string[], scope: 'node' | 'workflow', checkOptions: ICheckProcessedOptions) =>
				await store.checkProcessedAndRecord(items, scope, contextData, checkOptions),
			clearAllProcessedItems: async (scope: 'node' | 'workflow') => await store.clearAllProcessedItems(scope, contextData),
		},
	} as unknown as IExecuteFunctions;
	const backend = processedDataBackend(context);
	if (options.lockless) backend.lock = { tryAcquire: async () => true, release: async () => undefined };
	return backend;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One n8n process: its own in-process queue, the shared store. */
function processOn(store: ProcessedDataStore, options: { lockless?: boolean } = {}) {
	return new ConversationState(backendOn(store, options), { sleep: realSleep, localTurns: new KeyedMutex() });
}

describe('conversation state: claims', () => {
	it('gives a key to the first claim only, and remembers it for later claims from any process', async () => {
		const store = new ProcessedDataStore();
		const first = await processOn(store).claim([messageClaimKey('106', 'wamid.A'), messageClaimKey('106', 'wamid.B')]);
		expect(first.fresh).toEqual(['message:106:wamid.A', 'message:106:wamid.B']);
		expect(first.duplicates).toEqual([]);

		const again = await processOn(store).claim([messageClaimKey('106', 'wamid.B'), messageClaimKey('106', 'wamid.C')]);
		expect(again.fresh).toEqual(['message:106:wamid.C']);
		expect(again.duplicates).toEqual(['message:106:wamid.B']);
		// The lock entry is gone after each claim; the set entry stays.
		expect(store.entries('wf-1', 'n:trigger-1')).toBeUndefined();
		expect(store.entries('wf-1', '')).toHaveLength(3);
	});

	it('keeps message and callback keys apart and ignores repeats within one claim', async () => {
		const store = new ProcessedDataStore();
		const outcome = await processOn(store).claim([
			messageClaimKey('106', 'wamid.A'),
			messageClaimKey('106', 'wamid.A'),
			callbackClaimKey('106', 'wamid.A', 'retry-1'),
		]);
		expect(outcome.fresh).toEqual(['message:106:wamid.A', 'callback:106:wamid.A:retry-1']);
		expect((await processOn(store).claim([])).fresh).toEqual([]);
	});

	it('under concurrent claims from several processes, every key is fresh exactly once and none is forgotten', async () => {
		// Random pauses between n8n's read and write make the store's races real.
		const store = new ProcessedDataStore({ latencyMs: () => Math.floor(Math.random() * 3) });
		const processes = [processOn(store), processOn(store), processOn(store), processOn(store)];
		const keys = Array.from({ length: 40 }, (_, index) => messageClaimKey('106', `wamid.${index}`));
		// Every key is claimed twice (a redelivery reaching another process), in shuffled order.
		const claims = [...keys, ...keys].map((key, index) => ({ key, process: processes[index % processes.length] })).sort(() => Math.random() - 0.5);
		const outcomes = await Promise.all(claims.map(({ key, process }) => process.claim([key])));

		const freshCount = new Map<string, number>();
		for (const outcome of outcomes) for (const key of outcome.fresh) freshCount.set(key, (freshCount.get(key) ?? 0) + 1);
		expect([...freshCount.values()].every((count) => count === 1)).toBe(true);
		expect(freshCount.size).toBe(keys.length);
		// Nothing lost: a third delivery of every key, later, is a duplicate.
		const later = await processOn(store).claim(keys);
		expect(later.fresh).toEqual([]);
		expect(store.entries('wf-1', 'n:trigger-1')).toBeUndefined();
	}, 30_000);

	it('the same race without the lock answers twice or forgets keys (so the test above can fail)', async () => {
		let broken = false;
		for (let attempt = 0; attempt < 5 && !broken; attempt++) {
			const store = new ProcessedDataStore({ latencyMs: () => Math.floor(Math.random() * 3) });
			const processes = [processOn(store, { lockless: true }), processOn(store, { lockless: true })];
			const keys = Array.from({ length: 40 }, (_, index) => `k${index}`);
			const outcomes = await Promise.allSettled([...keys, ...keys].map((key, index) => processes[index % 2].claim([key])));
			const fresh = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value.fresh : []));
			const failed = outcomes.some((outcome) => outcome.status === 'rejected');
			const later = await processOn(store, { lockless: true }).claim(keys);
			broken = failed || fresh.length !== keys.length || later.fresh.length > 0;
		}
		expect(broken).toBe(true);
	}, 30_000);

	it('removes a lock left by a holder that died, after staleLockMs of finding it taken', async () => {
		const store = new ProcessedDataStore();
		const contextData = { workflow: WORKFLOW, node: TRIGGER };
		// A worker took the lock and was killed before releasing it.
		await store.checkProcessedAndRecord(['whatsapp-agent:lock'], 'node', contextData, { mode: 'entries' });
		let clock = 0;
		const state = new ConversationState(backendOn(store), {
			now: () => clock,
			sleep: async (ms) => {
				clock += ms;
			},
			staleLockMs: 1_000,
			localTurns: new KeyedMutex(),
		});
		const outcome = await state.claim(['message:106:wamid.X']);
		expect(outcome.fresh).toEqual(['message:106:wamid.X']);
		expect(outcome.removedStaleLock).toBe(true);
		expect(clock).toBeGreaterThanOrEqual(1_000);
		expect(clock).toBeLessThan(1_200);
		expect(store.entries('wf-1', 'n:trigger-1')).toBeUndefined();
	});

	it('waits for a live holder instead of removing its lock', async () => {
		const store = new ProcessedDataStore();
		const contextData = { workflow: WORKFLOW, node: TRIGGER };
		await store.checkProcessedAndRecord(['whatsapp-agent:lock'], 'node', contextData, { mode: 'entries' });
		const waiting = processOn(store).claim(['message:106:wamid.Y']);
		await realSleep(50);
		// The holder finishes its claim of the same key, then releases.
		await store.checkProcessedAndRecord(['message:106:wamid.Y'], 'workflow', contextData, { mode: 'entries' });
		await store.clearAllProcessedItems('node', contextData);
		const outcome = await waiting;
		expect(outcome.removedStaleLock).toBe(false);
		expect(outcome.lockAttempts).toBeGreaterThan(1);
		expect(outcome.duplicates).toEqual(['message:106:wamid.Y']);
	});

	it('fails with a readable error when the database fails, and leaves no lock behind', async () => {
		const store = new ProcessedDataStore();
		const backend = backendOn(store);
		const record = backend.seen.record;
		backend.seen.record = async () => {
			throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
		};
		const state = new ConversationState(backend, { sleep: realSleep, localTurns: new KeyedMutex() });
		await expect(state.claim(['message:106:wamid.Z'])).rejects.toThrow(
			new ConversationStateError("Could not record the deliveries in n8n's database: connect ECONNREFUSED 127.0.0.1:5432"),
		);
		expect(store.entries('wf-1', 'n:trigger-1')).toBeUndefined();
		backend.seen.record = record;
		expect((await state.claim(['message:106:wamid.Z'])).fresh).toEqual(['message:106:wamid.Z']);

		store.failWith = new Error('SQLITE_BUSY: database is locked');
		await expect(state.claim(['message:106:wamid.W'])).rejects.toThrow("Could not take the shared lock in n8n's database: SQLITE_BUSY");
	});

	it('gives up after lockTimeoutMs when the lock can never be taken', async () => {
		let clock = 0;
		const backend: StateBackend = {
			scope: 's',
			lock: { tryAcquire: async () => false, release: async () => undefined },
			seen: { record: async () => new Set() },
		};
		const state = new ConversationState(backend, {
			now: () => clock,
			sleep: async (ms) => {
				clock += ms;
			},
			staleLockMs: 1_000,
			lockTimeoutMs: 5_000,
			localTurns: new KeyedMutex(),
		});
		await expect(state.claim(['k'])).rejects.toThrow(/stayed taken for 5 s/);
	});

	it('one process queues its own claims instead of contending for the lock with itself', async () => {
		const store = new ProcessedDataStore({ latencyMs: () => 1 });
		const state = processOn(store);
		const outcomes = await Promise.all(Array.from({ length: 10 }, (_, index) => state.claim([`k${index}`])));
		expect(outcomes.every((outcome) => outcome.lockAttempts === 1)).toBe(true);
	});
});

describe('KeyedMutex', () => {
	it('runs tasks of one key one at a time in order, other keys alongside, and forgets idle keys', async () => {
		const mutex = new KeyedMutex();
		const log: string[] = [];
		const task = (name: string, ms: number) => async () => {
			log.push(`start ${name}`);
			await realSleep(ms);
			log.push(`end ${name}`);
			return name;
		};
		const results = await Promise.all([mutex.run('a', task('a1', 20)), mutex.run('a', task('a2', 1)), mutex.run('b', task('b1', 1))]);
		expect(results).toEqual(['a1', 'a2', 'b1']);
		expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
		expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
		expect(mutex.size).toBe(0);
		await expect(mutex.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
		expect(await mutex.run('a', async () => 'after')).toBe('after');
	});
});
