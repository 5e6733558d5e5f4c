/**
 * The loopback npm registry for the install tests, run as `node scripts/registry.mjs serve
 * --publish --json --npmjs-front` (jest cannot import the ESM scripts): verdaccio with no uplink,
 * this package packed and published to it as a release is, and served as registry.npmjs.org
 * through an HTTPS proxy with a throwaway CA (scripts/npmjs-front.mjs says why: n8n's own
 * custom-registry setting needs an enterprise licence). `env` is what n8n's process needs.
 *
 * The registry process ends when its stdin closes: on stop(), and when the test process dies.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { REPO_ROOT, runCollect } from './n8n-process';

const REGISTRY_SCRIPT = join(REPO_ROOT, 'scripts', 'registry.mjs');

export interface RegistryRequest {
	method: string;
	url: string;
	status: number;
}

export class LoopbackRegistry {
	private constructor(
		private readonly child: ChildProcess,
		readonly url: string,
		readonly logFile: string,
		private readonly userconfig: string,
		/** HTTPS_PROXY, NODE_EXTRA_CA_CERTS, npm's cafile and cache: give it to n8n. */
		readonly env: Record<string, string>,
	) {}

	/** Starts it and publishes the package at its current version. */
	static async start(): Promise<LoopbackRegistry> {
		const child = spawn(process.execPath, [REGISTRY_SCRIPT, 'serve', '--publish', '--json', '--npmjs-front'], {
			cwd: REPO_ROOT,
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
		child.stderr?.on('data', (d: Buffer) => {
			stderr += d.toString();
			process.stderr.write(d);
		});
		const line = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => {
				child.kill('SIGTERM');
				reject(new Error(`The loopback registry did not start within 3 minutes:\n${stderr.slice(-2000)}`));
			}, 180_000);
			const check = () => {
				const end = stdout.indexOf('\n');
				if (end >= 0) {
					clearTimeout(timer);
					resolve(stdout.slice(0, end));
				}
			};
			child.stdout?.on('data', check);
			child.once('exit', (code) => {
				clearTimeout(timer);
				reject(new Error(`The loopback registry exited (code ${code}) before it was ready:\n${stderr.slice(-2000)}`));
			});
		});
		const info = JSON.parse(line) as { url: string; logFile: string; userconfig: string; front: { env: Record<string, string> } };
		return new LoopbackRegistry(child, info.url, info.logFile, info.userconfig, info.front.env);
	}

	/** Packs the package as `version` (same files, other version) and publishes it, as the next release would be. */
	async publishVersion(version: string): Promise<void> {
		const outDir = mkdtempSync(join(tmpdir(), 'release-'));
		try {
			const { stdout } = await runCollect(process.execPath, [REGISTRY_SCRIPT, 'pack', '--version', version, '--out', outDir], { cwd: REPO_ROOT, timeoutMs: 300_000, what: `npm pack as ${version}` });
			const { tarball } = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { tarball: string };
			await runCollect(process.execPath, [REGISTRY_SCRIPT, 'publish', '--registry', this.url, '--userconfig', this.userconfig, tarball], { cwd: REPO_ROOT, timeoutMs: 120_000, what: `npm publish ${version}` });
		} finally {
			rmSync(outDir, { recursive: true, force: true });
		}
	}

	/** Every request verdaccio answered (its JSON log), oldest first. */
	requests(): RegistryRequest[] {
		const answered: RegistryRequest[] = [];
		for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
			if (!line.startsWith('{')) continue;
			try {
				const entry = JSON.parse(line) as { request?: { method: string; url: string }; status?: number };
				if (entry.request && typeof entry.status === 'number') answered.push({ method: entry.request.method, url: entry.request.url, status: entry.status });
			} catch {
				/* not one of verdaccio's lines */
			}
		}
		return answered;
	}

	async stop(): Promise<void> {
		if (this.child.exitCode !== null || this.child.signalCode !== null) return;
		const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
		this.child.stdin?.end();
		const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
		await exited;
		clearTimeout(timer);
	}
}
