/**
 * Reading n8n's recorded executions straight from its database, the same way whichever
 * database it is: a single n8n's SQLite (n8n-instance.ts) or a queue-mode cluster's PostgreSQL
 * (n8n-cluster.ts). Subclasses give `query()`; the SQL here is written for both (identifiers in
 * double quotes — n8n's column names are camelCase, which PostgreSQL folds otherwise — and `?`
 * placeholders, which the PostgreSQL side numbers).
 */
import type { WorkflowJson } from './n8n-types';

/** One row of execution_entity. */
export interface ExecutionSummary {
	id: string;
	workflowId: string;
	status: string;
	mode: string;
	finished: boolean;
	startedAt: string | null;
	stoppedAt: string | null;
}

/** n8n's task data for one run of one node (the parts tests read). */
export interface NodeRun {
	startTime?: number;
	executionTime?: number;
	executionStatus?: string;
	error?: { message?: string; description?: string; [key: string]: unknown };
	data?: { main?: Array<Array<{ json: Record<string, unknown>; binary?: Record<string, unknown> }> | null> };
	[key: string]: unknown;
}

/** An execution with its data decoded (`data` is n8n's IRunExecutionData). */
export interface ExecutionRecord extends ExecutionSummary {
	data: {
		resultData: { runData: Record<string, NodeRun[]>; error?: { message?: string; [key: string]: unknown }; lastNodeExecuted?: string };
		[key: string]: unknown;
	};
	workflowData: WorkflowJson;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timestamp(value: unknown): string | null {
	if (value === null || value === undefined) return null;
	if (value instanceof Date) return value.toISOString();
	return String(value);
}

function toSummary(row: Record<string, unknown>): ExecutionSummary {
	return {
		id: String(row.id),
		workflowId: String(row.workflowId),
		status: String(row.status),
		mode: String(row.mode),
		finished: row.finished === 1 || row.finished === true,
		startedAt: timestamp(row.startedAt),
		stoppedAt: timestamp(row.stoppedAt),
	};
}

export abstract class ExecutionQueries {
	/** A read-only SQL query on n8n's database (rows as objects). `unflatten`: columns holding n8n's flatted JSON. */
	abstract query<T = Record<string, unknown>>(sql: string, params?: unknown[], unflatten?: string[]): Promise<T[]>;

	/** Executions, oldest first (optionally of one workflow, or only those with id > `afterId`). */
	async executions(filter: { workflowId?: string; afterId?: string } = {}): Promise<ExecutionSummary[]> {
		const where: string[] = [];
		const params: unknown[] = [];
		if (filter.workflowId) {
			where.push('"workflowId" = ?');
			params.push(filter.workflowId);
		}
		if (filter.afterId) {
			where.push('CAST(id AS INTEGER) > ?');
			params.push(Number(filter.afterId));
		}
		const rows = await this.query<Record<string, unknown>>(
			`SELECT id, "workflowId", status, mode, finished, "startedAt", "stoppedAt" FROM execution_entity ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY CAST(id AS INTEGER)`,
			params,
		);
		return rows.map(toSummary);
	}

	/** One execution with its run data decoded. */
	async execution(id: string): Promise<ExecutionRecord> {
		const [row] = await this.query<Record<string, unknown>>(
			'SELECT e.id, e."workflowId", e.status, e.mode, e.finished, e."startedAt", e."stoppedAt", d.data, d."workflowData" FROM execution_entity e JOIN execution_data d ON d."executionId" = e.id WHERE e.id = ?',
			[Number(id)],
			['data'],
		);
		if (!row) throw new Error(`No execution ${id}`);
		return {
			...toSummary(row),
			data: row.data as ExecutionRecord['data'],
			workflowData: (typeof row.workflowData === 'string' ? JSON.parse(row.workflowData) : row.workflowData) as WorkflowJson,
		};
	}

	/**
	 * Waits until at least `count` executions (of `workflowId`, after `afterId`) have ended
	 * (status not new/running/waiting unless `includeWaiting`), then returns them decoded.
	 */
	async waitForExecutions(options: { workflowId?: string; afterId?: string; count: number; timeoutMs?: number; includeWaiting?: boolean }): Promise<ExecutionRecord[]> {
		const deadline = Date.now() + (options.timeoutMs ?? 30_000);
		const pending = new Set(['new', 'running', ...(options.includeWaiting ? [] : ['waiting'])]);
		for (;;) {
			const rows = await this.executions(options);
			const done = rows.filter((row) => !pending.has(row.status));
			if (done.length >= options.count) return Promise.all(done.map((row) => this.execution(row.id)));
			if (Date.now() > deadline) {
				throw new Error(
					`Expected ${options.count} finished execution(s)${options.workflowId ? ` of workflow ${options.workflowId}` : ''}, found ${done.length} (statuses: ${rows.map((r) => r.status).join(', ') || 'none'}).`,
				);
			}
			await delay(200);
		}
	}

	/** The id of the newest execution so far ('0' if none): pass it as `afterId` to see only later ones. */
	async lastExecutionId(): Promise<string> {
		const [row] = await this.query<{ id: number | string | null }>('SELECT MAX(CAST(id AS INTEGER)) AS id FROM execution_entity');
		return String(row?.id ?? 0);
	}
}

/** The JSON of the items a node output on `output` in run `run` of an execution. */
export function nodeOutput(execution: ExecutionRecord, nodeName: string, output = 0, run = 0): Array<Record<string, unknown>> {
	const runs = execution.data.resultData.runData[nodeName];
	if (!runs) {
		throw new Error(`Node "${nodeName}" did not run in execution ${execution.id} (ran: ${Object.keys(execution.data.resultData.runData).join(', ')})`);
	}
	return (runs[run]?.data?.main?.[output] ?? []).map((item) => item.json);
}

/** Names of the nodes that ran in an execution. */
export function nodesThatRan(execution: ExecutionRecord): string[] {
	return Object.keys(execution.data.resultData.runData);
}
