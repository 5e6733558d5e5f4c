/**
 * A fake external agent: a real HTTP server on loopback whose answers a test scripts per
 * request (status, body, content type, delay, dropped connection), recording every request
 * with its headers and the exact raw body bytes.
 *
 *   const agent = await startFakeAgent();
 *   agent.enqueue({ status: 500 }, { body: { content: 'hi' } });   // next two requests
 *   agent.setDefault((request) => ({ body: 'echo: ' + request.json.message }));
 *   … agent.requests[0].rawBody, agent.requests[0].headers['x-signature-256'] …
 *   await agent.close();
 */
import http, { type IncomingHttpHeaders } from 'http';
import type { AddressInfo, Socket } from 'net';

export interface AgentResponseScript {
	/** Default 200. */
	status?: number;
	/** An object or array is sent as JSON; a string or Buffer as is. Undefined: empty body. */
	body?: unknown;
	/** Default: application/json for objects, text/plain for strings, none for an empty body. */
	contentType?: string | null;
	headers?: Record<string, string>;
	/** Wait before answering (to trigger client timeouts). */
	delayMs?: number;
	/** Close the connection without any answer (a network error for the client). */
	drop?: boolean;
}

export interface RecordedAgentRequest {
	method: string;
	/** Path and query as requested. */
	url: string;
	headers: IncomingHttpHeaders;
	/** The exact bytes received. */
	rawBody: Buffer;
	/** The body parsed as JSON, or undefined when it is not JSON. */
	json: any;
	receivedAt: number;
}

type Responder = AgentResponseScript | ((request: RecordedAgentRequest) => AgentResponseScript);

export interface FakeAgent {
	url: string;
	requests: RecordedAgentRequest[];
	/** Scripts the next requests, in order; when the queue is empty the default answers. */
	enqueue(...responses: Responder[]): void;
	setDefault(response: Responder): void;
	/** Forgets requests and queued answers, restores the default answer. */
	reset(): void;
	close(): Promise<void>;
}

export const DEFAULT_AGENT_ANSWER: AgentResponseScript = { body: { content: 'ok' } };

function encode(script: AgentResponseScript): { data: Buffer; contentType: string | null } {
	const { body } = script;
	if (body === undefined) return { data: Buffer.alloc(0), contentType: script.contentType ?? null };
	if (Buffer.isBuffer(body)) return { data: body, contentType: script.contentType ?? 'application/octet-stream' };
	if (typeof body === 'string') return { data: Buffer.from(body, 'utf8'), contentType: script.contentType ?? 'text/plain; charset=utf-8' };
	return { data: Buffer.from(JSON.stringify(body), 'utf8'), contentType: script.contentType ?? 'application/json' };
}

export async function startFakeAgent(options: { path?: string } = {}): Promise<FakeAgent> {
	const requests: RecordedAgentRequest[] = [];
	let queue: Responder[] = [];
	let fallback: Responder = DEFAULT_AGENT_ANSWER;
	const sockets = new Set<Socket>();
	const timers = new Set<NodeJS.Timeout>();

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const rawBody = Buffer.concat(chunks);
			let json: unknown;
			try {
				json = rawBody.length > 0 ? JSON.parse(rawBody.toString('utf8')) : undefined;
			} catch {
				json = undefined;
			}
			const recorded: RecordedAgentRequest = {
				method: req.method ?? '',
				url: req.url ?? '',
				headers: req.headers,
				rawBody,
				json,
				receivedAt: Date.now(),
			};
			requests.push(recorded);
			const responder = queue.length > 0 ? queue.shift()! : fallback;
			const script = typeof responder === 'function' ? responder(recorded) : responder;
			const answer = () => {
				if (script.drop) {
					req.socket.destroy();
					return;
				}
				if (res.destroyed || req.socket.destroyed) return;
				const { data, contentType } = encode(script);
				const headers: Record<string, string | number> = { ...(script.headers ?? {}), 'content-length': data.length };
				if (contentType) headers['content-type'] = contentType;
				res.writeHead(script.status ?? 200, headers);
				res.end(data);
			};
			if (script.delayMs) {
				const timer = setTimeout(() => {
					timers.delete(timer);
					answer();
				}, script.delayMs);
				timers.add(timer);
			} else {
				answer();
			}
		});
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;

	return {
		url: `http://127.0.0.1:${port}${options.path ?? '/agent'}`,
		requests,
		enqueue: (...responses) => {
			queue.push(...responses);
		},
		setDefault: (response) => {
			fallback = response;
		},
		reset: () => {
			requests.length = 0;
			queue = [];
			fallback = DEFAULT_AGENT_ANSWER;
		},
		close: async () => {
			for (const timer of timers) clearTimeout(timer);
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
