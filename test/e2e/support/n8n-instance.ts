/**
 * A real, isolated n8n for the e2e suite: its own temp user folder (SQLite), free ports (HTTP
 * and the task-runner broker), this package installed as a community package (the way n8n's
 * installer lays it out, so node types are `n8n-nodes-whatsapp-agent.<name>`), credentials
 * and workflows imported with n8n's CLI, workflows published, n8n started and polled until
 * ready. Executions are read from n8n's SQLite database.
 *
 * Every process is started under scripts/supervise.mjs, in its own process group: `stop()`
 * ends the group, and so does the death of the test process (even by SIGKILL), so no n8n is
 * left running.
 *
 *   const n8n = await startN8n({ credentials, workflows: [workflow] });
 *   const res = await fetch(n8n.webhookUrl(webhookId, 'webhook') + '?hub.mode=subscribe&...');
 *   const [execution] = await n8n.waitForExecutions({ workflowId: workflow.id, count: 1 });
 *   await n8n.stop();
 *
 * Versions: N8N_E2E_VERSION (default 2.41.1; 2.8.4 is the oldest checked).
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const PACKAGE_NAME = 'n8n-nodes-whatsapp-agent';
export const E2E_N8N_VERSION = process.env.N8N_E2E_VERSION || '2.41.1';
/**
 * Timeout for a beforeAll that calls startN8n: `beforeAll(async () => {...}, N8N_BOOT_TIMEOUT_MS)`.
 * The n8n install itself happens in globalSetup; a boot takes ~30-60 s on 2 busy cores.
 */
export const N8N_BOOT_TIMEOUT_MS = 5 * 60_000;
const RUNTIME_SCRIPT = join(REPO_ROOT, 'scripts', 'n8n-runtime.mjs');
const SUPERVISOR = join(REPO_ROOT, 'scripts', 'supervise.mjs');
const DB_QUERY = join(REPO_ROOT, 'scripts', 'n8n-db-query.cjs');

/** `n8n import:credentials` entry. `data` is plain; n8n encrypts it on import. */
export interface CredentialImport {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

/** A workflow as exported by n8n (the shape of templates/*.json). `id`: 16 characters [A-Za-z0-9]. */
export interface WorkflowJson {
	id: string;
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface StartN8nOptions {
	/** n8n version (default N8N_E2E_VERSION or 2.41.1). Installed into .cache/n8n on first use. */
	version?: string;
	credentials?: CredentialImport[];
	workflows?: WorkflowJson[];
	/** Ids of the workflows to publish (activate). Default: every workflow given. */
	publish?: string[];
	/**
	 * Webhooks to wait for after start (until they stop answering 404), e.g.
	 * `{ webhookId, path: 'webhook', method: 'GET' }`. Default: every webhook of every
	 * published workflow's nodes that carry a `webhookId`, for the paths in `webhookPaths`.
	 */
	waitFor?: Array<{ webhookId: string; path: string; method?: string }>;
	/** Paths polled for each published node with a webhookId when `waitFor` is not given. Default ['webhook']. */
	webhookPaths?: string[];
	/** Extra environment for every n8n command (e.g. { N8N_EXPRESSION_ENGINE: 'legacy' }). */
	env?: Record<string, string>;
	logLevel?: 'error' | 'warn' | 'info' | 'debug';
	/** Build the package first: 'auto' (when sources changed; default), true, false. */
	build?: boolean | 'auto';
	/** Keep the temp user folder after stop() (also with N8N_E2E_KEEP=1), for debugging. */
	keepUserFolder?: boolean;
	/** Print n8n's output live to stderr (also with N8N_E2E_VERBOSE=1). */
	verbose?: boolean;
	readyTimeoutMs?: number;
}

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

interface Prepared {
	runtime: { version: string; dir: string; nodeBin: string; n8nBin: string; installedNow: boolean; installSeconds: number };
	package: { dir: string; fingerprint: string; reused: boolean };
	env: Record<string, string>;
}

/** Timings of the last start (seconds), for reports. */
export interface StartTimings {
	/** runtime ensured (install on first use), package built/packed/copied */
	prepare: number;
	/** n8n CLI: import:credentials, import:workflow, publish:workflow per workflow */
	imports: number;
	/** spawn → /healthz 200 */
	healthz: number;
	/** spawn → every awaited webhook registered */
	boot: number;
	total: number;
	installedN8n: boolean;
}

/** Log lines worth showing first when n8n fails to start or to activate something. */
const NOTABLE_LOG_LINE = /error|fail|problem|cannot|could not|unrecognized|exception|EADDRINUSE/i;

const live = new Set<ChildProcess>();
let exitHooksInstalled = false;

function installExitHooks(): void {
	if (exitHooksInstalled) return;
	exitHooksInstalled = true;
	// The supervisors also end n8n when our stdin pipe to them closes (our death); this makes
	// the common cases immediate.
	process.on('exit', () => {
		for (const child of live) child.kill('SIGTERM');
	});
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.once(signal, () => {
			for (const child of live) child.kill('SIGTERM');
			process.kill(process.pid, signal);
		});
	}
}

export function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen({ port: 0, host: '127.0.0.1' }, () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolvePort(port));
		});
	});
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command to completion, collecting output; rejects with the output's tail. */
function runCollect(
	command: string,
	args: string[],
	options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; stderrLive?: boolean } = {},
): Promise<{ stdout: string; stderr: string }> {
	return new Promise((resolveRun, reject) => {
		const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
		child.stderr.on('data', (d: Buffer) => {
			stderr += d.toString();
			if (options.stderrLive) process.stderr.write(d);
		});
		const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
		child.on('error', (error) => {
			if (timer) clearTimeout(timer);
			reject(error);
		});
		child.on('exit', (code, signal) => {
			if (timer) clearTimeout(timer);
			if (code === 0) resolveRun({ stdout, stderr });
			else {
				const out = `${stdout}\n${stderr}`.trim().split('\n').slice(-40).join('\n');
				reject(new Error(`${command} ${args.slice(0, 3).join(' ')}... failed (${signal ?? `exit ${code}`}):\n${out}`));
			}
		});
	});
}

async function httpStatus(url: string, method: string): Promise<number> {
	try {
		const res = await fetch(url, { method, signal: AbortSignal.timeout(5000) });
		await res.arrayBuffer();
		return res.status;
	} catch {
		return 0;
	}
}

export class N8nInstance {
	readonly baseUrl: string;
	/** What n8n builds webhook URLs from (N8N_WEBHOOK_URL), ending in '/'. */
	readonly webhookBase: string;
	timings: StartTimings = { prepare: 0, imports: 0, healthz: 0, boot: 0, total: 0, installedN8n: false };
	/** @internal */
	healthzSeconds = 0;
	private process: ChildProcess | undefined;
	private output = '';
	private logStream: WriteStream | undefined;
	private stopped = false;

	constructor(
		readonly version: string,
		readonly port: number,
		readonly brokerPort: number,
		readonly userFolder: string,
		private readonly prepared: Prepared,
		private readonly options: StartN8nOptions,
	) {
		this.baseUrl = `http://127.0.0.1:${port}`;
		this.webhookBase = `${this.baseUrl}/`;
	}

	/** The production URL of a trigger's webhook: `<base>/webhook/<webhookId>/<path>`. */
	webhookUrl(webhookId: string, path: string): string {
		return `${this.webhookBase}webhook/${webhookId}/${path.replace(/^\//, '')}`;
	}

	/**
	 * The node and credential types n8n loaded, as it serves them to its editor: n8n writes
	 * them at start to <userFolder>/.cache/n8n/public/types/ (the HTTP route needs a login).
	 */
	loadedTypes(): { nodes: Array<{ name: string; displayName: string; version: number | number[] }>; credentials: Array<{ name: string; displayName: string }> } {
		const dir = join(this.userFolder, '.cache', 'n8n', 'public', 'types');
		return {
			nodes: JSON.parse(readFileSync(join(dir, 'nodes.json'), 'utf8')),
			credentials: JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')),
		};
	}

	/** n8n's output so far (also written to <userFolder>/n8n.log). */
	logs(): string {
		return this.output;
	}

	get databaseFile(): string {
		return join(this.userFolder, '.n8n', 'database.sqlite');
	}

	/** Runs an n8n CLI command against this instance's database (n8n may be running). */
	async cli(args: string[], timeoutMs = 180_000): Promise<string> {
		const { stdout, stderr } = await runCollect(this.prepared.runtime.nodeBin, [this.prepared.runtime.n8nBin, ...args], {
			env: this.prepared.env,
			cwd: this.userFolder,
			timeoutMs,
		});
		return `${stdout}${stderr}`;
	}

	/** Imports credentials and workflows (n8n must be stopped for publishing to take effect at start). */
	async importAll(credentials: CredentialImport[] = [], workflows: WorkflowJson[] = [], publish?: string[]): Promise<void> {
		if (credentials.length > 0) {
			const file = join(this.userFolder, `credentials-${Date.now()}.json`);
			writeFileSync(file, JSON.stringify(credentials));
			await this.cli(['import:credentials', `--input=${file}`]);
			rmSync(file, { force: true });
		}
		if (workflows.length > 0) {
			const file = join(this.userFolder, `workflows-${Date.now()}.json`);
			writeFileSync(file, JSON.stringify(workflows));
			await this.cli(['import:workflow', `--input=${file}`]);
		}
		for (const id of publish ?? workflows.map((w) => w.id)) {
			await this.cli(['publish:workflow', `--id=${id}`]);
		}
	}

	/** Starts n8n and waits for /healthz, then for the given webhooks to be registered. */
	async boot(waitFor: Array<{ webhookId: string; path: string; method?: string }> = []): Promise<void> {
		const verbose = this.options.verbose || process.env.N8N_E2E_VERBOSE === '1';
		this.logStream = createWriteStream(join(this.userFolder, 'n8n.log'), { flags: 'a' });
		const child = spawn(process.execPath, [SUPERVISOR, '--grace-ms=10000', '--', this.prepared.runtime.nodeBin, this.prepared.runtime.n8nBin, 'start'], {
			env: this.prepared.env,
			cwd: this.userFolder,
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		this.process = child;
		live.add(child);
		const onData = (d: Buffer) => {
			this.output += d.toString();
			this.logStream?.write(d);
			if (verbose) process.stderr.write(d);
		};
		child.stdout?.on('data', onData);
		child.stderr?.on('data', onData);
		let exitCode: number | null | undefined;
		child.on('exit', (code) => {
			exitCode = code;
			live.delete(child);
		});

		const spawnedAt = Date.now();
		const deadline = spawnedAt + (this.options.readyTimeoutMs ?? 120_000);
		while ((await httpStatus(`${this.baseUrl}/healthz`, 'GET')) !== 200) {
			if (exitCode !== undefined) throw this.failure(`exited (code ${exitCode}) before it was ready`);
			if (Date.now() > deadline) throw this.failure('did not answer /healthz in time');
			await delay(250);
		}
		this.healthzSeconds = (Date.now() - spawnedAt) / 1000;
		this.checkForFatalLog();
		// /healthz answers while migrations may still run; n8n is fully up once it logs this.
		while (!/Editor is now accessible/.test(this.output)) {
			if (exitCode !== undefined) throw this.failure(`exited (code ${exitCode}) before it was ready`);
			if (Date.now() > deadline) throw this.failure('never logged "Editor is now accessible"');
			await delay(100);
		}
		this.exitCode = () => exitCode;
		for (const hook of waitFor) {
			await this.waitForUrl(this.webhookUrl(hook.webhookId, hook.path), hook.method ?? 'GET', deadline - Date.now());
		}
	}

	private exitCode: () => number | null | undefined = () => undefined;

	/** Polls `url` until it answers something other than 404 (n8n registers production webhooks shortly after /healthz). */
	async waitForUrl(url: string, method = 'GET', timeoutMs = 60_000): Promise<number> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const status = await httpStatus(url, method);
			if (status !== 404 && status !== 0) return status;
			this.checkForFatalLog();
			const code = this.exitCode();
			if (code !== undefined) throw this.failure(`exited (code ${code}) while waiting for ${method} ${url}`);
			if (Date.now() > deadline) throw this.failure(`never registered the webhook ${method} ${url} (still ${status || 'no answer'})`);
			await delay(250);
		}
	}

	private failure(what: string): Error {
		const lines = this.output.split('\n').filter((line) => !/Received request for unknown webhook/.test(line));
		const notable = lines.filter((line) => NOTABLE_LOG_LINE.test(line)).slice(-15);
		return new Error(
			`n8n ${this.version} ${what}.\n` +
				(notable.length ? `Notable log lines:\n${notable.join('\n')}\n` : '') +
				`Last lines of its log (${join(this.userFolder, 'n8n.log')}):\n${lines.join('\n').trim().split('\n').slice(-25).join('\n')}`,
		);
	}

	/** Fails fast on what n8n logs when our package or a workflow cannot load, instead of waiting for a timeout. */
	private checkForFatalLog(): void {
		const packageFailure = this.output.match(new RegExp(`Failed to load package "${PACKAGE_NAME}"\\s*\\n(.*)`));
		if (packageFailure) throw this.failure(`could not load the package ${PACKAGE_NAME}: ${packageFailure[1]}`);
		const workflowFailure = this.output.match(/(Workflow cannot run on this instance.*|Problem activating workflow.*)/);
		if (workflowFailure) throw this.failure(`could not activate a workflow: ${workflowFailure[1]}`);
	}

	/** Stops n8n (SIGTERM, then SIGKILL of its whole process group after 10 s). Idempotent. */
	async shutdown(): Promise<void> {
		const child = this.process;
		this.process = undefined;
		if (!child || child.exitCode !== null) return;
		const exited = new Promise<void>((r) => child.once('exit', () => r()));
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		await exited;
		clearTimeout(timer);
		this.logStream?.end();
	}

	/** Stops n8n, imports more credentials/workflows, publishes, and starts again. */
	async restart(changes: { credentials?: CredentialImport[]; workflows?: WorkflowJson[]; publish?: string[]; waitFor?: Array<{ webhookId: string; path: string; method?: string }> } = {}): Promise<void> {
		await this.shutdown();
		await this.importAll(changes.credentials, changes.workflows, changes.publish);
		await this.boot(changes.waitFor ?? []);
	}

	/** Stops n8n and removes the temp user folder (unless kept). */
	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		await this.shutdown();
		if (!this.options.keepUserFolder && process.env.N8N_E2E_KEEP !== '1') {
			rmSync(this.userFolder, { recursive: true, force: true });
		} else {
			process.stderr.write(`[n8n-instance] kept ${this.userFolder}\n`);
		}
	}

	/** A read-only SQL query on this instance's database (rows as objects). */
	async query<T = Record<string, unknown>>(sql: string, params: unknown[] = [], unflatten: string[] = []): Promise<T[]> {
		const { stdout } = await runCollect(
			this.prepared.runtime.nodeBin,
			[DB_QUERY, this.prepared.runtime.dir, this.databaseFile, JSON.stringify({ sql, params, unflatten })],
			{ timeoutMs: 30_000 },
		);
		return JSON.parse(stdout) as T[];
	}

	/** Executions, oldest first (optionally of one workflow, or only those with id > `afterId`). */
	async executions(filter: { workflowId?: string; afterId?: string } = {}): Promise<ExecutionSummary[]> {
		const where: string[] = [];
		const params: unknown[] = [];
		if (filter.workflowId) {
			where.push('workflowId = ?');
			params.push(filter.workflowId);
		}
		if (filter.afterId) {
			where.push('CAST(id AS INTEGER) > ?');
			params.push(Number(filter.afterId));
		}
		const rows = await this.query<Record<string, unknown>>(
			`SELECT id, workflowId, status, mode, finished, startedAt, stoppedAt FROM execution_entity ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY CAST(id AS INTEGER)`,
			params,
		);
		return rows.map(toSummary);
	}

	/** One execution with its run data decoded. */
	async execution(id: string): Promise<ExecutionRecord> {
		const [row] = await this.query<Record<string, unknown>>(
			'SELECT e.id, e.workflowId, e.status, e.mode, e.finished, e.startedAt, e.stoppedAt, d.data, d.workflowData FROM execution_entity e JOIN execution_data d ON d.executionId = e.id WHERE e.id = ?',
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
		const [row] = await this.query<{ id: number | null }>('SELECT MAX(CAST(id AS INTEGER)) AS id FROM execution_entity');
		return String(row?.id ?? 0);
	}
}

function toSummary(row: Record<string, unknown>): ExecutionSummary {
	return {
		id: String(row.id),
		workflowId: String(row.workflowId),
		status: String(row.status),
		mode: String(row.mode),
		finished: row.finished === 1 || row.finished === true,
		startedAt: (row.startedAt as string | null) ?? null,
		stoppedAt: (row.stoppedAt as string | null) ?? null,
	};
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

/** Boots an isolated n8n with this package, the given credentials and workflows. Call `stop()` in afterAll. */
export async function startN8n(options: StartN8nOptions = {}): Promise<N8nInstance> {
	installExitHooks();
	const t0 = Date.now();
	const version = options.version ?? E2E_N8N_VERSION;
	const userFolder = mkdtempSync(join(tmpdir(), 'n8n-e2e-'));
	const port = await freePort();
	let brokerPort = await freePort();
	while (brokerPort === port) brokerPort = await freePort();
	const webhookUrl = `http://127.0.0.1:${port}/`;

	const request = {
		version,
		userFolder,
		port,
		brokerPort,
		webhookUrl,
		encryptionKey: randomBytes(24).toString('base64url'),
		logLevel: options.logLevel ?? 'info',
		build: options.build ?? 'auto',
		extra: options.env ?? {},
	};
	let instance: N8nInstance | undefined;
	try {
		// Node 20 runs the runtime script; it installs n8n on first use (minutes, printed live).
		const { stdout } = await runCollect(process.execPath, [RUNTIME_SCRIPT, 'prepare', JSON.stringify(request)], {
			cwd: REPO_ROOT,
			stderrLive: true,
			timeoutMs: 30 * 60_000,
		});
		const prepared = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Prepared;
		const t1 = Date.now();
		instance = new N8nInstance(version, port, brokerPort, userFolder, prepared, options);

		const workflows = options.workflows ?? [];
		const publish = options.publish ?? workflows.map((w) => w.id);
		await instance.importAll(options.credentials, workflows, publish);
		const t2 = Date.now();

		const paths = options.webhookPaths ?? ['webhook'];
		const waitFor =
			options.waitFor ??
			workflows
				.filter((w) => publish.includes(w.id))
				.flatMap((w) => w.nodes.filter((n) => typeof n.webhookId === 'string').flatMap((n) => paths.map((path) => ({ webhookId: n.webhookId as string, path, method: 'GET' }))));
		await instance.boot(waitFor);
		const t3 = Date.now();
		instance.timings = {
			prepare: (t1 - t0) / 1000,
			imports: (t2 - t1) / 1000,
			healthz: instance.healthzSeconds,
			boot: (t3 - t2) / 1000,
			total: (t3 - t0) / 1000,
			installedN8n: prepared.runtime.installedNow,
		};
		return instance;
	} catch (error) {
		if (instance) await instance.stop().catch(() => undefined);
		else rmSync(userFolder, { recursive: true, force: true });
		throw error;
	}
}
