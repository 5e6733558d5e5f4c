/**
 * Sends a plan (core/send-plan.ts) to one recipient, part by part, in order, and never sends
 * a part twice:
 * - within one execution, n8n's "Retry On Fail" runs the node again over the same items; the
 *   DeliveryLedger (bounded, in memory) remembers which parts of which item already went out;
 * - across executions, a failed run's report (the item's `delivery` field, e.g. through
 *   "Continue On Fail" and a loop back) lists the delivered fingerprints, which are skipped.
 * When part k fails, a PartialDeliveryError carries what was delivered (with message ids),
 * the failed part, what remains, and the underlying readable error.
 */
import type { CanonicalMessageType } from './canonical-message';
import type { Sleep } from './http-transport';
import type { PlannedPart } from './send-plan';

export interface SentMessage {
	messageId: string;
	waId?: string;
	messageStatus?: string;
}

export type SendPart = (part: PlannedPart) => Promise<SentMessage>;

export interface PartRef {
	part: number;
	parts: number;
	type: CanonicalMessageType;
	fingerprint: string;
}

export interface DeliveredPart extends PartRef {
	messageId: string;
	waId?: string;
	messageStatus?: string;
	/** Set when this run did not send it: `ledger` (an earlier attempt in this execution) or `previous` (a report). */
	alreadySent?: 'ledger' | 'previous';
}

/** What went wrong, readable and free of secrets (copied from the underlying error). */
export interface DeliveryErrorSummary {
	message: string;
	httpStatus?: number;
	code?: number;
	title?: string;
	details?: string;
	hint?: string;
	fbtraceId?: string;
	retryable?: boolean;
}

export interface DeliveryReport {
	/** The recipient the parts went to (`+digits` or a business-scoped user id). */
	to?: string;
	phoneNumberId?: string;
	parts: number;
	delivered: DeliveredPart[];
	failedPart: PartRef;
	remaining: PartRef[];
	error: DeliveryErrorSummary;
}

const refOf = (part: PlannedPart): PartRef => ({
	part: part.part,
	parts: part.parts,
	type: part.type,
	fingerprint: part.fingerprint,
});

export function summarizeError(error: unknown): DeliveryErrorSummary {
	const source = (error ?? {}) as Record<string, unknown>;
	const pick = <T>(key: string, kind: 'string' | 'number' | 'boolean') =>
		typeof source[key] === kind ? (source[key] as T) : undefined;
	const summary: DeliveryErrorSummary = {
		message: error instanceof Error ? error.message : String(error),
		httpStatus: pick<number>('httpStatus', 'number'),
		code: pick<number>('code', 'number'),
		title: pick<string>('title', 'string'),
		details: pick<string>('details', 'string'),
		hint: pick<string>('hint', 'string'),
		fbtraceId: pick<string>('fbtraceId', 'string'),
		retryable: pick<boolean>('retryable', 'boolean'),
	};
	return Object.fromEntries(Object.entries(summary).filter(([, value]) => value !== undefined)) as DeliveryErrorSummary;
}

/** A multi-part send stopped at `failedPart`; `delivered` went out and must not be sent again. */
export class PartialDeliveryError extends Error {
	readonly delivered: DeliveredPart[];
	readonly failedPart: PartRef;
	readonly remaining: PartRef[];
	readonly report: DeliveryReport;

	constructor(
		report: DeliveryReport,
		/** The underlying error (usually a GraphApiError) of the failed part. */
		readonly cause: unknown,
	) {
		const sent = report.delivered.length;
		const reason = report.error.message;
		super(
			sent === 0
				? report.parts > 1
					? `Nothing was sent: message 1 of ${report.parts} failed. ${reason}`
					: reason
				: `Sent ${sent} of ${report.parts} WhatsApp messages, then message ${report.failedPart.part} failed. ${reason}`,
		);
		this.name = 'PartialDeliveryError';
		this.delivered = report.delivered;
		this.failedPart = report.failedPart;
		this.remaining = report.remaining;
		this.report = report;
	}
}

export interface LedgerScope {
	executionId: string;
	node: string;
	itemIndex: number;
	/** The recipient and sender, so that a changed recipient is never considered delivered. */
	to?: string;
	phoneNumberId?: string;
}

interface LedgerEntry {
	value: SentMessage;
	expiresAt: number;
}

export interface DeliveryLedgerOptions {
	/** Most parts remembered; the least recently used are forgotten first. Default 10 000. */
	maxEntries?: number;
	/** How long a delivered part is remembered. Default 1 hour (an execution's retries are minutes apart). */
	ttlMs?: number;
	now?: () => number;
}

/** Bounded LRU with TTL of delivered parts, keyed by (execution, node, item, recipient, fingerprint). */
export class DeliveryLedger {
	private readonly entries = new Map<string, LedgerEntry>();
	private readonly maxEntries: number;
	private readonly ttlMs: number;
	private readonly now: () => number;

	constructor(options: DeliveryLedgerOptions = {}) {
		this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
		this.ttlMs = Math.max(1, options.ttlMs ?? 60 * 60 * 1000);
		this.now = options.now ?? (() => Date.now());
	}

	static key(scope: LedgerScope, fingerprint: string): string {
		return JSON.stringify([scope.executionId, scope.node, scope.itemIndex, scope.to ?? '', scope.phoneNumberId ?? '', fingerprint]);
	}

	get size(): number {
		return this.entries.size;
	}

	get(scope: LedgerScope, fingerprint: string): SentMessage | undefined {
		const key = DeliveryLedger.key(scope, fingerprint);
		const entry = this.entries.get(key);
		if (!entry) return undefined;
		this.entries.delete(key);
		if (entry.expiresAt <= this.now()) return undefined;
		this.entries.set(key, entry);
		return entry.value;
	}

	set(scope: LedgerScope, fingerprint: string, value: SentMessage): void {
		const key = DeliveryLedger.key(scope, fingerprint);
		this.entries.delete(key);
		this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
		this.evict();
	}

	private evict(): void {
		const now = this.now();
		for (const [key, entry] of this.entries) {
			if (this.entries.size <= this.maxEntries && entry.expiresAt > now) break;
			this.entries.delete(key);
		}
	}
}

/**
 * Reads the `delivery` report of an earlier failed run (or an item holding one under
 * `delivery`). Returns fingerprint → delivered part; anything malformed is ignored.
 */
export function readPreviousDelivery(value: unknown, expectedTo?: string): Map<string, DeliveredPart> {
	const found = new Map<string, DeliveredPart>();
	if (value === null || typeof value !== 'object') return found;
	const report = value as { delivered?: unknown; to?: unknown; delivery?: unknown };
	if (report.delivered === undefined && report.delivery !== undefined) return readPreviousDelivery(report.delivery, expectedTo);
	// A report for another recipient says nothing about this one.
	if (expectedTo !== undefined && typeof report.to === 'string' && report.to !== expectedTo) return found;
	if (!Array.isArray(report.delivered)) return found;
	for (const entry of report.delivered) {
		if (entry === null || typeof entry !== 'object') continue;
		const part = entry as Partial<DeliveredPart>;
		if (typeof part.fingerprint !== 'string' || typeof part.messageId !== 'string' || part.messageId === '') continue;
		found.set(part.fingerprint, {
			part: Number(part.part),
			parts: Number(part.parts),
			type: part.type as CanonicalMessageType,
			fingerprint: part.fingerprint,
			messageId: part.messageId,
			...(typeof part.waId === 'string' ? { waId: part.waId } : {}),
		});
	}
	return found;
}

export interface DeliveryOptions {
	send: SendPart;
	/** Recipient and sender, recorded in the report and in ledger keys. */
	to?: string;
	phoneNumberId?: string;
	ledger?: DeliveryLedger;
	/** Which execution/node/item this plan belongs to; required for the ledger to be used. */
	scope?: Omit<LedgerScope, 'to' | 'phoneNumberId'>;
	/** An earlier run's report (`delivery`): its delivered parts are skipped. */
	previous?: unknown;
	/** Pause between two messages sent by this run (ms). Default 0. */
	pauseMs?: number;
	sleep?: Sleep;
}

/**
 * Sends every part not already delivered, in order. Resolves with one entry per part of the
 * plan (earlier deliveries included, marked `alreadySent`); throws PartialDeliveryError at
 * the first failure.
 */
export async function deliverPlan(plan: PlannedPart[], options: DeliveryOptions): Promise<DeliveredPart[]> {
	const previous = readPreviousDelivery(options.previous, options.to);
	const scope: LedgerScope | undefined = options.scope
		? { ...options.scope, to: options.to, phoneNumberId: options.phoneNumberId }
		: undefined;
	const pauseMs = Math.max(0, options.pauseMs ?? 0);
	const results: DeliveredPart[] = [];
	let sentThisRun = 0;
	let failure: { part: PlannedPart; error: unknown } | undefined;

	for (const part of plan) {
		const earlier = previous.get(part.fingerprint);
		if (earlier) {
			results.push({ ...refOf(part), messageId: earlier.messageId, ...(earlier.waId ? { waId: earlier.waId } : {}), alreadySent: 'previous' });
			continue;
		}
		const remembered = scope && options.ledger?.get(scope, part.fingerprint);
		if (remembered) {
			results.push({ ...refOf(part), ...remembered, alreadySent: 'ledger' });
			continue;
		}
		if (sentThisRun > 0 && pauseMs > 0 && options.sleep) await options.sleep(pauseMs);
		let sent: SentMessage | undefined;
		try {
			sent = await options.send(part);
		} catch (error) {
			failure = { part, error };
		}
		if (!failure && (!sent || typeof sent.messageId !== 'string' || sent.messageId === '')) {
			failure = { part, error: new Error('WhatsApp answered without a message id, so the message may not have been sent') };
		}
		if (failure || !sent) break;
		sentThisRun++;
		const value: SentMessage = {
			messageId: sent.messageId,
			...(sent.waId ? { waId: sent.waId } : {}),
			...(sent.messageStatus ? { messageStatus: sent.messageStatus } : {}),
		};
		if (scope) options.ledger?.set(scope, part.fingerprint, value);
		results.push({ ...refOf(part), ...value });
	}

	if (failure) {
		const failedIndex = plan.indexOf(failure.part);
		throw new PartialDeliveryError(
			{
				...(options.to ? { to: options.to } : {}),
				...(options.phoneNumberId ? { phoneNumberId: options.phoneNumberId } : {}),
				parts: plan.length,
				delivered: results,
				failedPart: refOf(failure.part),
				remaining: plan.slice(failedIndex + 1).filter((part) => !previous.has(part.fingerprint)).map(refOf),
				error: summarizeError(failure.error),
			},
			failure.error,
		);
	}
	return results;
}
