// Text splitting cost (SPEC §6): splitText on 1 MB of mixed agent output (prose, lists, code
// blocks — some longer than a message —, emoji ZWJ sequences, flags, long unbroken tokens),
// generated deterministically from a seeded PRNG.
//
// - Throughput against the floor: a plain String.prototype.slice loop cutting the same text
//   into `limit`-sized pieces (what a splitter that looks at nothing would cost). A single
//   charCodeAt pass over the text is shown too, as the cost of merely reading every character.
// - Linearity: time per KB for 1 KB, 10 KB, 100 KB and 1 MB prefixes of the same text, at a
//   256-character limit so that even 1 KB is cut into several parts. A largest/smallest
//   per-KB ratio near 1 (or below: fixed costs weigh more on small inputs) shows linear time;
//   a quadratic splitter would show ~1000.
// - markdownToWhatsApp on the same 1 MB, for reference.
//
// 1 MB = 1,048,576 UTF-16 code units (characters as Meta counts them). Medians of 9 timed
// rounds after 3 warm-up rounds; each round repeats the call for at least 100 ms.
// Uses the compiled core (dist/core/*.js): `npm run bench` builds first.
// Standalone: `node bench/split-text.bench.mjs`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'core');
const { splitText } = require(join(dist, 'split-text.js'));
const { markdownToWhatsApp } = require(join(dist, 'markdown-to-whatsapp.js'));

const MB = 1 << 20;
const KB = 1 << 10;
const LIMIT = 4096;
const LINEARITY_LIMIT = 256;
const SEED = 20240611;

/** mulberry32: small, fast, deterministic. */
function prng(seed) {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const WORDS = (
	'the a an agent message customer order delivery price stock blue red size return refund week today tomorrow ' +
	'please thanks hello sure here is your we can will would could should check send update track payment ' +
	'naïve café Straße größer niño façade привет спасибо заказ مرحبا شكرا שלום नमस्ते 日本語 注文 배송 감사합니다'
).split(' ');
const EMOJI = ['👨‍👩‍👧‍👦', '👩🏽‍💻', '👍🏿', '🇫🇷', '🇯🇵', '🇧🇷', '❤️', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '🙂', '🎉', '🚚', 'e\u0301'];

function mixedText(size, seed) {
	const random = prng(seed);
	const pick = (list) => list[Math.floor(random() * list.length)];
	const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
	const sentence = () => {
		const words = Array.from({ length: between(5, 20) }, () => (random() < 0.06 ? pick(EMOJI) : random() < 0.05 ? `**${pick(WORDS)}**` : pick(WORDS)));
		const text = words.join(' ');
		return text[0].toUpperCase() + text.slice(1) + pick(['.', '.', '.', '!', '?', '…']);
	};
	const blocks = {
		prose: () => Array.from({ length: between(2, 8) }, sentence).join(' ') + '\n\n',
		list: () => Array.from({ length: between(3, 7) }, () => `- ${sentence()}`).join('\n') + '\n\n',
		code: () => {
			const lines = random() < 0.15 ? between(150, 300) : between(5, 40);
			const body = Array.from({ length: lines }, (_, i) => `${'  '.repeat(between(0, 3))}const v${i} = compute(${between(0, 999)}, "${pick(WORDS)}"); // ${pick(EMOJI)}`);
			return `\`\`\`${pick(['js', 'python', ''])}\n${body.join('\n')}\n\`\`\`\n\n`;
		},
		emoji: () => Array.from({ length: between(5, 30) }, () => pick(EMOJI)).join('') + '\n',
		long: () => (random() < 0.7 ? `See https://example.com/${'path/'.repeat(between(10, 50))}?q=${between(0, 1e6)}\n\n` : 'Q29kZQ'.repeat(between(500, 1200)) + '\n\n'),
	};
	const weighted = [...Array(10).fill('prose'), ...Array(3).fill('list'), ...Array(4).fill('code'), ...Array(2).fill('emoji'), 'long'];
	const chunks = [];
	let length = 0;
	while (length < size) {
		const chunk = blocks[pick(weighted)]();
		chunks.push(chunk);
		length += chunk.length;
	}
	return prefix(chunks.join(''), size);
}

/** The first `size` code units, one fewer if that would split a surrogate pair. */
function prefix(text, size) {
	const code = text.charCodeAt(size - 1);
	return text.slice(0, code >= 0xd800 && code <= 0xdbff ? size - 1 : size);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
let sink = 0;

/** Median milliseconds per call: 3 warm-up rounds, then 9 rounds of at least `minMs` each. */
function measure(fn, { warmup = 3, rounds = 9, minMs = 100 } = {}) {
	for (let i = 0; i < warmup; i++) sink += fn();
	const perCall = [];
	for (let round = 0; round < rounds; round++) {
		let calls = 0;
		const started = process.hrtime.bigint();
		let elapsed = 0;
		do {
			sink += fn();
			calls++;
			elapsed = Number(process.hrtime.bigint() - started) / 1e6;
		} while (elapsed < minMs);
		perCall.push(elapsed / calls);
	}
	return median(perCall);
}

function sliceFloor(text, limit) {
	const parts = [];
	for (let i = 0; i < text.length; i += limit) parts.push(text.slice(i, i + limit));
	return parts.length;
}

function readEveryChar(text) {
	let sum = 0;
	for (let i = 0; i < text.length; i++) sum += text.charCodeAt(i);
	return sum & 1;
}

/** The benchmark must time a correct split: sizes, and no character lost beyond whitespace, fence lines and numbering. */
function checkSplit(text, parts, limit) {
	if (parts.some((part) => part.length > limit || part.trim() === '')) throw new Error('a part is empty or over the limit');
	const squeeze = (s) => s.replace(/^[ \t]*`{3,}.*$/gm, '').replace(/\s/g, '');
	if (squeeze(parts.map((part) => part.replace(/ \(\d+\/\d+\)$/, '')).join('\n')) !== squeeze(text)) throw new Error('the split lost or changed text');
}

export async function run() {
	const text = mixedText(MB, SEED);
	const parts = splitText(text, { limit: LIMIT, numbering: true });
	checkSplit(text, parts, LIMIT);

	const splitMs = measure(() => splitText(text, { limit: LIMIT, numbering: true }).length);
	const splitPlainMs = measure(() => splitText(text, { limit: LIMIT }).length);
	const floorMs = measure(() => sliceFloor(text, LIMIT));
	const scanMs = measure(() => readEveryChar(text));
	const markdownMs = measure(() => markdownToWhatsApp(text).length);
	const mbps = (ms, size = text.length) => size / MB / (ms / 1000);

	const linearity = [KB, 10 * KB, 100 * KB, MB].map((size) => {
		const sample = prefix(text, size);
		const ms = measure(() => splitText(sample, { limit: LINEARITY_LIMIT, numbering: true }).length);
		return { size, label: size >= MB ? `${size / MB} MB` : `${size / KB} KB`, codeUnits: sample.length, parts: splitText(sample, { limit: LINEARITY_LIMIT, numbering: true }).length, medianMs: ms, usPerKB: (ms * 1000) / (sample.length / KB) };
	});
	const linearityRatio = linearity.at(-1).usPerKB / linearity[0].usPerKB;
	if (sink === 0.5) console.log('unreachable');

	const round = (value, digits = 2) => +value.toFixed(digits);
	const rows = [
		{ case: `splitText 1 MB, limit ${LIMIT}, numbering`, parts: parts.length, 'median ms': round(splitMs, 3), 'MB/s': round(mbps(splitMs), 1), '× floor': round(splitMs / floorMs, 1) },
		{ case: `splitText 1 MB, limit ${LIMIT}`, parts: splitText(text, { limit: LIMIT }).length, 'median ms': round(splitPlainMs, 3), 'MB/s': round(mbps(splitPlainMs), 1), '× floor': round(splitPlainMs / floorMs, 1) },
		{ case: `floor: slice loop, ${LIMIT}-char pieces`, parts: sliceFloor(text, LIMIT), 'median ms': round(floorMs, 4), 'MB/s': round(mbps(floorMs), 0), '× floor': 1 },
		{ case: 'reference: read every char once', parts: undefined, 'median ms': round(scanMs, 3), 'MB/s': round(mbps(scanMs), 0), '× floor': round(scanMs / floorMs, 1) },
		{ case: 'markdownToWhatsApp 1 MB', parts: undefined, 'median ms': round(markdownMs, 3), 'MB/s': round(mbps(markdownMs), 1), '× floor': undefined },
		...linearity.map((entry) => ({ case: `linearity: ${entry.label}, limit ${LINEARITY_LIMIT}`, parts: entry.parts, 'median ms': round(entry.medianMs, 4), 'MB/s': round(mbps(entry.medianMs, entry.codeUnits), 1), 'µs/KB': round(entry.usPerKB, 2) })),
		{ case: 'linearity: µs/KB at 1 MB ÷ µs/KB at 1 KB', 'µs/KB': round(linearityRatio, 2) },
	];
	const results = {
		input: { seed: SEED, codeUnits: text.length, utf8Bytes: Buffer.byteLength(text), limit: LIMIT, numbering: true, parts: parts.length },
		throughput: {
			splitMedianMs: round(splitMs, 3),
			splitMBps: round(mbps(splitMs), 2),
			splitWithoutNumberingMedianMs: round(splitPlainMs, 3),
			floorMedianMs: round(floorMs, 4),
			floorMBps: round(mbps(floorMs), 1),
			ratioToFloor: round(splitMs / floorMs, 1),
			readEveryCharMBps: round(mbps(scanMs), 1),
			ratioToReadEveryChar: round(splitMs / scanMs, 1),
		},
		markdown: { medianMs: round(markdownMs, 3), MBps: round(mbps(markdownMs), 2) },
		linearity: {
			limit: LINEARITY_LIMIT,
			sizes: linearity.map(({ label, codeUnits, parts: count, medianMs, usPerKB }) => ({ size: label, codeUnits, parts: count, medianMs: round(medianMs, 4), usPerKB: round(usPerKB, 3) })),
			ratioLargestToSmallest: round(linearityRatio, 2),
		},
	};
	return { title: '1 MB = 1,048,576 UTF-16 code units; medians of 9 rounds after 3 warm-ups', rows, results };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const { title, rows } = await run();
	console.log(title);
	console.table(rows);
}
