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
 * usage: node scripts/supervise.mjs [--grace-ms=15000] -- <command> [args...]
 * The parent must give us a piped stdin and keep it open for as long as it wants the
 * command to live. Built-ins only.
 */
import { spawn } from 'node:child_process';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
if (dash < 0 || dash === argv.length - 1) {
	process.stderr.write('usage: supervise.mjs [--grace-ms=N] -- <command> [args...]\n');
	process.exit(2);
}
const graceArg = argv.slice(0, dash).find((a) => a.startsWith('--grace-ms='));
const graceMs = graceArg ? Number(graceArg.split('=')[1]) : 15000;
const [command, ...args] = argv.slice(dash + 1);

const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
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
		child.kill('SIGTERM');
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
child.on('exit', (code, signal) => {
	exited = true;
	killGroup('SIGKILL');
	process.exit(code ?? (signal === 'SIGTERM' || signal === 'SIGINT' ? 0 : 1));
});
process.on('exit', () => {
	if (!exited) killGroup('SIGKILL');
});
