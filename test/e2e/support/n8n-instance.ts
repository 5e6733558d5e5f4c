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
import { randomBytes } from 'crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { ExecutionQueries } from './executions';
import { N8nProcess, REPO_ROOT, freePorts, installExitHooks, n8nCli, prepare, runCollect, type Prepared } from './n8n-process';
import { webhooksOf, type CredentialImport, type WebhookToAwait, type WorkflowJson } from './n8n-types';

export { REPO_ROOT, PACKAGE_NAME, freePort } from './n8n-process';
export type { CredentialImport, WorkflowJson, WebhookToAwait } from './n8n-types';
export { nodeOutput, nodesThatRan, type ExecutionRecord, type ExecutionSummary, type NodeRun } from './executions';

export const E2E_N8N_VERSION = process.env.N8N_E2E_VERSION || '2.41.1';
/**
 * Timeout for a beforeAll that calls startN8n: `beforeAll(async () => {...}, N8N_BOOT_TIMEOUT_MS)`.
 * The n8n install itself happens in globalSetup; a boot takes ~30-60 s on 2 busy cores.
 */
export const N8N_BOOT_TIMEOUT_MS = 5 * 60_000;
const DB_QUERY = join(REPO_ROOT, 'scripts', 'n8n-db-query.cjs');

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
	waitFor?: WebhookToAwait[];
	/** Paths polled for each published node with a webhookId when `waitFor` is not given. Default ['webhook']. */
	webhookPaths?: string[];
	/** Extra environment for every n8n command (e.g. { N8N_EXPRESSION_ENGINE: 'legacy' }). */
	env?: Record<string, string>;
	logLevel?: 'error' | 'warn' | 'info' | 'debug';
	/** Build the package first: 'auto' (when sources changed; default), true, false. */
	build?: boolean | 'auto';
	/** false: start n8n without this package, to install it through Community Nodes (default true). */
	installPackage?: boolean;
	/** Keep the temp user folder after stop() (also with N8N_E2E_KEEP=1), for debugging. */
	keepUserFolder?: boolean;
	/** Print n8n's output live to stderr (also with N8N_E2E_VERBOSE=1). */
	verbose?: boolean;
	readyTimeoutMs?: number;
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

export class N8nInstance extends ExecutionQueries {
	readonly baseUrl: string;
	/** What n8n builds webhook URLs from (N8N_WEBHOOK_URL), ending in '/'. */
	readonly webhookBase: string;
	readonly kind = 'single' as const;
	timings: StartTimings = { prepare: 0, imports: 0, healthz: 0, boot: 0, total: 0, installedN8n: false };
	/** @internal */
	healthzSeconds = 0;
	/** The one n8n process (`n8n start`). */
	readonly process: N8nProcess;
	private stopped = false;

	constructor(
		readonly version: string,
		readonly port: number,
		readonly brokerPort: number,
		readonly userFolder: string,
		private readonly prepared: Prepared,
		private readonly options: StartN8nOptions,
	) {
		super();
		this.baseUrl = `http://127.0.0.1:${port}`;
		this.webhookBase = `${this.baseUrl}/`;
		this.process = new N8nProcess({
			name: 'main',
			prepared,
			userFolder,
			args: ['start'],
			healthPort: port,
			readyLine: /Editor is now accessible/,
			verbose: options.verbose,
		});
	}

	/** The production URL of a trigger's webhook: `<base>/webhook/<webhookId>/<path>`. */
	webhookUrl(webhookId: string, path: string): string {
		return `${this.webhookBase}webhook/${webhookId}/${path.replace(/^\//, '')}`;
	}

	/** The same URL at every process that serves production webhooks (one here). */
	webhookUrlsOfEveryProcess(webhookId: string, path: string): string[] {
		return [this.webhookUrl(webhookId, path)];
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
		return this.process.logs();
	}

	get databaseFile(): string {
		return join(this.userFolder, '.n8n', 'database.sqlite');
	}

	/** Runs an n8n CLI command against this instance's database (n8n may be running). */
	async cli(args: string[], timeoutMs = 180_000): Promise<string> {
		return n8nCli(this.prepared, this.userFolder, args, timeoutMs);
	}

	/** Imports credentials and workflows (n8n must be stopped for publishing to take effect at start). */
	async importAll(credentials: CredentialImport[] = [], workflows: WorkflowJson[] = [], publish?: string[]): Promise<void> {
		await importInto((args) => this.cli(args), this.userFolder, credentials, workflows, publish);
	}

	/** Starts n8n and waits for /healthz, then for the given webhooks to be registered. */
	async boot(waitFor: WebhookToAwait[] = []): Promise<void> {
		const spawnedAt = Date.now();
		await this.process.start(this.options.readyTimeoutMs ?? 120_000);
		this.healthzSeconds = this.process.healthzSeconds;
		const deadline = spawnedAt + (this.options.readyTimeoutMs ?? 120_000);
		for (const hook of waitFor) {
			await this.waitForUrl(this.webhookUrl(hook.webhookId, hook.path), hook.method ?? 'GET', deadline - Date.now());
		}
	}

	/** Polls `url` until it answers something other than 404 (n8n registers production webhooks shortly after /healthz). */
	async waitForUrl(url: string, method = 'GET', timeoutMs = 60_000): Promise<number> {
		return this.process.waitForUrl(url, method, timeoutMs);
	}

	/** Stops n8n (SIGTERM, then SIGKILL of its whole process group after 10 s). Idempotent. */
	async shutdown(): Promise<void> {
		await this.process.shutdown();
	}

	/** Stops n8n, imports more credentials/workflows, publishes, and starts again. */
	async restart(changes: { credentials?: CredentialImport[]; workflows?: WorkflowJson[]; publish?: string[]; waitFor?: WebhookToAwait[] } = {}): Promise<void> {
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

	/** A read-only SQL query on this instance's SQLite database (rows as objects), through n8n's own sqlite3. */
	async query<T = Record<string, unknown>>(sql: string, params: unknown[] = [], unflatten: string[] = []): Promise<T[]> {
		const { stdout } = await runCollect(
			this.prepared.runtime.nodeBin,
			[DB_QUERY, this.prepared.runtime.dir, this.databaseFile, JSON.stringify({ sql, params, unflatten })],
			{ timeoutMs: 30_000 },
		);
		return JSON.parse(stdout) as T[];
	}
}

/** import:credentials, import:workflow, publish:workflow with an instance's CLI (shared by the single instance and the cluster). */
export async function importInto(
	cli: (args: string[]) => Promise<string>,
	scratchDir: string,
	credentials: CredentialImport[] = [],
	workflows: WorkflowJson[] = [],
	publish?: string[],
): Promise<void> {
	if (credentials.length > 0) {
		const file = join(scratchDir, `credentials-${Date.now()}.json`);
		writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
		try {
			await cli(['import:credentials', `--input=${file}`]);
		} finally {
			rmSync(file, { force: true });
		}
	}
	if (workflows.length > 0) {
		const file = join(scratchDir, `workflows-${Date.now()}.json`);
		writeFileSync(file, JSON.stringify(workflows));
		await cli(['import:workflow', `--input=${file}`]);
	}
	for (const id of publish ?? workflows.map((w) => w.id)) {
		await cli(['publish:workflow', `--id=${id}`]);
	}
}

/** Boots an isolated n8n with this package, the given credentials and workflows. Call `stop()` in afterAll. */
export async function startN8n(options: StartN8nOptions = {}): Promise<N8nInstance> {
	installExitHooks();
	const t0 = Date.now();
	const version = options.version ?? E2E_N8N_VERSION;
	const userFolder = mkdtempSync(join(tmpdir(), 'n8n-e2e-'));
	const [port, brokerPort] = await freePorts(2);
	const webhookUrl = `http://127.0.0.1:${port}/`;

	let instance: N8nInstance | undefined;
	try {
		const prepared = await prepare({
			version,
			userFolder,
			port,
			brokerPort,
			webhookUrl,
			encryptionKey: randomBytes(24).toString('base64url'),
			logLevel: options.logLevel ?? 'info',
			build: options.build ?? 'auto',
			...(options.installPackage === false ? { installPackage: false } : {}),
			extra: options.env ?? {},
		});
		const t1 = Date.now();
		instance = new N8nInstance(version, port, brokerPort, userFolder, prepared, options);

		const workflows = options.workflows ?? [];
		const publish = options.publish ?? workflows.map((w) => w.id);
		await instance.importAll(options.credentials, workflows, publish);
		const t2 = Date.now();

		await instance.boot(options.waitFor ?? webhooksOf(workflows, publish, options.webhookPaths ?? ['webhook']));
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
