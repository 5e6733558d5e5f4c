#!/usr/bin/env node
/**
 * `npm run screenshots`: PNGs of the template workflow in the real n8n editor, for the README.
 *
 *  1. starts an isolated n8n (2.41.1, the version `npm start` runs) in a temporary user folder,
 *     with this package built and installed as a community package, the template imported and
 *     its three credentials filled with placeholder values (no real secret anywhere);
 *  2. creates the owner account through n8n's REST API (throwaway password) so the editor
 *     opens logged in;
 *  3. drives Debian's Chromium (`apt-get install -y chromium`) with playwright-core and saves
 *     into docs/screenshots/: the canvas (light and dark), every node's settings panel, the
 *     Send WhatsApp operation list, and the three credential forms.
 *
 * Every process it starts (n8n, Chromium) is stopped at the end, also on failure or Ctrl-C.
 *
 * Environment (all optional): CHROMIUM_PATH (/usr/bin/chromium), N8N_SCREENSHOTS_VERSION
 * (2.41.1), SCREENSHOTS_OUT (docs/screenshots), SCREENSHOTS_ONLY (comma-separated image names
 * without .png, to re-shoot a few), SCREENSHOTS_VERBOSE=1 (print n8n's log live).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
	DEFAULT_N8N_VERSION,
	REPO_ROOT,
	ensureN8n,
	findFreePort,
	installPackageInto,
	n8nEnv,
	newEncryptionKey,
	runN8nCommand,
} from './n8n-runtime.mjs';

const TEMPLATE = join(REPO_ROOT, 'templates', 'whatsapp-external-agent.json');
const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervise.mjs');
const OUT_DIR = resolve(REPO_ROOT, process.env.SCREENSHOTS_OUT || join('docs', 'screenshots'));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];
const VIEWPORT = { width: 1440, height: 900 };
const CREDENTIAL_VIEWPORT_HEIGHT = 1080;
/** What the trigger panel shows as its webhook URLs: a public address, like a real setup has. */
const PUBLIC_BASE_URL = 'https://n8n.example.com/';

const log = (line) => process.stderr.write(`[screenshots] ${line}\n`);

class ScreenshotError extends Error {}

/** Placeholder credential data: looks filled in, holds nothing real. */
function placeholderData(type) {
	switch (type) {
		case 'whatsAppCloudApi':
			return {
				accessToken: 'placeholder-access-token',
				phoneNumberId: '106540352242922',
				businessAccountId: '102290129340398',
				apiVersion: 'v24.0',
				graphApiBaseUrl: 'https://graph.facebook.com',
			};
		case 'whatsAppWebhookApi':
			return { verifyToken: 'placeholder-verify-phrase', appSecret: 'placeholder-app-secret' };
		case 'externalAgentApi':
			return { authentication: 'bearer', bearerToken: 'placeholder-agent-token', headerName: 'X-API-Key', headerValue: '', signingSecret: 'placeholder-signing-secret' };
		default:
			return {};
	}
}

/** The template with a credential id per reference, and the credentials to create for it. */
function loadTemplate() {
	let workflow = JSON.parse(readFileSync(TEMPLATE, 'utf8'));
	if (Array.isArray(workflow)) workflow = workflow[0];
	if (!workflow.id) workflow.id = 'WhatsAppAgentTpl';
	const credentials = [];
	for (const node of workflow.nodes ?? []) {
		for (const [type, ref] of Object.entries(node.credentials ?? {})) {
			const name = typeof ref === 'string' ? ref : ref?.name;
			let credential = credentials.find((c) => c.type === type && c.name === name);
			if (!credential) {
				credential = { id: `shot${String(credentials.length + 1).padStart(12, '0')}`, name, type, data: placeholderData(type) };
				credentials.push(credential);
			}
			node.credentials[type] = { id: credential.id, name };
		}
	}
	return { workflow, credentials };
}

function checkChromium() {
	if (existsSync(CHROMIUM)) return;
	throw new ScreenshotError(
		`Chromium is not installed at ${CHROMIUM}.\n` +
			'Install Debian\'s package:  sudo apt-get install -y chromium\n' +
			'(or point CHROMIUM_PATH at another Chromium/Chrome binary).',
	);
}

/** Starts n8n under the supervisor and resolves once its editor is up. */
function startN8n(runtime, env, userFolder, verbose) {
	const logFile = join(userFolder, 'n8n.log');
	const child = spawn(process.execPath, [SUPERVISOR, '--grace-ms=10000', '--', runtime.nodeBin, runtime.n8nBin, 'start'], {
		cwd: userFolder,
		env,
		stdio: ['pipe', 'pipe', 'pipe'],
	});
	let output = '';
	const onData = (chunk) => {
		output += chunk.toString();
		if (verbose) process.stderr.write(chunk);
	};
	child.stdout.on('data', onData);
	child.stderr.on('data', onData);
	const exited = new Promise((r) => child.once('exit', (code) => r(code ?? 1)));
	const ready = (async () => {
		const deadline = Date.now() + 180_000;
		while (!/Editor is now accessible/.test(output)) {
			if (child.exitCode !== null) throw new ScreenshotError(`n8n exited (code ${child.exitCode}) before it was ready:\n${output.trim().split('\n').slice(-25).join('\n')}`);
			if (Date.now() > deadline) throw new ScreenshotError(`n8n was not ready after 3 minutes:\n${output.trim().split('\n').slice(-25).join('\n')}`);
			await new Promise((r) => setTimeout(r, 200));
		}
		const failure = output.match(/Failed to load package "n8n-nodes-whatsapp-agent"\s*\n(.*)/);
		if (failure) throw new ScreenshotError(`n8n could not load this package: ${failure[1]}`);
	})();
	const stop = async () => {
		writeFileSync(logFile, output);
		if (child.exitCode !== null || child.signalCode !== null) return;
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		await exited;
		clearTimeout(timer);
	};
	return { child, ready, stop, output: () => output };
}

/** Creates the owner account (the auth cookie goes into the browser context's cookie jar). */
async function setUpOwner(context, baseUrl) {
	const password = `Shot-${randomBytes(12).toString('base64url')}-9a`;
	const res = await context.request.post(`${baseUrl}/rest/owner/setup`, {
		data: { email: 'owner@example.com', firstName: 'Alex', lastName: 'Doe', password },
	});
	if (!res.ok()) throw new ScreenshotError(`Owner setup failed: HTTP ${res.status()} ${(await res.text()).slice(0, 300)}`);
}

// For a script that keeps an instance up while the shots are tuned.
export { loadTemplate, checkChromium, startN8n, setUpOwner, placeholderData };

// ---------------------------------------------------------------------------------------
// The shots

const only = (process.env.SCREENSHOTS_ONLY || '')
	.split(',')
	.map((s) => s.trim())
	.filter(Boolean);
const wanted = (name) => only.length === 0 || only.includes(name);

async function save(page, name, clip) {
	const file = join(OUT_DIR, `${name}.png`);
	await page.screenshot({ path: file, type: 'png', ...(clip ? { clip } : {}) });
	const kb = Math.round(statSync(file).size / 1024);
	log(`saved ${relative(REPO_ROOT, file)} (${kb} KB)`);
	return file;
}

/** Names and files of what gets shot, in order (docs/screenshots/README.md describes each). */
export const SHOTS = [
	['canvas-light', 'The template workflow on the canvas, fit to view, light theme: trigger → Mark as Read + Typing → Call External Agent → Send Agent Reply, agent callbacks → Send Later Reply, and the four sticky notes.'],
	['canvas-dark', 'The same canvas in the dark theme (the nodes use the dark variants of their icons).'],
	['node-whatsapp-agent-trigger', 'WhatsApp Agent Trigger panel: its two credentials, Webhook Setup "Automatic (Recommended)" with its notice, Replace Another Webhook, Options.'],
	['node-mark-as-read', 'Send WhatsApp panel, operation "Mark as Read": Message ID (empty = the incoming message) and Show Typing Indicator.'],
	['node-call-external-agent', 'Call External Agent panel: Agent URL, how to connect it, On Agent Error "Send a Fallback Message" and the fallback text.'],
	['node-send-agent-reply', 'Send WhatsApp panel, operation "Send Agent Reply": To (empty = the customer who wrote) and what the operation sends.'],
	['send-whatsapp-operations', 'Send WhatsApp\'s Operation list opened: every operation with its one-line description.'],
	['credential-whatsapp-cloud-api', 'WhatsApp Cloud API credential: access token, phone number ID, business account ID, API version, Graph API base URL.'],
	['credential-whatsapp-webhook-api', 'WhatsApp Webhook API credential: verify token and app secret.'],
	['credential-external-agent-api', 'External Agent API credential with "Bearer Token" chosen: bearer token and the optional signing secret.'],
];

/** docs/screenshots/README.md: one line per image. */
/** Made by the editor install test (test/e2e/community-nodes.editor.install.test.ts), not by this script. */
const INSTALL_SHOTS_NOTE = [
	'Made by `UPDATE_SCREENSHOTS=1 npm run test:install` (test/e2e/community-nodes.editor.install.test.ts) in a real n8n 2.41.1 started without',
	'the package, which it installs from a loopback npm registry through Settings → Community Nodes:',
	'',
	'- [`community-nodes-install.png`](community-nodes-install.png): The Community Nodes install dialog with the package name typed and the risk checkbox ticked.',
	'- [`community-nodes-installed.png`](community-nodes-installed.png): Community Nodes after the install: the package, its four nodes and its version.',
	'',
];

function writeIndex(version) {
	const lines = [
		'# Editor screenshots',
		'',
		`Made by \`npm run screenshots\` (scripts/screenshots.mjs) in a real n8n ${version} with this package installed as a community package and`,
		'the template `templates/whatsapp-external-agent.json` imported. The credentials hold placeholder values, not real secrets; in the',
		"credential forms, n8n's connection-test banner (the placeholders cannot reach anything) and its line about Enterprise external vaults are hidden.",
		'',
		...SHOTS.map(([name, text]) => `- [\`${name}.png\`](${name}.png): ${text}`),
		'',
		...INSTALL_SHOTS_NOTE,
	];
	writeFileSync(join(OUT_DIR, 'README.md'), lines.join('\n'));
}

const NODE_SHOTS = {
	'node-whatsapp-agent-trigger': 'WhatsApp Agent Trigger',
	'node-mark-as-read': 'Mark as Read + Typing',
	'node-call-external-agent': 'Call External Agent',
	'node-send-agent-reply': 'Send Agent Reply',
};

/** The bounding box of `locator`, grown by `pad` and kept inside the viewport. */
async function clipOf(page, locator, pad = 0) {
	const box = await locator.boundingBox();
	if (!box) throw new ScreenshotError(`Nothing to clip: ${locator}`);
	const { width, height } = page.viewportSize();
	const x = Math.max(0, Math.floor(box.x - pad));
	const y = Math.max(0, Math.floor(box.y - pad));
	return { x, y, width: Math.min(width, Math.ceil(box.x + box.width + pad)) - x, height: Math.min(height, Math.ceil(box.y + box.height + pad)) - y };
}

/** Closes whatever first-run dialog n8n opens over the canvas (none on 2.41.1 with our env, but versions differ). */
async function dismissDialogs(page) {
	for (let i = 0; i < 3; i++) {
		const dialog = page.locator('.el-overlay:visible [role="dialog"], .el-overlay-dialog:visible').first();
		if ((await dialog.count()) === 0) return;
		const title = ((await dialog.textContent().catch(() => '')) ?? '').trim().slice(0, 60);
		log(`closing a dialog n8n opened: "${title}"`);
		await page.keyboard.press('Escape');
		await page.waitForTimeout(400);
	}
}

async function openWorkflow(page, baseUrl, workflowId, theme) {
	await page.goto(`${baseUrl}/home/workflows`);
	await page.evaluate((value) => localStorage.setItem('N8N_THEME', value), theme);
	await page.goto(`${baseUrl}/workflow/${workflowId}`);
	await page.locator('[data-test-id="canvas-node"]').first().waitFor();
	const actual = await page.evaluate(() => document.body.getAttribute('data-theme') || 'light');
	if (actual !== theme) throw new ScreenshotError(`n8n did not switch to the ${theme} theme (body data-theme="${actual}")`);
	await page.waitForTimeout(800);
	await dismissDialogs(page);
	await page.locator('[data-test-id="zoom-to-fit"]').click();
	// Away from every node and button, so no hover toolbar or tooltip shows; let the minimap fade.
	await page.mouse.move(VIEWPORT.width - 60, VIEWPORT.height - 140);
	await page.waitForTimeout(1500);
}

async function shootNode(page, name, nodeName, afterOpen) {
	await page.locator(`[data-test-id="canvas-node"][data-node-name="${nodeName}"]`).dblclick();
	await page.locator('[data-test-id="node-parameters"]').waitFor();
	await page.mouse.move(5, VIEWPORT.height - 5);
	await page.waitForTimeout(800);
	if (afterOpen) await afterOpen();
	// The whole window: the panel fills it, and the buttons that lead to the neighbouring nodes sit on its edges.
	await save(page, name);
	await page.locator('[data-test-id="ndv-close-button"]').click();
	await page.locator('[data-test-id="node-parameters"]').waitFor({ state: 'hidden' });
	await page.waitForTimeout(300);
}

export async function shoot(context, baseUrl, workflow, credentials) {
	const page = await context.newPage();
	page.setDefaultTimeout(30_000);

	for (const theme of ['light', 'dark']) {
		if (!wanted(`canvas-${theme}`)) continue;
		await openWorkflow(page, baseUrl, workflow.id, theme);
		await save(page, `canvas-${theme}`);
	}

	const nodeShots = Object.entries(NODE_SHOTS).filter(([name]) => wanted(name));
	if (nodeShots.length > 0 || wanted('send-whatsapp-operations')) {
		await openWorkflow(page, baseUrl, workflow.id, 'light');
		for (const [name, nodeName] of nodeShots) await shootNode(page, name, nodeName);
		if (wanted('send-whatsapp-operations')) {
			await shootNode(page, 'send-whatsapp-operations', 'Send Agent Reply', async () => {
				// Element Plus caps the list's height; lift the cap so every operation shows at once.
				await page.addStyleTag({ content: '.el-select-dropdown__wrap { max-height: 640px !important; }' });
				await page.locator('[data-test-id="parameter-input-operation"]').click();
				await page.locator('.el-select-dropdown__item:visible').first().waitFor();
				await page.mouse.move(5, VIEWPORT.height - 5);
				await page.waitForTimeout(600);
			});
		}
	}

	const credentialShots = {
		whatsAppCloudApi: 'credential-whatsapp-cloud-api',
		whatsAppWebhookApi: 'credential-whatsapp-webhook-api',
		externalAgentApi: 'credential-external-agent-api',
	};
	// A taller window gives the credential dialog room for every field without scrolling.
	await page.setViewportSize({ width: VIEWPORT.width, height: CREDENTIAL_VIEWPORT_HEIGHT });
	for (const credential of credentials) {
		const name = credentialShots[credential.type];
		if (!name || !wanted(name)) continue;
		await page.goto(`${baseUrl}/home/credentials/${credential.id}`);
		const modal = page.locator('[data-test-id="editCredential-modal"]');
		await modal.locator('[data-test-id="credential-save-button"]').waitFor();
		// n8n tests a credential when its form opens; with placeholder values the test cannot
		// pass (nothing real to reach), so its result banner is hidden rather than shown red.
		await page.addStyleTag({ content: '[data-test-id="node-credentials-config-container"] > .el-tag { display: none !important; }' });
		// n8n's line about an Enterprise feature (external vaults) says nothing about this credential.
		const hidden = await modal.evaluate((root) => {
			// The outermost element holding that line and nothing else (elements come ancestors first).
			const block = [...root.querySelectorAll('*')].find((el) => /credentials from external vaults/i.test(el.textContent ?? '') && (el.textContent ?? '').trim().length < 120);
			if (block) block.style.display = 'none';
			return Boolean(block);
		});
		if (!hidden) log('(the external-vaults line was not found; nothing hidden)');
		await page.mouse.move(5, CREDENTIAL_VIEWPORT_HEIGHT - 5);
		await page.waitForTimeout(1000);
		await save(page, name, await clipOf(page, modal.locator('.el-dialog').first().or(modal).first()));
	}
	await page.close();
}

async function main() {
	const t0 = Date.now();
	checkChromium();
	const { chromium } = await import('playwright-core');
	const { workflow, credentials } = loadTemplate();
	const version = process.env.N8N_SCREENSHOTS_VERSION || DEFAULT_N8N_VERSION;
	const verbose = process.env.SCREENSHOTS_VERBOSE === '1';

	const userFolder = mkdtempSync(join(tmpdir(), 'n8n-screenshots-'));
	let n8n;
	let browser;
	let interrupted = false;
	const cleanup = async () => {
		await browser?.close().catch(() => undefined);
		await n8n?.stop().catch(() => undefined);
		rmSync(userFolder, { recursive: true, force: true });
	};
	const onSignal = (signal) => {
		if (interrupted) return;
		interrupted = true;
		log(`${signal}: stopping n8n and Chromium`);
		cleanup().finally(() => process.exit(130));
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);

	try {
		const runtime = await ensureN8n({ version, log });
		const pkg = installPackageInto(userFolder, { build: 'auto', log });
		log(`package ${pkg.fingerprint} installed as a community package`);
		const port = await findFreePort();
		let brokerPort = await findFreePort();
		while (brokerPort === port) brokerPort = await findFreePort();
		const env = n8nEnv(runtime, {
			userFolder,
			port,
			brokerPort,
			encryptionKey: newEncryptionKey(),
			webhookUrl: PUBLIC_BASE_URL,
			logLevel: 'info',
		});
		const credFile = join(userFolder, 'credentials.json');
		writeFileSync(credFile, JSON.stringify(credentials));
		await runN8nCommand(runtime, ['import:credentials', `--input=${credFile}`], env);
		const wfFile = join(userFolder, 'workflow.json');
		writeFileSync(wfFile, JSON.stringify(workflow));
		await runN8nCommand(runtime, ['import:workflow', `--input=${wfFile}`], env);
		log(`template and ${credentials.length} placeholder credentials imported (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

		n8n = startN8n(runtime, env, userFolder, verbose);
		await n8n.ready;
		const baseUrl = `http://127.0.0.1:${port}`;
		log(`n8n ${version} ready at ${baseUrl} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

		browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
		const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
		await setUpOwner(context, baseUrl);
		mkdirSync(OUT_DIR, { recursive: true });
		try {
			await shoot(context, baseUrl, workflow, credentials);
		} catch (error) {
			// What the editor showed when it went wrong, and what n8n said, before everything is stopped.
			const file = join(tmpdir(), `n8n-screenshots-failure-${process.pid}.png`);
			const page = context.pages().at(-1);
			const saved = page ? await page.screenshot({ path: file }).then(() => true, () => false) : false;
			const tail = n8n.output().trim().split('\n').slice(-15).join('\n');
			throw new ScreenshotError(
				`${error.stack || error.message}\n${saved ? `The editor at that moment: ${file}\n` : ''}Last lines of n8n's log:\n${tail}`,
			);
		}
		writeIndex(version);
		log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	} finally {
		process.off('SIGINT', onSignal);
		process.off('SIGTERM', onSignal);
		if (!interrupted) await cleanup();
	}
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	main().then(
		() => process.exit(0),
		(error) => {
			process.stderr.write(`\nnpm run screenshots: ${error instanceof ScreenshotError ? error.message : `failed: ${error.stack || error.message}`}\n`);
			process.exit(1);
		},
	);
}
