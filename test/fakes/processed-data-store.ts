/**
 * A model of n8n's processed-data store, for tests that cannot run a whole n8n: the
 * `processed_data` table (primary key: workflowId + context) and the way n8n's
 * DeduplicationHelper uses it (n8n 2.41.1, `packages/cli/src/deduplication/
 * deduplication-helper.ts`), including its races:
 *
 * - check-and-record reads the row, then (after a pause in which another process's query
 *   may run) either inserts it, which fails like a primary-key violation when someone else
 *   inserted it meanwhile, or writes the whole row back, overwriting whatever was written
 *   in between;
 * - 'node' scope stores under `n:<node id>`, 'workflow' scope under '';
 * - entries are md5/base64 hashes of the items; `maxEntries` keeps the newest.
 *
 * `latencyMs` sets the pause between read and write (default: one macrotask). It is also an
 * IDataDeduplicator, so n8n-core's DataDeduplicationService can be given it and our nodes
 * then reach it through their real `this.helpers.checkProcessedAndRecord`.
 */
import { createHash } from 'crypto';
import type {
	DeduplicationItemTypes,
	DeduplicationScope,
	ICheckProcessedContextData,
	ICheckProcessedOptions,
	IDataDeduplicator,
	IDeduplicationOutput,
} from 'n8n-workflow';

interface Row {
	mode: string;
	data: string[];
}

function hash(value: DeduplicationItemTypes): string {
	return createHash('md5').update(value.toString()).digest('base64');
}

export class ProcessedDataStore implements IDataDeduplicator {
	private readonly rows = new Map<string, Row>();

	/** Counts of database statements, per kind, for assertions on cost. */
	readonly statements = { select: 0, insert: 0, update: 0, delete: 0 };

	/** Set to make the next statements fail (a database that is down). */
	failWith: Error | undefined;

	constructor(private readonly options: { latencyMs?: () => number } = {}) {}

	private async pause(): Promise<void> {
		const ms = this.options.latencyMs?.() ?? 0;
		await new Promise((resolve) => setTimeout(resolve, ms));
	}

	private rowKey(scope: DeduplicationScope, contextData: ICheckProcessedContextData): string {
		const context = scope === 'node' ? `n:${contextData.node?.id ?? ''}` : '';
		return `${contextData.workflow.id}\u0000${context}`;
	}

	private check(): void {
		if (this.failWith) throw this.failWith;
	}

	/** Rows as stored (hashes), for assertions. */
	entries(workflowId: string, context: string): string[] | undefined {
		return this.rows.get(`${workflowId}\u0000${context}`)?.data.slice();
	}

	/** Whether the set of `workflowId`/`context` holds `value`. */
	holds(workflowId: string, context: string, value: string): boolean {
		return this.entries(workflowId, context)?.includes(hash(value)) ?? false;
	}

	clear(): void {
		this.rows.clear();
		this.failWith = undefined;
		for (const key of Object.keys(this.statements) as Array<keyof typeof this.statements>) this.statements[key] = 0;
	}

	async checkProcessedAndRecord(
		items: DeduplicationItemTypes[],
		scope: DeduplicationScope,
		contextData: ICheckProcessedContextData,
		options: ICheckProcessedOptions,
	): Promise<IDeduplicationOutput> {
		if (options.mode !== 'entries') throw new Error('The model supports mode "entries" only');
		const key = this.rowKey(scope, contextData);
		await this.pause();
		this.check();
		this.statements.select++;
		const read = this.rows.get(key);
		const snapshot: Row | undefined = read ? { mode: read.mode, data: read.data.slice() } : undefined;
		await this.pause();
		this.check();
		const hashes = items.map(hash);
		if (!snapshot) {
			this.statements.insert++;
			if (this.rows.has(key)) {
				throw new Error('duplicate key value violates unique constraint "PK_processed_data"');
			}
			const data = options.maxEntries ? hashes.slice(-options.maxEntries) : hashes;
			this.rows.set(key, { mode: options.mode, data });
			return { new: items, processed: [] };
		}
		if (snapshot.mode !== options.mode) throw new Error('Deduplication data was originally saved with an incompatible setting');
		const present = new Set(snapshot.data);
		const output: IDeduplicationOutput = { new: [], processed: [] };
		hashes.forEach((value, index) => {
			if (present.has(value)) output.processed.push(items[index]);
			else {
				output.new.push(items[index]);
				snapshot.data.push(value);
			}
		});
		if (options.maxEntries) snapshot.data.splice(0, snapshot.data.length - options.maxEntries);
		this.statements.update++;
		// UPDATE … WHERE workflowId, context: only when the row still exists, overwriting it whole.
		if (this.rows.has(key)) this.rows.set(key, snapshot);
		return output;
	}

	async removeProcessed(
		items: DeduplicationItemTypes[],
		scope: DeduplicationScope,
		contextData: ICheckProcessedContextData,
	): Promise<void> {
		const key = this.rowKey(scope, contextData);
		await this.pause();
		this.check();
		const row = this.rows.get(key);
		if (!row) return;
		const remove = new Set(items.map(hash));
		this.rows.set(key, { mode: row.mode, data: row.data.filter((value) => !remove.has(value)) });
	}

	async clearAllProcessedItems(scope: DeduplicationScope, contextData: ICheckProcessedContextData): Promise<void> {
		await this.pause();
		this.check();
		this.statements.delete++;
		this.rows.delete(this.rowKey(scope, contextData));
	}

	async getProcessedDataCount(scope: DeduplicationScope, contextData: ICheckProcessedContextData): Promise<number> {
		await this.pause();
		this.check();
		return this.rows.get(this.rowKey(scope, contextData))?.data.length ?? 0;
	}
}
