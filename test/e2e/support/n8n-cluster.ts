/**
 * n8n in queue mode for the e2e suites, laid out as a user's deployment: Redis and PostgreSQL
 * (Debian's, started by scripts/services.mjs on free loopback ports in throwaway folders), one
 * main process (`n8n start`: editor, API, activation and automatic webhook setup; production
 * webhooks off), two `n8n webhook` processes behind a round-robin load balancer (a small HTTP
 * proxy here, what nginx or a cloud balancer is in production), and two `n8n worker`
 * processes. Each process has its own user folder with the packed package installed as a
 * community package, as separate machines would; all share the encryption key, the database
 * and the queue. Binary data lives in the database (N8N_DEFAULT_BINARY_DATA_MODE=database):
 * the filesystem mode keeps files on the machine that wrote them, which a worker on another
 * machine cannot read.
 *
 * The same surface as N8nInstance (n8n-instance.ts), so the same scenarios run on either:
 * `webhookUrl()` is the balancer's (the URL Meta and agents are given), and
 * `webhookUrlsOfEveryProcess()` the webhook processes' own, for cross-process checks.
 *
 * Everything is stopped by `stop()`, and also when the test process dies: each n8n runs under
 * scripts/supervise.mjs, the services under `services.mjs up`, which stop when our pipe to
 * them closes.
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

import { ExecutionQueries } from './executions';
import { importInto, type StartN8nOptions, type StartTimings } from './n8n-instance';
import { N8nProcess, REPO_ROOT, freePorts, installExitHooks, n8nCli, pidAlive, prepare, runCollect, type Prepared } from './n8n-process';
import { webhooksOf, type CredentialImport, type WorkflowJson } from './n8n-types';

const SERVICES_SCRIPT = join(REPO_ROOT, 'scripts', 'services.mjs');
const DB_QUERY = join(REPO_ROOT, 'scripts', 'n8n-db-query.cjs');

export interface ServiceDetails {
	redis: { host: string; port: number; pid: number; supervisorPid: number };
	postgres: { host: string; port: number; database: string; user: string; password: string; pid: number; supervisorPid: number };
}

/** Redis + PostgreSQL from `node scripts/services.mjs up --json`, stopped when `stop()` closes its stdin. */
class Services {
	private constructor(
		private readonly child: ChildProcess,
		readonly details: ServiceDetails,
	) {}

	static async start(): Promise<Services> {
		const child = spawn(process.execPath, [SERVICES_SCRIPT, 'up', '--json'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		const details = await new Promise<ServiceDetails>((resolveDetails, reject) => {
			const timer = setTimeout(() => reject(new Error(`Redis and PostgreSQL did not start within 5 minutes:\n${stderr}`)), 5 * 60_000);
			child.stdout!.on('data', (chunk: Buffer) => {
				stdout += chunk.toString();
				const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
				if (line && stdout.includes('\n')) {
					clearTimeout(timer);
					resolveDetails(JSON.parse(line) as ServiceDetails);
				}
			});
			child.stderr!.on('data', (chunk: Buffer) => {
				stderr += chunk.toString();
				if (process.env.N8N_E2E_VERBOSE === '1') process.stderr.write(`[services] ${chunk.toString()}`);
			});
			child.on('exit', (code) => {
				clearTimeout(timer);
				reject(new Error(`node scripts/services.mjs up exited (${code}) before the services were ready:\n${stderr}`));
			});
		});
		return new Services(child, details);
	}

	async stop(): Promise<void> {
		if (this.child.exitCode !== null) return;
		const exited = new Promise<void>((resolveExit) => this.child.once('exit', () => resolveExit()));
		this.child.stdin!.end();
		const timer = setTimeout(() => this.child.kill('SIGTERM'), 15_000);
		await exited;
		clearTimeout(timer);
	}
}

/** Round robin over the webhook processes, one request at a time (no sticky connections). */
class LoadBalancer {
	private constructor(
		private readonly server: http.Server,
		readonly port: number,
		/** How many requests went to each webhook process. */
		readonly served: number[],
	) {}

	static async start(targets: number[]): Promise<LoadBalancer> {
		const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
		const served = targets.map(() => 0);
		let next = 0;
		const server = http.createServer((req, res) => {
			const index = next++ % targets.length;
			served[index]++;
			const upstream = http.request(
				{ host: '127.0.0.1', port: targets[index], method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' }, agent },
				(answer) => {
					res.writeHead(answer.statusCode ?? 502, answer.headers);
					answer.pipe(res);
				},
			);
			upstream.on('error', (error) => {
				if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
				res.end(`load balancer: webhook process ${index + 1} failed: ${error.message}`);
			});
			req.pipe(upstream);
		});
		server.keepAliveTimeout = 5_000;
		await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', () => resolveListen()));
		return new LoadBalancer(server, (server.address() as AddressInfo).port, served);
	}

	async stop(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
	}
}

export interface ClusterOptions extends StartN8nOptions {
	webhookProcesses?: number;
	workers?: number;
}

export class N8nCluster extends ExecutionQueries {
	readonly kind = 'queue' as const;
	timings: StartTimings & { services: number; others: number } = { prepare: 0, imports: 0, healthz: 0, boot: 0, total: 0, installedN8n: false, services: 0, others: 0 };
	readonly baseUrl: string;
	/** What n8n builds webhook URLs from (WEBHOOK_URL): the load balancer, ending in '/'. */
	readonly webhookBase: string;
	readonly main: N8nProcess;
	readonly webhooks: N8nProcess[];
	readonly workers: N8nProcess[];
	private stopped = false;

	constructor(
		readonly version: string,
		private readonly services: Services,
		private readonly balancer: LoadBalancer,
		private readonly mainPrepared: Prepared,
		readonly processes: { process: N8nProcess; prepared: Prepared; port: number }[],
		private readonly scratch: string,
		private readonly options: ClusterOptions,
	) {
		super();
		this.main = processes[0].process;
		this.webhooks = processes.filter((entry) => entry.process.name.startsWith('webhook')).map((entry) => entry.process);
		this.workers = processes.filter((entry) => entry.process.name.startsWith('worker')).map((entry) => entry.process);
		this.baseUrl = `http://127.0.0.1:${processes[0].port}`;
		this.webhookBase = `http://127.0.0.1:${balancer.port}/`;
	}

	get serviceDetails(): ServiceDetails {
		return this.services.details;
	}

	/** How many requests the balancer sent to each webhook process. */
	get balancedRequests(): number[] {
		return [...this.balancer.served];
	}

	/** The production URL of a trigger's webhook, at the load balancer. */
	webhookUrl(webhookId: string, path: string): string {
		return `${this.webhookBase}webhook/${webhookId}/${path.replace(/^\//, '')}`;
	}

	/** The same URL at each webhook process directly (process 1, process 2). */
	webhookUrlsOfEveryProcess(webhookId: string, path: string): string[] {
		return this.processes
			.filter((entry) => entry.process.name.startsWith('webhook'))
			.map((entry) => `http://127.0.0.1:${entry.port}/webhook/${webhookId}/${path.replace(/^\//, '')}`);
	}

	/** Every process's output, each line's process named. */
	logs(): string {
		return this.processes.map((entry) => entry.process.logs()).join('\n');
	}

	async cli(args: string[], timeoutMs = 180_000): Promise<string> {
		return n8nCli(this.mainPrepared, this.processes[0].process.userFolder, args, timeoutMs);
	}

	async importAll(credentials: CredentialImport[] = [], workflows: WorkflowJson[] = [], publish?: string[]): Promise<void> {
		await importInto((args) => this.cli(args), this.scratch, credentials, workflows, publish);
	}

	/** A read-only SQL query on the cluster's PostgreSQL (`?` placeholders), through n8n's own `pg`. */
	async query<T = Record<string, unknown>>(sql: string, params: unknown[] = [], unflatten: string[] = []): Promise<T[]> {
		const { postgres } = this.services.details;
		const { stdout } = await runCollect(this.mainPrepared.runtime.nodeBin, [DB_QUERY, this.mainPrepared.runtime.dir, 'postgres', JSON.stringify({ sql, params, unflatten })], {
			timeoutMs: 30_000,
			env: { ...process.env, PGHOST: postgres.host, PGPORT: String(postgres.port), PGDATABASE: postgres.database, PGUSER: postgres.user, PGPASSWORD: postgres.password },
		});
		return JSON.parse(stdout) as T[];
	}

	/** The pids of everything the cluster started (services, supervisors, n8n processes). */
	pids(): number[] {
		const { redis, postgres } = this.services.details;
		return [redis.pid, redis.supervisorPid, postgres.pid, postgres.supervisorPid, ...this.processes.flatMap((entry) => [entry.process.supervisorPid, entry.process.n8nPid])].filter(
			(pid): pid is number => typeof pid === 'number',
		);
	}

	/** Stops every n8n process (webhooks and workers first, main last), the balancer, then Redis and PostgreSQL. Idempotent. */
	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		await Promise.allSettled([...this.webhooks, ...this.workers].map((process) => process.shutdown()));
		await this.main.shutdown().catch(() => undefined);
		await this.balancer.stop().catch(() => undefined);
		await this.services.stop();
		if (!this.options.keepUserFolder && process.env.N8N_E2E_KEEP !== '1') {
			for (const entry of this.processes) rmSync(entry.process.userFolder, { recursive: true, force: true });
			rmSync(this.scratch, { recursive: true, force: true });
		}
	}

	/** Whether everything the cluster started is gone. */
	async leftovers(): Promise<number[]> {
		return this.pids().filter((pid) => pidAlive(pid));
	}
}

/**
 * Boots a queue-mode cluster with this package, the given credentials and workflows
 * (imported and published through the main process's CLI before anything starts).
 */
export async function startN8nCluster(options: ClusterOptions = {}): Promise<N8nCluster> {
	installExitHooks();
	const t0 = Date.now();
	const version = options.version ?? (process.env.N8N_E2E_VERSION || '2.41.1');
	const webhookCount = options.webhookProcesses ?? 2;
	const workerCount = options.workers ?? 2;
	const services = await Services.start();
	const tServices = Date.now();
	let balancer: LoadBalancer | undefined;
	const processes: { process: N8nProcess; prepared: Prepared; port: number }[] = [];
	const scratch = mkdtempSync(join(tmpdir(), 'n8n-queue-'));
	try {
		const roles = [{ role: 'main', name: 'main' }, ...Array.from({ length: webhookCount }, (_, i) => ({ role: 'webhook', name: `webhook-${i + 1}` })), ...Array.from({ length: workerCount }, (_, i) => ({ role: 'worker', name: `worker-${i + 1}` }))];
		const ports = await freePorts(roles.length * 2);
		const webhookPorts = roles.map((entry, index) => (entry.role === 'webhook' ? ports[index * 2] : 0)).filter(Boolean);
		balancer = await LoadBalancer.start(webhookPorts);
		const encryptionKey = randomBytes(24).toString('base64url');
		const { redis, postgres } = services.details;
		let installedN8n = false;
		for (const [index, entry] of roles.entries()) {
			const [port, brokerPort] = [ports[index * 2], ports[index * 2 + 1]];
			const userFolder = mkdtempSync(join(tmpdir(), `n8n-${entry.name}-`));
			const prepared = await prepare({
				version,
				userFolder,
				port,
				brokerPort,
				webhookUrl: `http://127.0.0.1:${balancer.port}/`,
				encryptionKey,
				logLevel: options.logLevel ?? 'info',
				build: index === 0 ? (options.build ?? 'auto') : false,
				queue: { role: entry.role, redis, postgres, healthPort: port },
				extra: options.env ?? {},
			});
			installedN8n ||= prepared.runtime.installedNow;
			const args = entry.role === 'main' ? ['start'] : entry.role === 'webhook' ? ['webhook'] : ['worker'];
			const readyLine = entry.role === 'main' ? /Editor is now accessible/ : entry.role === 'webhook' ? /Webhook listener waiting for requests/ : /n8n worker is now ready/;
			processes.push({ process: new N8nProcess({ name: entry.name, prepared, userFolder, args, healthPort: port, readyLine, verbose: options.verbose }), prepared, port });
		}
		const tPrepared = Date.now();
		const cluster = new N8nCluster(version, services, balancer, processes[0].prepared, processes, scratch, options);
		const workflows = options.workflows ?? [];
		const publish = options.publish ?? workflows.map((workflow) => workflow.id);
		await cluster.importAll(options.credentials, workflows, []);
		const tImported = Date.now();
		// Main first: it runs the migrations; then the others at once.
		await cluster.main.start(options.readyTimeoutMs ?? 180_000);
		const tMain = Date.now();
		await Promise.all([...cluster.webhooks, ...cluster.workers].map((process) => process.start(options.readyTimeoutMs ?? 120_000)));
		const tOthers = Date.now();
		if (publish.length > 0) {
			// Publishing activates on the main process, and automatic webhook setup has Meta verify
			// the URL at once: the webhook processes behind it must already be up (as in a running
			// deployment). The CLI's publish takes effect when main starts, so main starts again.
			await cluster.main.shutdown();
			for (const id of publish) await cluster.cli(['publish:workflow', `--id=${id}`]);
			await cluster.main.start(options.readyTimeoutMs ?? 180_000);
		}
		const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
		for (const hook of options.waitFor ?? webhooksOf(workflows, publish, options.webhookPaths ?? ['webhook'])) {
			for (const [index, url] of cluster.webhookUrlsOfEveryProcess(hook.webhookId, hook.path).entries()) {
				await cluster.webhooks[index].waitForUrl(url, hook.method ?? 'GET', deadline - Date.now());
			}
		}
		cluster.timings = {
			prepare: (tPrepared - tServices) / 1000,
			imports: (tImported - tPrepared) / 1000,
			healthz: cluster.main.healthzSeconds,
			boot: (Date.now() - tImported) / 1000,
			total: (Date.now() - t0) / 1000,
			installedN8n,
			services: (tServices - t0) / 1000,
			others: (tOthers - tMain) / 1000,
		};
		return cluster;
	} catch (error) {
		await Promise.allSettled(processes.map((entry) => entry.process.shutdown()));
		await balancer?.stop().catch(() => undefined);
		await services.stop();
		if (!options.keepUserFolder && process.env.N8N_E2E_KEEP !== '1') {
			for (const entry of processes) rmSync(entry.process.userFolder, { recursive: true, force: true });
			rmSync(scratch, { recursive: true, force: true });
		} else {
			process.stderr.write(`[n8n-cluster] kept ${processes.map((entry) => entry.process.userFolder).join(' ')}\n`);
		}
		throw error;
	}
}
