/**
 * The conversation-state backend over n8n's processed-data helpers (`this.helpers.
 * checkProcessedAndRecord` …, stored in n8n's database table `processed_data`, so every
 * process of a queue-mode n8n sees the same state). Available in the execution phase only.
 *
 * n8n keeps one entry per (workflow, node) and one per workflow:
 * - the lock is this node's own entry: it exists while a claim holds the lock. Creating it
 *   is the one atomic step n8n offers (a second creation breaks the table's primary key);
 * - the set of handled keys is the workflow's entry, so every trigger of the workflow reads
 *   one set. (n8n's Remove Duplicates node shares it only when set to scope "Workflow".)
 */
import { sleep, type IExecuteFunctions } from 'n8n-workflow';

import { ConversationState, type StateBackend } from '../../core/conversation-state';

/** How many handled keys the shared set remembers (the oldest are forgotten first). */
export const SHARED_SET_MAX_ENTRIES = 10_000;

const LOCK_ENTRY = 'whatsapp-agent:lock';

/** The database's answer to a second creation of one entry (PostgreSQL, SQLite, MySQL). */
const DUPLICATE_ENTRY = /duplicate key|unique constraint|SQLITE_CONSTRAINT|ER_DUP_ENTRY/i;

function isDuplicateEntry(error: unknown): boolean {
	return error instanceof Error && DUPLICATE_ENTRY.test(error.message);
}

export function processedDataBackend(context: IExecuteFunctions, maxEntries = SHARED_SET_MAX_ENTRIES): StateBackend {
	const helpers = context.helpers;
	const node = context.getNode();
	return {
		scope: `${context.getWorkflow().id ?? ''}:${node.id}`,
		lock: {
			async tryAcquire() {
				let taken = false;
				let failure: unknown;
				try {
					const result = await helpers.checkProcessedAndRecord([LOCK_ENTRY], 'node', { mode: 'entries' });
					taken = result.new.length === 1;
				} catch (error) {
					// Another process created the entry between n8n's read and its insert: taken.
					if (!isDuplicateEntry(error)) failure = error;
				}
				if (failure !== undefined) throw failure;
				return taken;
			},
			async release() {
				await helpers.clearAllProcessedItems('node', { mode: 'entries' });
			},
		},
		seen: {
			async record(keys) {
				const record = async () => await helpers.checkProcessedAndRecord(keys, 'workflow', { mode: 'entries', maxEntries });
				let result;
				let failure: unknown;
				try {
					result = await record();
				} catch (error) {
					// The workflow's set did not exist yet and someone else (another trigger of this
					// workflow, which has a lock of its own) created it at the same moment: it exists now.
					if (!isDuplicateEntry(error)) failure = error;
				}
				if (failure !== undefined) throw failure;
				result ??= await record();
				return new Set(result.processed.map(String));
			},
		},
	};
}

/** The node's conversation state in n8n's database. */
export function conversationStateFor(context: IExecuteFunctions): ConversationState {
	return new ConversationState(processedDataBackend(context), { sleep });
}
