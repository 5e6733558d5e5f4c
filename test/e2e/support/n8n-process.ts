/**
 * One n8n process (`n8n start`, `n8n webhook` or `n8n worker`) for the e2e suites, and the
 * pieces every launcher shares: the runtime script's `prepare` (n8n installed, this package
 * installed as a community package into the process's user folder, its environment), free
 * ports, readiness polling, readable failures.
 *
 * The process runs under scripts/supervise.mjs in its own process group with a pipe from us
 * as its stdin: `shutdown()` ends the group, and so does the death of the test process (even
 * by SIGKILL). The supervisor writes the n8n process's own pid to a file, so a test can kill
 * n8n itself (a worker dying mid-run) and a teardown can prove that nothing is left.
 *
 * Used by n8n-instance.ts (one `n8n start` on SQLite) and n8n-cluster.ts (queue mode).
 */
import { spawn, type ChildProcess } from 'child_process';
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'fs';
import { createServer } from 'net';
import { join, resolve } from 'path';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const PACKAGE_NAME = 'n8n-nodes-whatsapp-agent';
const RUNTIME_SCRIPT = join(REPO_ROOT, 'scripts', 'n8n-runtime.mjs');
const SUPERVISOR = join(REPO_ROOT, 'scripts', 'supervise.mjs');

/** Log lines worth showing first when n8n fails to start or to activate something. */
const NOTABLE_LOG_LINE = /error|fail|problem|cannot|could not|unrecognized|exception|EADDRINUSE/i;

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** `count` distinct free loopback ports. */
export async function freePorts(count: number): Promise<number[]> {
	const ports = new Set<number>();
	while (ports.size < count) ports.add(await freePort());
	return [...ports];
}

/** Whether something still listens on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
	return new Promise((resolveCheck) => {
		const server = createServer();
		server.once('error', () => resolveCheck(true));
		server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolveCheck(false)));
	});
}

/** Whether a process runs (a zombie, ended but not reaped — this machine's init reaps nothing — does not). */
export function pidAlive(pid: number | undefined): boolean {
	if (!pid) return false;
	try {
		process.kill(pid, 0);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
	}
	try {
		return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
	} catch {
		return true;
	}
}

/** Runs a command to completion, collecting output; rejects with the output's tail. */
export function runCollect(
	command: string,
	args: string[],
	options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; stderrLive?: boolean; what?: string } = {},
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
				reject(new Error(`${options.what ?? `${command} ${args.slice(0, 3).join(' ')}...`} failed (${signal ?? `exit ${code}`}):\n${out}`));
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

export interface Runtime {
	version: string;
	dir: string;
	nodeBin: string;
	n8nBin: string;
	installedNow: boolean;
	installSeconds: number;
}

/** What `node scripts/n8n-runtime.mjs prepare` answers. */
export interface Prepared {
	runtime: Runtime;
	package: { dir: string; fingerprint: string; reused: boolean };
	env: Record<string, string>;
}

/** The runtime script's `prepare` (see scripts/n8n-runtime.mjs): n8n ensured, the package installed into `userFolder`, the env. */
export async function prepare(request: Record<string, unknown>): Promise<Prepared> {
	// Node 20 runs the runtime script; it installs n8n on first use (minutes, printed live).
	const { stdout } = await runCollect(process.execPath, [RUNTIME_SCRIPT, 'prepare', JSON.stringify(request)], {
		cwd: REPO_ROOT,
		stderrLive: true,
		timeoutMs: 30 * 60_000,
		what: `Preparing n8n (node scripts/n8n-runtime.mjs prepare, user folder ${String(request.userFolder)})`,
	});
	return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Prepared;
}

/** Runs an n8n CLI command (import:workflow, publish:workflow, ...) with an instance's environment. */
export async function n8nCli(prepared: Prepared, cwd: string, args: string[], timeoutMs = 180_000): Promise<string> {
	const { stdout, stderr } = await runCollect(prepared.runtime.nodeBin, [prepared.runtime.n8nBin, ...args], {
		env: prepared.env,
		cwd,
		timeoutMs,
		what: `n8n ${args.join(' ')}`,
	});
	return `${stdout}${stderr}`;
}

const live = new Set<ChildProcess>();
let exitHooksInstalled = false;

/** Makes the common ways out (exit, Ctrl-C, SIGTERM) end every n8n at once; the supervisors cover the rest. */
export function installExitHooks(): void {
	if (exitHooksInstalled) return;
	exitHooksInstalled = true;
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

export interface N8nProcessOptions {
	/** Shown in errors and log prefixes: 'main', 'webhook-1', 'worker-2'. */
	name: string;
	prepared: Prepared;
	userFolder: string;
	/** n8n's command and arguments: ['start'], ['webhook'], ['worker', '--concurrency=5']. */
	args: string[];
	/** Where it answers /healthz (and /healthz/readiness): N8N_PORT, or a worker's QUEUE_HEALTH_CHECK_PORT. */
	healthPort: number;
	/** The log line that says it is fully up (n8n answers /healthz before migrations and activation end). */
	readyLine?: RegExp;
	/** Print n8n's output live to stderr. */
	verbose?: boolean;
}

export class N8nProcess {
	readonly name: string;
	private child: ChildProcess | undefined;
	private output = '';
	private logStream: WriteStream | undefined;
	private exitCode: number | null | undefined;
	/** Seconds from spawn to /healthz 200, of the last start. */
	healthzSeconds = 0;
	/** Seconds from spawn to ready, of the last start. */
	readySeconds = 0;
	/** The supervisor's pid and n8n's own, of the last start (for leftover checks and kills). */
	supervisorPid: number | undefined;
	n8nPid: number | undefined;

	constructor(private readonly options: N8nProcessOptions) {
		this.name = options.name;
	}

	get userFolder(): string {
		return this.options.userFolder;
	}

	get healthUrl(): string {
		return `http://127.0.0.1:${this.options.healthPort}/healthz`;
	}

	get logFile(): string {
		return join(this.options.userFolder, 'n8n.log');
	}

	get running(): boolean {
		return this.child !== undefined && this.exitCode === undefined;
	}

	/** Its output so far (over every start; also in <userFolder>/n8n.log). */
	logs(): string {
		return this.output;
	}

	/** Spawns it (under the supervisor) without waiting. */
	spawn(): void {
		if (this.running) throw new Error(`n8n ${this.name} is already running`);
		const verbose = this.options.verbose || process.env.N8N_E2E_VERBOSE === '1';
		const pidFile = join(this.options.userFolder, 'n8n.pid');
		this.logStream = createWriteStream(this.logFile, { flags: 'a' });
		this.exitCode = undefined;
		this.n8nPid = undefined;
		const child = spawn(
			process.execPath,
			[SUPERVISOR, '--grace-ms=10000', `--pid-file=${pidFile}`, '--', this.options.prepared.runtime.nodeBin, this.options.prepared.runtime.n8nBin, ...this.options.args],
			{ env: this.options.prepared.env, cwd: this.options.userFolder, stdio: ['pipe', 'pipe', 'pipe'] },
		);
		this.child = child;
		this.supervisorPid = child.pid;
		live.add(child);
		const prefix = verbose ? `[${this.name}] ` : '';
		const onData = (d: Buffer) => {
			this.output += d.toString();
			this.logStream?.write(d);
			if (verbose) process.stderr.write(prefix + d.toString());
		};
		child.stdout?.on('data', onData);
		child.stderr?.on('data', onData);
		child.on('exit', (code) => {
			this.exitCode = code;
			live.delete(child);
		});
		this.readPid = () => {
			if (this.n8nPid === undefined && existsSync(pidFile)) this.n8nPid = Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
			return this.n8nPid;
		};
	}

	private readPid: () => number | undefined = () => undefined;

	/** Spawns it and waits until /healthz/readiness answers 200 and the ready line (if any) was logged. */
	async start(readyTimeoutMs = 180_000): Promise<void> {
		const spawnedAt = Date.now();
		this.spawn();
		await this.waitReady(spawnedAt, readyTimeoutMs);
	}

	async waitReady(spawnedAt = Date.now(), readyTimeoutMs = 180_000): Promise<void> {
		const deadline = spawnedAt + readyTimeoutMs;
		while ((await httpStatus(this.healthUrl, 'GET')) !== 200) {
			this.checkAlive('before it was ready');
			this.checkForFatalLog();
			if (Date.now() > deadline) throw this.failure(`did not answer ${this.healthUrl} within ${readyTimeoutMs / 1000} s`);
			await delay(250);
		}
		this.healthzSeconds = (Date.now() - spawnedAt) / 1000;
		// /healthz answers while migrations may still run; readiness says the database and queue are up.
		while ((await httpStatus(`${this.healthUrl}/readiness`, 'GET')) !== 200 || (this.options.readyLine && !this.options.readyLine.test(this.output))) {
			this.checkAlive('before it was ready');
			this.checkForFatalLog();
			if (Date.now() > deadline) {
				throw this.failure(this.options.readyLine && !this.options.readyLine.test(this.output) ? `never logged ${this.options.readyLine}` : `${this.healthUrl}/readiness never answered 200`);
			}
			await delay(100);
		}
		this.readPid();
		this.readySeconds = (Date.now() - spawnedAt) / 1000;
	}

	/** Throws (with its log) when it has exited. */
	checkAlive(when: string): void {
		if (this.child && this.exitCode !== undefined) throw this.failure(`exited (code ${this.exitCode}) ${when}`);
	}

	/** Polls `url` until it answers something other than 404 (n8n registers production webhooks shortly after start). */
	async waitForUrl(url: string, method = 'GET', timeoutMs = 60_000): Promise<number> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const status = await httpStatus(url, method);
			if (status !== 404 && status !== 0) return status;
			this.checkForFatalLog();
			this.checkAlive(`while waiting for ${method} ${url}`);
			if (Date.now() > deadline) throw this.failure(`never registered the webhook ${method} ${url} (still ${status || 'no answer'})`);
			await delay(250);
		}
	}

	failure(what: string): Error {
		const lines = this.output.split('\n').filter((line) => !/Received request for unknown webhook/.test(line));
		const notable = lines.filter((line) => NOTABLE_LOG_LINE.test(line)).slice(-15);
		return new Error(
			`n8n ${this.options.prepared.runtime.version} (${this.name}) ${what}.\n` +
				(notable.length ? `Notable log lines:\n${notable.join('\n')}\n` : '') +
				`Last lines of its log (${this.logFile}):\n${lines.join('\n').trim().split('\n').slice(-25).join('\n')}`,
		);
	}

	/** Fails fast on what n8n logs when our package or a workflow cannot load, instead of waiting for a timeout. */
	checkForFatalLog(): void {
		const packageFailure = this.output.match(new RegExp(`Failed to load package "${PACKAGE_NAME}"\\s*\\n(.*)`));
		if (packageFailure) throw this.failure(`could not load the package ${PACKAGE_NAME}: ${packageFailure[1]}`);
		const workflowFailure = this.output.match(/(Workflow cannot run on this instance.*|Problem activating workflow.*)/);
		if (workflowFailure) throw this.failure(`could not activate a workflow: ${workflowFailure[1]}`);
	}

	/** Sends `signal` to the n8n process itself (not its supervisor): SIGKILL is a crash. */
	kill(signal: NodeJS.Signals): void {
		const pid = this.readPid();
		if (!pid) throw new Error(`n8n ${this.name} has no known pid (not started?)`);
		process.kill(pid, signal);
	}

	/** Resolves once the supervisor has exited (after n8n ended, by itself or killed). */
	async exited(timeoutMs = 60_000): Promise<number | null> {
		const deadline = Date.now() + timeoutMs;
		while (this.child && this.exitCode === undefined) {
			if (Date.now() > deadline) throw new Error(`n8n ${this.name} did not exit within ${timeoutMs / 1000} s`);
			await delay(100);
		}
		return this.exitCode ?? null;
	}

	/** Stops it (SIGTERM, then SIGKILL of its whole process group after 10 s). Idempotent. */
	async shutdown(): Promise<void> {
		const child = this.child;
		if (!child) return;
		if (this.exitCode === undefined) {
			const exited = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			// The supervisor SIGKILLs the group 10 s after the first signal; a second one means "now".
			const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
			await exited;
			clearTimeout(timer);
		}
		this.child = undefined;
		await new Promise<void>((r) => (this.logStream ? this.logStream.end(() => r()) : r()));
		this.logStream = undefined;
	}
}
