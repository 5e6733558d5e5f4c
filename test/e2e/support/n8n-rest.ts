/**
 * n8n's internal REST API (what the editor uses), for the few things the CLI cannot do on a
 * running n8n: publishing (activating) and unpublishing a workflow the way a user's click does,
 * so n8n runs the trigger's webhook lifecycle (checkExists/create/delete), and reading the
 * error the editor would show. Same routes on 2.41.1 and 2.8.4, different timing:
 *
 * - 2.8.4 activates inside the request: POST /rest/workflows/:id/activate answers 400 with the
 *   activation error.
 * - 2.41.1 publishes through an outbox (N8N_USE_WORKFLOW_PUBLICATION_SERVICE, on by default):
 *   the POST answers 200 at once and a background consumer activates the triggers (and, on
 *   deactivation, tears them down) moments later. The outcome is read from
 *   GET /rest/workflows/:id/publication-status ({status: in_progress | published | partial |
 *   failed | not_published, triggers: [{nodeId, status, errorMessage}]}); the editor gets it
 *   pushed as "workflowFailedToActivate" with the same errorMessage.
 * `publish` and `unpublish` hide the difference: they return once the outcome is settled.
 *
 *   const rest = await N8nRest.setupOwner(n8n.baseUrl);   // fresh instance: creates the owner, logs in
 *   const outcome = await rest.publish(workflowId);        // { ok, message, status, http }
 *   await rest.unpublish(workflowId);
 */
import { randomUUID } from 'crypto';

export interface RestResult {
	ok: boolean;
	status: number;
	/** The parsed JSON answer. */
	body: Record<string, unknown>;
	/** n8n's error message when not ok (what the editor shows), else ''. */
	message: string;
}

export class N8nRest {
	private constructor(
		readonly baseUrl: string,
		private readonly cookie: string,
		private readonly browserId: string,
	) {}

	/** Creates the instance owner (only possible once, on a fresh instance) and keeps its session cookie. */
	static async setupOwner(baseUrl: string, owner = { email: 'owner@e2e.example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-Owner-Password-1' }): Promise<N8nRest> {
		const browserId = randomUUID();
		const response = await fetch(`${baseUrl}/rest/owner/setup`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'browser-id': browserId },
			body: JSON.stringify(owner),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`n8n owner setup failed: HTTP ${response.status} ${text.slice(0, 300)}`);
		const cookies = response.headers.getSetCookie().map((cookie) => cookie.split(';')[0]);
		const auth = cookies.find((cookie) => cookie.startsWith('n8n-auth='));
		if (!auth) throw new Error(`n8n owner setup gave no n8n-auth cookie (got: ${cookies.join(', ') || 'none'})`);
		return new N8nRest(baseUrl, auth, browserId);
	}

	async request(method: string, path: string, body?: unknown): Promise<RestResult> {
		const response = await fetch(`${this.baseUrl}/rest${path}`, {
			method,
			headers: { cookie: this.cookie, 'browser-id': this.browserId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(120_000),
		});
		const text = await response.text();
		let parsed: Record<string, unknown> = {};
		try {
			parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
		} catch {
			parsed = { text };
		}
		return { ok: response.ok, status: response.status, body: parsed, message: response.ok ? '' : String(parsed.message ?? text) };
	}

	/** The workflow as the editor loads it (`data` of GET /rest/workflows/:id). */
	async workflow(id: string): Promise<Record<string, unknown>> {
		const result = await this.request('GET', `/workflows/${id}`);
		if (!result.ok) throw new Error(`GET workflow ${id}: HTTP ${result.status} ${result.message}`);
		return result.body.data as Record<string, unknown>;
	}

	/** Publishes the workflow's current version, as the editor's Publish button does. */
	async activate(id: string): Promise<RestResult> {
		const { versionId } = await this.workflow(id);
		return this.request('POST', `/workflows/${id}/activate`, { versionId });
	}

	/** Unpublishes (deactivates) the workflow. */
	async deactivate(id: string): Promise<RestResult> {
		return this.request('POST', `/workflows/${id}/deactivate`, {});
	}

	/** 2.41's publication status; undefined where n8n has no publication service (2.8.4). */
	async publicationStatus(id: string): Promise<PublicationStatus | undefined> {
		const result = await this.request('GET', `/workflows/${id}/publication-status`);
		if (result.status === 404) return undefined;
		if (!result.ok) throw new Error(`GET publication-status of ${id}: HTTP ${result.status} ${result.message}`);
		return ((result.body.data ?? result.body) as PublicationStatus);
	}

	/** Waits until no publication of the workflow is in flight (2.41), then returns its status. */
	async settled(id: string, timeoutMs = 60_000): Promise<PublicationStatus | undefined> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const status = await this.publicationStatus(id);
			if (!status || status.status !== 'in_progress') return status;
			if (Date.now() > deadline) throw new Error(`The publication of workflow ${id} was still in progress after ${timeoutMs} ms`);
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}

	/** Publishes and waits for the outcome: what the user finally sees after clicking Publish. */
	async publish(id: string): Promise<PublishOutcome> {
		const http = await this.activate(id);
		if (!http.ok) return { ok: false, message: http.message, http };
		const status = await this.settled(id);
		if (!status) return { ok: true, message: '', http };
		const errors = status.triggers.map((trigger) => trigger.errorMessage).filter((message): message is string => Boolean(message));
		return { ok: status.status === 'published', message: errors.join('\n'), status: status.status, http };
	}

	/** Unpublishes and waits until n8n has torn the triggers down. */
	async unpublish(id: string): Promise<PublishOutcome> {
		const http = await this.deactivate(id);
		if (!http.ok) return { ok: false, message: http.message, http };
		const status = await this.settled(id);
		return { ok: true, message: '', ...(status ? { status: status.status } : {}), http };
	}
}

export interface PublicationStatus {
	status: 'in_progress' | 'published' | 'partial' | 'failed' | 'not_published';
	liveVersionId: string | null;
	pendingVersionId: string | null;
	triggers: Array<{ nodeId: string; status: string; errorMessage: string | null }>;
}

export interface PublishOutcome {
	ok: boolean;
	/** The activation error as n8n reports it to the editor ('' when none). */
	message: string;
	/** 2.41: the settled publication status. */
	status?: PublicationStatus['status'];
	/** The answer to the POST itself. */
	http: RestResult;
}
