#!/usr/bin/env node
/**
 * A real npm registry on loopback for the install tests: verdaccio (installed on first use by
 * scripts/tools.mjs), in a throwaway folder, on a free 127.0.0.1 port, with **no uplink** (it
 * never asks registry.npmjs.org or any other registry: a package it does not hold is a 404),
 * one publisher account created at start (sign-up closed after it), and this package published
 * to it the way a release is: `npm pack`, then `npm publish <tarball>` with a token.
 *
 * Library (for other scripts):
 *   const registry = await startRegistry();           // { url, port, dir, logFile, userconfig }
 *   const release = packRelease({ version: '0.1.1', outDir });  // npm pack (re-versioned copy)
 *   await publishTarball(registry, release.tarball);
 *   registry.requests();                               // what it served: [{ method, url, status, user }]
 *   await registry.stop();
 *
 * CLI:
 *   node scripts/registry.mjs serve [--publish] [--json] [--npmjs-front]
 *        start it (and publish the current package); stays up until Ctrl-C or, when started by a
 *        program, until its stdin closes. --json prints one line {url, dir, logFile, userconfig}.
 *        --npmjs-front also serves it as registry.npmjs.org through an HTTPS proxy
 *        (scripts/npmjs-front.mjs; why: n8n's custom-registry setting needs a licence) and adds
 *        `front: {port, env}` to that line: the environment an n8n process needs to use it.
 *   node scripts/registry.mjs pack [--version <v>] --out <dir>
 *        npm pack of this package (built first when sources changed), optionally as version <v>;
 *        prints {tarball, name, version, files}.
 *   node scripts/registry.mjs publish --registry <url> --userconfig <file> <tarball>
 *
 * The process runs under scripts/supervise.mjs: it ends with us, even when we are killed.
 * The publisher token lives only in the registry's throwaway folder (mode 0600), never in a log.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PACKAGE_NAME, buildIsStale, buildPackage, envWithoutNpmProject, findFreePort, packPackage } from './n8n-runtime.mjs';
import { startNpmjsFront } from './npmjs-front.mjs';
import { TOOLS, ensureTool } from './tools.mjs';

const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervise.mjs');
const PUBLISHER = 'release-bot';
const defaultLog = (line) => process.stderr.write(`[registry] ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** verdaccio's configuration: local storage only, no `uplinks`, no `proxy:` on any package. */
function configYaml(dir) {
	return [
		`storage: ${JSON.stringify(join(dir, 'storage'))}`,
		'auth:',
		'  htpasswd:',
		`    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
		// One account (the publisher, created at start); nobody can sign up after it.
		'    max_users: 1',
		'uplinks: {}',
		'packages:',
		"  '**':",
		'    access: $all',
		'    publish: $authenticated',
		'    unpublish: $authenticated',
		'web:',
		'  enable: false',
		'publish:',
		'  allow_offline: true',
		// JSON lines on stdout (into registry.log); level http = one line per request answered.
		'log: { type: stdout, format: json, level: http }',
		'',
	].join('\n');
}

function tail(file, lines = 25) {
	try {
		return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

async function httpStatus(url) {
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
		await res.arrayBuffer();
		return res.status;
	} catch {
		return 0;
	}
}

export class RegistryError extends Error {}

/**
 * Starts verdaccio and creates the publisher account. `dir` (default: a new temp folder) holds
 * its config, storage, log and the publisher's npm userconfig; stop() removes it unless `keep`.
 */
export async function startRegistry({ log = defaultLog, dir, keep = false, readyTimeoutMs = 60_000 } = {}) {
	const started = Date.now();
	const { packageDir } = await ensureTool(TOOLS.verdaccio, { log });
	const bin = join(packageDir, 'bin', 'verdaccio');
	const home = dir ?? mkdtempSync(join(tmpdir(), 'npm-registry-'));
	mkdirSync(join(home, 'storage'), { recursive: true });
	const configFile = join(home, 'config.yaml');
	writeFileSync(configFile, configYaml(home));
	const logFile = join(home, 'registry.log');

	let child;
	let port;
	let exitCode;
	// A free port can be taken between the check and verdaccio's listen: try a few.
	for (let attempt = 1; ; attempt++) {
		port = await findFreePort();
		const fd = openSync(logFile, 'a');
		exitCode = undefined;
		child = spawn(process.execPath, [SUPERVISOR, '--grace-ms=5000', '--', process.execPath, bin, '--config', configFile, '--listen', `127.0.0.1:${port}`], {
			cwd: home,
			env: { ...envWithoutNpmProject(), NODE_ENV: 'production' },
			stdio: ['pipe', fd, fd],
		});
		closeSync(fd);
		child.on('exit', (code) => {
			exitCode = code ?? 1;
		});
		const deadline = Date.now() + readyTimeoutMs;
		while ((await httpStatus(`http://127.0.0.1:${port}/-/ping`)) !== 200 && exitCode === undefined && Date.now() < deadline) await sleep(150);
		if (exitCode === undefined && Date.now() < deadline) break;
		child.kill('SIGKILL');
		const inUse = /EADDRINUSE/.test(tail(logFile));
		if (!inUse || attempt >= 3) {
			if (!keep) rmSync(home, { recursive: true, force: true });
			throw new RegistryError(
				`verdaccio ${exitCode === undefined ? `did not answer /-/ping within ${readyTimeoutMs / 1000} s` : `exited (code ${exitCode})`} on 127.0.0.1:${port}.\nLast lines of its log:\n${tail(logFile)}`,
			);
		}
	}
	const url = `http://127.0.0.1:${port}/`;

	const registry = {
		url,
		port,
		dir: home,
		logFile,
		userconfig: join(home, 'publisher.npmrc'),
		startSeconds: 0,
		/** Every request the registry answered, oldest first: { method, url, status, user }. */
		requests() {
			const answered = [];
			for (const line of readFileSync(logFile, 'utf8').split('\n')) {
				if (!line.startsWith('{')) continue;
				try {
					const entry = JSON.parse(line);
					if (entry.request && typeof entry.status === 'number') {
						answered.push({ method: entry.request.method, url: entry.request.url, status: entry.status, user: entry.user ?? null });
					}
				} catch {
					/* not a log line of verdaccio's */
				}
			}
			return answered;
		},
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				const exited = new Promise((r) => child.once('exit', r));
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
				await exited;
				clearTimeout(timer);
			}
			process.off('exit', onExit);
			if (!keep) rmSync(home, { recursive: true, force: true });
		},
	};
	const onExit = () => child.kill('SIGKILL');
	process.on('exit', onExit);

	try {
		// The publisher account: npm's own login call (`npm adduser` sends the same PUT).
		const password = randomBytes(18).toString('base64url');
		const response = await fetch(`${url}-/user/org.couchdb.user:${PUBLISHER}`, {
			method: 'PUT',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ _id: `org.couchdb.user:${PUBLISHER}`, name: PUBLISHER, password, type: 'user', roles: [], date: new Date().toISOString() }),
		});
		const answer = await response.json().catch(() => ({}));
		if (response.status !== 201 || typeof answer.token !== 'string') {
			throw new RegistryError(`Creating the publisher account failed: HTTP ${response.status} ${answer.error ?? ''}`.trim());
		}
		writeFileSync(registry.userconfig, `//127.0.0.1:${port}/:_authToken=${answer.token}\n`, { mode: 0o600 });
	} catch (error) {
		await registry.stop();
		throw error;
	}
	registry.startSeconds = (Date.now() - started) / 1000;
	log(`npm registry (verdaccio ${TOOLS.verdaccio.version}, no uplink) at ${url} in ${registry.startSeconds.toFixed(1)} s`);
	return registry;
}

/** `npm publish <tarball>` to the registry as its publisher (no provenance: that needs CI's OIDC). */
export function publishTarball({ url, userconfig }, tarball, { log = defaultLog } = {}) {
	const started = Date.now();
	const result = spawnSync(
		'npm',
		['publish', resolve(tarball), `--registry=${url}`, `--userconfig=${userconfig}`, '--ignore-scripts', '--provenance=false', '--access=public', '--loglevel=warn', '--no-progress'],
		// Not from the repo: its .npmrc and package.json must not take part.
		{ cwd: tmpdir(), env: envWithoutNpmProject(), encoding: 'utf8', timeout: 120_000 },
	);
	if (result.status !== 0) {
		const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.replace(/_authToken=\S+/g, '_authToken=***').trim().split('\n').slice(-20).join('\n');
		throw new RegistryError(`npm publish ${basename(tarball)} to ${url} failed (exit ${result.status ?? result.signal}):\n${output}`);
	}
	const seconds = (Date.now() - started) / 1000;
	log(`published ${basename(tarball)} to ${url} in ${seconds.toFixed(1)} s`);
	return { seconds };
}

function tarList(tarball) {
	const result = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
	if (result.status !== 0) throw new RegistryError(`tar -tzf ${tarball} failed: ${result.stderr}`);
	return result.stdout.split('\n').filter(Boolean).sort();
}

/**
 * This package as a release tarball in `outDir`: built first when the sources changed, then
 * `npm pack`. With `version` (other than package.json's), the packed files are unpacked, given
 * that version and packed again, so a release and its upgrade differ in the version only.
 */
export function packRelease({ version, outDir, log = defaultLog } = {}) {
	if (!outDir) throw new RegistryError('packRelease: outDir is required');
	mkdirSync(outDir, { recursive: true });
	if (buildIsStale()) buildPackage({ log });
	const packed = packPackage();
	const packDir = dirname(packed);
	try {
		const files = tarList(packed);
		const staging = join(packDir, 'staging');
		mkdirSync(staging);
		const untar = spawnSync('tar', ['-xzf', packed, '-C', staging, '--strip-components=1']);
		if (untar.status !== 0) throw new RegistryError(`Extracting ${packed} failed`);
		const manifestFile = join(staging, 'package.json');
		const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
		if (!version || version === manifest.version) {
			const tarball = join(outDir, basename(packed));
			copyFileSync(packed, tarball);
			return { tarball, name: manifest.name, version: manifest.version, files };
		}
		manifest.version = version;
		writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
		const result = spawnSync('npm', ['pack', staging, '--pack-destination', outDir, '--ignore-scripts', '--json', '--loglevel=error'], {
			cwd: packDir,
			env: envWithoutNpmProject(),
			encoding: 'utf8',
		});
		if (result.status !== 0) throw new RegistryError(`npm pack of version ${version} failed:\n${result.stderr}`);
		const [info] = JSON.parse(result.stdout.slice(result.stdout.indexOf('[')));
		const tarball = join(outDir, info.filename);
		const repacked = tarList(tarball);
		if (JSON.stringify(repacked) !== JSON.stringify(files)) {
			throw new RegistryError(`The re-versioned tarball holds other files than the release:\n${repacked.filter((f) => !files.includes(f)).join('\n')}`);
		}
		return { tarball, name: manifest.name, version, files };
	} finally {
		rmSync(packDir, { recursive: true, force: true });
	}
}

function option(args, name) {
	const index = args.indexOf(name);
	return index >= 0 ? args[index + 1] : undefined;
}

async function main(argv) {
	const [command = 'help', ...args] = argv;
	switch (command) {
		case 'serve': {
			const json = args.includes('--json');
			const registry = await startRegistry();
			let front;
			let stopping = false;
			const stop = async (code) => {
				if (stopping) return;
				stopping = true;
				await front?.stop();
				await registry.stop();
				process.exit(code);
			};
			process.on('SIGINT', () => stop(0));
			process.on('SIGTERM', () => stop(0));
			try {
				if (args.includes('--publish')) {
					const outDir = join(registry.dir, 'releases');
					const release = packRelease({ outDir });
					publishTarball(registry, release.tarball);
				}
				if (args.includes('--npmjs-front')) front = await startNpmjsFront(registry);
			} catch (error) {
				process.stderr.write(`${error.message}\n`);
				await stop(1);
			}
			if (json) {
				process.stdout.write(`${JSON.stringify({ url: registry.url, port: registry.port, dir: registry.dir, logFile: registry.logFile, userconfig: registry.userconfig, startSeconds: registry.startSeconds, ...(front ? { front: { port: front.port, env: front.env } } : {}) })}\n`);
			} else {
				process.stdout.write(
					`npm registry at ${registry.url} (no uplink). Try:\n  npm view ${PACKAGE_NAME} --registry=${registry.url}\n` +
						(front ? `As registry.npmjs.org for an n8n started with: ${Object.entries(front.env).map(([k, v]) => `${k}=${v}`).join(' ')}\n` : 'n8n installs from another registry only with a licence (N8N_COMMUNITY_PACKAGES_REGISTRY); --npmjs-front serves it as registry.npmjs.org instead.\n') +
						'Ctrl-C stops it.\n',
				);
			}
			// Started by a program: its closing our stdin (even by dying) stops the registry.
			if (!process.stdin.isTTY) {
				process.stdin.on('end', () => stop(0));
				process.stdin.on('error', () => stop(0));
				process.stdin.resume();
			}
			return new Promise(() => undefined);
		}
		case 'pack': {
			const outDir = option(args, '--out');
			if (!outDir) throw new RegistryError('usage: registry.mjs pack [--version <v>] --out <dir>');
			const release = packRelease({ version: option(args, '--version'), outDir: resolve(outDir) });
			process.stdout.write(`${JSON.stringify(release)}\n`);
			return 0;
		}
		case 'publish': {
			const url = option(args, '--registry');
			const userconfig = option(args, '--userconfig');
			const tarball = args.at(-1);
			if (!url || !userconfig || !tarball || !existsSync(tarball)) throw new RegistryError('usage: registry.mjs publish --registry <url> --userconfig <file> <tarball>');
			const { seconds } = publishTarball({ url, userconfig }, tarball);
			process.stdout.write(`${JSON.stringify({ seconds })}\n`);
			return 0;
		}
		default:
			process.stdout.write('usage: node scripts/registry.mjs serve [--publish] [--json] | pack [--version <v>] --out <dir> | publish --registry <url> --userconfig <file> <tarball>\n');
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

