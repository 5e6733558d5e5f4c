/**
 * A fake of n8n's public API, data-table part (`/api/v1/data-tables…`), as a real HTTP server
 * on loopback: what the conversation store (core/n8n-data-tables.ts) talks to in node tests.
 * It follows what n8n 2.41.1 was seen to do (probe against a real n8n, see
 * core/n8n-data-tables.ts): an API key in X-N8N-API-KEY (401 without it), one table per name
 * (409 on a second), rows listed by filter / sortBy / limit (≤ 250) and an opaque cursor (an
 * `offset` parameter is refused with 400, as n8n does), updates whose filter may only use
 * eq … lte (n8n refuses isEmpty there), and an update that is one atomic step per request.
 *
 *   const api = await startFakeN8nApi({ apiKey: 'k' });
 *   api.baseUrl                      // http://127.0.0.1:<port>/api/v1
 *   api.rowsOf('WhatsApp Agent conversations')
 *   api.failNext(503)                // the next request answers 503
 *   await api.close();
 */
import http from 'http';
import type { AddressInfo, Socket } from 'net';

type Value = string | number | boolean | null;
type Row = Record<string, Value> & { id: number };

interface Table {
	id: string;
	name: string;
	columns: Array<{ name: string; type: string }>;
	rows: Row[];
	nextId: number;
}

interface Filter {
	type?: 'and' | 'or';
	filters: Array<{ columnName: string; condition: string; value: Value }>;
}

export interface RecordedApiRequest {
	method: string;
	path: string;
	query: Record<string, string>;
	body: any;
	apiKey: string | undefined;
}

export interface FakeN8nApi {
	baseUrl: string;
	requests: RecordedApiRequest[];
	/** The rows of a table by name ([] when it does not exist). */
	rowsOf(tableName: string): Row[];
	tableNames(): string[];
	/** The next `count` requests answer `status` (default once). */
	failNext(status: number, count?: number): void;
	/** Every request waits this long before it is handled (to widen races). */
	setLatency(ms: number): void;
	close(): Promise<void>;
}

const PAGE_MAX = 250;
const UPDATE_CONDITIONS = new Set(['eq', 'neq', 'like', 'ilike', 'gt', 'gte', 'lt', 'lte']);

function matches(row: Row, filter: Filter | undefined): boolean {
	if (!filter || filter.filters.length === 0) return true;
	const results = filter.filters.map(({ columnName, condition, value }) => {
		const cell = row[columnName] ?? null;
		switch (condition) {
			case 'eq':
				return cell === value;
			case 'neq':
				return cell !== value;
			case 'gt':
				return cell !== null && value !== null && cell > value;
			case 'gte':
				return cell !== null && value !== null && cell >= value;
			case 'lt':
				return cell !== null && value !== null && cell < value;
			case 'lte':
				return cell !== null && value !== null && cell <= value;
			case 'like':
			case 'ilike': {
				const pattern = new RegExp(`^${String(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`, condition === 'ilike' ? 'i' : '');
				return typeof cell === 'string' && pattern.test(cell);
			}
			case 'isEmpty':
				return cell === null || cell === '';
			case 'isNotEmpty':
				return cell !== null && cell !== '';
			default:
				throw new Error(`unknown condition ${condition}`);
		}
	});
	return filter.type === 'or' ? results.some(Boolean) : results.every(Boolean);
}

function cursorOf(offset: number, limit: number): string {
	return Buffer.from(JSON.stringify({ offset, limit })).toString('base64url');
}

export async function startFakeN8nApi(options: { apiKey: string }): Promise<FakeN8nApi> {
	const tables = new Map<string, Table>();
	const requests: RecordedApiRequest[] = [];
	const failures: number[] = [];
	let latencyMs = 0;
	let tableCount = 0;
	const sockets = new Set<Socket>();

	const tableById = (id: string) => [...tables.values()].find((table) => table.id === id);

	function handle(method: string, path: string, query: Record<string, string>, body: any): { status: number; body?: unknown } {
		const parseFilter = (raw: unknown): Filter | undefined => {
			if (raw === undefined || raw === '') return undefined;
			const parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
			if (!parsed || !Array.isArray(parsed.filters)) throw new Error('filter must have filters');
			return parsed as Filter;
		};
		if (path === '/data-tables' && method === 'GET') {
			if (query.filter !== undefined) return { status: 400, body: { message: 'request/query/filter must be valid JSON' } };
			const all = [...tables.values()].map(({ id, name, columns }) => ({ id, name, columns }));
			const { offset, limit } = query.cursor ? JSON.parse(Buffer.from(query.cursor, 'base64url').toString()) : { offset: 0, limit: Number(query.limit ?? 100) };
			const page = all.slice(offset, offset + limit);
			return { status: 200, body: { data: page, nextCursor: offset + limit < all.length ? cursorOf(offset + limit, limit) : null } };
		}
		if (path === '/data-tables' && method === 'POST') {
			if (typeof body?.name !== 'string' || !Array.isArray(body?.columns)) return { status: 400, body: { message: 'name and columns are required' } };
			if (tables.has(body.name)) return { status: 409, body: { message: `Data table with name '${body.name}' already exists in this project` } };
			const table: Table = { id: `dt${++tableCount}x`, name: body.name, columns: body.columns, rows: [], nextId: 1 };
			tables.set(table.name, table);
			return { status: 201, body: { id: table.id, name: table.name, columns: table.columns } };
		}
		const rowsPath = /^\/data-tables\/([^/]+)\/rows(\/update|\/delete)?$/.exec(path);
		if (!rowsPath) return { status: 404, body: { message: 'not found' } };
		const table = tableById(rowsPath[1]);
		if (!table) return { status: 404, body: { message: `Could not find the data table: '${rowsPath[1]}'` } };
		const known = new Set(table.columns.map((column) => column.name));
		const checkColumns = (data: Record<string, unknown>) => {
			for (const key of Object.keys(data)) if (!known.has(key)) throw new Error(`unknown column name '${key}'`);
		};
		try {
			if (!rowsPath[2] && method === 'GET') {
				if (query.offset !== undefined) return { status: 400, body: { message: "request/query must NOT have additional properties 'offset'" } };
				const filter = parseFilter(query.filter);
				let found = table.rows.filter((row) => matches(row, filter));
				if (query.sortBy) {
					const [column, direction] = query.sortBy.split(':');
					found = [...found].sort((a, b) => {
						const x = a[column] ?? 0;
						const y = b[column] ?? 0;
						const order = x < y ? -1 : x > y ? 1 : a.id - b.id;
						return direction === 'desc' ? -order : order;
					});
				}
				const { offset, limit } = query.cursor ? JSON.parse(Buffer.from(query.cursor, 'base64url').toString()) : { offset: 0, limit: Number(query.limit ?? 100) };
				if (limit > PAGE_MAX) return { status: 400, body: { message: 'limit must be <= 250' } };
				const page = found.slice(offset, offset + limit).map((row) => ({ ...row }));
				return { status: 200, body: { data: page, nextCursor: offset + limit < found.length ? cursorOf(offset + limit, limit) : null } };
			}
			if (!rowsPath[2] && method === 'POST') {
				if (!Array.isArray(body?.data)) return { status: 400, body: { message: 'data must be an array' } };
				const now = new Date().toISOString();
				for (const data of body.data) checkColumns(data);
				const inserted = body.data.map((data: Record<string, Value>) => {
					const row: Row = { ...data, id: table.nextId++, createdAt: now, updatedAt: now } as Row;
					table.rows.push(row);
					return row;
				});
				return { status: 200, body: body.returnType === 'count' ? { insertedRows: inserted.length, success: true } : inserted };
			}
			if (rowsPath[2] === '/update' && method === 'PATCH') {
				const filter = parseFilter(body?.filter);
				if (!filter || filter.filters.length === 0) return { status: 400, body: { message: 'filter must not be empty' } };
				for (const { condition } of filter.filters) {
					if (!UPDATE_CONDITIONS.has(condition)) return { status: 400, body: { message: `request/body/filter/filters/0/condition must be equal to one of the allowed values` } };
				}
				checkColumns(body.data ?? {});
				// One synchronous step: of two concurrent updates, each row goes to exactly one.
				const updated = table.rows.filter((row) => matches(row, filter));
				for (const row of updated) Object.assign(row, body.data, { updatedAt: new Date().toISOString() });
				return { status: 200, body: body.returnData ? updated.map((row) => ({ ...row })) : true };
			}
			if (rowsPath[2] === '/delete' && method === 'DELETE') {
				const filter = parseFilter(query.filter);
				if (!filter || filter.filters.length === 0) return { status: 400, body: { message: 'filter must not be empty' } };
				const removed = table.rows.filter((row) => matches(row, filter));
				table.rows = table.rows.filter((row) => !removed.includes(row));
				return { status: 200, body: query.returnData === 'true' ? removed : true };
			}
		} catch (error) {
			return { status: 400, body: { message: (error as Error).message } };
		}
		return { status: 404, body: { message: 'not found' } };
	}

	const server = http.createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on('data', (chunk: Buffer) => chunks.push(chunk));
		request.on('end', async () => {
			const url = new URL(request.url ?? '/', 'http://fake');
			const query = Object.fromEntries(url.searchParams.entries());
			const raw = Buffer.concat(chunks).toString('utf8');
			let body: any;
			try {
				body = raw ? JSON.parse(raw) : undefined;
			} catch {
				body = raw;
			}
			const apiKey = request.headers['x-n8n-api-key'] as string | undefined;
			const path = url.pathname.replace(/^\/api\/v1/, '');
			requests.push({ method: request.method ?? 'GET', path, query, body, apiKey });
			if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
			let answer: { status: number; body?: unknown };
			if (failures.length > 0) answer = { status: failures.shift() as number, body: { message: 'injected failure' } };
			else if (apiKey !== options.apiKey) answer = { status: 401, body: { message: "'X-N8N-API-KEY' header required" } };
			else if (!url.pathname.startsWith('/api/v1/')) answer = { status: 404, body: { message: 'not found' } };
			else answer = handle(request.method ?? 'GET', path, query, body);
			const data = answer.body === undefined ? '' : JSON.stringify(answer.body);
			response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
			response.end(data);
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		baseUrl: `http://127.0.0.1:${port}/api/v1`,
		requests,
		rowsOf: (name) => (tables.get(name)?.rows ?? []).map((row) => ({ ...row })),
		tableNames: () => [...tables.keys()],
		failNext(status, count = 1) {
			for (let i = 0; i < count; i++) failures.push(status);
		},
		setLatency(ms) {
			latencyMs = ms;
		},
		close: () =>
			new Promise<void>((resolve) => {
				for (const socket of sockets) socket.destroy();
				server.close(() => resolve());
			}),
	};
}
