/**
 * A bounded set of recently seen keys (message ids), each remembered for a fixed time.
 *
 * Meta delivers webhooks at least once and re-delivers for days when it did not get its 200
 * in time, so the trigger remembers what it already emitted. Memory is bounded: at most
 * `maxEntries` keys; when full, the oldest is forgotten first. Every operation is O(1)
 * amortised (`has` is O(log n)): a Map finds a key, and a queue of recordings in arrival order
 * (which, since every key lives for the same time, is also expiry order) says what to forget
 * next. A Map's own iteration is not used for that: V8 leaves deleted slots at its front, so
 * "oldest key" lookups there grow linear once many keys have been removed.
 *
 * Scope: one process. It is the fast first filter of the trigger's webhook phase: a
 * re-delivery that reaches this process again never starts a run. One that reaches another
 * process (queue mode) or comes after a restart is dropped by the shared claim in n8n's
 * database, in the run's first step (conversation-state.ts).
 */

export interface DedupCacheOptions {
	/** How long a key is remembered (default 24 h). */
	ttlMs?: number;
	/** Most keys kept at once (default 10 000). */
	maxEntries?: number;
	/** Milliseconds clock, injectable for tests. */
	now?: () => number;
}

export const DEFAULT_DEDUP_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_DEDUP_MAX_ENTRIES = 10_000;

export class DedupCache {
	/** key → sequence number of its latest recording. */
	private readonly live = new Map<string, number>();

	/** Recordings in order (parallel arrays from `head`); entries superseded by a later recording are skipped. */
	private keys: string[] = [];

	private sequences: number[] = [];

	private expiries: number[] = [];

	private head = 0;

	private sequence = 0;

	private readonly ttlMs: number;

	private readonly maxEntries: number;

	private readonly now: () => number;

	constructor(options: DedupCacheOptions = {}) {
		this.ttlMs = options.ttlMs !== undefined && options.ttlMs > 0 ? options.ttlMs : DEFAULT_DEDUP_TTL_MS;
		this.maxEntries =
			options.maxEntries !== undefined && options.maxEntries >= 1 ? Math.floor(options.maxEntries) : DEFAULT_DEDUP_MAX_ENTRIES;
		this.now = options.now ?? Date.now;
	}

	get size(): number {
		return this.live.size;
	}

	/** Removes the oldest recording from the queue, forgetting its key if it is still current. */
	private shift(): void {
		const key = this.keys[this.head];
		if (this.live.get(key) === this.sequences[this.head]) this.live.delete(key);
		this.head++;
	}

	/** Keeps the queue's memory proportional to the live keys (amortised O(1)). */
	private compact(): void {
		const length = this.keys.length - this.head;
		if (this.head > 64 && this.head * 2 > this.keys.length) {
			this.keys = this.keys.slice(this.head);
			this.sequences = this.sequences.slice(this.head);
			this.expiries = this.expiries.slice(this.head);
			this.head = 0;
		} else if (length > 2 * this.maxEntries + 64) {
			// Many superseded recordings (one key seen again and again): keep the current ones only.
			const keys: string[] = [];
			const sequences: number[] = [];
			const expiries: number[] = [];
			for (let index = this.head; index < this.keys.length; index++) {
				if (this.live.get(this.keys[index]) !== this.sequences[index]) continue;
				keys.push(this.keys[index]);
				sequences.push(this.sequences[index]);
				expiries.push(this.expiries[index]);
			}
			this.keys = keys;
			this.sequences = sequences;
			this.expiries = expiries;
			this.head = 0;
		}
	}

	/** Whether the key was seen within the window, without recording it. */
	has(key: string): boolean {
		const sequence = this.live.get(key);
		if (sequence === undefined) return false;
		// Recordings are in sequence order, so the expiry is found by binary search.
		let low = this.head;
		let high = this.keys.length - 1;
		while (low <= high) {
			const middle = (low + high) >> 1;
			if (this.sequences[middle] === sequence) return this.expiries[middle] > this.now();
			if (this.sequences[middle] < sequence) low = middle + 1;
			else high = middle - 1;
		}
		return false;
	}

	/**
	 * Records the key and tells whether it had been seen within the window: `true` means
	 * "duplicate, skip it". A duplicate restarts its window, so Meta's spaced-out retries of
	 * one message keep being recognised.
	 */
	checkAndAdd(key: string): boolean {
		const now = this.now();
		// Every key lives for the same time, so the queue is in expiry order: drop from the front.
		while (this.head < this.keys.length && this.expiries[this.head] <= now) this.shift();
		const seen = this.live.has(key);
		while (!seen && this.live.size >= this.maxEntries && this.head < this.keys.length) this.shift();
		const sequence = ++this.sequence;
		this.live.set(key, sequence);
		this.keys.push(key);
		this.sequences.push(sequence);
		this.expiries.push(now + this.ttlMs);
		this.compact();
		return seen;
	}

	/** Forgets a key (used when an emit is abandoned, so a re-delivery is not lost). */
	delete(key: string): void {
		this.live.delete(key);
	}

	clear(): void {
		this.live.clear();
		this.keys = [];
		this.sequences = [];
		this.expiries = [];
		this.head = 0;
	}
}
