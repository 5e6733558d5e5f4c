#!/usr/bin/env node
/**
 * Runs one command in its own process group and guarantees that the whole group (n8n and
 * the task runner it spawns) ends when any of these happens:
 *  - this process gets SIGTERM or SIGINT (graceful: SIGTERM to the command, SIGKILL to
 *    the group after a grace period, or at once on a second signal a second later);
 *  - the parent that started us goes away (our stdin reaches end-of-file), even when the
 *    parent was killed with SIGKILL and could not clean up;
 *  - the command exits (anything it left behind in its group is killed).
 * Exits with the command's exit code.
 *
 * usage: node scripts/supervise.mjs [options] -- <command> [args...]
 *   --grace-ms=N          wait N ms after the stop signal before SIGKILL of the group (15000)
 *   --stop-signal=SIG     what asks the command to stop (SIGTERM; PostgreSQL's fast shutdown is SIGINT)
 *   --pid-file=PATH       write the command's pid there once it is started
 *   --remove-after=PATH   remove PATH (recursively) once the command and its group are gone;
 *                         may be repeated (throwaway data directories)
 * The parent must give us a piped stdin and keep it open for as long as it wants the
 * command to live. Built-ins only.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
if (dash < 0 || dash === argv.length - 1) {
	process.stderr.write('usage: supervise.mjs [--grace-ms=N] [--stop-signal=SIG] [--pid-file=PATH] [--remove-after=PATH]... -- <command> [args...]\n');
	process.exit(2);
}
const options = argv.slice(0, dash);
const option = (name) => options.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
const graceMs = option('grace-ms').length ? Number(option('grace-ms').at(-1)) : 15000;
const stopSignal = option('stop-signal').at(-1) || 'SIGTERM';
const pidFile = option('pid-file').at(-1);
const removeAfter = option('remove-after');
const [command, ...args] = argv.slice(dash + 1);

// Our output may be a pipe to a parent that is gone: a failed write must not stop the cleanup.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
if (pidFile && child.pid) writeFileSync(pidFile, `${child.pid}\n`);
let stopping = 0;
let exited = false;

function killGroup(signal) {
	try {
		process.kill(-child.pid, signal);
	} catch {
		/* group already gone */
	}
}

function stop(reason) {
	if (stopping) {
		// A second request (not the echo of the first: npm and the terminal both forward a
		// Ctrl-C) means "now".
		if (Date.now() - stopping > 1000) killGroup('SIGKILL');
		return;
	}
	stopping = Date.now();
	if (process.env.SUPERVISE_VERBOSE) process.stderr.write(`[supervise] stopping (${reason})\n`);
	try {
		child.kill(stopSignal);
	} catch {
		/* gone */
	}
	setTimeout(() => killGroup('SIGKILL'), graceMs).unref();
}

process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGHUP', () => stop('SIGHUP'));
process.stdin.on('end', () => stop('parent gone'));
process.stdin.on('error', () => stop('parent gone'));
process.stdin.resume();

child.on('error', (error) => {
	process.stderr.write(`[supervise] cannot start ${command}: ${error.message}\n`);
	process.exit(127);
});
function removeLeftovers() {
	for (const path of removeAfter) {
		try {
			rmSync(path, { recursive: true, force: true });
		} catch (error) {
			process.stderr.write(`[supervise] could not remove ${path}: ${error.message}\n`);
		}
	}
}

child.on('exit', (code, signal) => {
	exited = true;
	killGroup('SIGKILL');
	removeLeftovers();
	process.exit(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' || signal === stopSignal ? 0 : 1));
});
process.on('exit', () => {
	if (!exited) {
		killGroup('SIGKILL');
		removeLeftovers();
	}
});
