/**
 * jest globalSetup for the e2e suite (jest.e2e.config.js): installs the pinned n8n on first
 * use (several minutes on a fresh machine, printed live) and builds and packs this package,
 * once, before any test file starts — so no test's beforeAll has to wait for an install.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';

import { E2E_N8N_VERSION, REPO_ROOT } from './n8n-instance';

export default function globalSetup(): void {
	const script = join(REPO_ROOT, 'scripts', 'n8n-runtime.mjs');
	for (const args of [['install', E2E_N8N_VERSION], ['package']]) {
		const started = Date.now();
		const result = spawnSync(process.execPath, [script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
		if (result.status !== 0) {
			throw new Error(`e2e setup failed: node scripts/n8n-runtime.mjs ${args.join(' ')} (exit ${result.status ?? result.signal}); see the messages above.`);
		}
		process.stderr.write(`[e2e setup] ${args[0]} ${args[1] ?? ''} ok in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
	}
}
