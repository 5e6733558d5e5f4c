/**
 * The rows a conversation is made of, and where they live: one n8n data table (default name
 * "WhatsApp Agent conversations", visible in n8n under Overview → Data tables), written and
 * read through n8n's API (n8n-data-tables.ts) by every n8n process alike.
 *
 * Every row is an event, appended and never edited, except for one atomic step: a burst
 * takes its customer messages (`burst` '' → the burst's id). So concurrent writers never
 * overwrite each other, and what the conversation is now is read from its latest events:
 * - `message`: one turn; `role` customer | agent | human. A customer message waiting for its
 *   burst has `burst` ''; once taken, the burst's id; one never answered (paused, a history
 *   backfill, an echo) has `burst` '-'.
 * - `control`: `type` pause (until `until`, by `role`, `text` the reason) or resume; the
 *   latest decides (conversation-handoff.ts).
 *
 * `conversation` is `<business phone number id>:<customer>` (conversationKey).
 */
import type { DataTableColumn, N8nDataTables, StoredRow } from './n8n-data-tables';

export type RowKind = 'message' | 'control';
export type TurnRole = 'customer' | 'agent' | 'human';

/** Not taken by any burst (and never to be): history backfills, messages while paused, echoes. */
export const NEVER_ANSWERED = '-';

export interface ConversationRow {
	kind: RowKind;
	conversation: string;
	role: TurnRole;
	messageId: string;
	type: string;
	text: string;
	/** ISO 8601: when the message was sent (Meta's timestamp), or the event happened. */
	timestamp: string;
	/** Milliseconds: when n8n saw it (orders rows; the burst window is measured on it). */
	at: number;
	burst: string;
	/** Pauses: until when (milliseconds); 0 otherwise. */
	until: number;
	/** JSON: a waiting customer message's normalized item (for the burst's `messages`); '' once taken. */
	payload: string;
}

export const CONVERSATION_COLUMNS: DataTableColumn[] = [
	{ name: 'kind', type: 'string' },
	{ name: 'conversation', type: 'string' },
	{ name: 'role', type: 'string' },
	{ name: 'messageId', type: 'string' },
	{ name: 'type', type: 'string' },
	{ name: 'text', type: 'string' },
	{ name: 'timestamp', type: 'string' },
	{ name: 'at', type: 'number' },
	{ name: 'burst', type: 'string' },
	{ name: 'until', type: 'number' },
	{ name: 'payload', type: 'string' },
];

export const DEFAULT_CONVERSATION_TABLE = 'WhatsApp Agent conversations';

/** What the conversation logic needs from storage. */
export interface ConversationRecords {
	append(rows: ConversationRow[]): Promise<void>;
	/** The newest rows of one kind, newest first, at most `limit`, none older than `since`. */
	recent(conversation: string, kind: RowKind, limit: number, since?: number): Promise<ConversationRow[]>;
	/** Customer messages waiting for a burst (`burst` ''), oldest first, none older than `since`. */
	waiting(conversation: string, since: number): Promise<ConversationRow[]>;
	/**
	 * Atomically gives the waiting messages with `since` ≤ at ≤ `upTo` to burst `burstId` and
	 * resolves with those this call took: of concurrent calls, each row goes to one.
	 */
	take(conversation: string, burstId: string, since: number, upTo: number): Promise<ConversationRow[]>;
	/** Moves every row of `from` to `to` (a customer's number or user id changed). */
	rename(from: string, to: string): Promise<number>;
	/** Deletes every row of the conversation; resolves with how many. */
	erase(conversation: string): Promise<number>;
	/** Deletes the conversation's messages older than `before` (milliseconds). */
	forgetMessages(conversation: string, before: number): Promise<number>;
	/** Deletes, in every conversation, messages older than `before` and pauses that ended before it. */
	prune(before: number): Promise<number>;
}

function toRow(stored: StoredRow): ConversationRow {
	const text = (key: string) => (typeof stored[key] === 'string' ? (stored[key] as string) : '');
	const number = (key: string) => (typeof stored[key] === 'number' ? (stored[key] as number) : Number(stored[key] ?? 0) || 0);
	return {
		kind: text('kind') as RowKind,
		conversation: text('conversation'),
		role: text('role') as TurnRole,
		messageId: text('messageId'),
		type: text('type'),
		text: text('text'),
		timestamp: text('timestamp'),
		at: number('at'),
		burst: text('burst'),
		until: number('until'),
		payload: text('payload'),
	};
}

const eq = (columnName: string, value: string | number) => ({ columnName, condition: 'eq' as const, value });
/** A customer message no burst has taken yet (saved with '': n8n's API accepts no `isEmpty` in updates). */
const untaken = eq('burst', '');

/** Table ids found per store (n8n API URL + table name), kept by this process across runs. */
const knownTables = new Map<string, Promise<string>>();

/** ConversationRecords in one n8n data table, created on first use. */
export class DataTableConversationRecords implements ConversationRecords {
	private readonly storeKey: string;

	/**
	 * `storeId` names where the table lives (the n8n API URL): runs that share it look the
	 * table up once per process instead of once per run.
	 */
	constructor(
		private readonly tables: N8nDataTables,
		private readonly tableName: string = DEFAULT_CONVERSATION_TABLE,
		storeId = '',
	) {
		this.storeKey = `${storeId}\u0000${tableName}`;
		this.known = storeId === '' ? new Map() : knownTables;
	}

	private readonly known: Map<string, Promise<string>>;

	private async table(): Promise<string> {
		let found = this.known.get(this.storeKey);
		if (!found) {
			// A failed look-up is not kept: the next call tries again.
			found = this.tables.ensureTable(this.tableName, CONVERSATION_COLUMNS).catch((error: unknown) => {
				this.known.delete(this.storeKey);
				return Promise.reject(error);
			});
			this.known.set(this.storeKey, found);
		}
		return await found;
	}

	/** Forgets the table id (someone deleted the table in n8n): the next call looks it up, or creates it, again. */
	forgetTable(): void {
		this.known.delete(this.storeKey);
	}

	async append(rows: ConversationRow[]): Promise<void> {
		await this.tables.insert(await this.table(), rows.map((row) => ({ ...row })));
	}

	async recent(conversation: string, kind: RowKind, limit: number, since = 0): Promise<ConversationRow[]> {
		const rows = await this.tables.rows(await this.table(), {
			filter: { filters: [eq('conversation', conversation), eq('kind', kind), { columnName: 'at', condition: 'gte', value: since }] },
			sortBy: ['at', 'desc'],
			limit,
		});
		return rows.map(toRow);
	}

	async waiting(conversation: string, since: number): Promise<ConversationRow[]> {
		const rows = await this.tables.rows(await this.table(), {
			filter: { filters: [eq('conversation', conversation), eq('kind', 'message'), untaken, { columnName: 'at', condition: 'gte', value: since }] },
			sortBy: ['at', 'asc'],
		});
		return rows.map(toRow);
	}

	async take(conversation: string, burstId: string, since: number, upTo: number): Promise<ConversationRow[]> {
		const taken = await this.tables.update(
			await this.table(),
			{
				filters: [
					eq('conversation', conversation),
					eq('kind', 'message'),
					untaken,
					{ columnName: 'at', condition: 'gte', value: since },
					{ columnName: 'at', condition: 'lte', value: upTo },
				],
			},
			{ burst: burstId },
		);
		const rows = taken.map(toRow).filter((row) => row.burst === burstId);
		// The burst has the items now; the table keeps only the turns (its size is limited).
		if (rows.length > 0) {
			await this.tables.update(await this.table(), { filters: [eq('conversation', conversation), eq('burst', burstId)] }, { payload: '' });
		}
		return rows.sort((a, b) => a.at - b.at);
	}

	async rename(from: string, to: string): Promise<number> {
		if (from === to) return 0;
		return (await this.tables.update(await this.table(), { filters: [eq('conversation', from)] }, { conversation: to })).length;
	}

	async erase(conversation: string): Promise<number> {
		return await this.tables.delete(await this.table(), { filters: [eq('conversation', conversation)] });
	}

	async forgetMessages(conversation: string, before: number): Promise<number> {
		return await this.tables.delete(await this.table(), {
			filters: [eq('conversation', conversation), eq('kind', 'message'), { columnName: 'at', condition: 'lt', value: before }],
		});
	}

	async prune(before: number): Promise<number> {
		const table = await this.table();
		const older = { columnName: 'at', condition: 'lt' as const, value: before };
		const messages = await this.tables.delete(table, { filters: [eq('kind', 'message'), older] });
		const controls = await this.tables.delete(table, {
			filters: [eq('kind', 'control'), older, { columnName: 'until', condition: 'lt', value: before }],
		});
		return messages + controls;
	}
}
