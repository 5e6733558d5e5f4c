#!/usr/bin/env node
/**
 * Reads an n8n SQLite database with the sqlite3 module of that n8n install (so it runs with
 * the Node that n8n's native module was built for), and prints the rows as JSON.
 * Used by the e2e suite to read executions without an owner account or API key.
 *
 * usage: <n8n's node> scripts/n8n-db-query.cjs <n8nInstallDir> <database.sqlite> '<json request>'
 *        <n8n's node> scripts/n8n-db-query.cjs <n8nInstallDir> postgres '<json request>'
 *   (PostgreSQL, queue mode: connection from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD in
 *   the environment, never the command line; n8n's own `pg`; `?` placeholders become $1, $2 …)
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
const { parse: parseFlatted } = requireFromN8n('flatted');
const request = JSON.parse(requestJson);

function unflattenRows(rows) {
	for (const row of rows) {
		for (const column of request.unflatten ?? []) {
			if (typeof row[column] === 'string') row[column] = parseFlatted(row[column]);
		}
	}
	return rows;
}

if (databaseFile === 'postgres') {
	const { Client } = requireFromN8n('pg');
	const client = new Client({ connectionTimeoutMillis: 10_000, statement_timeout: 30_000 });
	let index = 0;
	const sql = request.sql.replace(/\?/g, () => `$${++index}`);
	client
		.connect()
		.then(() => client.query({ text: sql, values: request.params ?? [] }))
		.then((result) => {
			process.stdout.write(JSON.stringify(unflattenRows(result.rows)));
			return client.end();
		})
		.then(() => process.exit(0))
		.catch((error) => {
			process.stderr.write(`query failed: ${error.message}\n`);
			process.exit(1);
		});
	return;
}

const sqlite3 = requireFromN8n('sqlite3');

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
		process.stdout.write(JSON.stringify(unflattenRows(rows)));
		db.close(() => process.exit(0));
	});
});
