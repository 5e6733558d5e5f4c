/**
 * n8n's data tables through n8n's public REST API (`<n8n>/api/v1/data-tables…`, an n8n API
 * key in `X-N8N-API-KEY`), over the injected HttpRequester.
 *
 * Why the API: n8n keeps data tables in its own database, visible under Overview → Data
 * tables, shared by every process; but the helper that gives nodes direct access
 * (`this.helpers.getDataTableProxy`) serves only n8n's own Data table nodes (n8n 2.41.1,
 * `modules/data-table/data-table-proxy.service.js`: `ALLOWED_NODES`). The public API is
 * the same service behind an API key, answered by n8n's main process.
 *
 * What a caller can rely on (n8n 2.8–2.41, `data-table-rows.repository.js`): a row update
 * with a filter is one `UPDATE … WHERE … RETURNING` on PostgreSQL, so when two processes
 * update the same rows at once each row goes to exactly one of them; on SQLite (one n8n
 * process) the update and the rows it returns run in one transaction.
 */
import type { HttpRequester, HttpResponse } from './http-transport';

export type DataTableColumnType = 'string' | 'number' | 'boolean' | 'date';

export interface DataTableColumn {
	name: string;
	type: DataTableColumnType;
}

export type DataTableValue = string | number | boolean | null;

export type DataTableRow = Record<string, DataTableValue>;

/** A stored row: n8n adds `id`, `createdAt`, `updatedAt`. */
export type StoredRow = DataTableRow & { id: number };

export type FilterCondition = 'eq' | 'neq' | 'like' | 'ilike' | 'gt' | 'gte' | 'lt' | 'lte' | 'isEmpty' | 'isNotEmpty';

export interface DataTableFilter {
	type?: 'and' | 'or';
	filters: Array<{ columnName: string; condition: FilterCondition; value: DataTableValue }>;
}

export interface DataTablesConnection {
	/** `<n8n>/api/v1`: where n8n's public API answers (the main process in queue mode). */
	baseUrl: string;
	request: HttpRequester;
	timeoutMs?: number;
}

/** n8n's API refused or failed a data-table call; says what to do, never the API key. */
export class DataTableApiError extends Error {
	constructor(
		message: string,
		readonly status: number | undefined,
	) {
		super(message);
		this.name = 'DataTableApiError';
	}
}

const PAGE_SIZE = 250; // the public API's maximum
const DEFAULT_TIMEOUT_MS = 15_000;

function messageOf(body: unknown): string {
	if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
		return (body as { message: string }).message;
	}
	return typeof body === 'string' ? body.slice(0, 300) : '';
}

function explain(response: HttpResponse, what: string, baseUrl: string): DataTableApiError {
	const said = messageOf(response.body);
	const detail = said ? ` (n8n says: ${said})` : '';
	switch (response.statusCode) {
		case 401:
			return new DataTableApiError(
				`n8n refused the API key while ${what}${detail}. Create an API key in n8n (Settings → n8n API) and paste it into the WhatsApp Conversations credential.`,
				401,
			);
		case 403:
			return new DataTableApiError(
				`The n8n API key may not use data tables while ${what}${detail}. Give the key the data table scopes (Settings → n8n API), or create a new key.`,
				403,
			);
		case 404:
			return new DataTableApiError(
				`n8n's API answered 404 while ${what}${detail}. Check the credential's n8n API URL (${baseUrl}): it ends in /api/v1 and points at n8n's main process.`,
				404,
			);
		default:
			return new DataTableApiError(`n8n's API answered ${response.statusCode} while ${what}${detail}`, response.statusCode);
	}
}

export class N8nDataTables {
	private readonly baseUrl: string;

	constructor(private readonly connection: DataTablesConnection) {
		this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
	}

	private async call(
		method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
		path: string,
		what: string,
		options: { qs?: Record<string, string | number | boolean>; body?: unknown; accept?: number[] } = {},
	): Promise<HttpResponse> {
		const response = await this.connection.request({
			method,
			url: `${this.baseUrl}${path}`,
			qs: options.qs,
			body: options.body,
			headers: { accept: 'application/json' },
			timeoutMs: this.connection.timeoutMs ?? DEFAULT_TIMEOUT_MS,
		});
		const accepted = options.accept ?? [200, 201, 204];
		if (!accepted.includes(response.statusCode)) throw explain(response, what, this.baseUrl);
		return response;
	}

	/** The id of the table with this name in the API key's projects, if any. */
	async findTable(name: string): Promise<string | undefined> {
		// Read page by page without a filter: n8n 2.41 refuses a JSON filter on this list
		// unless every reserved character is escaped, which not every HTTP client does.
		let cursor: string | undefined;
		for (let page = 0; page < 100; page++) {
			const response = await this.call('GET', '/data-tables', `looking up the data table "${name}"`, {
				qs: cursor ? { cursor } : { limit: PAGE_SIZE },
			});
			const body = (response.body ?? {}) as { data?: Array<{ id?: unknown; name?: unknown }>; nextCursor?: unknown };
			const match = (body.data ?? []).find((table) => table.name === name);
			if (typeof match?.id === 'string') return match.id;
			cursor = typeof body.nextCursor === 'string' && body.nextCursor !== '' ? body.nextCursor : undefined;
			if (!cursor) return undefined;
		}
		return undefined;
	}

	/**
	 * The table's id, creating it with `columns` when it does not exist. Two processes creating
	 * it at once is safe: n8n allows one table per name and project, the other gets 409 and
	 * finds the winner's.
	 */
	async ensureTable(name: string, columns: DataTableColumn[]): Promise<string> {
		const existing = await this.findTable(name);
		if (existing) return existing;
		let response: HttpResponse | undefined;
		let failure: unknown;
		try {
			response = await this.call('POST', '/data-tables', `creating the data table "${name}"`, {
				body: { name, columns },
				accept: [200, 201, 409],
			});
		} catch (error) {
			failure = error;
		}
		if (response && response.statusCode !== 409) {
			const id = (response.body as { id?: unknown })?.id;
			if (typeof id === 'string') return id;
		}
		// Another n8n process may have created it at the same moment: n8n answers 409 when it
		// sees the name taken, and an error when the database's unique constraint does.
		const created = await this.findTable(name);
		if (created) return created;
		if (failure !== undefined) throw failure;
		throw new DataTableApiError(`The data table "${name}" could not be created or found`, response?.statusCode);
	}

	/** Every row matching `filter`, sorted, at most `limit` (all when undefined). */
	async rows(
		tableId: string,
		query: { filter?: DataTableFilter; sortBy?: [string, 'asc' | 'desc']; limit?: number } = {},
	): Promise<StoredRow[]> {
		const rows: StoredRow[] = [];
		let cursor: string | undefined;
		for (;;) {
			const want = query.limit === undefined ? PAGE_SIZE : Math.min(PAGE_SIZE, query.limit - rows.length);
			if (want <= 0) break;
			// Later pages by n8n's cursor (it carries the offset and the page size).
			const qs: Record<string, string | number> = cursor ? { cursor } : { limit: want };
			if (query.filter) qs.filter = JSON.stringify({ type: 'and', ...query.filter });
			if (query.sortBy) qs.sortBy = `${query.sortBy[0]}:${query.sortBy[1]}`;
			const response = await this.call('GET', `/data-tables/${tableId}/rows`, 'reading conversation rows', { qs });
			const body = (response.body ?? {}) as { data?: StoredRow[]; nextCursor?: unknown };
			const page = body.data ?? [];
			rows.push(...page.slice(0, want));
			cursor = typeof body.nextCursor === 'string' && body.nextCursor !== '' ? body.nextCursor : undefined;
			if (!cursor || page.length === 0 || (query.limit !== undefined && rows.length >= query.limit)) break;
		}
		return rows;
	}

	async insert(tableId: string, rows: DataTableRow[]): Promise<void> {
		if (rows.length === 0) return;
		await this.call('POST', `/data-tables/${tableId}/rows`, 'saving conversation rows', {
			body: { data: rows, returnType: 'count' },
		});
	}

	/** Updates the rows matching `filter`; resolves with the rows as updated (see the note at the top). */
	async update(tableId: string, filter: DataTableFilter, data: DataTableRow): Promise<StoredRow[]> {
		const response = await this.call('PATCH', `/data-tables/${tableId}/rows/update`, 'updating conversation rows', {
			body: { filter: { type: 'and', ...filter }, data, returnData: true },
		});
		return Array.isArray(response.body) ? (response.body as StoredRow[]) : [];
	}

	/** Deletes the rows matching `filter`; resolves with how many there were. */
	async delete(tableId: string, filter: DataTableFilter): Promise<number> {
		const response = await this.call('DELETE', `/data-tables/${tableId}/rows/delete`, 'deleting conversation rows', {
			qs: { filter: JSON.stringify({ type: 'and', ...filter }), returnData: true },
		});
		return Array.isArray(response.body) ? response.body.length : 0;
	}
}
