// `npm run bench` (after `npm run build`): runs every bench/*.bench.mjs, prints its rows as a
// table and writes all figures to bench/results/latest.json.
//
// A bench module exports `async function run()` returning either an array of rows (plain
// objects; printed and saved as they are) or `{ title?, rows, results }` (rows printed,
// `results` saved). `node bench/run.mjs split` runs only the benches whose file name contains
// "split".
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { printTable } from './table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
	.filter((name) => name.endsWith('.bench.mjs'))
	.filter((name) => filters.length === 0 || filters.some((filter) => name.includes(filter)))
	.sort();

const report = {
	generatedAt: new Date().toISOString(),
	node: process.version,
	platform: `${process.platform} ${process.arch}`,
	cpu: cpus()[0]?.model ?? 'unknown',
	cpus: cpus().length,
	benches: {},
};
let failures = 0;

for (const file of files) {
	const name = file.replace(/\.bench\.mjs$/, '');
	console.log(`\n▶ ${name}`);
	try {
		const module = await import(pathToFileURL(join(here, file)).href);
		if (typeof module.run !== 'function') throw new Error(`${file} does not export run()`);
		const started = Date.now();
		const outcome = await module.run();
		const { title, rows, results } = Array.isArray(outcome) ? { rows: outcome, results: outcome } : outcome;
		if (title) console.log(title);
		printTable(rows ?? []);
		console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
		report.benches[name] = results ?? rows;
	} catch (error) {
		failures++;
		console.error(`✗ ${name} failed: ${error?.stack ?? error}`);
		report.benches[name] = { error: String(error?.message ?? error) };
	}
}

const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const target = join(resultsDir, 'latest.json');
writeFileSync(target, JSON.stringify(report, null, 2) + '\n');
console.log(`\nFigures written to ${target}`);
if (failures > 0) process.exitCode = 1;
