#!/usr/bin/env node
/**
 * Reads an n8n SQLite database with the sqlite3 module of that n8n install (so it runs with
 * the Node that n8n's native module was built for), and prints the rows as JSON.
 * Used by the e2e suite to read executions without an owner account or API key.
 *
 * usage: <n8n's node> scripts/n8n-db-query.cjs <n8nInstallDir> <database.sqlite> '<json request>'
 * request: {"sql": "SELECT ...", "params": [...], "unflatten": ["data"]}
 *   unflatten: columns holding n8n's flatted JSON (execution_data.data) to decode, with
 *   n8n's own `flatted`. Read-only; waits up to 5 s on a locked database.
 */
'use strict';
const { createRequire } = require('node:module');
const path = require('node:path');

const [installDir, databaseFile, requestJson] = process.argv.slice(2);
if (!installDir || !databaseFile || !requestJson) {
	process.stderr.write('usage: n8n-db-query.cjs <n8nInstallDir> <database.sqlite> <json request>\n');
	process.exit(2);
}
const requireFromN8n = createRequire(path.join(installDir, 'node_modules', 'n8n', 'package.json'));
const sqlite3 = requireFromN8n('sqlite3');
const { parse: parseFlatted } = requireFromN8n('flatted');
const request = JSON.parse(requestJson);

const db = new sqlite3.Database(databaseFile, sqlite3.OPEN_READONLY, (openError) => {
	if (openError) {
		process.stderr.write(`cannot open ${databaseFile}: ${openError.message}\n`);
		process.exit(1);
	}
	db.configure('busyTimeout', 5000);
	db.all(request.sql, request.params ?? [], (error, rows) => {
		if (error) {
			process.stderr.write(`query failed: ${error.message}\n`);
			process.exit(1);
		}
		for (const row of rows) {
			for (const column of request.unflatten ?? []) {
				if (typeof row[column] === 'string') row[column] = parseFlatted(row[column]);
			}
		}
		process.stdout.write(JSON.stringify(rows));
		db.close(() => process.exit(0));
	});
});
