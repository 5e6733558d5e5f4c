/**
 * Burst buffering (SPEC §10): customers type in bursts ("Hi" / "I want" / "a table for two
 * tonight"), and the agent should get them as one call.
 *
 * Each customer message runs on its own (its own n8n execution, on any process). Its run
 * saves the message as waiting, then waits until the conversation has been quiet for the
 * quiet window, and then one of two things:
 * - a newer message is waiting: that message's run answers the burst; this one stops;
 * - this is the newest: its run takes every waiting message at once (one atomic update in
 *   n8n's database, so of two runs that try together each message goes to exactly one) and
 *   calls the agent with them.
 * Bounds: when the oldest waiting message has waited `maxWaitMs`, or `maxMessages` are
 * waiting, the burst is answered at once. A message that arrives while the agent is
 * answering is not taken any more: it waits for the next burst.
 */
import type { ConversationRecords, ConversationRow } from './conversation-records';

export interface BurstOptions {
	/** Quiet time that ends a burst (0: no buffering). */
	quietMs: number;
	/** Longest a message waits for its burst to end. */
	maxWaitMs: number;
	/** A burst ends at once when this many messages wait. */
	maxMessages: number;
	/** Waiting messages older than this are left alone (their run failed long ago). Default 10 min. */
	staleMs?: number;
}

export const DEFAULT_BURST_OPTIONS = { quietMs: 3_000, maxWaitMs: 15_000, maxMessages: 10 } as const;
const DEFAULT_STALE_MS = 10 * 60_000;

export type BurstOutcome =
	| { answer: true; messages: ConversationRow[] }
	/** Another run answers (a newer message's, or one that took these messages first). */
	| { answer: false; reason: 'newer-message' | 'taken' };

function byArrival(a: ConversationRow, b: ConversationRow): number {
	return a.at - b.at || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);
}

export interface BurstClock {
	now(): number;
	sleep(ms: number): Promise<void>;
}

/**
 * Waits for the burst of `messageId` (already saved as waiting) to end and tells whether this
 * run answers it, with every message it took (oldest first, this one included).
 */
export async function collectBurst(
	records: ConversationRecords,
	conversation: string,
	messageId: string,
	burstId: string,
	options: BurstOptions,
	clock: BurstClock,
): Promise<BurstOutcome> {
	const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
	for (;;) {
		const now = clock.now();
		const since = now - staleMs;
		// Ordered by arrival, ties by message id, so every run agrees on which one is newest.
		const waiting = (await records.waiting(conversation, since)).sort(byArrival);
		const mine = waiting.find((row) => row.messageId === messageId);
		if (!mine) return { answer: false, reason: 'taken' };
		const oldest = waiting[0];
		const newest = waiting[waiting.length - 1];
		const full = waiting.length >= options.maxMessages;
		const overdue = now >= oldest.at + options.maxWaitMs;
		if (!full && !overdue) {
			// The newest message's run answers; others stop (that run sees them all).
			if (newest.messageId !== messageId) return { answer: false, reason: 'newer-message' };
			const quietUntil = Math.min(newest.at + options.quietMs, oldest.at + options.maxWaitMs);
			if (now < quietUntil) {
				await clock.sleep(quietUntil - now);
				continue;
			}
		}
		const taken = await records.take(conversation, burstId, since, newest.at);
		if (taken.length === 0) return { answer: false, reason: 'taken' };
		return { answer: true, messages: taken.sort(byArrival) };
	}
}
