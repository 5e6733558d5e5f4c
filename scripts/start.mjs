#!/usr/bin/env node
/**
 * `npm start`: a local n8n with this package, its template workflow and empty credentials,
 * at http://localhost:5678. First run installs n8n (minutes, once); later runs take seconds.
 *
 * What it does, in order:
 *  1. checks that port 5678 (or N8N_PORT) is free;
 *  2. installs the pinned n8n into .cache/n8n/<version>/ unless already there;
 *  3. builds this package when its sources changed and installs it into n8n's community
 *     package folder inside .n8n-local/ (the same layout n8n's own installer produces);
 *  4. on first run, creates the credentials the template refers to, without secrets
 *     (a random verify token is made up for you; everything from Meta you paste in yourself);
 *  5. imports templates/whatsapp-external-agent.json when it is new or changed;
 *  6. starts n8n on SQLite and prints the webhook URL and the next steps. Ctrl-C stops it.
 *
 * `npm start -- --queue`: the same n8n in queue mode, as a deployment at scale runs it: Redis
 * and PostgreSQL (Debian's packages, installed when missing; started on free loopback ports,
 * PostgreSQL's data kept in .n8n-local-queue/postgres, Redis' thrown away), the main process
 * (editor, API, activation) on N8N_PORT, one `n8n webhook` process for production webhooks
 * on N8N_PORT + 2 and two `n8n worker` processes. Ctrl-C stops every process and service.
 *
 * Environment (all optional): N8N_PORT (5678), N8N_LISTEN_ADDRESS (127.0.0.1),
 * N8N_WEBHOOK_URL (your public HTTPS base URL, e.g. a tunnel), N8N_LOCAL_VERSION (2.41.1),
 * N8N_LOCAL_FOLDER (.n8n-local, or .n8n-local-queue with --queue).
 * Every n8n process gets N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true unless it is set: the
 * template evaluates no expression, and with it n8n builds no expression sandbox per message
 * (measured with `npm run bench:e2e`, see README).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
	DEFAULT_N8N_VERSION,
	REPO_ROOT,
	ensureN8n,
	findFreePort,
	installPackageInto,
	isPortFree,
	n8nEnv,
	newEncryptionKey,
	queueModeEnv,
	runN8nCommand,
} from './n8n-runtime.mjs';
import { startServices } from './services.mjs';

const TEMPLATE = join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json');
const TRIGGER_TYPE = 'n8n-nodes-whatsapp-agent.whatsAppAgentTrigger';
const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervise.mjs');

const say = (line = '') => process.stdout.write(`${line}\n`);
const note = (line) => process.stderr.write(`[start] ${line}\n`);

class StartError extends Error {}

/** The n8n-style 16-character id derived from a stable seed, for things the template leaves without one. */
function stableId(seed) {
	const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
	const digest = createHash('sha256').update(seed).digest();
	let id = '';
	for (let i = 0; i < 16; i++) id += alphabet[digest[i] % alphabet.length];
	return id;
}

function readJson(file, fallback) {
	try {
		return JSON.parse(readFileSync(file, 'utf8'));
	} catch {
		return fallback;
	}
}

/**
 * n8n's community-package folder (<userFolder>/.n8n/nodes) as a link to a folder outside
 * this repo. A package under the repo would resolve `n8n-workflow` and `zod` from the repo's
 * own node_modules (Node looks in every parent folder first), so our nodes would throw
 * errors from a second copy of n8n-workflow that n8n's `instanceof` checks do not
 * recognise. Outside the repo they resolve from n8n's modules, as in a real install.
 */
function linkNodesFolderOutsideRepo(userFolder) {
	const n8nFolder = join(userFolder, '.n8n');
	const link = join(n8nFolder, 'nodes');
	const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
	const target = join(base, 'n8n-nodes-whatsapp-agent', createHash('sha256').update(userFolder).digest('hex').slice(0, 12), 'nodes');
	mkdirSync(n8nFolder, { recursive: true });
	mkdirSync(target, { recursive: true });
	let current;
	try {
		current = lstatSync(link);
	} catch {
		current = undefined;
	}
	if (current?.isSymbolicLink() && readlinkSync(link) === target) return;
	if (current) rmSync(link, { recursive: true, force: true });
	symlinkSync(target, link, 'dir');
}

/** The encryption key: n8n's own (if it already wrote one) or one made up once and kept here. */
function encryptionKeyFor(userFolder) {
	const n8nConfig = readJson(join(userFolder, '.n8n', 'config'), undefined);
	if (n8nConfig?.encryptionKey) return n8nConfig.encryptionKey;
	const keyFile = join(userFolder, 'encryption-key');
	if (existsSync(keyFile)) return readFileSync(keyFile, 'utf8').trim();
	const key = newEncryptionKey();
	writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
	return key;
}

/** Credential defaults that spare the user typing (never a secret that has to come from Meta). */
function placeholderData(type, state) {
	switch (type) {
		case 'whatsAppCloudApi':
			return { accessToken: '', phoneNumberId: '', businessAccountId: '', apiVersion: 'v24.0', graphApiBaseUrl: 'https://graph.facebook.com' };
		case 'whatsAppWebhookApi':
			return { verifyToken: state.verifyToken, appSecret: '' };
		case 'externalAgentApi':
			return { authentication: 'none', bearerToken: '', headerName: 'X-API-Key', headerValue: '', signingSecret: '' };
		default:
			return {};
	}
}

/** Reads the template and gives it a fixed id (so a re-import replaces rather than duplicates). */
function loadTemplate() {
	if (!existsSync(TEMPLATE)) return undefined;
	const raw = readFileSync(TEMPLATE, 'utf8');
	let workflow;
	try {
		workflow = JSON.parse(raw);
	} catch (error) {
		throw new StartError(`templates/whatsapp-external-agent.json is not valid JSON: ${error.message}`);
	}
	if (Array.isArray(workflow)) workflow = workflow[0];
	if (!workflow.id) workflow.id = stableId('whatsapp-external-agent-template');
	const hash = createHash('sha256').update(raw).digest('hex');
	const trigger = (workflow.nodes ?? []).find((node) => node.type === TRIGGER_TYPE);
	const credentialRefs = [];
	for (const node of workflow.nodes ?? []) {
		for (const [type, ref] of Object.entries(node.credentials ?? {})) {
			const name = typeof ref === 'string' ? ref : ref?.name;
			if (!name || credentialRefs.some((c) => c.type === type && c.name === name)) continue;
			credentialRefs.push({ type, name, id: typeof ref === 'object' && ref?.id ? ref.id : stableId(`${type}:${name}`) });
		}
	}
	// Point each reference at the credential we create, by id and name.
	for (const node of workflow.nodes ?? []) {
		for (const [type, ref] of Object.entries(node.credentials ?? {})) {
			const name = typeof ref === 'string' ? ref : ref?.name;
			const match = credentialRefs.find((c) => c.type === type && c.name === name);
			if (match) node.credentials[type] = { id: match.id, name: match.name };
		}
	}
	return { workflow, hash, trigger, credentialRefs };
}

/** A process of the queue-mode n8n (webhook or worker) under the supervisor, its output prefixed. */
function spawnN8n(runtime, args, env, cwd, label) {
	const child = spawn(process.execPath, [SUPERVISOR, '--', runtime.nodeBin, runtime.n8nBin, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
	if (label) {
		for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
			let partial = '';
			stream.on('data', (chunk) => {
				const lines = (partial + chunk.toString()).split('\n');
				partial = lines.pop();
				for (const line of lines) out.write(`[${label}] ${line}\n`);
			});
		}
	}
	return child;
}

async function main() {
	const t0 = Date.now();
	const queue = process.argv.slice(2).includes('--queue');
	const unknown = process.argv.slice(2).filter((arg) => arg !== '--queue');
	if (unknown.length > 0) throw new StartError(`Unknown option ${unknown.join(' ')}: npm start takes only --queue (npm start -- --queue)`);
	const version = process.env.N8N_LOCAL_VERSION || DEFAULT_N8N_VERSION;
	const port = Number(process.env.N8N_PORT || 5678);
	const listenAddress = process.env.N8N_LISTEN_ADDRESS || '127.0.0.1';
	const userFolder = resolve(REPO_ROOT, process.env.N8N_LOCAL_FOLDER || (queue ? '.n8n-local-queue' : '.n8n-local'));
	// Queue mode: production webhooks are the webhook process's, on port + 2.
	const webhookPort = queue ? port + 2 : port;
	const publicBase = (process.env.N8N_WEBHOOK_URL || process.env.WEBHOOK_URL || `http://localhost:${webhookPort}/`).replace(/\/?$/, '/');

	// 1. The port, before minutes of installing.
	if (!(await isPortFree(port, listenAddress))) {
		throw new StartError(
			`Port ${port} is already in use (is another n8n running? \`lsof -i :${port}\` shows what holds it).\n` +
				`Stop it, or start on another port: N8N_PORT=5690 npm start`,
		);
	}
	// n8n's task-runner broker needs a port too (5679 by default); pick a free one if taken.
	let brokerPort = Number(process.env.N8N_RUNNERS_BROKER_PORT || port + 1);
	if (!(await isPortFree(brokerPort))) brokerPort = await findFreePort();
	if (queue && !(await isPortFree(webhookPort, listenAddress))) {
		throw new StartError(`Port ${webhookPort} (the webhook process, N8N_PORT + 2) is already in use. Start on another port: N8N_PORT=5690 npm start -- --queue`);
	}

	// 2. n8n itself.
	const runtime = await ensureN8n({ version, log: note });

	// 3. This package, as a community package.
	mkdirSync(userFolder, { recursive: true });
	linkNodesFolderOutsideRepo(userFolder);
	const pkg = installPackageInto(userFolder, { build: 'auto', log: note });
	if (!pkg.reused) note(`package ${pkg.fingerprint} installed into ${pkg.dir}`);

	// Queue mode: Redis and PostgreSQL first, stopped again on every way out.
	let services;
	const others = [];
	const stopServices = async () => {
		for (const child of others) child.kill('SIGTERM');
		await Promise.all(others.map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : undefined)));
		if (services) await services.stop();
		services = undefined;
	};
	if (queue) {
		note('starting Redis and PostgreSQL (installed from Debian\'s packages when missing)');
		services = await startServices({ postgresDir: join(userFolder, 'postgres'), log: note });
	}
	try {
		return await runN8n({ t0, queue, version, port, webhookPort, listenAddress, userFolder, publicBase, brokerPort, runtime, services, others });
	} finally {
		await stopServices();
	}
}

async function runN8n({ t0, queue, version, port, webhookPort, listenAddress, userFolder, publicBase, brokerPort, runtime, services, others }) {
	const encryptionKey = encryptionKeyFor(userFolder);
	const lazy = process.env.N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE ? {} : { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' };
	const envFor = (role, extraPorts = {}, folder = userFolder) =>
		n8nEnv(runtime, {
			userFolder: folder,
			port: extraPorts.port ?? port,
			brokerPort: extraPorts.brokerPort ?? brokerPort,
			listenAddress,
			encryptionKey,
			webhookUrl: queue || process.env.N8N_WEBHOOK_URL || process.env.WEBHOOK_URL ? publicBase : undefined,
			logLevel: process.env.N8N_LOG_LEVEL || 'info',
			extra: {
				...lazy,
				...(queue ? queueModeEnv({ role, redis: services.redis, postgres: services.postgres, healthPort: extraPorts.healthPort }) : {}),
				// The editor's own address (n8n would print the webhook process's otherwise).
				...(queue ? { N8N_EDITOR_BASE_URL: `http://localhost:${port}/` } : {}),
			},
		});
	/** Each queue-mode process has its own user folder with the package, as separate machines would. */
	const folderFor = (name) => {
		const folder = join(userFolder, 'processes', name);
		mkdirSync(folder, { recursive: true });
		linkNodesFolderOutsideRepo(folder);
		installPackageInto(folder, { build: false, log: note });
		return folder;
	};
	const env = envFor('main');

	// 4 and 5. Credentials (first time only) and the template (when it changed).
	const stateFile = join(userFolder, 'start-state.json');
	const state = readJson(stateFile, {});
	if (!state.verifyToken) state.verifyToken = `verify-${randomBytes(9).toString('base64url')}`;
	const template = loadTemplate();
	if (!template) {
		note('templates/whatsapp-external-agent.json does not exist yet: starting without a workflow.');
	} else {
		const missing = template.credentialRefs.filter((ref) => !(state.credentials ?? []).includes(ref.id));
		if (missing.length > 0) {
			const file = join(userFolder, 'placeholder-credentials.json');
			writeFileSync(
				file,
				JSON.stringify(missing.map((ref) => ({ id: ref.id, name: ref.name, type: ref.type, data: placeholderData(ref.type, state) })), null, 2),
				{ mode: 0o600 },
			);
			note(`creating credentials ${missing.map((ref) => `"${ref.name}"`).join(', ')} (empty: you fill them in the editor)`);
			await runN8nCommand(runtime, ['import:credentials', `--input=${file}`], env);
			rmSync(file, { force: true });
			state.credentials = [...(state.credentials ?? []), ...missing.map((ref) => ref.id)];
			writeFileSync(stateFile, JSON.stringify(state, null, 2));
		}
		if (state.templateHash !== template.hash) {
			const file = join(userFolder, 'template-import.json');
			writeFileSync(file, JSON.stringify(template.workflow, null, 2));
			note(state.templateHash ? 'the template changed: importing it again (this replaces the imported copy)' : 'importing the template workflow');
			await runN8nCommand(runtime, ['import:workflow', `--input=${file}`], env);
			rmSync(file, { force: true });
			state.templateHash = template.hash;
			state.workflowId = template.workflow.id;
		}
	}
	writeFileSync(stateFile, JSON.stringify(state, null, 2));

	// 6. n8n, in its own process group under a supervisor that ends it with us.
	note(`starting n8n ${version}${queue ? ' in queue mode: main, then a webhook process and two workers' : ''} (logs below)`);
	const child = spawn(process.execPath, [SUPERVISOR, '--', runtime.nodeBin, runtime.n8nBin, 'start'], {
		cwd: userFolder,
		env,
		stdio: ['pipe', 'pipe', 'pipe'],
		// Its own process group: a Ctrl-C reaches only this script, which asks once.
		detached: true,
	});
	// n8n answers /healthz while its migrations still run; it is usable once it logs this line.
	let editorReady = false;
	let onReady = () => {};
	let seen = '';
	const watch = (stream, out) =>
		stream.on('data', (chunk) => {
			out.write(chunk);
			if (!editorReady) seen += chunk.toString();
			if (!editorReady && /Editor is now accessible/.test(chunk.toString())) {
				editorReady = true;
				onReady();
			}
		});
	watch(child.stdout, process.stdout);
	watch(child.stderr, process.stderr);
	let stopping = 0;
	const stop = (signal) => {
		if (stopping) {
			// npm and the terminal both deliver the same Ctrl-C: only a later one means "force".
			if (Date.now() - stopping > 1000) {
				note('stopping now');
				child.kill('SIGTERM');
				for (const other of others) other.kill('SIGTERM');
			}
			return;
		}
		stopping = Date.now();
		note(`stopping n8n (${signal}); press Ctrl-C again to force`);
		child.kill('SIGTERM');
		for (const other of others) other.kill('SIGTERM');
	};
	process.on('SIGINT', () => stop('Ctrl-C'));
	process.on('SIGTERM', () => stop('SIGTERM'));
	const exited = new Promise((resolvePromise) => child.on('exit', (code) => resolvePromise(code ?? 1)));

	const base = `http://localhost:${port}`;
	const ready = await Promise.race([
		new Promise((r) => {
			onReady = () => r(true);
			if (editorReady) r(true);
		}),
		exited.then(() => false),
		new Promise((r) => setTimeout(() => r('slow'), 300_000).unref()),
	]);
	if (ready === 'slow') note(`n8n has not said "Editor is now accessible" after 5 minutes; try ${base}/healthz.`);
	if (ready === true && queue && !stopping) {
		// The main process ran the migrations: now the webhook process and the workers.
		const ports = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()];
		const webhookFolder = folderFor('webhook');
		others.push(spawnN8n(runtime, ['webhook'], envFor('webhook', { port: webhookPort, brokerPort: ports[0] }, webhookFolder), webhookFolder, 'webhook'));
		for (const [index, healthPort] of [ports[1], ports[3]].entries()) {
			const folder = folderFor(`worker-${index + 1}`);
			others.push(spawnN8n(runtime, ['worker'], envFor('worker', { port: healthPort, brokerPort: ports[2 + index * 2], healthPort }, folder), folder, `worker-${index + 1}`));
		}
		for (const other of others) other.on('exit', (code) => !stopping && note(`an n8n queue-mode process exited (${code}); see its log above`));
		const deadline = Date.now() + 120_000;
		while (Date.now() < deadline && (await isPortFree(webhookPort, listenAddress))) await new Promise((r) => setTimeout(r, 250));
	}
	if (ready === true) {
		// Published workflows register their webhooks right after that line.
		await new Promise((r) => setTimeout(r, 300));
		const seconds = ((Date.now() - t0) / 1000).toFixed(1);
		const loadFailure = seen.match(/Failed to load package "n8n-nodes-whatsapp-agent"\s*\n(.*)/);
		const webhookId = template?.trigger?.webhookId;
		say('');
		say('────────────────────────────────────────────────────────────────────────────');
		say(`n8n ${version} is running at ${base}  (ready in ${seconds} s; Ctrl-C stops it)`);
		if (queue) {
			say(`Queue mode: Redis on 127.0.0.1:${services.redis.port}, PostgreSQL on 127.0.0.1:${services.postgres.port} (data in ${join(userFolder, 'postgres')}),`);
			say(`            production webhooks served by the webhook process on port ${webhookPort}, executions run by two workers.`);
		}
		if (loadFailure) {
			say('');
			say(`!! n8n could not load this package, so its nodes are missing: ${loadFailure[1]}`);
			say('!! Fix the build (npm run build) and start again.');
		}
		say('');
		say('Next steps:');
		say(`  1. Open ${base} and create the owner account (first visit only; it stays on this machine).`);
		if (template) {
			say(`  2. Open Overview → Credentials and fill in:`);
			for (const ref of template.credentialRefs) {
				if (ref.type === 'whatsAppCloudApi') say(`       "${ref.name}": access token and phone number ID from your Meta app (WhatsApp → API Setup).`);
				else if (ref.type === 'whatsAppWebhookApi') say(`       "${ref.name}": app secret (App Settings → Basic). The verify token is already set: ${state.verifyToken}`);
				else if (ref.type === 'externalAgentApi') say(`       "${ref.name}": how your agent checks requests (leave "None" for a first test).`);
				else say(`       "${ref.name}" (${ref.type})`);
			}
			say(`  3. Open the workflow "${template.workflow.name}", set your agent's URL in "Call External Agent", then Publish (activate) it.`);
		} else {
			say('  2. The template workflow is not in this checkout yet; add the nodes from the node panel (search "WhatsApp").');
		}
		const tunnel = !process.env.N8N_WEBHOOK_URL && !process.env.WEBHOOK_URL;
		if (webhookId) {
			say(`  4. In your Meta app (WhatsApp → Configuration → Webhook → Edit) paste:`);
			say(`       Callback URL:  ${tunnel ? 'https://<your-tunnel-host>/' : publicBase}webhook/${webhookId}/webhook`);
			say(`       Verify token:  ${state.verifyToken}`);
			say(`     and subscribe to the "messages" field. (Locally the same URL is http://localhost:${webhookPort}/webhook/${webhookId}/webhook.)`);
		}
		if (tunnel) {
			say('');
			say('  Meta only calls public HTTPS URLs. Open a tunnel to this port, e.g.');
			say(`       cloudflared tunnel --url http://localhost:${webhookPort}     or     ngrok http ${webhookPort}`);
			say('  then restart with its address so n8n builds every URL (callback, reply_callback, media) from it:');
			say(`       N8N_WEBHOOK_URL=https://<your-tunnel-host>/ npm start${queue ? ' -- --queue' : ''}`);
		}
		say('────────────────────────────────────────────────────────────────────────────');
		say('');
	} else if (!stopping && ready === false) {
		note('n8n stopped before it was ready; see its log above.');
	}
	const code = await exited;
	return stopping ? 0 : code;
}

main().then(
	(code) => process.exit(code),
	(error) => {
		process.stderr.write(`\nnpm start: ${error instanceof StartError ? '' : 'failed: '}${error.message}\n`);
		process.exit(1);
	},
);
