/**
 * Which n8n the e2e suites run against: one `n8n start` on SQLite (default), or with
 * N8N_E2E_MODE=queue (`npm run test:e2e:queue`) the queue-mode cluster of n8n-cluster.ts.
 * Both give the scenarios the same surface.
 */
import { startN8nCluster, type N8nCluster } from './n8n-cluster';
import { startN8n, type N8nInstance, type StartN8nOptions } from './n8n-instance';

export type E2eMode = 'single' | 'queue';
export const E2E_MODE: E2eMode = process.env.N8N_E2E_MODE === 'queue' ? 'queue' : 'single';

export type E2eN8n = N8nInstance | N8nCluster;

export async function startE2eN8n(options: StartN8nOptions = {}): Promise<E2eN8n> {
	return E2E_MODE === 'queue' ? await startN8nCluster(options) : await startN8n(options);
}
