/**
 * Prints rows of objects as an aligned text table (the benchmarks' console output). Numbers get
 * thousands separators and at most 2 decimals, a missing or non-finite number prints blank,
 * booleans print yes / NO; columns of numbers are right-aligned.
 */

export function formatCell(value) {
	if (typeof value === 'number') return Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '';
	if (typeof value === 'boolean') return value ? 'yes' : 'NO';
	return value === undefined || value === null ? '' : String(value);
}

export function printTable(rows) {
	if (rows.length === 0) return;
	const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
	const cells = rows.map((row) => columns.map((column) => formatCell(row[column])));
	const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i].length)));
	const numeric = columns.map((column) => rows.every((row) => row[column] === undefined || row[column] === null || typeof row[column] === 'number'));
	const pad = (text, i) => (numeric[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
	console.log(columns.map(pad).join('  '));
	console.log(widths.map((width) => '─'.repeat(width)).join('  '));
	for (const line of cells) console.log(line.map(pad).join('  '));
}
