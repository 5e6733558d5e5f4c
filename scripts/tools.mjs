/**
 * Test tools that must not become devDependencies of the package, installed on first use into
 * `<n8n runtime cache>/tools/<name>@<version>/` (`.cache/n8n/tools/` by default, or under
 * N8N_RUNTIME_CACHE) and reused:
 *
 *  - verdaccio, the npm registry server the install tests publish to;
 *  - @n8n/scan-community-package, n8n's verification scanner.
 *
 * Why not devDependencies: the scanner pins its own eslint and TypeScript 7, whose native
 * per-platform builds this registry serves for Linux only (the same trap as unrs-resolver in
 * package.json), and neither tool is needed to build, lint or unit-test the package.
 * Exact versions, `--ignore-scripts` (the scanner's eslint-plugin-n8n-nodes-base runs
 * `npx only-allow pnpm` as a preinstall script), one install at a time (a lock directory).
 *
 * Plain Node (20+), built-ins only.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cacheRoot, envWithoutNpmProject, withLock } from './n8n-runtime.mjs';

/** The tools and their pinned versions. */
export const TOOLS = {
	verdaccio: { name: 'verdaccio', version: '6.8.0' },
	scanner: { name: '@n8n/scan-community-package', version: '0.32.0' },
};

const defaultLog = (line) => process.stderr.write(`[tools] ${line}\n`);

function toolDir({ name, version }) {
	return join(cacheRoot(), 'tools', `${name.replace(/^@/, '').replace(/\//g, '+')}@${version}`);
}

function tail(file, lines = 30) {
	try {
		return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

/**
 * Makes sure `tool` ({name, version}) is installed; returns { dir, packageDir } where packageDir
 * is its folder in node_modules.
 */
export async function ensureTool(tool, { log = defaultLog } = {}) {
	const dir = toolDir(tool);
	const packageDir = join(dir, 'node_modules', ...tool.name.split('/'));
	const marker = join(dir, '.installed');
	const done = () => existsSync(marker) && readFileSync(marker, 'utf8') === `${tool.name}@${tool.version}` && existsSync(join(packageDir, 'package.json'));
	if (done()) return { dir, packageDir };
	return withLock(`${dir}.lock`, log, async () => {
		if (done()) return { dir, packageDir };
		const started = Date.now();
		log(`installing ${tool.name}@${tool.version} into ${dir} (once)`);
		rmSync(dir, { recursive: true, force: true });
		mkdirSync(dir, { recursive: true });
		writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'test-tool', private: true, dependencies: { [tool.name]: tool.version } }, null, 2));
		// This folder's own npm config: the repo's .npmrc must not apply.
		writeFileSync(join(dir, '.npmrc'), 'ignore-scripts=true\naudit=false\nfund=false\n');
		const logFile = join(dir, 'install.log');
		const code = await new Promise((resolvePromise) => {
			const fd = openSync(logFile, 'w');
			const child = spawn('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn', '--no-progress'], {
				cwd: dir,
				env: envWithoutNpmProject(),
				stdio: ['ignore', fd, fd],
			});
			child.on('error', () => {
				closeSync(fd);
				resolvePromise(127);
			});
			child.on('exit', (exitCode) => {
				closeSync(fd);
				resolvePromise(exitCode ?? 1);
			});
		});
		if (code !== 0 || !existsSync(join(packageDir, 'package.json'))) {
			const detail = tail(logFile);
			rmSync(dir, { recursive: true, force: true });
			throw new Error(`Installing ${tool.name}@${tool.version} failed (npm exit ${code}). Last lines of npm's output:\n${detail}`);
		}
		writeFileSync(marker, `${tool.name}@${tool.version}`);
		log(`${tool.name}@${tool.version} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
		return { dir, packageDir };
	});
}
