#!/usr/bin/env node
/**
 * `npm run bench:e2e`: the shipped template inside a real n8n (the pinned 2.41.1, this package
 * installed as a community package) against hand-built baselines made only of n8n's own nodes,
 * side by side in the same n8n, under closed-loop load on loopback.
 *
 * Workflows (all published in ONE n8n, measured one after the other in the same window):
 *  - ours      templates/whatsapp-external-agent.json as shipped, with `webhookSetup: manual`
 *              (no Meta override) and the agent URL filled in: trigger (signature check,
 *              normalization, dedup, signed reply link) → Mark as Read + Typing → Call External
 *              Agent → Send Agent Reply.
 *  - plain     Webhook (POST, static parameters) → HTTP Request to the agent (the message object,
 *              one expression) → HTTP Request to the Graph API /messages (to + agent's text, one
 *              expression). The minimum that moves a message to an agent and its answer back.
 *  - memory    (--workflows=…,memory) the template with Call External Agent's Remember
 *              Conversations on, bursts off (quiet time 0), 20 history turns: each message reads
 *              the conversation's pause state and history and records both sides, in this
 *              n8n's data table through its public API (an API key made after boot).
 *  - burst     (--workflows=…,burst) the same with a 0.3 s quiet time: one burst per message
 *              under this closed loop, so it shows what waiting for a burst costs (latency
 *              ≥ the quiet time by design; CPU per message is the figure to compare).
 *  - fair      the same, with one harmless expression on the Webhook node (Response Code
 *              `={{ 200 }}`): n8n 2.41 then acquires an expression isolate in the webhook phase,
 *              which it always does for a community trigger (live-webhooks.js
 *              `webhookPhaseNeedsIsolate`; see /work/shared/reference/n8n-local.md).
 * Each engine (`vm`, n8n's default, and `legacy` via N8N_EXPRESSION_ENGINE) gets its own boot.
 *
 * Fakes (in this process, answering at once): a Graph API that answers Meta-shaped JSON
 * (`/messages` sends and mark-as-read) and records arrival times, and an agent that answers
 * `{content: "Reply to <message id>"}`. Load: each of `c` workers posts a Meta-signed ~1 KB text
 * webhook with a unique message id from its own customer number, then waits until the reply to
 * that number (carrying that id) reaches the fake Graph API, then posts the next one. Latency is
 * that whole span; the POST's own answer time is reported as "ack".
 *
 * Per run: messages/s, p50/p99 latency, ack p50, CPU-ms per message of n8n's process group,
 * what the rest of the machine used meanwhile (other engineers' work skews figures), and a
 * per-node timeline of sampled executions read from n8n's database.
 *
 * usage: node scripts/bench-e2e.mjs [--duration=20] [--warmup=5] [--concurrency=1,8,32]
 *          [--engines=vm,legacy] [--workflows=ours,plain,fair[,noread,memory,burst]] [--rounds=1] [--samples=40]
 *          [--keep] [--verbose]
 *   --queue-workers  also boot n8n in queue mode (Redis, PostgreSQL, main, one webhook process)
 *               once per count of workers given, e.g. 1,2, with the first engine; its runs are
 *               reported as engine "<engine>+queueN" (ours, plain and fair only)
 *   --engines   one n8n boot each: vm (n8n's default), legacy, vm-lazy (vm with
 *               N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true), quickjs
 *   --rounds    repeat the whole matrix (interleaved, order rotated) and report medians
 *   --samples   executions per run read back from n8n's database for the timeline
 *   --max-other a run during which other programs used more than this many cores (default
 *               0.2) is measured again, up to --retries times (default 2); "disturbed" marks
 *               what stayed above it
 *   --out       where to write the JSON (default bench/results/e2e-latest.json)
 * A default run (2 engines × 3 concurrencies × 3 workflows × 25 s, plus two boots) takes
 * about 10 minutes.
 * Results: printed, and saved to bench/results/e2e-latest.json. Built-ins only (plus the
 * repo's scripts/n8n-runtime.mjs); every process it starts is stopped, also on failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { DEFAULT_N8N_VERSION, REPO_ROOT, ensureN8n, findFreePort, installPackageInto, n8nEnv, queueModeEnv, runN8nCommand } from './n8n-runtime.mjs';
import { startServices } from './services.mjs';
import { printTable } from '../bench/table.mjs';

const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervise.mjs');
const DB_QUERY = join(dirname(fileURLToPath(import.meta.url)), 'n8n-db-query.cjs');
const TEMPLATE = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json'), 'utf8'));
const RESULTS_FILE = join(REPO_ROOT, 'bench', 'results', 'e2e-latest.json');

const TRIGGER = 'WhatsApp Agent Trigger';
const AGENT = 'Call External Agent';
const MARK_READ = 'Mark as Read + Typing';
const OUR_WEBHOOK_ID = String(TEMPLATE.nodes.find((node) => node.name === TRIGGER)?.webhookId);

const APP_SECRET = 'bench-app-secret-4f1c9a7e2d';
const ACCESS_TOKEN = 'EAABenchAccessToken8Jd2kQ';
const PHONE_NUMBER_ID = '106540352242922';
const DISPLAY_PHONE_NUMBER = '15550783881';
const WABA_ID = '102290129340398';
const API_VERSION = 'v24.0';

// ------------------------------------------------------------------------------------------
// Options

/** Expression-engine settings a run can be booted with (each its own n8n boot). */
const ENGINES = {
	vm: { N8N_EXPRESSION_ENGINE: 'vm' }, // n8n 2.41's default: isolated-vm
	legacy: { N8N_EXPRESSION_ENGINE: 'legacy' },
	// vm, but an isolate is only built when an expression is actually evaluated.
	'vm-lazy': { N8N_EXPRESSION_ENGINE: 'vm', N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
	quickjs: { N8N_EXPRESSION_ENGINE: 'quickjs' },
};

function parseArgs(argv) {
	const options = { duration: 20, warmup: 5, concurrency: [1, 8, 32], engines: ['vm', 'legacy'], workflows: ['ours', 'plain', 'fair'], queueWorkers: [], rounds: 1, samples: 40, maxOther: 0.2, retries: 2, out: RESULTS_FILE, keep: false, verbose: false };
	for (const arg of argv) {
		const [key, value = ''] = arg.replace(/^--/, '').split('=');
		if (key === 'duration') options.duration = Number(value);
		else if (key === 'warmup') options.warmup = Number(value);
		else if (key === 'concurrency') options.concurrency = value.split(',').map(Number);
		else if (key === 'engines') options.engines = value.split(',').filter(Boolean);
		else if (key === 'workflows') options.workflows = value.split(',').filter(Boolean);
		else if (key === 'queue-workers') options.queueWorkers = value.split(',').filter(Boolean).map(Number);
		else if (key === 'samples') options.samples = Number(value);
		else if (key === 'rounds') options.rounds = Number(value);
		else if (key === 'max-other') options.maxOther = Number(value);
		else if (key === 'retries') options.retries = Number(value);
		else if (key === 'out') options.out = resolve(value);
		else if (key === 'keep') options.keep = true;
		else if (key === 'verbose') options.verbose = true;
		else if (key === 'help' || key === 'h') {
			process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
			process.exit(0);
		} else throw new Error(`Unknown option ${arg} (try --help)`);
	}
	if (!(options.duration > 0) || !(options.warmup >= 0)) throw new Error('--duration must be > 0 and --warmup >= 0 (seconds)');
	if (options.workflows.length === 0 || options.workflows.some((w) => !(w in WORKFLOWS))) throw new Error(`--workflows takes ${Object.keys(WORKFLOWS).join(', ')}`);
	if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error('--rounds takes a positive integer');
	if (options.concurrency.some((c) => !Number.isInteger(c) || c < 1)) throw new Error('--concurrency takes positive integers, e.g. 1,8,32');
	if (options.engines.some((e) => !(e in ENGINES))) throw new Error(`--engines takes ${Object.keys(ENGINES).join(', ')}`);
	return options;
}

const log = (line) => process.stderr.write(`[bench:e2e] ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------
// Fakes: a Graph API and an agent that answer at once

/** Outstanding messages by customer number (digits): one per worker at most. */
const pending = new Map();
const graphCounters = { reads: 0, sends: 0, unmatched: 0, other: 0, unauthorized: 0 };

function readBody(req) {
	return new Promise((resolve) => {
		const chunks = [];
		req.on('data', (chunk) => chunks.push(chunk));
		req.on('end', () => resolve(Buffer.concat(chunks)));
	});
}

function sendJson(res, status, body) {
	const data = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
	res.end(data);
}

let wamidSequence = 0;

async function handleGraph(req, res) {
	const raw = await readBody(req);
	const arrivedAt = performance.now();
	if (req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) {
		graphCounters.unauthorized++;
		return sendJson(res, 401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190, fbtrace_id: 'BenchTrace' } });
	}
	if (req.method !== 'POST' || !/^\/v\d+\.\d+\/\d+\/messages$/.test(req.url.split('?')[0])) {
		graphCounters.other++;
		return sendJson(res, 400, { error: { message: 'Unsupported request', type: 'GraphMethodException', code: 100, error_subcode: 33, fbtrace_id: 'BenchTrace' } });
	}
	let json;
	try {
		json = JSON.parse(raw.toString('utf8'));
	} catch {
		graphCounters.other++;
		return sendJson(res, 400, { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'BenchTrace' } });
	}
	if (json.status === 'read') {
		graphCounters.reads++;
		return sendJson(res, 200, { success: true });
	}
	graphCounters.sends++;
	const to = String(json.to ?? '').replace(/\D/g, '');
	const text = String(json.text?.body ?? '');
	const waiting = pending.get(to);
	if (waiting && text.includes(waiting.id)) {
		pending.delete(to);
		waiting.resolve(arrivedAt);
	} else {
		graphCounters.unmatched++;
	}
	wamidSequence++;
	return sendJson(res, 200, {
		messaging_product: 'whatsapp',
		contacts: [{ input: String(json.to ?? ''), wa_id: to }],
		messages: [{ id: `wamid.BenchOut${wamidSequence.toString(36)}` }],
	});
}

async function handleAgent(req, res) {
	const raw = await readBody(req);
	let json = {};
	try {
		json = JSON.parse(raw.toString('utf8'));
	} catch {
		/* answered below */
	}
	// Ours sends the BYOA fields (message_id); the baseline forwards Meta's message object (id).
	const id = json.message_id ?? json.id ?? 'unknown';
	sendJson(res, 200, { content: `Reply to ${id}` });
}

function listen(handler) {
	return new Promise((resolve) => {
		const server = http.createServer((req, res) => {
			handler(req, res).catch(() => {
				if (!res.headersSent) sendJson(res, 500, { error: 'bench fake failed' });
			});
		});
		server.keepAliveTimeout = 60_000;
		server.listen(0, '127.0.0.1', () => resolve(server));
	});
}

// ------------------------------------------------------------------------------------------
// Workflows and credentials

const CREDENTIAL_IDS = { whatsAppWebhookApi: 'benchWebhookCred', whatsAppCloudApi: 'benchCloudApiCrd', externalAgentApi: 'benchAgentCredId', whatsAppConversationsApi: 'benchConversCred' };
const CONVERSATIONS_CREDENTIAL_NAME = 'WhatsApp Conversations';

function credentials(graphBaseUrl) {
	return [
		{ id: CREDENTIAL_IDS.whatsAppWebhookApi, name: 'WhatsApp Webhook', type: 'whatsAppWebhookApi', data: { verifyToken: 'bench-verify-phrase', appSecret: APP_SECRET } },
		{
			id: CREDENTIAL_IDS.whatsAppCloudApi,
			name: 'WhatsApp Cloud API',
			type: 'whatsAppCloudApi',
			data: { accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID, businessAccountId: WABA_ID, apiVersion: API_VERSION, graphApiBaseUrl: graphBaseUrl },
		},
		{ id: CREDENTIAL_IDS.externalAgentApi, name: 'External Agent', type: 'externalAgentApi', data: { authentication: 'none' } },
		// Filled in with this n8n's URL and a fresh API key once it runs (withConversationsKey).
		{ id: CREDENTIAL_IDS.whatsAppConversationsApi, name: CONVERSATIONS_CREDENTIAL_NAME, type: 'whatsAppConversationsApi', data: { baseUrl: 'http://127.0.0.1:1/api/v1', apiKey: 'placeholder' } },
	];
}

/**
 * The template as shipped, with manual webhook setup, the agent URL, and credentials bound by id.
 * `noread` (diagnostic, --workflows=noread): the same without "Mark as Read + Typing", to
 * measure what one node and one Graph call cost.
 */
function ourWorkflow(agentUrl, variant = 'ours') {
	const workflow = structuredClone(TEMPLATE);
	for (const node of workflow.nodes) {
		if (node.name === TRIGGER) node.parameters.webhookSetup = 'manual';
		if (node.name === AGENT) node.parameters.url = agentUrl;
		for (const [type, reference] of Object.entries(node.credentials ?? {})) reference.id = CREDENTIAL_IDS[type];
	}
	if (variant === 'noread') {
		workflow.id = WORKFLOWS.noread.id;
		workflow.name = `${TEMPLATE.name} (bench: without Mark as Read)`;
		workflow.nodes = workflow.nodes.filter((node) => node.name !== MARK_READ);
		workflow.nodes.find((node) => node.name === TRIGGER).webhookId = WORKFLOWS.noread.webhookId;
		workflow.connections[TRIGGER].main[0] = [{ node: AGENT, type: 'main', index: 0 }];
		delete workflow.connections[MARK_READ];
	}
	if (variant === 'memory' || variant === 'burst') {
		workflow.id = WORKFLOWS[variant].id;
		workflow.name = `${TEMPLATE.name} (bench: ${WORKFLOWS[variant].label})`;
		workflow.nodes.find((node) => node.name === TRIGGER).webhookId = WORKFLOWS[variant].webhookId;
		const agent = workflow.nodes.find((node) => node.name === AGENT);
		agent.parameters.conversations = true;
		agent.parameters.conversationOptions = { quietSeconds: variant === 'burst' ? 0.3 : 0, historyTurns: 20 };
		agent.credentials = { ...agent.credentials, whatsAppConversationsApi: { id: CREDENTIAL_IDS.whatsAppConversationsApi, name: CONVERSATIONS_CREDENTIAL_NAME } };
	}
	return workflow;
}

/** What a user does once for conversations: an owner, an n8n API key, pasted into the credential. */
async function withConversationsKey(n8n) {
	const call = async (method, path, body, cookie) => {
		const response = await fetch(`${n8n.baseUrl}/rest${path}`, {
			method,
			headers: { ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
			body: body ? JSON.stringify(body) : undefined,
		});
		if (!response.ok) throw new Error(`n8n answered ${response.status} to ${method} /rest${path}: ${(await response.text()).slice(0, 200)}`);
		return { response, json: await response.json() };
	};
	const owner = await call('POST', '/owner/setup', { email: 'bench@example.com', firstName: 'Bench', lastName: 'Owner', password: 'Bench-Owner-Password-1' });
	const cookie = owner.response.headers.get('set-cookie')?.split(';')[0];
	const scopes = (await call('GET', '/api-keys/scopes', undefined, cookie)).json.data;
	const key = (await call('POST', '/api-keys', { label: 'bench conversations', scopes, expiresAt: null }, cookie)).json.data.rawApiKey;
	await call('PATCH', `/credentials/${CREDENTIAL_IDS.whatsAppConversationsApi}`, {
		name: CONVERSATIONS_CREDENTIAL_NAME,
		type: 'whatsAppConversationsApi',
		data: { baseUrl: `${n8n.baseUrl}/api/v1`, apiKey: key, tableName: 'WhatsApp Agent conversations' },
	}, cookie);
}

const WORKFLOWS = {
	ours: { id: TEMPLATE.id, label: 'ours (template)' },
	plain: { id: 'BenchBaselinePln', label: 'baseline', path: 'bench-baseline-plain', webhookId: '5a0f8c6e-1b2d-4e3f-9a8b-7c6d5e4f3a21' },
	fair: { id: 'BenchBaselineFai', label: 'fair baseline', path: 'bench-baseline-fair', webhookId: '6b1a9d7f-2c3e-4f5a-8b9c-8d7e6f5a4b32' },
	noread: { id: 'BenchTplNoMarkRd', label: 'ours without Mark as Read', webhookId: '7c2b0e8a-3d4f-4a6b-9c8d-9e8f7a6b5c43' },
	memory: { id: 'BenchTplMemoryOn', label: 'ours + conversations (history, no bursts)', webhookId: '8d3c1f9b-4e5a-4b7c-8d9e-0f9a8b7c6d54' },
	burst: { id: 'BenchTplBurstsOn', label: 'ours + conversations + 0.3 s bursts', webhookId: '9e4d2a0c-5f6b-4c8d-9e0f-1a0b9c8d7e65' },
};

/** Webhook → HTTP Request (agent) → HTTP Request (Graph API /messages), n8n's own nodes only. */
function baselineWorkflow(which, agentUrl, graphBaseUrl) {
	const spec = WORKFLOWS[which];
	const webhookOptions = which === 'fair' ? { responseCode: { values: { responseCode: '={{ 200 }}' } } } : {};
	return {
		id: spec.id,
		name: `Bench ${spec.label}: Webhook → HTTP Request (agent) → HTTP Request (Graph API)`,
		nodes: [
			{
				parameters: { httpMethod: 'POST', path: spec.path, responseMode: 'onReceived', options: webhookOptions },
				id: `${spec.webhookId.slice(0, 30)}01`,
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				webhookId: spec.webhookId,
			},
			{
				parameters: {
					method: 'POST',
					url: agentUrl,
					sendBody: true,
					specifyBody: 'json',
					jsonBody: '={{ $json.body.entry[0].changes[0].value.messages[0] }}',
					options: {},
				},
				id: `${spec.webhookId.slice(0, 30)}02`,
				name: 'Ask Agent',
				type: 'n8n-nodes-base.httpRequest',
				typeVersion: 4.2,
				position: [250, 0],
			},
			{
				parameters: {
					method: 'POST',
					url: `${graphBaseUrl}/${API_VERSION}/${PHONE_NUMBER_ID}/messages`,
					sendHeaders: true,
					headerParameters: { parameters: [{ name: 'Authorization', value: `Bearer ${ACCESS_TOKEN}` }] },
					sendBody: true,
					specifyBody: 'json',
					jsonBody:
						"={{ { messaging_product: 'whatsapp', to: $('Webhook').item.json.body.entry[0].changes[0].value.messages[0].from, type: 'text', text: { body: $json.content } } }}",
					options: {},
				},
				id: `${spec.webhookId.slice(0, 30)}03`,
				name: 'Send Reply',
				type: 'n8n-nodes-base.httpRequest',
				typeVersion: 4.2,
				position: [500, 0],
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'Ask Agent', type: 'main', index: 0 }]] },
			'Ask Agent': { main: [[{ node: 'Send Reply', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
		pinData: {},
		active: false,
	};
}

// ------------------------------------------------------------------------------------------
// Meta-shaped, signed ~1 KB text webhooks

const FILLER =
	'Hi! I ordered the blue jacket last week (order 48213) and the tracking page has not moved since Tuesday. ' +
	'Could you tell me whether it has left the warehouse, and if not, whether I can still change the size from M to L? ' +
	'Also, does the jacket come with the detachable hood shown in the photos, or is that sold separately? ' +
	'I would like it before the trip on the 14th, so if express shipping is possible please let me know what it costs. ' +
	'Thanks a lot for your help, and sorry for the long message.';

function webhookBody(id, from) {
	return JSON.stringify({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: WABA_ID,
				changes: [
					{
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: DISPLAY_PHONE_NUMBER, phone_number_id: PHONE_NUMBER_ID },
							contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: from }],
							messages: [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: FILLER } }],
						},
						field: 'messages',
					},
				],
			},
		],
	});
}

// ------------------------------------------------------------------------------------------
// n8n: boot, CPU accounting, database

class N8n {
	/** `args`: the n8n command (start, webhook, worker); `readyLine`: what it logs once usable. */
	constructor({ runtime, env, userFolder, port, verbose, args = ['start'], readyLine = /Editor is now accessible/ }) {
		Object.assign(this, { runtime, env, userFolder, port, verbose, args, readyLine });
		this.baseUrl = `http://127.0.0.1:${port}`;
		this.output = '';
		this.child = undefined;
	}

	async cli(args) {
		return runN8nCommand(this.runtime, args, this.env);
	}

	async start() {
		const logStream = createWriteStream(join(this.userFolder, 'n8n.log'), { flags: 'a' });
		const child = spawn(process.execPath, [SUPERVISOR, '--grace-ms=10000', '--', this.runtime.nodeBin, this.runtime.n8nBin, ...this.args], {
			env: this.env,
			cwd: this.userFolder,
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		this.child = child;
		this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
		let exitCode;
		void this.exited.then((code) => (exitCode = code));
		const onData = (d) => {
			this.output += d.toString();
			if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
			logStream.write(d);
			if (this.verbose) process.stderr.write(d);
		};
		child.stdout.on('data', onData);
		child.stderr.on('data', onData);
		const deadline = Date.now() + 180_000;
		while (!this.readyLine.test(this.output)) {
			if (exitCode !== undefined) throw new Error(`n8n exited (code ${exitCode}) before it was ready:\n${this.tail()}`);
			if (Date.now() > deadline) throw new Error(`n8n was not ready after 180 s:\n${this.tail()}`);
			await sleep(250);
		}
		// The supervisor's child is n8n, leader of its own process group (with its task runner).
		this.groupId = this.findChildPid(child.pid);
	}

	/**
	 * n8n's expression-engine counters (Prometheus, N8N_METRICS=true): isolates acquired from the
	 * pool, synchronous cold starts, expression evaluations. Undefined with the legacy engine.
	 */
	async expressionCounters() {
		try {
			const res = await fetch(`${this.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
			const text = await res.text();
			const value = (pattern) => {
				let sum = 0;
				let found = false;
				for (const line of text.split('\n')) {
					if (line.startsWith('#')) continue;
					const match = line.match(pattern);
					if (match) {
						sum += Number(match[1]);
						found = true;
					}
				}
				return found ? sum : undefined;
			};
			const acquired = value(/^n8n_expression_pool_acquired_total(?:\{[^}]*\})? (\S+)$/);
			if (acquired === undefined) return undefined;
			return {
				isolates: acquired,
				coldStarts: value(/^n8n_expression_pool_cold_start_sync_total(?:\{[^}]*\})? (\S+)$/) ?? 0,
				evaluations: value(/^n8n_expression_evaluation_duration_seconds_count(?:\{[^}]*\})? (\S+)$/) ?? 0,
			};
		} catch {
			return undefined;
		}
	}

	tail(lines = 25) {
		return this.output.trim().split('\n').slice(-lines).join('\n');
	}

	findChildPid(parentPid) {
		for (const name of readdirSync('/proc')) {
			if (!/^\d+$/.test(name)) continue;
			const stat = procStat(name);
			if (stat && stat.ppid === parentPid) return Number(name);
		}
		return undefined;
	}

	/** CPU time (ms) used so far by every live process of n8n's group (n8n, task runner). */
	cpuMs() {
		if (!this.groupId) return NaN;
		let ticks = 0;
		for (const name of readdirSync('/proc')) {
			if (!/^\d+$/.test(name)) continue;
			const stat = procStat(name);
			if (stat && stat.pgrp === this.groupId) ticks += stat.utime + stat.stime;
		}
		return (ticks * 1000) / CLOCK_TICKS;
	}

	async stop() {
		const child = this.child;
		this.child = undefined;
		if (!child || child.exitCode !== null) return;
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		await this.exited;
		clearTimeout(timer);
	}

	query(sql, params = [], unflatten = []) {
		// Output into a file, not a pipe: the query script exits right after writing, which cuts a large write to a pipe short.
		const outFile = join(this.userFolder, `query-${process.pid}.json`);
		const fd = openSync(outFile, 'w');
		let result;
		try {
			result = spawnSync(this.runtime.nodeBin, [DB_QUERY, this.runtime.dir, join(this.userFolder, '.n8n', 'database.sqlite'), JSON.stringify({ sql, params, unflatten })], {
				stdio: ['ignore', fd, 'pipe'],
				encoding: 'utf8',
				timeout: 120_000,
			});
		} finally {
			closeSync(fd);
		}
		if (result.status !== 0) throw new Error(`database query failed: ${result.stderr || result.error?.message || result.signal}`);
		const rows = JSON.parse(readFileSync(outFile, 'utf8'));
		rmSync(outFile, { force: true });
		return rows;
	}

}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function procStat(pid) {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
		// fields[0] is field 3 (state): ppid = 4, pgrp = 5, utime = 14, stime = 15.
		return { ppid: Number(fields[1]), pgrp: Number(fields[2]), utime: Number(fields[11]), stime: Number(fields[12]) };
	} catch {
		return undefined;
	}
}

/** Busy and total CPU time of the whole machine (ms, all cores), from /proc/stat. */
function machineCpuMs() {
	const [line] = readFileSync('/proc/stat', 'utf8').split('\n');
	const values = line.trim().split(/\s+/).slice(1).map(Number);
	const idle = values[3] + (values[4] ?? 0);
	const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
	return { busy: ((total - idle) * 1000) / CLOCK_TICKS, total: (total * 1000) / CLOCK_TICKS };
}

function ownCpuMs() {
	const usage = process.cpuUsage();
	return (usage.user + usage.system) / 1000;
}

/** Instances being booted (stopped by a signal before bootN8n returns them). */
const starting = new Set();

/** Boots one n8n with the three workflows published; returns it once every webhook answers. Stops it if that fails. */
async function bootN8n({ runtime, engine, graphBaseUrl, agentUrl, options }) {
	const userFolder = mkdtempSync(join(tmpdir(), 'n8n-bench-'));
	const port = await findFreePort();
	let brokerPort = await findFreePort();
	while (brokerPort === port) brokerPort = await findFreePort();
	const build = process.env.npm_lifecycle_event === 'bench:e2e' ? false : 'auto'; // npm run bench:e2e has just built
	installPackageInto(userFolder, { build, log });
	const env = n8nEnv(runtime, {
		userFolder,
		port,
		brokerPort,
		webhookUrl: `http://127.0.0.1:${port}/`,
		encryptionKey: randomBytes(24).toString('base64url'),
		// Metrics on: the expression engine's counters (isolates per message) are read from /metrics.
		extra: { ...ENGINES[engine], N8N_METRICS: 'true' },
	});
	const n8n = new N8n({ runtime, env, userFolder, port, verbose: options.verbose });
	starting.add(n8n);
	try {
		const t0 = Date.now();
		const credFile = join(userFolder, 'credentials.json');
		writeFileSync(credFile, JSON.stringify(credentials(graphBaseUrl)));
		await n8n.cli(['import:credentials', `--input=${credFile}`]);
		const workflows = [ourWorkflow(agentUrl), baselineWorkflow('plain', agentUrl, graphBaseUrl), baselineWorkflow('fair', agentUrl, graphBaseUrl)];
		for (const variant of ['noread', 'memory', 'burst']) if (options.workflows.includes(variant)) workflows.push(ourWorkflow(agentUrl, variant));
		const wfFile = join(userFolder, 'workflows.json');
		writeFileSync(wfFile, JSON.stringify(workflows));
		await n8n.cli(['import:workflow', `--input=${wfFile}`]);
		for (const workflow of workflows) await n8n.cli(['publish:workflow', `--id=${workflow.id}`]);
		const imported = Date.now();
		await n8n.start();
		if (options.workflows.includes('memory') || options.workflows.includes('burst')) await withConversationsKey(n8n);
		// 2.41 activates published workflows in the background: wait until each webhook answers a real message.
		for (const which of Object.keys(WORKFLOWS).filter((key) => workflows.some((workflow) => workflow.id === WORKFLOWS[key].id))) {
			const deadline = Date.now() + 60_000;
			for (;;) {
				const outcome = await oneMessage(n8n, which, 0, `WARM${which}`, 30_000).catch((error) => ({ error }));
				if (outcome.ok) break;
				if (Date.now() > deadline) throw new Error(`The ${which} workflow never completed a message (${outcome.error?.message ?? `HTTP ${outcome.status}`}):\n${n8n.tail()}`);
				await sleep(500);
			}
		}
		log(`n8n ${runtime.version} (${engine} expression engine) up: imports ${((imported - t0) / 1000).toFixed(0)} s, start ${((Date.now() - imported) / 1000).toFixed(0)} s`);
	} catch (error) {
		await n8n.stop();
		if (!options.keep) rmSync(userFolder, { recursive: true, force: true });
		throw error;
	} finally {
		starting.delete(n8n);
	}
	return n8n;
}

/**
 * n8n in queue mode (--queue-workers=1,2): Redis and PostgreSQL (scripts/services.mjs), the
 * main process, one webhook process (what the load is posted to) and `workers` workers, each
 * with the package installed in its own user folder. Looks like an N8n to the measurements:
 * `baseUrl` is the webhook process, CPU is every process's together.
 */
class QueueN8n {
	constructor(services, main, webhook, workers) {
		Object.assign(this, { services, main, webhook, workers });
		this.baseUrl = webhook.baseUrl;
		this.userFolder = main.userFolder;
	}

	get processes() {
		return [this.main, this.webhook, ...this.workers];
	}

	cpuMs() {
		return this.processes.reduce((sum, process) => sum + process.cpuMs(), 0);
	}

	async expressionCounters() {
		return undefined;
	}

	tail(lines = 25) {
		return this.processes.map((process) => `[${process.args[0]}] ${process.tail(lines)}`).join('\n');
	}

	query() {
		throw new Error('executions are not read back in queue mode (PostgreSQL)');
	}

	async stop() {
		await Promise.allSettled([this.webhook, ...this.workers].map((process) => process.stop()));
		await this.main.stop();
		await this.services.stop();
		for (const process of this.processes.slice(1)) rmSync(process.userFolder, { recursive: true, force: true });
	}
}

async function bootQueue({ runtime, engine, graphBaseUrl, agentUrl, options, workers: workerCount }) {
	const services = await startServices({ log });
	const processes = [];
	try {
		const encryptionKey = randomBytes(24).toString('base64url');
		const build = false;
		const make = async (role, args, readyLine) => {
			const userFolder = mkdtempSync(join(tmpdir(), `n8n-bench-${role}-`));
			const [port, brokerPort] = [await findFreePort(), await findFreePort()];
			installPackageInto(userFolder, { build, log });
			const env = n8nEnv(runtime, {
				userFolder,
				port,
				brokerPort,
				webhookUrl: 'WEBHOOK_BASE',
				encryptionKey,
				extra: { ...ENGINES[engine], ...queueModeEnv({ role, redis: services.redis, postgres: services.postgres, healthPort: port }) },
			});
			const process = new N8n({ runtime, env, userFolder, port, verbose: options.verbose, args, readyLine });
			processes.push(process);
			return process;
		};
		const main = await make('main', ['start'], /Editor is now accessible/);
		const webhook = await make('webhook', ['webhook'], /Webhook listener waiting for requests/);
		const workers = [];
		for (let index = 0; index < workerCount; index++) workers.push(await make('worker', ['worker'], /n8n worker is now ready/));
		// Every URL n8n builds (reply links) points at the webhook process.
		for (const process of processes) for (const [key, value] of Object.entries(process.env)) if (value === 'WEBHOOK_BASE') process.env[key] = `${webhook.baseUrl}/`;
		const credFile = join(main.userFolder, 'credentials.json');
		writeFileSync(credFile, JSON.stringify(credentials(graphBaseUrl)));
		await main.cli(['import:credentials', `--input=${credFile}`]);
		const workflows = [ourWorkflow(agentUrl), baselineWorkflow('plain', agentUrl, graphBaseUrl), baselineWorkflow('fair', agentUrl, graphBaseUrl)];
		const wfFile = join(main.userFolder, 'workflows.json');
		writeFileSync(wfFile, JSON.stringify(workflows));
		await main.cli(['import:workflow', `--input=${wfFile}`]);
		for (const workflow of workflows) await main.cli(['publish:workflow', `--id=${workflow.id}`]);
		await main.start();
		await Promise.all([webhook, ...workers].map((process) => process.start()));
		const cluster = new QueueN8n(services, main, webhook, workers);
		for (const which of ['ours', 'plain', 'fair']) {
			const deadline = Date.now() + 60_000;
			for (;;) {
				const outcome = await oneMessage(cluster, which, 0, `WARMQ${which}`, 30_000).catch((error) => ({ error }));
				if (outcome.ok) break;
				if (Date.now() > deadline) throw new Error(`The ${which} workflow never completed a message in queue mode (${outcome.error?.message ?? `HTTP ${outcome.status}`}):\n${cluster.tail()}`);
				await sleep(500);
			}
		}
		log(`n8n ${runtime.version} in queue mode (${engine}, ${workerCount} worker${workerCount > 1 ? 's' : ''}) up`);
		return cluster;
	} catch (error) {
		await Promise.allSettled(processes.map((process) => process.stop()));
		await services.stop();
		for (const process of processes) if (!options.keep) rmSync(process.userFolder, { recursive: true, force: true });
		throw error;
	}
}

// ------------------------------------------------------------------------------------------
// Load generator

const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function webhookUrl(n8n, which) {
	if (which === 'ours') return `${n8n.baseUrl}/webhook/${OUR_WEBHOOK_ID}/webhook`;
	if (WORKFLOWS[which].webhookId && !WORKFLOWS[which].path) return `${n8n.baseUrl}/webhook/${WORKFLOWS[which].webhookId}/webhook`;
	return `${n8n.baseUrl}/webhook/${WORKFLOWS[which].path}`;
}

function post(url, body, headers) {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: 'POST', agent: clientAgent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.setTimeout(60_000, () => req.destroy(new Error('webhook POST timed out')));
		req.end(body);
	});
}

let messageSequence = 0;

/**
 * One message end to end: signed POST, then the reply to this worker's number at the fake
 * Graph API. Resolves {ok, status, postAt, ackAt, replyAt, id} (performance.now() ms).
 */
async function oneMessage(n8n, which, worker, tag, timeoutMs) {
	messageSequence++;
	const from = `1650555${String(worker).padStart(4, '0')}`;
	const id = `wamid.BENCH${tag}W${worker}N${messageSequence.toString(36)}${randomBytes(3).toString('hex')}`;
	const body = webhookBody(id, from);
	const headers = {
		'content-type': 'application/json',
		'user-agent': 'facebookexternalua',
		'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`,
	};
	let timer;
	const replied = new Promise((resolve) => {
		pending.set(from, { id, resolve });
		timer = setTimeout(() => resolve(undefined), timeoutMs);
	});
	const postAt = performance.now();
	const wallPostAt = Date.now();
	let status;
	try {
		status = await post(webhookUrl(n8n, which), body, headers);
	} catch (error) {
		clearTimeout(timer);
		pending.delete(from);
		throw error;
	}
	const ackAt = performance.now();
	if (status !== 200) {
		clearTimeout(timer);
		pending.delete(from);
		return { ok: false, status, id, postAt, ackAt };
	}
	const replyAt = await replied;
	clearTimeout(timer);
	if (replyAt === undefined) pending.delete(from);
	return { ok: replyAt !== undefined, timedOut: replyAt === undefined, status, id, postAt, wallPostAt, ackAt, replyAt };
}

function percentile(sorted, p) {
	if (sorted.length === 0) return NaN;
	const rank = Math.ceil((p / 100) * sorted.length) - 1;
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

const round = (value, digits = 1) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

/** Closed loop: `concurrency` workers for warmup + duration seconds; figures over the measured window. */
async function measure(n8n, which, concurrency, options, tag) {
	const startAt = performance.now();
	const windowStart = startAt + options.warmup * 1000;
	const windowEnd = windowStart + options.duration * 1000;
	const completed = [];
	const failures = { http: 0, network: 0, timeouts: 0 };
	const countersBefore = { ...graphCounters };
	let snapshot;
	const takeSnapshot = () => ({ at: performance.now(), n8n: n8n.cpuMs(), machine: machineCpuMs(), own: ownCpuMs(), load: loadavg()[0], expression: n8n.expressionCounters() });
	const snapshotTimer = setTimeout(() => (snapshot = takeSnapshot()), windowStart - performance.now());
	let endSnapshot;
	const endTimer = setTimeout(() => (endSnapshot = takeSnapshot()), windowEnd - performance.now());
	const workers = Array.from({ length: concurrency }, async (_, worker) => {
		while (performance.now() < windowEnd) {
			let outcome;
			try {
				outcome = await oneMessage(n8n, which, worker, tag, 60_000);
			} catch {
				failures.network++;
				await sleep(100);
				continue;
			}
			if (outcome.ok) completed.push(outcome);
			else if (outcome.timedOut) failures.timeouts++;
			else {
				failures.http++;
				await sleep(100);
			}
		}
	});
	await Promise.all(workers);
	clearTimeout(snapshotTimer);
	clearTimeout(endTimer);
	if (!snapshot || !endSnapshot) throw new Error('measurement window did not complete');
	const [exprStart, exprEnd] = await Promise.all([snapshot.expression, endSnapshot.expression]);
	const inWindow = completed.filter((m) => m.replyAt >= windowStart && m.replyAt <= windowEnd);
	const latencies = inWindow.map((m) => m.replyAt - m.postAt).sort((a, b) => a - b);
	const acks = inWindow.map((m) => m.ackAt - m.postAt).sort((a, b) => a - b);
	const seconds = (endSnapshot.at - snapshot.at) / 1000;
	const n8nCpu = endSnapshot.n8n - snapshot.n8n;
	const ownCpu = endSnapshot.own - snapshot.own;
	const machineBusy = endSnapshot.machine.busy - snapshot.machine.busy;
	const machineTotal = endSnapshot.machine.total - snapshot.machine.total;
	const graphDelta = Object.fromEntries(Object.keys(graphCounters).map((key) => [key, graphCounters[key] - countersBefore[key]]));
	return {
		workflow: which,
		concurrency,
		seconds: round(seconds, 2),
		messages: inWindow.length,
		messagesPerSecond: round(inWindow.length / seconds, 2),
		latencyMs: { p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1)) },
		ackMs: { p50: round(percentile(acks, 50)), p99: round(percentile(acks, 99)) },
		failures,
		graphCalls: graphDelta,
		cpu: {
			n8nMsPerMessage: round(n8nCpu / Math.max(1, inWindow.length)),
			n8nCores: round(n8nCpu / (seconds * 1000), 2),
			benchProcessCores: round(ownCpu / (seconds * 1000), 2),
			// Everything else on the machine (other people's tests, builds...) in cores.
			otherCores: round((machineBusy - n8nCpu - ownCpu) / (seconds * 1000), 2),
			machineBusyPercent: round((100 * machineBusy) / Math.max(1, machineTotal)),
		},
		// Per message, from n8n's expression-engine metrics (vm engine only): every acquisition builds a fresh isolate.
		expressionEngine:
			exprStart && exprEnd
				? {
						isolatesPerMessage: round((exprEnd.isolates - exprStart.isolates) / Math.max(1, inWindow.length), 2),
						coldStartsPerMessage: round((exprEnd.coldStarts - exprStart.coldStarts) / Math.max(1, inWindow.length), 2),
						evaluationsPerMessage: round((exprEnd.evaluations - exprStart.evaluations) / Math.max(1, inWindow.length), 2),
					}
				: null,
		loadAverage1m: { start: round(snapshot.load, 2), end: round(endSnapshot.load, 2) },
		samples: inWindow.slice(-options.samples).map((m) => ({ id: m.id, wallPostAt: m.wallPostAt, latencyMs: m.replyAt - m.postAt, ackMs: m.ackAt - m.postAt })),
	};
}

// ------------------------------------------------------------------------------------------
// Where the time goes: per-node timeline of sampled executions

const parseDbTime = (value) => (value ? Date.parse(`${String(value).replace(' ', 'T')}${/Z|[+-]\d\d:?\d\d$/.test(String(value)) ? '' : 'Z'}`) : NaN);

function messageIdOf(which, runData) {
	if (!WORKFLOWS[which].path) return runData[TRIGGER]?.[0]?.data?.main?.[0]?.[0]?.json?.messageId;
	return runData.Webhook?.[0]?.data?.main?.[0]?.[0]?.json?.body?.entry?.[0]?.changes?.[0]?.value?.messages?.[0]?.id;
}

function median(values) {
	const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
	if (sorted.length === 0) return NaN;
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * For the sampled messages of a run: POST → execution start (webhook phase + queue), each
 * node's own time, the gaps between nodes (n8n's engine between nodes), execution start →
 * reply at the fake, and reply → execution end (n8n's bookkeeping after the last send).
 */
function profile(n8n, which, run) {
	const ids = new Map(run.samples.map((s) => [s.id, s]));
	// Ids first (indexed), then the data of those only: execution_data holds every run's full data.
	const recent = n8n.query('SELECT id FROM execution_entity WHERE workflowId = ? ORDER BY id DESC LIMIT ?', [WORKFLOWS[which].id, Math.max(run.samples.length * 2, 10)]);
	if (recent.length === 0) return { sampledExecutions: 0, statuses: {}, nodeMedianMs: {}, timelineMedianMs: {} };
	const rows = n8n.query(
		`SELECT e.id, e.status, e.startedAt, e.stoppedAt, d.data FROM execution_entity e JOIN execution_data d ON d.executionId = e.id WHERE e.id IN (${recent.map(() => '?').join(',')})`,
		recent.map((row) => row.id),
		['data'],
	);
	const perNode = {};
	const timeline = { postToStartMs: [], startToFirstNodeMs: [], nodesMs: [], gapsMs: [], lastNodeToStopMs: [], executionMs: [], replyAfterPostMs: [] };
	let matched = 0;
	const statuses = {};
	for (const row of rows) {
		statuses[row.status] = (statuses[row.status] ?? 0) + 1;
		const runData = row.data?.resultData?.runData ?? {};
		const sample = ids.get(messageIdOf(which, runData));
		if (!sample) continue;
		matched++;
		const started = parseDbTime(row.startedAt);
		const stopped = parseDbTime(row.stoppedAt);
		const tasks = Object.entries(runData)
			.flatMap(([name, runs]) => runs.map((task) => ({ name, start: task.startTime, time: task.executionTime ?? 0 })))
			.sort((a, b) => a.start - b.start);
		for (const task of tasks) (perNode[task.name] ??= []).push(task.time);
		const nodesTotal = tasks.reduce((sum, task) => sum + task.time, 0);
		const last = tasks.at(-1);
		const span = last ? last.start + last.time - tasks[0].start : 0;
		timeline.postToStartMs.push(started - sample.wallPostAt);
		timeline.startToFirstNodeMs.push(tasks[0] ? tasks[0].start - started : NaN);
		timeline.nodesMs.push(nodesTotal);
		timeline.gapsMs.push(span - nodesTotal);
		timeline.lastNodeToStopMs.push(last ? stopped - (last.start + last.time) : NaN);
		timeline.executionMs.push(stopped - started);
		timeline.replyAfterPostMs.push(sample.latencyMs);
	}
	return {
		sampledExecutions: matched,
		statuses,
		nodeMedianMs: Object.fromEntries(Object.entries(perNode).map(([name, times]) => [name, round(median(times))])),
		timelineMedianMs: Object.fromEntries(Object.entries(timeline).map(([key, values]) => [key, round(median(values))])),
	};
}

// ------------------------------------------------------------------------------------------
// Report

const median3 = (values) => round(median(values.filter((v) => v !== null && v !== undefined)), 2);

/** One cell per engine × concurrency × workflow: medians over the rounds (and the msg/s range). */
function cells(runs) {
	const groups = new Map();
	for (const run of runs) {
		const key = `${run.engine}|${run.concurrency}|${run.workflow}`;
		if (!groups.has(key)) groups.set(key, []);
		groups.get(key).push(run);
	}
	return [...groups.values()].map((group) => {
		const [first] = group;
		const rates = group.map((run) => run.messagesPerSecond);
		return {
			engine: first.engine,
			concurrency: first.concurrency,
			workflow: first.workflow,
			rounds: group.length,
			messagesPerSecond: median3(rates),
			messagesPerSecondRange: [Math.min(...rates), Math.max(...rates)],
			latencyMs: { p50: median3(group.map((run) => run.latencyMs.p50)), p99: median3(group.map((run) => run.latencyMs.p99)) },
			ackMs: { p50: median3(group.map((run) => run.ackMs.p50)) },
			n8nCpuMsPerMessage: median3(group.map((run) => run.cpu.n8nMsPerMessage)),
			n8nCores: median3(group.map((run) => run.cpu.n8nCores)),
			otherCoresMax: Math.max(...group.map((run) => run.cpu.otherCores ?? 0)),
			isolatesPerMessage: median3(group.map((run) => run.expressionEngine?.isolatesPerMessage)),
			evaluationsPerMessage: median3(group.map((run) => run.expressionEngine?.evaluationsPerMessage)),
			readsPerReply: round(group.reduce((sum, run) => sum + run.graphCalls.reads, 0) / Math.max(1, group.reduce((sum, run) => sum + run.graphCalls.sends, 0)), 2),
			failures: group.reduce((sum, run) => sum + run.failures.http + run.failures.network + run.failures.timeouts + run.graphCalls.unmatched + run.graphCalls.other + run.graphCalls.unauthorized, 0),
			profile: group.map((run) => run.profile).filter(Boolean).at(-1),
			disturbedRounds: group.filter((run) => run.disturbed).length,
		};
	});
}

function summaryRows(cellList) {
	const rows = [];
	const keys = [...new Set(cellList.map((cell) => `${cell.engine}|${cell.concurrency}`))];
	for (const key of keys) {
		const [engine, concurrency] = key.split('|');
		const of = (which) => cellList.find((cell) => cell.engine === engine && String(cell.concurrency) === concurrency && cell.workflow === which);
		const ours = of('ours');
		const plain = of('plain');
		const fair = of('fair');
		const ratio = (base) => (ours && base && base.messagesPerSecond > 0 ? round(ours.messagesPerSecond / base.messagesPerSecond, 2) : null);
		rows.push({
			engine,
			c: Number(concurrency),
			'ours msg/s': ours?.messagesPerSecond,
			'ours p50': ours?.latencyMs.p50,
			'ours p99': ours?.latencyMs.p99,
			'plain msg/s': plain?.messagesPerSecond,
			'plain p50': plain?.latencyMs.p50,
			'plain p99': plain?.latencyMs.p99,
			'fair msg/s': fair?.messagesPerSecond,
			'fair p50': fair?.latencyMs.p50,
			'fair p99': fair?.latencyMs.p99,
			'ours/plain': ratio(plain),
			'ours/fair': ratio(fair),
			'target ≥0.83 (fair)': ratio(fair) === null ? '' : ratio(fair) >= 1 / 1.2 ? 'met' : 'MISSED',
		});
	}
	return rows;
}

/** Queue mode against one process: the template's throughput and latency per count of workers, as ratios. */
function queueRows(cellList) {
	const rows = [];
	for (const cell of cellList.filter((entry) => /\+queue\d+$/.test(entry.engine))) {
		const engine = cell.engine.replace(/\+queue\d+$/, '');
		const regular = cellList.find((entry) => entry.engine === engine && entry.concurrency === cell.concurrency && entry.workflow === cell.workflow);
		rows.push({
			mode: `queue, ${cell.engine.match(/queue(\d+)$/)[1]} worker(s)`,
			engine,
			c: cell.concurrency,
			workflow: WORKFLOWS[cell.workflow].label,
			'msg/s': cell.messagesPerSecond,
			'one process msg/s': regular?.messagesPerSecond,
			'queue ÷ one process': regular && regular.messagesPerSecond > 0 ? round(cell.messagesPerSecond / regular.messagesPerSecond, 2) : null,
			'p50 ms': cell.latencyMs.p50,
			'one process p50': regular?.latencyMs.p50,
			'CPU-ms/msg (all processes)': cell.n8nCpuMsPerMessage,
		});
	}
	return rows;
}

/** What each conversation feature adds, as ratios against the template without it, same engine and load. */
function conversationRows(cellList) {
	const rows = [];
	for (const cell of cellList.filter((entry) => entry.workflow === 'memory' || entry.workflow === 'burst')) {
		const base = cellList.find((entry) => entry.engine === cell.engine && entry.concurrency === cell.concurrency && entry.workflow === 'ours');
		if (!base) continue;
		rows.push({
			engine: cell.engine,
			c: cell.concurrency,
			workflow: WORKFLOWS[cell.workflow].label,
			'msg/s': cell.messagesPerSecond,
			'msg/s vs ours': base.messagesPerSecond > 0 ? round(cell.messagesPerSecond / base.messagesPerSecond, 2) : null,
			'p50 ms': cell.latencyMs.p50,
			'ours p50': base.latencyMs.p50,
			'CPU-ms/msg': cell.n8nCpuMsPerMessage,
			'CPU vs ours': base.n8nCpuMsPerMessage > 0 ? round(cell.n8nCpuMsPerMessage / base.n8nCpuMsPerMessage, 2) : null,
		});
	}
	return rows;
}

function detailRows(cellList) {
	return cellList.map((cell) => ({
		engine: cell.engine,
		c: cell.concurrency,
		workflow: WORKFLOWS[cell.workflow].label,
		'msg/s': cell.messagesPerSecond,
		...(cell.rounds > 1 ? { 'msg/s range': `${cell.messagesPerSecondRange[0]}–${cell.messagesPerSecondRange[1]}` } : {}),
		'p50 ms': cell.latencyMs.p50,
		'p99 ms': cell.latencyMs.p99,
		'ack p50': cell.ackMs.p50,
		'n8n CPU-ms/msg': cell.n8nCpuMsPerMessage,
		'isolates/msg': cell.isolatesPerMessage,
		'evals/msg': cell.evaluationsPerMessage,
		'n8n cores': cell.n8nCores,
		'other cores (max)': cell.otherCoresMax,
		'reads/reply': cell.readsPerReply,
		failures: cell.failures,
		...(cell.disturbedRounds ? { disturbed: cell.disturbedRounds } : {}),
	}));
}

function profileRows(cellList) {
	return cellList
		.filter((run) => run.profile)
		.map((run) => (run.profile.error ? { engine: run.engine, c: run.concurrency, workflow: WORKFLOWS[run.workflow].label, 'per node (median ms)': `profile failed: ${run.profile.error.slice(0, 200)}` } : {
			engine: run.engine,
			c: run.concurrency,
			workflow: WORKFLOWS[run.workflow].label,
			'POST→exec start': run.profile.timelineMedianMs.postToStartMs,
			'start→1st node': run.profile.timelineMedianMs.startToFirstNodeMs,
			'nodes (sum)': run.profile.timelineMedianMs.nodesMs,
			'between nodes': run.profile.timelineMedianMs.gapsMs,
			'last node→stop': run.profile.timelineMedianMs.lastNodeToStopMs,
			'exec total': run.profile.timelineMedianMs.executionMs,
			'per node (median ms)': Object.entries(run.profile.nodeMedianMs)
				.map(([name, ms]) => `${name} ${ms}`)
				.join(' | '),
		}),
		);
}

// ------------------------------------------------------------------------------------------

async function main() {
	const options = parseArgs(process.argv.slice(2));
	const began = Date.now();
	const loadAtStart = loadavg();
	log(`load average at start: ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
	if (loadAtStart[0] > cpus().length * 0.75) log('the machine is busy: figures will be lower and noisier than on a quiet machine (see "other cores" per run)');

	const runtime = await ensureN8n({ version: DEFAULT_N8N_VERSION, log });
	const graph = await listen(handleGraph);
	const agentServer = await listen(handleAgent);
	const graphBaseUrl = `http://127.0.0.1:${graph.address().port}`;
	const agentUrl = `http://127.0.0.1:${agentServer.address().port}/agent`;

	const report = {
		generatedAt: new Date().toISOString(),
		n8n: runtime.version,
		node: { bench: process.version, n8n: spawnSync(runtime.nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim() },
		cpu: cpus()[0]?.model ?? 'unknown',
		cpus: cpus().length,
		settings: { ...options, body: 'Meta-signed text webhook, ~1 KB', fakes: 'in-process, answering at once' },
		workflows: {
			ours: 'templates/whatsapp-external-agent.json (webhookSetup manual): trigger → Mark as Read + Typing → Call External Agent → Send Agent Reply',
			plain: 'Webhook 2.1 (static) → HTTP Request 4.2 to the agent (jsonBody = the message, 1 expression) → HTTP Request 4.2 to /messages (jsonBody with to + agent text, 1 expression)',
			fair: 'the same with one harmless expression on the Webhook node (Response Code ={{ 200 }}), so the webhook phase acquires an expression isolate as every community trigger does',
		},
		loadAverageAtStart: loadAtStart.map((l) => round(l, 2)),
		runs: [],
	};

	let n8n;
	let interrupted = false;
	const onSignal = (signal) => {
		interrupted = true;
		log(`${signal}: stopping n8n`);
		const instances = [n8n, ...starting].filter(Boolean);
		void Promise.allSettled(instances.map((instance) => instance.stop())).finally(() => {
			if (!options.keep) for (const instance of instances) rmSync(instance.userFolder, { recursive: true, force: true });
			process.exit(130);
		});
	};
	process.once('SIGINT', onSignal);
	process.once('SIGTERM', onSignal);

	try {
		const boots = [
			...options.engines.map((engine) => ({ engine, label: engine })),
			...options.queueWorkers.map((workers) => ({ engine: options.engines[0], label: `${options.engines[0]}+queue${workers}`, workers })),
		];
		for (const { engine: bootEngine, label: engine, workers } of boots) {
			n8n = workers ? await bootQueue({ runtime, engine: bootEngine, graphBaseUrl, agentUrl, options, workers }) : await bootN8n({ runtime, engine: bootEngine, graphBaseUrl, agentUrl, options });
			const workflowsHere = workers ? options.workflows.filter((which) => ['ours', 'plain', 'fair'].includes(which)) : options.workflows;
			try {
				// One warm-up pass over every workflow (JIT, connection pools, isolate pool), not measured.
				for (const which of workflowsHere) await measure(n8n, which, 4, { ...options, warmup: 0, duration: Math.max(3, options.warmup) }, `WU${which}`);
				for (let round = 1; round <= options.rounds; round++) {
					for (const [index, concurrency] of options.concurrency.entries()) {
						// Rotate the order so no workflow always runs first (or last) after a change of load.
						const order = [...workflowsHere];
						for (let i = 0; i < index + round - 1; i++) order.push(order.shift());
						for (const which of order) {
							if (interrupted) return;
							let run;
							for (let attempt = 0; ; attempt++) {
								run = await measure(n8n, which, concurrency, options, `${engine}${round}C${concurrency}${which}${attempt}`);
								await sleep(1500); // let n8n finish saving the last executions
								// Another program took CPU during the window (a shared machine): measure again.
								run.disturbed = run.cpu.otherCores > options.maxOther;
								if (!run.disturbed || attempt >= options.retries) break;
								log(`${engine} c=${concurrency} ${WORKFLOWS[which].label}: other programs used ${run.cpu.otherCores} cores meanwhile; measuring again`);
								await sleep(5000);
							}
							if (round === options.rounds) {
								try {
									run.profile = profile(n8n, which, run);
								} catch (error) {
									run.profile = { error: String(error.message ?? error) };
								}
							}
							delete run.samples;
							run.engine = engine;
							run.round = round;
							report.runs.push(run);
							log(
								`${engine}${options.rounds > 1 ? ` round ${round}` : ''} c=${concurrency} ${WORKFLOWS[which].label}: ${run.messagesPerSecond} msg/s, p50 ${run.latencyMs.p50} ms, ` +
									`p99 ${run.latencyMs.p99} ms, n8n ${run.cpu.n8nMsPerMessage} CPU-ms/msg, other load ${run.cpu.otherCores} cores`,
							);
						}
					}
				}
			} finally {
				await n8n.stop();
				if (options.keep) log(`kept ${n8n.userFolder}`);
				else rmSync(n8n.userFolder, { recursive: true, force: true });
				n8n = undefined;
			}
		}
	} finally {
		process.removeListener('SIGINT', onSignal);
		process.removeListener('SIGTERM', onSignal);
		clientAgent.destroy();
		graph.closeAllConnections();
		agentServer.closeAllConnections();
		graph.close();
		agentServer.close();
	}

	report.loadAverageAtEnd = loadavg().map((l) => round(l, 2));
	report.totalSeconds = Math.round((Date.now() - began) / 1000);
	report.cells = cells(report.runs);
	report.summary = summaryRows(report.cells);
	report.conversations = conversationRows(report.cells);
	report.queue = queueRows(report.cells);
	mkdirSync(dirname(options.out), { recursive: true });
	writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);

	console.log(
		`\nReal n8n ${runtime.version}: the template vs. n8n's own nodes, closed loop on loopback (${options.duration} s per run after ${options.warmup} s warm-up` +
			`${options.rounds > 1 ? `; medians of ${options.rounds} interleaved rounds` : ''})`,
	);
	console.log('Throughput in messages/s; latency p50/p99 in ms from the signed webhook POST to the reply at the fake Graph API.\n');
	printTable(report.summary);
	if (report.queue.length > 0) {
		console.log('\nQueue mode (main + one webhook process + workers, Redis, PostgreSQL) against one n8n process, same machine and load:\n');
		printTable(report.queue);
	}
	if (report.conversations.length > 0) {
		console.log('\nConversations: the template with Remember Conversations on, against the template as shipped (same n8n, same load):\n');
		printTable(report.conversations);
	}
	console.log('\nPer run (CPU-ms/msg: n8n process group; other cores: what the rest of the machine used meanwhile):\n');
	printTable(detailRows(report.cells));
	console.log(`\nWhere the time goes (medians of the last ${options.samples} messages' executions${options.rounds > 1 ? ' of the last round' : ''}, ms):\n`);
	printTable(profileRows(report.cells));
	console.log(`\nLoad average: ${report.loadAverageAtStart.join(' ')} at start, ${report.loadAverageAtEnd.join(' ')} at end. Took ${report.totalSeconds} s.`);
	console.log(`Figures written to ${options.out}`);
	const failures = report.runs.reduce((sum, run) => sum + run.failures.http + run.failures.network + run.failures.timeouts + run.graphCalls.unmatched, 0);
	if (failures > 0) {
		console.log(`\n${failures} message(s) failed or went unmatched: see "failures" per run in the JSON.`);
		process.exitCode = 1;
	}
}

main().catch((error) => {
	process.stderr.write(`\nbench:e2e failed: ${error?.stack ?? error}\n`);
	process.exit(1);
});
