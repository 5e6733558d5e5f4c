// Webhook handling cost: what the WhatsApp Agent Trigger does with one Meta POST in its core
// (signature check on the raw bytes + JSON.parse + normalize + filters and dedup, then the
// signed reply_callback / media links of the emitted messages), per message, against the floor of
// crypto HMAC-SHA256 + JSON.parse alone on the same bytes. Target: ≤ 2× the floor.
//
// Two payloads: a typical ~1 KB single text message, and a 100-message batch (one entry,
// one change, 100 messages and contacts, as Meta batches them).
//
// Uses the compiled core (dist/core/*.js): run `npm run build` first (`npm run bench` does).
// Standalone: `node bench/webhook.bench.mjs`.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'core');
const { verifyWebhookSignature } = require(join(dist, 'webhook-signature.js'));
const { attachLinks, normalizeWebhook, selectWebhookItems } = require(join(dist, 'inbound-normalizer.js'));
const { SignedTokens } = require(join(dist, 'signed-token.js'));
const { DedupCache } = require(join(dist, 'dedup-cache.js'));

const SECRET = createHmac('sha256', 'bench').update('app secret').digest('hex').slice(0, 32);
const REPLY_URL = 'https://n8n.example.com/webhook/0b6c3b8e-6c1d-4d8a-9a51-2f4c3f1f6a77/reply';
const MEDIA_URL = 'https://n8n.example.com/webhook/0b6c3b8e-6c1d-4d8a-9a51-2f4c3f1f6a77/media';

/** Meta's wire form: non-ASCII escaped as \uXXXX. */
const escapeLikeMeta = (text) => text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function textMessage(index, body) {
	return {
		from: String(16505550000 + index),
		id: `wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0${String(index).padStart(6, '0')}A=`,
		timestamp: String(1750000000 + index),
		type: 'text',
		text: { body },
	};
}

function envelope(messages) {
	return {
		object: 'whatsapp_business_account',
		entry: [
			{
				id: '102290129340398',
				changes: [
					{
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
							contacts: messages.map((message, index) => ({ profile: { name: `Customer Nümber ${index}` }, wa_id: message.from })),
							messages,
						},
						field: 'messages',
					},
				],
			},
		],
	};
}

function payload(messageCount, targetBytesPerMessage) {
	const filler = 'Hello! Could you tell me whether the blue one is in stock and when it would arrive? Danke schön 🙂 ';
	const build = (length) => Buffer.from(escapeLikeMeta(JSON.stringify(envelope(Array.from({ length: messageCount }, (_, index) => textMessage(index, filler.repeat(20).slice(0, length)))))));
	// Grow the text until the whole body is ~targetBytesPerMessage per message.
	let length = 10;
	let raw = build(length);
	while (raw.length < targetBytesPerMessage * messageCount) raw = build(++length);
	return raw;
}

/** One per credential, as the trigger keeps it (its signing keys are derived once). */
const tokens = new SignedTokens({ secret: SECRET });

/**
 * The trigger's path for one POST, in the core (what handlers/events.ts does around n8n).
 * `links: false` leaves out minting the signed reply_callback / media links (one
 * HMAC-SHA256 each), to show what the links cost on their own.
 */
function handle(raw, header, cache, links = true) {
	const check = verifyWebhookSignature(raw, header, SECRET);
	if (!check.ok) throw new Error(check.reason);
	const body = JSON.parse(raw.toString('utf8'));
	const normalized = normalizeWebhook(body);
	const selection = selectWebhookItems(normalized, { phoneNumberIds: new Set(), statuses: undefined, seen: cache });
	if (links) {
		const hooks = {
			replyCallback: (claims) => `${REPLY_URL}?token=${tokens.replyCallbackToken(claims, 86400)}`,
			mediaUrl: (claims) => `${MEDIA_URL}?token=${tokens.mediaLinkToken(claims, 3600)}`,
		};
		for (const message of selection.messages) attachLinks(message, hooks);
	}
	return selection.messages.length + selection.duplicates;
}

function floor(raw, secret) {
	const digest = createHmac('sha256', secret).update(raw).digest('hex');
	const body = JSON.parse(raw.toString('utf8'));
	return digest.length + (body.entry ? 1 : 0);
}

/** Iterations that take about `roundMs`, after a warm-up. */
function calibrate(fn, roundMs) {
	let iterations = 1;
	for (;;) {
		const started = process.hrtime.bigint();
		for (let index = 0; index < iterations; index++) fn();
		const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
		if (elapsed > 50) return Math.max(1, Math.round((iterations * roundMs) / elapsed));
		iterations *= 2;
	}
}

function timeRound(fn, iterations) {
	const started = process.hrtime.bigint();
	for (let index = 0; index < iterations; index++) fn();
	return Number(process.hrtime.bigint() - started) / iterations;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Ours and the floor in alternating rounds (the machine may be shared: load changes between
 * rounds, not within a pair), so the ratio is the median of per-pair ratios.
 */
function compare(ours, base, roundMs = 200, rounds = 9) {
	const oursIterations = calibrate(ours, roundMs);
	const baseIterations = calibrate(base, roundMs);
	const oursNs = [];
	const baseNs = [];
	const ratios = [];
	for (let round = 0; round < rounds; round++) {
		const a = timeRound(ours, oursIterations);
		const b = timeRound(base, baseIterations);
		oursNs.push(a);
		baseNs.push(b);
		ratios.push(a / b);
	}
	return { ours: median(oursNs), base: median(baseNs), ratio: median(ratios) };
}

function scenario(name, raw, messageCount, links = true) {
	const header = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
	// Every delivery is new to the dedup cache (the cache is cleared between runs).
	const cache = new DedupCache();
	if (handle(raw, header, cache, links) !== messageCount) throw new Error('the payload did not normalize as expected');
	let sink = 0;
	const result = compare(
		() => {
			cache.clear();
			sink += handle(raw, header, cache, links);
		},
		() => {
			sink += floor(raw, SECRET);
		},
	);
	if (sink === 0) throw new Error('unreachable');
	return {
		name,
		bytes: raw.length,
		messages: messageCount,
		perMessageUs: +(result.ours / messageCount / 1000).toFixed(2),
		floorPerMessageUs: +(result.base / messageCount / 1000).toFixed(2),
		ratio: +result.ratio.toFixed(2),
		target: '≤ 2× floor',
		ok: result.ratio <= 2,
	};
}

export async function run() {
	const single = payload(1, 1024);
	const batch = payload(100, 600);
	const rows = [
		scenario('1 text message (~1 KB): signature + parse + normalize + signed links', single, 1),
		scenario('100-message batch (~60 KB): signature + parse + normalize + signed links', batch, 100),
		scenario('1 text message (~1 KB): signature + parse + normalize, no links', single, 1, false),
		scenario('100-message batch (~60 KB): signature + parse + normalize, no links', batch, 100, false),
	];
	return {
		title:
			'Per message, against the floor of HMAC-SHA256 + JSON.parse on the same bytes (median of paired rounds). ' +
			'"signed links" adds each message\'s reply_callback token: one HMAC-SHA256 per message, a fixed cost of a few µs that the floor does not pay.',
		rows,
		results: rows,
	};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const { title, rows } = await run();
	console.log(title);
	console.table(rows);
}
