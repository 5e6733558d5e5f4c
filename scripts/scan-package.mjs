#!/usr/bin/env node
/**
 * `npm run scan`: n8n's community-package scanner (@n8n/scan-community-package, the check n8n
 * runs before it verifies a package) on this package as published, with its own code and rules.
 *
 * The scanner's CLI cannot be pointed at a test registry: scanner.mjs hard-codes
 * `https://registry.npmjs.org/`, and it first requires an npm provenance attestation (made only
 * by the release workflow on GitHub Actions) and downloads the attested commit from
 * codeload.github.com. So this script runs the scanner's own lint step, `analyzePackage()`
 * with its `buildScanConfig()` (inline eslint-disable comments ignored), on the same two
 * inputs its CLI lints:
 *
 *  1. the package as published: packed as a release, published to the loopback registry
 *     (scripts/registry.mjs), downloaded back with `npm pack <name>@<version>` and extracted;
 *     linted as the scanner lints the tarball (`**\/*.js` and package.json);
 *  2. the source the release is built from (`git archive HEAD`, what provenance attests),
 *     linted with the scanner's SOURCE_FILE_PATTERNS.
 *
 * Exit 0 only when both have zero findings, errors and warnings alike (n8n's scanner itself fails
 * on errors only), except the findings in ACCEPTED, each with the reason it cannot be met. Any
 * other finding is printed and fails the run. The provenance step is the one check not run here
 * (no OIDC outside CI).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { REPO_ROOT, envWithoutNpmProject } from './n8n-runtime.mjs';
import { packRelease, publishTarball, startRegistry } from './registry.mjs';
import { TOOLS, ensureTool } from './tools.mjs';

/** Findings that cannot be met without breaking a fixed name (SPEC.md §2). Warnings only. */
const ACCEPTED = [
	{
		rule: '@n8n/community-nodes/credential-unnecessary-password',
		file: 'credentials/ExternalAgentApi.credentials.ts',
		why: "`headerValue` is the agent's API key sent as a custom header (e.g. X-API-Key), a secret, so it stays a password field; the rule judges by the field's name, which SPEC §2 fixes",
	},
];

const log = (line) => process.stderr.write(`[scan] ${line}\n`);

function run(command, args, options) {
	const result = spawnSync(command, args, { encoding: 'utf8', env: envWithoutNpmProject(), ...options });
	if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}):\n${result.stderr}`);
	return result.stdout;
}

function countFiles(dir, test) {
	let count = 0;
	for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
		if (entry.isFile() && !join(entry.parentPath ?? entry.path, entry.name).includes('node_modules') && test(entry.name)) count += 1;
	}
	return count;
}

/** The scanner's analyzePackage, but counting every finding (the scanner itself fails on errors only). */
async function lint(scanner, dir, patterns) {
	const result = await scanner.analyzePackage(dir, patterns);
	// analyzePackage reports errors; warnings are read from the same config through ESLint itself.
	const { ESLint } = await import(pathToFileURL(join(scanner.toolDir, 'node_modules', 'eslint', 'lib', 'api.js')).href);
	const eslint = new ESLint({ cwd: dir, allowInlineConfig: false, overrideConfigFile: true, overrideConfig: await scanner.buildScanConfig() });
	const fg = (await import(pathToFileURL(join(scanner.toolDir, 'node_modules', 'fast-glob', 'out', 'index.js')).href)).default;
	const files = fg.sync(patterns, { cwd: dir, absolute: true, ignore: ['node_modules/**', '**/package-lock.json'] });
	const results = files.length ? await eslint.lintFiles(files) : [];
	const accepted = [];
	const findings = [];
	for (const file of results) {
		const relative = file.filePath.slice(dir.length + 1);
		for (const message of file.messages) {
			const finding = { file: relative, line: message.line, rule: message.ruleId, severity: message.severity === 2 ? 'error' : 'warning', message: message.message };
			const known = message.severity === 1 && ACCEPTED.find((entry) => entry.rule === message.ruleId && entry.file === relative);
			(known ? accepted : findings).push(known ? { ...finding, why: known.why } : finding);
		}
	}
	return { passed: result.passed, files: files.length, findings, accepted, scannerMessage: result.passed ? '' : `${result.message ?? ''}\n${result.details ?? ''}` };
}

async function main() {
	const started = Date.now();
	const { dir: toolDir, packageDir } = await ensureTool(TOOLS.scanner, { log });
	const scanner = { ...(await import(pathToFileURL(join(packageDir, 'scanner', 'scanner.mjs')).href)), toolDir };
	const work = mkdtempSync(join(tmpdir(), 'scan-package-'));
	const registry = await startRegistry({ log });
	try {
		const release = packRelease({ outDir: join(work, 'release'), log });
		publishTarball(registry, release.tarball, { log });
		const download = join(work, 'download');
		mkdirSync(download);
		const tarball = run('npm', ['pack', `${release.name}@${release.version}`, '--quiet', `--registry=${registry.url}`, `--cache=${join(work, 'npm-cache')}`], { cwd: download }).trim();
		const published = join(work, 'published');
		mkdirSync(published);
		run('tar', ['-xzf', join(download, tarball), '-C', published, '--strip-components=1']);
		const source = join(work, 'source');
		mkdirSync(source);
		const archive = spawnSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: REPO_ROOT, maxBuffer: 512 * 1024 * 1024 });
		if (archive.status !== 0) throw new Error(`git archive HEAD failed: ${archive.stderr}`);
		run('tar', ['-xf', '-', '-C', source], { input: archive.stdout, encoding: 'buffer' });

		log(`${TOOLS.scanner.name}@${TOOLS.scanner.version} rules on ${release.name}@${release.version} as downloaded from ${registry.url} (${countFiles(published, (n) => n.endsWith('.js'))} .js files) and on the source at HEAD`);
		const legs = [
			{ name: `published tarball (${tarball})`, result: await lint(scanner, published, ['**/*.js', 'package.json']) },
			{ name: 'source at HEAD (git archive)', result: await lint(scanner, source, scanner.SOURCE_FILE_PATTERNS) },
		];
		let findings = 0;
		for (const leg of legs) {
			const { files, findings: found, accepted, passed, scannerMessage } = leg.result;
			findings += found.length;
			process.stdout.write(`${leg.name}: ${files} files, ${found.length} findings, ${accepted.length} accepted (n8n scanner verdict: ${passed ? 'pass' : 'FAIL'})\n`);
			for (const f of found) process.stdout.write(`  ${f.severity} ${f.file}:${f.line} ${f.rule}: ${f.message}\n`);
			for (const f of accepted) process.stdout.write(`  accepted ${f.file}:${f.line} ${f.rule}: ${f.why}\n`);
			if (scannerMessage) process.stdout.write(`${scannerMessage}\n`);
		}
		const passed = findings === 0 && legs.every((leg) => leg.result.passed);
		process.stdout.write(`${passed ? 'zero findings' : `${findings} finding(s)`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
		return passed ? 0 : 1;
	} finally {
		await registry.stop();
		rmSync(work, { recursive: true, force: true });
	}
}

main().then(
	(code) => process.exit(code),
	(error) => {
		process.stderr.write(`\n${error.message}\n`);
		process.exit(1);
	},
);
