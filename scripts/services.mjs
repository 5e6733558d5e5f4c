#!/usr/bin/env node
/**
 * Real Redis and PostgreSQL for n8n's queue mode (the e2e queue suite, `npm start -- --queue`):
 * Debian's `redis-server` and `postgresql`, installed with apt-get when missing, each started
 * on a free loopback port in its own data directory, and stopped again on every way out.
 *
 * How "stopped again" is guaranteed: each server runs under scripts/supervise.mjs in its own
 * process group, with a pipe from us as its stdin. A normal stop() asks it to shut down
 * (Redis: SIGTERM; PostgreSQL: SIGINT, its "fast" shutdown that does not wait for clients);
 * if we die in any way (an exception, SIGINT/SIGTERM, even SIGKILL) the pipe closes and the
 * supervisor stops the server itself, then removes the throwaway data directory
 * (`--remove-after`). Nothing listens on a fixed port, nothing is left behind.
 *
 * PostgreSQL refuses to run as root: when we are root it runs as the unprivileged `postgres`
 * user (the Debian package creates it) through `setpriv`, and its directories are given to
 * that user. Not root: it runs as you.
 *
 * Plain Node (20+), built-ins only. Importable (startServices, ensureServicePackages, ...) and a CLI:
 *   node scripts/services.mjs install           install what is missing (apt-get; root), or say what to run
 *   node scripts/services.mjs check             what was found, as JSON
 *   node scripts/services.mjs up [--json] [--postgres-dir=DIR] [--no-redis] [--no-postgres]
 *       start them and keep them until Ctrl-C / SIGTERM (with --json: also until stdin closes;
 *       the first stdout line is then the connection details as JSON, password included, for the
 *       parent process that reads the pipe). --postgres-dir keeps PostgreSQL's data there across runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
	chmodSync,
	chownSync,
	closeSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	openSync,
	readFileSync,
	readdirSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findFreePort, isPortFree } from './n8n-runtime.mjs';

const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervise.mjs');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function defaultLog(line) {
	process.stderr.write(`[services] ${line}\n`);
}

function tail(file, lines = 30) {
	try {
		return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

/**
 * A server's output, kept in memory (the last lines), so that nothing is written to disk that
 * could outlive the server when we are killed.
 */
export class OutputTail {
	constructor(label, maxLines = 300) {
		this.label = label;
		this.maxLines = maxLines;
		this.lines = [];
		this.partial = '';
	}

	append(chunk) {
		const text = this.partial + chunk.toString();
		const lines = text.split('\n');
		this.partial = lines.pop() ?? '';
		this.lines.push(...lines);
		if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines);
	}

	tail(count = 30) {
		return [...this.lines, ...(this.partial ? [this.partial] : [])].slice(-count).join('\n');
	}
}

/** A failure that names the service and the step, like RuntimeInstallError does for n8n. `log`: a file path or an OutputTail. */
export class ServiceError extends Error {
	constructor(service, step, detail, log) {
		const shown = typeof log === 'string' ? `\nLast lines of ${log}:\n${tail(log)}` : log ? `\nLast lines of ${log.label}'s output:\n${log.tail() || '(nothing)'}` : '';
		super(`${service} failed at step "${step}". ${detail}${shown}`);
		this.name = 'ServiceError';
		this.service = service;
		this.step = step;
		if (typeof log === 'string') this.logFile = log;
	}
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function onPath(name) {
	for (const dir of (process.env.PATH ?? '').split(delimiter)) {
		if (dir && existsSync(join(dir, name))) return join(dir, name);
	}
	return undefined;
}

/** Debian's redis-server, or one on PATH. */
export function findRedis() {
	for (const candidate of [onPath('redis-server'), '/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
		if (candidate && existsSync(candidate)) return { server: candidate };
	}
	return undefined;
}

/** PostgreSQL's server binaries: Debian keeps them in /usr/lib/postgresql/<major>/bin (newest first), else PATH. */
export function findPostgres() {
	const dirs = [];
	const debian = '/usr/lib/postgresql';
	if (existsSync(debian)) {
		for (const major of readdirSync(debian).filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number(b) - Number(a))) {
			dirs.push(join(debian, major, 'bin'));
		}
	}
	const pathPostgres = onPath('postgres');
	if (pathPostgres) dirs.push(dirname(pathPostgres));
	for (const dir of dirs) {
		if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) {
			const psql = [join(dir, 'psql'), onPath('psql')].find((file) => file && existsSync(file));
			if (!psql) continue;
			const version = spawnSync(join(dir, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
			return { binDir: dir, postgres: join(dir, 'postgres'), initdb: join(dir, 'initdb'), psql, version };
		}
	}
	return undefined;
}

/** Which of the two are missing, as Debian package names. */
export function missingPackages({ redis = true, postgres = true } = {}) {
	const missing = [];
	if (redis && !findRedis()) missing.push('redis-server');
	if (postgres && !findPostgres()) missing.push('postgresql');
	return missing;
}

/**
 * Installs redis-server and/or postgresql with apt-get when missing (root only; otherwise
 * the error says what to run). Daemons are kept from starting during the install
 * (policy-rc.d, Debian's own switch): nothing is left running by it.
 */
export function ensureServicePackages({ redis = true, postgres = true, log = defaultLog } = {}) {
	const missing = missingPackages({ redis, postgres });
	if (missing.length === 0) return { installed: [] };
	const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
	if (!isRoot()) {
		throw new ServiceError('Installing the queue-mode services', 'apt-get install', `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed, and only root can install packages. Run:\n  sudo apt-get update && sudo ${command}\n(on Debian or Ubuntu), then start again.`);
	}
	if (!onPath('apt-get')) {
		throw new ServiceError('Installing the queue-mode services', 'apt-get install', `${missing.join(' and ')} missing and there is no apt-get here (not Debian/Ubuntu?). Install Redis and PostgreSQL with this system's package manager, then start again.`);
	}
	const logDir = mkdtempSync(join(tmpdir(), 'wa-apt-'));
	const logFile = join(logDir, 'apt-get.log');
	const policy = '/usr/sbin/policy-rc.d';
	const ownPolicy = !existsSync(policy);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	const apt = (args) => {
		const fd = openSync(logFile, 'a');
		writeFileSync(fd, `\n$ apt-get ${args.join(' ')}\n`);
		const result = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { env, stdio: ['ignore', fd, fd], timeout: 15 * 60_000 });
		closeSync(fd);
		return result.status ?? 1;
	};
	const started = Date.now();
	try {
		if (ownPolicy) writeFileSync(policy, '#!/bin/sh\n# written by n8n-nodes-whatsapp-agent scripts/services.mjs during apt-get install; removed after\nexit 101\n', { mode: 0o755 });
		log(`installing ${missing.join(', ')} with apt-get (once). Log: ${logFile}`);
		const install = ['install', '-y', '--no-install-recommends', ...missing];
		// The package lists may be missing or stale on a fresh machine: update once, then retry.
		if (apt(install) !== 0) {
			if (apt(['update']) !== 0) throw new ServiceError('Installing the queue-mode services', 'apt-get update', 'apt-get update failed.', logFile);
			if (apt(install) !== 0) throw new ServiceError('Installing the queue-mode services', 'apt-get install', `${command} failed.`, logFile);
		}
	} finally {
		if (ownPolicy) rmSync(policy, { force: true });
	}
	const still = missingPackages({ redis, postgres });
	if (still.length > 0) throw new ServiceError('Installing the queue-mode services', 'apt-get install', `${still.join(', ')} still not found after the install.`, logFile);
	log(`installed ${missing.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
	rmSync(logDir, { recursive: true, force: true });
	return { installed: missing };
}

/** The unprivileged account PostgreSQL runs as when we are root. */
function postgresAccount() {
	const lookup = (name) => {
		const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
		const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
		if (uid.status !== 0 || gid.status !== 0) return undefined;
		return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
	};
	return lookup('postgres');
}

/** argv that runs `command` as `account` (exec, no extra process, so signals reach it directly). */
function asAccount(account, command, args) {
	if (!account) return [command, args];
	return ['setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', command, ...args]];
}

function giveTo(account, path) {
	if (account) chownSync(path, account.uid, account.gid);
}

/** Whether a process runs. A zombie (ended, not yet reaped: this machine's init reaps nothing) does not. */
export function pidAlive(pid) {
	if (!pid) return false;
	try {
		process.kill(pid, 0);
	} catch (error) {
		if (error.code !== 'EPERM') return false;
	}
	try {
		return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
	} catch {
		return true;
	}
}

function readPid(file) {
	try {
		const pid = Number(readFileSync(file, 'utf8').trim().split('\n')[0]);
		return Number.isInteger(pid) && pid > 0 ? pid : undefined;
	} catch {
		return undefined;
	}
}

/**
 * One server under the supervisor: spawned, watched, stopped. `stop()` resolves once the
 * supervisor (and so the server and its group) has exited and its leftovers are removed.
 */
function superviseServer({ name, argv, stopSignal = 'SIGTERM', graceMs = 15000, output, pidFile, removeAfter = [], env = process.env }) {
	const supervisorArgs = [SUPERVISOR, `--grace-ms=${graceMs}`, `--stop-signal=${stopSignal}`];
	if (pidFile) supervisorArgs.push(`--pid-file=${pidFile}`);
	for (const path of removeAfter) supervisorArgs.push(`--remove-after=${path}`);
	// Its own process group: a Ctrl-C in the terminal reaches only our process, which stops the
	// services after the n8n processes that use them (the supervisor still ends with us).
	const child = spawn(process.execPath, [...supervisorArgs, '--', argv[0], ...argv[1]], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
	child.stdout.on('data', (chunk) => output.append(chunk));
	child.stderr.on('data', (chunk) => output.append(chunk));
	let exitCode;
	const exited = new Promise((resolveExit) =>
		child.on('exit', (code, signal) => {
			exitCode = code ?? signal;
			resolveExit(exitCode);
		}),
	);
	child.on('error', () => undefined);
	return {
		name,
		child,
		exited,
		hasExited: () => exitCode !== undefined,
		exitCode: () => exitCode,
		async stop(timeoutMs = graceMs + 10_000) {
			if (exitCode !== undefined) return;
			child.kill('SIGTERM');
			const timer = setTimeout(() => {
				// The supervisor did not finish in time: a second signal means "now" (SIGKILL of the group).
				child.kill('SIGTERM');
			}, timeoutMs);
			await exited;
			clearTimeout(timer);
		},
	};
}

async function redisPing(port, host = '127.0.0.1') {
	return new Promise((resolvePing) => {
		const socket = connect({ port, host });
		let answer = '';
		const done = (ok) => {
			socket.destroy();
			resolvePing(ok);
		};
		socket.setTimeout(2000, () => done(false));
		socket.on('error', () => done(false));
		socket.on('connect', () => socket.write('PING\r\n'));
		socket.on('data', (data) => {
			answer += data.toString();
			if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
		});
	});
}

/**
 * Redis on a free loopback port, no persistence, data directory in a temp folder (removed
 * when it stops). Returns { host, port, pid, dataDir, output, version, stop() }.
 */
export async function startRedis({ log = defaultLog, readyTimeoutMs = 60_000 } = {}) {
	const found = findRedis();
	if (!found) throw new ServiceError('Redis', 'find redis-server', 'redis-server is not installed: run `node scripts/services.mjs install`.');
	const started = Date.now();
	const dataDir = mkdtempSync(join(tmpdir(), 'wa-redis-'));
	const output = new OutputTail('redis-server');
	const pidFile = join(dataDir, 'redis.pid');
	const version = spawnSync(found.server, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
	// A free port can be taken between the check and the listen (other engineers' n8n, tests): retry.
	for (let attempt = 1; attempt <= 3; attempt++) {
		const port = await findFreePort();
		const server = superviseServer({
			name: 'redis',
			argv: [found.server, ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--dir', dataDir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--pidfile', pidFile, '--logfile', '']],
			stopSignal: 'SIGTERM',
			graceMs: 5000,
			output,
			removeAfter: [dataDir],
		});
		const deadline = Date.now() + readyTimeoutMs;
		while (!(await redisPing(port))) {
			if (server.hasExited()) break;
			if (Date.now() > deadline) {
				await server.stop();
				throw new ServiceError('Redis', 'wait for PING', `redis-server did not answer PING on 127.0.0.1:${port} within ${readyTimeoutMs / 1000} s.`, output);
			}
			await sleep(100);
		}
		if (server.hasExited()) {
			if (/Address already in use/i.test(output.tail(10)) && attempt < 3) {
				log(`port ${port} was taken meanwhile; trying another`);
				continue;
			}
			throw new ServiceError('Redis', 'start redis-server', `redis-server exited (${server.exitCode()}) before it answered PING.`, output);
		}
		const pid = readPid(pidFile);
		log(`Redis (${version.split(' ').slice(0, 3).join(' ')}) on 127.0.0.1:${port}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
		return {
			host: '127.0.0.1',
			port,
			pid,
			dataDir,
			output,
			version,
			supervisorPid: server.child.pid,
			async stop() {
				await server.stop();
				if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
			},
			exited: server.exited,
		};
	}
	throw new ServiceError('Redis', 'start redis-server', 'no free port could be listened on in 3 attempts.', output);
}

/** psql as the superuser over the server's unix socket (trust there; TCP needs a password). */
function psql(pg, account, { socketDir, port }, sql, { database = 'postgres', timeoutMs = 30_000 } = {}) {
	const [command, args] = asAccount(account, pg.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', database, '-At']);
	// SQL (with the password) goes through stdin, never the command line.
	return spawnSync(command, args, { input: sql, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } });
}

/**
 * PostgreSQL on a free loopback port with a database and a login role for n8n.
 * `dataDir`: keep the cluster there across runs (created on first use; a password file is kept
 * beside it, `<dataDir>.password`, mode 0600); default: a throwaway cluster in a temp folder,
 * with durability switched off (fsync, synchronous_commit, full_page_writes: a test database
 * that is deleted afterwards needs none of them), removed when it stops.
 * Returns { host, port, database, user, password, pid, dataDir, output, version, stop() }.
 */
export async function startPostgres({ dataDir, database = 'n8n', user = 'n8n', log = defaultLog, readyTimeoutMs = 90_000 } = {}) {
	const pg = findPostgres();
	if (!pg) throw new ServiceError('PostgreSQL', 'find postgres', 'PostgreSQL is not installed: run `node scripts/services.mjs install`.');
	const started = Date.now();
	const account = isRoot() ? postgresAccount() : undefined;
	if (isRoot() && !account) {
		throw new ServiceError('PostgreSQL', 'find the postgres user', 'PostgreSQL refuses to run as root, and there is no `postgres` user to run it as (Debian\'s postgresql package creates it: apt-get install postgresql).');
	}
	const ephemeral = !dataDir;
	const root = ephemeral ? mkdtempSync(join(tmpdir(), 'wa-pg-')) : undefined;
	const data = ephemeral ? join(root, 'data') : resolve(dataDir);
	// Sockets live in a short temp path (unix socket paths are limited to ~107 bytes).
	const socketDir = mkdtempSync(join(tmpdir(), 'wa-pgs-'));
	const output = new OutputTail('postgres');
	const cleanupNow = () => {
		rmSync(socketDir, { recursive: true, force: true });
		if (root) rmSync(root, { recursive: true, force: true });
	};
	try {
		if (root) {
			chmodSync(root, 0o755);
		}
		giveTo(account, socketDir);
		if (!existsSync(join(data, 'PG_VERSION'))) {
			if (existsSync(data) && readdirSync(data).length > 0) {
				throw new ServiceError('PostgreSQL', 'initdb', `${data} exists, is not empty and holds no PostgreSQL cluster: move it away or choose another folder.`);
			}
			mkdirSync(data, { recursive: true, mode: 0o700 });
			giveTo(account, data);
			if (account) {
				// Every parent folder must be traversable by the postgres user.
				const probe = spawnSync('setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', 'test', '-w', data]);
				if (probe.status !== 0) {
					throw new ServiceError('PostgreSQL', 'data directory', `PostgreSQL runs as the user "${account.name}" (it refuses root), and that user cannot reach ${data}: one of its parent folders is private. Choose a data folder under a world-readable path.`);
				}
			}
			const [command, args] = asAccount(account, pg.initdb, ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256']);
			const init = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, cwd: tmpdir() });
			output.append(`$ initdb -D ${data}\n${init.stdout ?? ''}${init.stderr ?? ''}\n`);
			if (init.status !== 0) throw new ServiceError('PostgreSQL', 'initdb', `initdb exited with ${init.status ?? init.signal}.`, output);
		} else if (account) {
			const owner = statSync(data).uid;
			if (owner !== account.uid) throw new ServiceError('PostgreSQL', 'data directory', `${data} belongs to uid ${owner}, not to the "${account.name}" user PostgreSQL runs as.`);
		}

		const passwordFile = ephemeral ? undefined : `${data}.password`;
		let password = passwordFile && existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : '';
		if (!password) {
			password = randomBytes(18).toString('base64url');
			if (passwordFile) writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
		}

		const settings = ['listen_addresses=127.0.0.1', `unix_socket_directories=${socketDir}`, 'max_connections=200'];
		if (ephemeral) settings.push('fsync=off', 'synchronous_commit=off', 'full_page_writes=off');
		for (let attempt = 1; attempt <= 3; attempt++) {
			const port = await findFreePort();
			const args = ['-D', data, '-p', String(port), ...settings.flatMap((setting) => ['-c', setting])];
			const server = superviseServer({
				name: 'postgres',
				argv: asAccount(account, pg.postgres, args),
				// SIGINT is PostgreSQL's fast shutdown: it ends client sessions instead of waiting for them.
				stopSignal: 'SIGINT',
				graceMs: 20_000,
				output,
				removeAfter: ephemeral ? [root, socketDir] : [socketDir],
			});
			const deadline = Date.now() + readyTimeoutMs;
			let ready = false;
			while (!server.hasExited()) {
				const probe = psql(pg, account, { socketDir, port }, 'SELECT 1;', { timeoutMs: 10_000 });
				if (probe.status === 0) {
					ready = true;
					break;
				}
				if (Date.now() > deadline) {
					await server.stop();
					throw new ServiceError('PostgreSQL', 'wait for connections', `postgres did not accept connections on port ${port} within ${readyTimeoutMs / 1000} s.`, output);
				}
				await sleep(200);
			}
			if (!ready) {
				if (/could not bind|already in use/i.test(output.tail(15)) && attempt < 3) {
					log(`port ${port} was taken meanwhile; trying another`);
					continue;
				}
				throw new ServiceError('PostgreSQL', 'start postgres', `postgres exited (${server.exitCode()}) before it accepted connections.`, output);
			}
			// The login role and database n8n uses (created once; the password set on every start).
			const setup = psql(
				pg,
				account,
				{ socketDir, port },
				[
					`SELECT 'CREATE ROLE "${user}" LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${user}') \\gexec`,
					`ALTER ROLE "${user}" WITH LOGIN PASSWORD '${password}';`,
					`SELECT 'CREATE DATABASE "${database}" OWNER "${user}"' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${database}') \\gexec`,
				].join('\n'),
			);
			if (setup.status !== 0) {
				await server.stop();
				throw new ServiceError('PostgreSQL', `create the role and database "${database}"`, `psql exited with ${setup.status ?? setup.signal}: ${(setup.stderr ?? '').replaceAll(password, '***').trim()}`, output);
			}
			const pid = readPid(join(data, 'postmaster.pid'));
			log(`PostgreSQL (${pg.version.replace(/^postgres \(PostgreSQL\) /, '')}) on 127.0.0.1:${port}, database "${database}"${ephemeral ? ' (throwaway)' : ` in ${data}`}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
			return {
				host: '127.0.0.1',
				port,
				database,
				user,
				password,
				pid,
				dataDir: data,
				ephemeral,
				output,
				version: pg.version,
				supervisorPid: server.child.pid,
				async stop() {
					await server.stop();
					cleanupNow();
				},
				exited: server.exited,
			};
		}
		throw new ServiceError('PostgreSQL', 'start postgres', 'no free port could be listened on in 3 attempts.', output);
	} catch (error) {
		cleanupNow();
		throw error;
	}
}

/**
 * Both services (either may be left out). On any failure whatever was started is stopped
 * again before the error is thrown. `stop()` stops both, in parallel.
 */
export async function startServices({ redis = true, postgres = true, postgresDir, install = true, log = defaultLog } = {}) {
	if (install) ensureServicePackages({ redis, postgres, log });
	const [r, p] = await Promise.allSettled([redis ? startRedis({ log }) : undefined, postgres ? startPostgres({ dataDir: postgresDir, log }) : undefined]);
	const started = {};
	if (r.status === 'fulfilled' && r.value) started.redis = r.value;
	if (p.status === 'fulfilled' && p.value) started.postgres = p.value;
	const failure = [r, p].find((result) => result.status === 'rejected');
	if (failure) {
		// The other one may have started: stop it before reporting.
		await Promise.allSettled(Object.values(started).map((service) => service.stop()));
		throw failure.reason;
	}
	return {
		...started,
		async stop() {
			await Promise.allSettled(Object.values(started).map((service) => service.stop()));
		},
	};
}

/** Whether a service handle is gone: its processes ended and its port free. */
export async function isServiceGone(service) {
	return !pidAlive(service.pid) && !pidAlive(service.supervisorPid) && (await isPortFree(service.port));
}

/** n8n's environment for these services (the official variable names). */
export function n8nServiceEnv({ redis, postgres }) {
	return {
		...(redis ? { QUEUE_BULL_REDIS_HOST: redis.host, QUEUE_BULL_REDIS_PORT: String(redis.port) } : {}),
		...(postgres
			? {
					DB_TYPE: 'postgresdb',
					DB_POSTGRESDB_HOST: postgres.host,
					DB_POSTGRESDB_PORT: String(postgres.port),
					DB_POSTGRESDB_DATABASE: postgres.database,
					DB_POSTGRESDB_USER: postgres.user,
					DB_POSTGRESDB_PASSWORD: postgres.password,
				}
			: {}),
	};
}

function publicDetails(service) {
	if (!service) return undefined;
	const { stop: _stop, exited: _exited, password: _password, output: _output, ...rest } = service;
	return rest;
}

async function main(argv) {
	const [command = 'help', ...rest] = argv;
	const flag = (name) => rest.includes(`--${name}`);
	const value = (name) => rest.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
	switch (command) {
		case 'check': {
			process.stdout.write(`${JSON.stringify({ redis: findRedis() ?? null, postgres: findPostgres() ?? null, missing: missingPackages(), root: isRoot() }, null, 2)}\n`);
			return 0;
		}
		case 'install': {
			const { installed } = ensureServicePackages({ redis: !flag('no-redis'), postgres: !flag('no-postgres') });
			defaultLog(installed.length ? `installed: ${installed.join(', ')}` : 'redis-server and postgresql are already installed');
			return 0;
		}
		case 'up': {
			const json = flag('json');
			const services = await startServices({ redis: !flag('no-redis'), postgres: !flag('no-postgres'), postgresDir: value('postgres-dir') });
			let stopping = false;
			const stop = async (why, code = 0) => {
				if (stopping) return;
				stopping = true;
				defaultLog(`stopping (${why})`);
				await services.stop();
				process.exit(code);
			};
			process.on('SIGINT', () => void stop('SIGINT'));
			process.on('SIGTERM', () => void stop('SIGTERM'));
			process.on('SIGHUP', () => void stop('SIGHUP'));
			// A service that dies on its own ends the whole group: a half-working pair helps nobody.
			for (const service of [services.redis, services.postgres].filter(Boolean)) {
				service.exited.then(() => {
					if (!stopping) {
						defaultLog(`${service === services.redis ? 'Redis' : 'PostgreSQL'} stopped unexpectedly; its last output:\n${service.output.tail(10)}`);
						void stop('a service died', 1);
					}
				});
			}
			if (json) {
				process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, redis: services.redis && publicDetails(services.redis), postgres: services.postgres && { ...publicDetails(services.postgres), password: services.postgres.password } })}\n`);
				process.stdin.on('end', () => void stop('parent gone'));
				process.stdin.on('error', () => void stop('parent gone'));
				process.stdin.resume();
			} else {
				const env = n8nServiceEnv(services);
				if (env.DB_POSTGRESDB_PASSWORD) env.DB_POSTGRESDB_PASSWORD = '(see the password file or use --json)';
				process.stdout.write(`${Object.entries(env).map(([key, val]) => `${key}=${val}`).join('\n')}\nCtrl-C stops both.\n`);
			}
			await new Promise(() => {});
			return 0;
		}
		default:
			process.stdout.write('usage: node scripts/services.mjs install | check | up [--json] [--postgres-dir=DIR] [--no-redis] [--no-postgres]\n');
			return command === 'help' ? 0 : 1;
	}
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	main(process.argv.slice(2)).then(
		(code) => process.exit(code),
		(error) => {
			process.stderr.write(`\n${error.message}\n`);
			process.exit(1);
		},
	);
}
