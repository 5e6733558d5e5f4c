/**
 * scripts/supervise.mjs: the guarantee every n8n process, Redis and PostgreSQL of the e2e
 * suites rely on — whatever way the parent goes, the supervised command and its whole process
 * group end, and the throwaway folders given with --remove-after are removed.
 * Real processes (sh, sleep), no mocks.
 */
import { spawn, type ChildProcess } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

const SUPERVISOR = resolve(__dirname, '..', '..', 'scripts', 'supervise.mjs');
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process runs (a zombie, killed but not yet reaped by whoever inherited it, does not). */
function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch {
		return false;
	}
	try {
		return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
	} catch {
		return false;
	}
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
		await delay(50);
	}
}

let dir: string;
const started: ChildProcess[] = [];

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'supervise-test-'));
});

afterEach(() => {
	for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
	rmSync(dir, { recursive: true, force: true });
});

/** Starts the supervisor over `sh -c script`; the script writes the pid of a background sleep (a grandchild) to `grandchild.pid`. */
function supervise(script: string, options: string[] = []): ChildProcess {
	const child = spawn(process.execPath, [SUPERVISOR, ...options, '--', 'sh', '-c', script], { stdio: ['pipe', 'ignore', 'pipe'], cwd: dir });
	started.push(child);
	return child;
}

const pidIn = (file: string) => Number(readFileSync(join(dir, file), 'utf8').trim());

test('the parent goes away (its pipe closes): the command and everything in its group end, the throwaway folder is removed', async () => {
	const scratch = join(dir, 'scratch');
	const child = supervise('mkdir scratch; sleep 300 & echo $! > grandchild.pid; exec sleep 300', ['--grace-ms=2000', `--pid-file=${join(dir, 'command.pid')}`, `--remove-after=${scratch}`]);
	await until('the command started', () => existsSync(join(dir, 'grandchild.pid')) && existsSync(join(dir, 'command.pid')) && existsSync(scratch));
	const command = pidIn('command.pid');
	const grandchild = pidIn('grandchild.pid');
	expect(alive(command)).toBe(true);
	expect(alive(grandchild)).toBe(true);
	// What a parent's death looks like to the supervisor, even a SIGKILLed one: end of stdin.
	child.stdin!.end();
	await until('the supervisor exited', () => child.exitCode !== null || child.signalCode !== null);
	expect(alive(command)).toBe(false);
	expect(alive(grandchild)).toBe(false);
	expect(existsSync(scratch)).toBe(false);
});

test('--stop-signal: the command is asked to stop with that signal (PostgreSQL: SIGINT), and its exit code is passed on', async () => {
	const child = supervise("trap 'echo INT > got; exit 0' INT; trap 'echo TERM > got; exit 0' TERM; while :; do sleep 0.1; done", ['--stop-signal=SIGINT', '--grace-ms=5000']);
	await delay(300);
	const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
	child.kill('SIGTERM');
	expect(await exit).toBe(0);
	expect(readFileSync(join(dir, 'got'), 'utf8').trim()).toBe('INT');
});

test('a command that ignores the stop signal is killed with its group after the grace period', async () => {
	const child = supervise("trap '' TERM; sleep 300 & echo $! > grandchild.pid; while :; do sleep 0.1; done", ['--grace-ms=500']);
	await until('the command started', () => existsSync(join(dir, 'grandchild.pid')));
	const grandchild = pidIn('grandchild.pid');
	const startedAt = Date.now();
	child.kill('SIGTERM');
	await until('the supervisor exited', () => child.exitCode !== null, 5000);
	expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400);
	expect(alive(grandchild)).toBe(false);
});

test('when the command exits by itself, what it left in its group is ended and the folders are removed too', async () => {
	const scratch = join(dir, 'scratch');
	writeFileSync(join(dir, 'marker'), '');
	const child = supervise('mkdir scratch; sleep 300 & echo $! > grandchild.pid; sleep 0.3; exit 3', [`--remove-after=${scratch}`]);
	const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
	expect(code).toBe(3);
	expect(alive(pidIn('grandchild.pid'))).toBe(false);
	expect(existsSync(scratch)).toBe(false);
	expect(existsSync(join(dir, 'marker'))).toBe(true);
});
