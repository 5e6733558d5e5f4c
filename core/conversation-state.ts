/**
 * Conversation state that every n8n process sees (SPEC §9, §10): in queue mode a customer's
 * deliveries reach any webhook process and run on any worker, so nothing that decides what
 * the customer gets may live in one process's memory. Two stores, both n8n's own database,
 * reached through small backends the nodes build from what n8n gives them:
 *
 * 1. Claims ("has this delivery been handled already?", for Meta's message ids and reply
 *    Idempotency-Keys): n8n's processed-data store, which every node can use without any set-up
 *    (nodes/shared/processedDataState.ts). `ConversationState.claim` below.
 * 2. Conversations (bursts, history, human takeover): rows in an n8n data table, through n8n's
 *    API (conversation-records.ts), because the processed-data store keeps only hashes of keys.
 *    `Conversations` below; each part has its own module (conversation-bursts.ts,
 *    conversation-history.ts, conversation-handoff.ts).
 *
 * Why claims take a lock: each (workflow, node) has one stored set of hashed keys that n8n
 * reads, changes and writes back whole, with nothing that stops two processes from doing it at
 * the same moment. Unguarded, two workers handling two messages at once would each write back
 * the set without the other's key (one is then forgotten), and two deliveries of one message
 * reaching two workers at once would both be "new". So every claim first takes a shared lock,
 * and the only step n8n makes atomic for nodes is the creation of a stored entry (the database
 * refuses a second one with the same primary key): the lock is an entry that exists while
 * someone holds it.
 *
 * A holder that dies inside the lock (a worker killed in those few milliseconds) leaves the
 * entry behind; the lock has no owner or age anyone can read, so a process that has found it
 * taken continuously for `staleLockMs` (far longer than any claim holds it) removes it.
 */
import type { CanonicalMessage } from './canonical-message';
import { collectBurst, type BurstOptions, type BurstOutcome } from './conversation-bursts';
import { pauseRow, resumeRow, statusFromRows, type ConversationStatus, type PausedBy } from './conversation-handoff';
import { customerTurnRow, historyFromRows, outgoingTurnRows, type HistoryTurn, type InboundTurnSource } from './conversation-history';
import { NEVER_ANSWERED, type ConversationRecords, type TurnRole } from './conversation-records';
import { KeyedMutex } from './keyed-mutex';

/** The shared try-lock: `tryAcquire` must be atomic across every process. */
export interface SharedLock {
	/** Takes the lock if free: true when taken, false when someone holds it. */
	tryAcquire(): Promise<boolean>;
	/** Frees the lock (also used to remove a stale one). */
	release(): Promise<void>;
}

/** A shared set of keys with a bounded memory (the oldest are forgotten first). */
export interface SharedKeySet {
	/** Adds the keys; resolves with those that were already in the set. */
	record(keys: string[]): Promise<Set<string>>;
}

/** What a node gives the state module: everything else is logic here. */
export interface StateBackend {
	/** Identifies the shared lock across processes (same string = same lock). */
	scope: string;
	lock: SharedLock;
	seen: SharedKeySet;
}

export interface ConversationStateOptions {
	/** Waits between lock attempts (n8n-workflow's `sleep` in nodes). */
	sleep: (ms: number) => Promise<void>;
	/** Milliseconds clock, injectable for tests. */
	now?: () => number;
	/** Taken continuously for this long → the holder is presumed dead (default 10 s). */
	staleLockMs?: number;
	/** Give up waiting for the lock after this long in all (default 30 s). */
	lockTimeoutMs?: number;
	/** 0 ≤ x < 1, for jitter; injectable for tests. */
	random?: () => number;
	/** This process's queue per lock scope (default: one per process); tests give each simulated process its own. */
	localTurns?: KeyedMutex;
}

export interface ClaimOutcome {
	/** Keys seen for the first time: this caller handles them. */
	fresh: string[];
	/** Keys another delivery already claimed: drop them. */
	duplicates: string[];
	/** Lock attempts made, and whether a stale lock had to be removed (for logs and benchmarks). */
	lockAttempts: number;
	removedStaleLock: boolean;
}

/** The shared store could not be used; says why, never a secret. */
export class ConversationStateError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConversationStateError';
	}
}

export const DEFAULT_STALE_LOCK_MS = 10_000;
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const FIRST_BACKOFF_MS = 4;
const MAX_BACKOFF_MS = 100;

/** Claim key of a customer's message (Meta's wamid), per business number. */
export function messageClaimKey(phoneNumberId: string, messageId: string): string {
	return `message:${phoneNumberId}:${messageId}`;
}

/** Claim key of a reply callback an agent sent with an Idempotency-Key. */
export function callbackClaimKey(phoneNumberId: string, replyTo: string, idempotencyKey: string): string {
	return `callback:${phoneNumberId}:${replyTo}:${idempotencyKey}`;
}

/** One queue per lock scope in this process, so a process never contends with itself. */
const processTurns = new KeyedMutex();

export class ConversationState {
	private readonly now: () => number;

	private readonly random: () => number;

	private readonly staleLockMs: number;

	private readonly lockTimeoutMs: number;

	constructor(
		private readonly backend: StateBackend,
		private readonly options: ConversationStateOptions,
	) {
		this.now = options.now ?? Date.now;
		this.random = options.random ?? Math.random;
		this.staleLockMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
		this.lockTimeoutMs = Math.max(options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, this.staleLockMs);
	}

	/**
	 * Records `keys` as handled and tells which were new. Exactly one of any number of
	 * concurrent or later claims of one key, from any process, gets it in `fresh` (while the
	 * shared set still remembers it). Throws ConversationStateError when the store fails.
	 */
	async claim(keys: string[]): Promise<ClaimOutcome> {
		const unique = [...new Set(keys)];
		if (unique.length === 0) return { fresh: [], duplicates: [], lockAttempts: 0, removedStaleLock: false };
		return await (this.options.localTurns ?? processTurns).run(this.backend.scope, async () => {
			const lock = await this.acquire();
			let seen: Set<string> | undefined;
			let failure: unknown;
			try {
				seen = await this.backend.seen.record(unique);
			} catch (error) {
				failure = error;
			}
			await this.releaseQuietly();
			if (seen === undefined) {
				throw new ConversationStateError(`Could not record the deliveries in n8n's database: ${describe(failure)}`);
			}
			return {
				fresh: unique.filter((key) => !seen.has(key)),
				duplicates: unique.filter((key) => seen.has(key)),
				lockAttempts: lock.attempts,
				removedStaleLock: lock.removedStale,
			};
		});
	}

	private async acquire(): Promise<{ attempts: number; removedStale: boolean }> {
		const started = this.now();
		let takenSince = started;
		let attempts = 0;
		let removedStale = false;
		let backoff = FIRST_BACKOFF_MS;
		for (;;) {
			attempts++;
			let taken: boolean | undefined;
			let failure: unknown;
			try {
				taken = await this.backend.lock.tryAcquire();
			} catch (error) {
				failure = error;
			}
			if (failure !== undefined) {
				throw new ConversationStateError(`Could not take the shared lock in n8n's database: ${describe(failure)}`);
			}
			if (taken) return { attempts, removedStale };
			const now = this.now();
			if (now - started >= this.lockTimeoutMs) {
				throw new ConversationStateError(
					`The shared lock in n8n's database stayed taken for ${Math.round((now - started) / 1000)} s (${attempts} attempts)`,
				);
			}
			if (now - takenSince >= this.staleLockMs) {
				// Nobody holds a claim this long: whoever took the lock died holding it.
				await this.releaseQuietly();
				removedStale = true;
				takenSince = now;
				continue;
			}
			// Jitter keeps processes that collided from colliding again in step.
			await this.options.sleep(Math.round(backoff * (0.5 + this.random())));
			backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
		}
	}

	private async releaseQuietly(): Promise<void> {
		try {
			await this.backend.lock.release();
		} catch {
			// A lock left behind is removed as stale by the next claim; nothing is lost.
		}
	}
}

function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/* ------------------------------------------------------------------------------------------
 * Conversations (SPEC §10): bursts, history and human takeover, kept as rows in an n8n data
 * table (conversation-records.ts). Each part has its own module; this is what nodes call.
 * ---------------------------------------------------------------------------------------- */

/**
 * The customer a message is from: the phone number's digits when Meta sends one (echoes and
 * history backfills name customers by number), else the business-scoped user id of a customer
 * who hides their number behind a username.
 */
export function customerOf(item: { userId?: unknown; waId?: unknown; phone_number?: unknown }): string {
	if (typeof item.waId === 'string' && item.waId !== '') return item.waId.replace(/^\+/, '');
	const phone = typeof item.phone_number === 'string' ? item.phone_number : '';
	if (/^\+?\d+$/.test(phone)) return phone.replace(/^\+/, '');
	if (typeof item.userId === 'string' && item.userId !== '') return item.userId;
	return phone;
}

/** One conversation: a business phone number and a customer. */
export function conversationKey(phoneNumberId: string, customer: string): string {
	return `${phoneNumberId}:${customer.replace(/^\+/, '')}`;
}

export interface RetentionSettings {
	/** Messages kept per conversation (older ones are deleted). */
	keepMessages: number;
	/** Days a message is kept (older ones are deleted, in every conversation). */
	keepDays: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { keepMessages: 200, keepDays: 30 };
/** How often one process deletes what is older than the retention (at most). */
const PRUNE_EVERY_MS = 10 * 60_000;
/** One message in this many checks the conversation's message count. */
const TRIM_EVERY = 20;

const lastPrune = new Map<string, number>();
const renamed = new Set<string>();

export interface ConversationsOptions {
	now?: () => number;
	sleep: (ms: number) => Promise<void>;
	retention?: Partial<RetentionSettings>;
	/** Where this store lives (for the once-per-process upkeep), e.g. the API URL and table. */
	storeId?: string;
	random?: () => number;
}

export class Conversations {
	private readonly now: () => number;

	private readonly retention: RetentionSettings;

	private readonly random: () => number;

	constructor(
		private readonly records: ConversationRecords,
		private readonly options: ConversationsOptions,
	) {
		this.now = options.now ?? Date.now;
		this.random = options.random ?? Math.random;
		this.retention = { ...DEFAULT_RETENTION, ...options.retention };
	}

	async status(conversation: string): Promise<ConversationStatus> {
		return statusFromRows(await this.records.recent(conversation, 'control', 1), this.now());
	}

	async pause(conversation: string, options: { minutes: number; by: PausedBy; reason?: string }): Promise<ConversationStatus> {
		const at = this.now();
		const row = pauseRow(conversation, { at, until: at + (Number.isFinite(options.minutes) && options.minutes > 0 ? options.minutes : 60) * 60_000, by: options.by, reason: options.reason });
		await this.records.append([row]);
		return statusFromRows([row], at);
	}

	async resume(conversation: string, options: { by: TurnRole; reason?: string }): Promise<ConversationStatus> {
		const at = this.now();
		const row = resumeRow(conversation, { at, by: options.by, reason: options.reason });
		await this.records.append([row]);
		return statusFromRows([row], at);
	}

	/**
	 * Saves a customer message. `waiting`: it waits for its burst (collect next); otherwise it
	 * is recorded only (paused, buffering off, a history backfill).
	 */
	async recordCustomer(conversation: string, item: InboundTurnSource & Record<string, unknown>, waiting: boolean): Promise<void> {
		// When the trigger received it (runs on different workers may get here in another order),
		// unless that clock is off by more than a minute from this one.
		const now = this.now();
		const received = typeof item.receivedAt === 'number' ? item.receivedAt : NaN;
		const at = Number.isFinite(received) && Math.abs(now - received) < 60_000 ? received : now;
		await this.records.append([
			customerTurnRow(conversation, item, { at, burst: waiting ? '' : NEVER_ANSWERED, payload: waiting ? JSON.stringify(item) : '' }),
		]);
	}

	/**
	 * Saves a turn that is never answered: a human's reply from the WhatsApp Business app (an
	 * echo), or a message from Meta's history backfill. `at` (milliseconds) defaults to now;
	 * backfills pass the message's own time so they sort before what came later.
	 */
	async recordTurn(
		conversation: string,
		turn: { role: TurnRole; messageId: string; type: string; text: string; timestamp?: string | null; at?: number },
	): Promise<void> {
		const at = turn.at ?? this.now();
		await this.records.append([
			{
				kind: 'message',
				conversation,
				role: turn.role,
				messageId: turn.messageId,
				type: turn.type,
				text: turn.text,
				timestamp: turn.timestamp ?? new Date(at).toISOString(),
				at,
				burst: NEVER_ANSWERED,
				until: 0,
				payload: '',
			},
		]);
	}

	/** Waits for the burst of a message saved with `recordCustomer(…, true)`; see conversation-bursts.ts. */
	async collect(conversation: string, messageId: string, burstId: string, options: BurstOptions): Promise<BurstOutcome> {
		return await collectBurst(this.records, conversation, messageId, burstId, options, { now: this.now, sleep: this.options.sleep });
	}

	/** The last `limit` turns before the messages in `exclude`, oldest first. */
	async history(conversation: string, limit: number, exclude: ReadonlySet<string>): Promise<HistoryTurn[]> {
		if (limit <= 0) return [];
		const rows = await this.records.recent(conversation, 'message', limit + exclude.size + 5);
		return historyFromRows(rows, limit, exclude);
	}

	async recordOutgoing(
		conversation: string,
		messages: CanonicalMessage[],
		options: { role: 'agent' | 'human'; replyTo?: string; messageIds?: Array<string | undefined> },
	): Promise<void> {
		if (messages.length === 0) return;
		await this.records.append(outgoingTurnRows(conversation, messages, { ...options, at: this.now() }));
	}

	/** Moves a customer's rows to their new key (a changed number or user id); once per process and pair. */
	async rename(from: string, to: string): Promise<number> {
		const pair = `${this.options.storeId ?? ''}\u0000${from}\u0000${to}`;
		if (from === to || renamed.has(pair)) return 0;
		const moved = await this.records.rename(from, to);
		if (renamed.size > 10_000) renamed.clear();
		renamed.add(pair);
		return moved;
	}

	/** Deletes everything kept about one conversation. */
	async erase(conversation: string): Promise<number> {
		return await this.records.erase(conversation);
	}

	/**
	 * Retention: now and then drops what the settings no longer keep (the conversation's
	 * oldest messages past `keepMessages`; everywhere, what is older than `keepDays`).
	 */
	async upkeep(conversation: string): Promise<void> {
		const now = this.now();
		const store = this.options.storeId ?? '';
		if (now - (lastPrune.get(store) ?? 0) >= PRUNE_EVERY_MS) {
			lastPrune.set(store, now);
			await this.records.prune(now - this.retention.keepDays * 86_400_000);
		}
		if (this.random() * TRIM_EVERY >= 1) return;
		const keep = this.retention.keepMessages;
		const newest = await this.records.recent(conversation, 'message', keep + 1);
		if (newest.length > keep) await this.records.forgetMessages(conversation, newest[keep - 1].at);
	}
}
