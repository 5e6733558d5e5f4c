/**
 * The install once through n8n's real editor, as a user clicks it, in headless Chromium
 * (playwright-core with Debian's Chromium, as scripts/screenshots.mjs): Settings → Community
 * Nodes → Install, the package name typed, the risk checkbox ticked, Install; the package must
 * then show as installed, in the page and in n8n's REST answer. The registry setup is the one of
 * community-nodes.install.test.ts (the loopback registry under n8n's default registry name).
 *
 * The install dialog, filled in, and the list after the install are saved as screenshots to a
 * temp folder; with UPDATE_SCREENSHOTS=1 into docs/screenshots/ (the README's):
 * community-nodes-install.png and community-nodes-installed.png.
 * Skipped, and says so, when Chromium is missing (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

import { LoopbackRegistry } from './support/loopback-registry';
import { E2E_N8N_VERSION, N8N_BOOT_TIMEOUT_MS, PACKAGE_NAME, REPO_ROOT, startN8n, type N8nInstance } from './support/n8n-instance';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = 'community-nodes-install.png';
const INSTALLED_SCREENSHOT = 'community-nodes-installed.png';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`[editor install test] skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)\n`);

let registry: LoopbackRegistry;
let n8n: N8nInstance;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
const shots = haveChromium ? mkdtempSync(join(tmpdir(), 'editor-install-')) : '';
/** The screenshots folder is kept only when the test failed (it then holds what the editor showed). */
let passed = false;

(haveChromium ? describe : describe.skip)(`Community Nodes in the editor of n8n ${E2E_N8N_VERSION}`, () => {
	beforeAll(async () => {
		registry = await LoopbackRegistry.start();
		n8n = await startN8n({ installPackage: false, env: registry.env });
		const { chromium } = await import('playwright-core');
		browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
		context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
		const owner = await context.request.post(`${n8n.baseUrl}/rest/owner/setup`, {
			data: { email: 'owner@e2e.example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-Owner-Password-1' },
		});
		expect(owner.status()).toBe(200);
		page = await context.newPage();
	}, N8N_BOOT_TIMEOUT_MS);

	afterAll(async () => {
		await browser?.close().catch(() => undefined);
		await n8n?.stop();
		await registry?.stop();
		if (passed) rmSync(shots, { recursive: true, force: true });
		else if (shots) process.stderr.write(`[editor install test] screenshots kept in ${shots}\n`);
	});

	test('Settings → Community Nodes → Install: name typed, risk accepted, installed and listed', async () => {
		try {
			await page.goto(`${n8n.baseUrl}/settings/community-nodes`);
			await page.getByRole('button', { name: /install/i }).first().click();
			const dialog = page.getByRole('dialog');
			await dialog.getByRole('textbox').first().fill(PACKAGE_NAME);
			await dialog.getByText(/I understand the risks/i).click();
			await page.waitForTimeout(300);
			await dialog.screenshot({ path: join(shots, SCREENSHOT) });
			await dialog.getByRole('button', { name: /^install$/i }).click();
			// The page lists the package once n8n has installed it.
			await page.getByText(PACKAGE_NAME, { exact: false }).first().waitFor({ timeout: 90_000 });
			await page.getByText(/Package installed/i).first().waitFor({ timeout: 30_000 });
			await page.getByText(/4 nodes/).first().waitFor();
			await page.screenshot({ path: join(shots, INSTALLED_SCREENSHOT) });
		} catch (error) {
			await page.screenshot({ path: join(shots, 'failure.png') }).catch(() => undefined);
			throw new Error(`${(error as Error).message}\nThe editor at that moment: ${join(shots, 'failure.png')}\nn8n's log: ${n8n.process.logFile} (kept with N8N_E2E_KEEP=1)`);
		}
		const listed = await context.request.get(`${n8n.baseUrl}/rest/community-packages`);
		expect(listed.status()).toBe(200);
		const { data } = (await listed.json()) as { data: Array<{ packageName: string; installedVersion: string; installedNodes: unknown[] }> };
		expect(data).toEqual([expect.objectContaining({ packageName: PACKAGE_NAME })]);
		expect(data[0].installedNodes).toHaveLength(4);
		if (process.env.UPDATE_SCREENSHOTS === '1') {
			for (const name of [SCREENSHOT, INSTALLED_SCREENSHOT]) copyFileSync(join(shots, name), join(REPO_ROOT, 'docs', 'screenshots', name));
		}
		passed = true;
	}, 180_000);
});
