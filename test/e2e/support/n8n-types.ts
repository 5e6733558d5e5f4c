/** Shapes shared by the e2e launchers (n8n-instance.ts, n8n-cluster.ts) and the scenarios. */

/** `n8n import:credentials` entry. `data` is plain; n8n encrypts it on import. */
export interface CredentialImport {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

/** A workflow as exported by n8n (the shape of templates/*.json). `id`: 16 characters [A-Za-z0-9]. */
export interface WorkflowJson {
	id: string;
	name: string;
	nodes: Array<Record<string, unknown>>;
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

/** A production webhook to wait for after start (until it stops answering 404). */
export interface WebhookToAwait {
	webhookId: string;
	path: string;
	method?: string;
}

/** Every published workflow's nodes with a webhookId, for each of `paths`. */
export function webhooksOf(workflows: WorkflowJson[], publish: string[], paths: string[]): WebhookToAwait[] {
	return workflows
		.filter((w) => publish.includes(w.id))
		.flatMap((w) => w.nodes.filter((n) => typeof n.webhookId === 'string').flatMap((n) => paths.map((path) => ({ webhookId: n.webhookId as string, path, method: 'GET' }))));
}

/** The credential names a workflow's nodes refer to, by credential type (the template's, for the suites). */
export function credentialNamesOf(workflow: WorkflowJson): Map<string, string> {
	const names = new Map<string, string>();
	for (const node of workflow.nodes) {
		for (const [type, reference] of Object.entries((node.credentials ?? {}) as Record<string, { name: string }>)) names.set(type, reference.name);
	}
	return names;
}
