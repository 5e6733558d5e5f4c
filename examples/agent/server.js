#!/usr/bin/env node
/**
 * A tiny example agent for n8n-nodes-whatsapp-agent's "Call External Agent" node.
 * Plain Node.js (18 or newer), no dependencies: copy this one file and run
 *
 *   PORT=3000 SIGNING_SECRET=change-me-to-a-long-random-value node server.js
 *
 * Environment:
 *   PORT            port to listen on (default 3000)
 *   HOST            address to listen on (default 0.0.0.0)
 *   SIGNING_SECRET  when set, every request must carry a valid signature made with the same
 *                   secret as the "Signing Secret" of the External Agent credential in n8n
 *   BEARER_TOKEN    when set, every request must carry "Authorization: Bearer <token>"
 *                   (the "Bearer Token" authentication of the credential)
 *   LATE_REPLY_MS   wait before the late second message sent to reply_callback (default 3000)
 *
 * What it answers (a rule-based bot, replace `reply()` with your AI):
 *   "photo"  → an image with a caption       "where" → a location
 *   "menu"   → three reply buttons           "later" → a text now, another one a few seconds
 *   "quiet"  → no reply at all                          later through reply_callback
 * A message id already answered in the last minutes is answered with no reply (a replay or a
 * retry of a request that was already answered).
 *   anything else → "You said: …"; a picture → a comment on it
 */
'use strict';

const http = require('http');
const crypto = require('crypto');

const SIGNATURE_TOLERANCE_SECONDS = 300;
const MAX_BODY_BYTES = 1024 * 1024;

/* ------------------------------------------------------------------------------------------
 * Request verification. Everything here works on the raw body bytes as received: never on a
 * re-serialised JSON object (that changes the bytes and breaks the signature).
 * ---------------------------------------------------------------------------------------- */

function hmacHex(secret, data) {
	return crypto.createHmac('sha256', secret).update(data).digest('hex');
}

/** Constant-time comparison of "sha256=<hex>" with the expected hex digest. */
function signatureMatches(header, expectedHex) {
	const match = /^sha256=([0-9a-f]{64})$/i.exec(String(header || '').trim());
	if (!match) return false;
	return crypto.timingSafeEqual(Buffer.from(match[1].toLowerCase(), 'hex'), Buffer.from(expectedHex, 'hex'));
}

/**
 * Checks a request signed by Call External Agent:
 *   X-Signature-256:           sha256=HMAC-SHA256(secret, body)
 *   X-Timestamp:               unix seconds when it was sent
 *   X-Timestamp-Signature-256: sha256=HMAC-SHA256(secret, "<X-Timestamp>.<body>")
 * Returns null when the request is genuine and fresh, else the reason it is refused.
 */
function verifySignature(rawBody, headers, secret, nowMs = Date.now()) {
	if (!signatureMatches(headers['x-signature-256'], hmacHex(secret, rawBody))) {
		return 'bad or missing X-Signature-256';
	}
	const timestamp = String(headers['x-timestamp'] || '').trim();
	if (!/^\d{1,12}$/.test(timestamp)) return 'missing X-Timestamp';
	if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) {
		return 'X-Timestamp too old or in the future (a replay, or a clock out of sync)';
	}
	const bound = Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), rawBody]);
	if (!signatureMatches(headers['x-timestamp-signature-256'], hmacHex(secret, bound))) {
		return 'bad or missing X-Timestamp-Signature-256';
	}
	return null;
}

function bearerMatches(header, token) {
	const given = Buffer.from(String(header || ''), 'utf8');
	const expected = Buffer.from(`Bearer ${token}`, 'utf8');
	return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/**
 * Message ids answered in the last minutes. A signed request can only be replayed inside the
 * timestamp tolerance; within it, a message already answered is not answered again.
 */
const answered = new Map();
function alreadyAnswered(messageId, nowMs = Date.now()) {
	for (const [id, at] of answered) {
		if (nowMs - at > SIGNATURE_TOLERANCE_SECONDS * 2 * 1000) answered.delete(id);
	}
	return Boolean(messageId) && answered.has(messageId);
}

/* ------------------------------------------------------------------------------------------
 * The bot. `request` is the JSON the node sends: message, image, phone_number,
 * reply_callback, message_id, type, name, timestamp, media, location, contacts,
 * interactive, context, conversation_id …  The return value is the reply, in any of the
 * accepted forms (a string, {content}, {messages: […]}, a message object, {type: "no_reply"}).
 * ---------------------------------------------------------------------------------------- */

function reply(request) {
	const text = String(request.message || '').toLowerCase();
	const name = request.name ? ` ${request.name}` : '';

	if (request.type === 'image' && request.image) {
		return `Nice picture${name}! I received it at ${request.image}`;
	}
	if (request.type === 'location' && request.location) {
		return `Thanks, I see you are at ${request.location.latitude}, ${request.location.longitude}.`;
	}
	if (request.interactive && request.interactive.id) {
		return `You picked "${request.interactive.title}" (${request.interactive.id}).`;
	}
	if (text.includes('quiet')) return { type: 'no_reply' };
	if (text.includes('photo')) {
		return {
			image: 'https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg',
			caption: 'Here is a photo for you 🐱',
		};
	}
	if (text.includes('where')) {
		return {
			location: { latitude: 52.5163, longitude: 13.3777, name: 'Brandenburg Gate', address: 'Pariser Platz, Berlin' },
		};
	}
	if (text.includes('menu')) {
		return {
			type: 'buttons',
			body: 'What would you like to do?',
			buttons: [
				{ id: 'photo', title: 'See a photo' },
				{ id: 'where', title: 'Where are you?' },
				{ id: 'human', title: 'Talk to a human' },
			],
		};
	}
	if (wantsLateReply(request)) return 'Let me check that for you…';
	return `Hi${name}! You said: ${request.message || '(nothing)'}`;
}

/** "later": answer at once, and once more a few seconds later through reply_callback. */
function wantsLateReply(request) {
	return /later/i.test(String(request.message || ''));
}

/** Sends `content` to the reply_callback URL (valid 24 hours): how an agent answers later. */
async function sendLate(replyCallback, content, delayMs) {
	await new Promise((resolve) => setTimeout(resolve, delayMs));
	try {
		const response = await fetch(replyCallback, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ content }),
		});
		console.log(`late reply → ${response.status}`);
	} catch (error) {
		console.error(`late reply failed: ${error.message}`);
	}
}

/* ------------------------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------------------------- */

function send(res, status, body) {
	const data = body === undefined ? '' : JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json' });
	res.end(data);
}

function createAgent(config = {}) {
	const signingSecret = config.signingSecret || '';
	const bearerToken = config.bearerToken || '';
	const lateReplyMs = Number.isFinite(config.lateReplyMs) ? config.lateReplyMs : 3000;

	return http.createServer((req, res) => {
		if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true });
		if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });

		const chunks = [];
		let size = 0;
		req.on('data', (chunk) => {
			size += chunk.length;
			if (size > MAX_BODY_BYTES) req.destroy();
			else chunks.push(chunk);
		});
		req.on('end', () => {
			const rawBody = Buffer.concat(chunks);
			if (bearerToken && !bearerMatches(req.headers.authorization, bearerToken)) {
				return send(res, 401, { error: 'wrong or missing bearer token' });
			}
			if (signingSecret) {
				const problem = verifySignature(rawBody, req.headers, signingSecret);
				if (problem) {
					console.warn(`refused a request: ${problem}`);
					return send(res, 401, { error: problem });
				}
			}
			let request;
			try {
				request = JSON.parse(rawBody.toString('utf8'));
			} catch {
				return send(res, 400, { error: 'body is not JSON' });
			}
			if (alreadyAnswered(request.message_id)) {
				return send(res, 200, { type: 'no_reply', reason: 'duplicate: this message was already answered' });
			}

			const answer = reply(request);
			if (request.message_id) answered.set(request.message_id, Date.now());
			if (wantsLateReply(request) && request.reply_callback) {
				sendLate(request.reply_callback, 'Thanks for waiting: here is the late answer.', lateReplyMs);
			}
			return send(res, 200, typeof answer === 'string' ? { content: answer } : answer);
		});
	});
}

module.exports = { createAgent, verifySignature, reply, wantsLateReply };

if (require.main === module) {
	const port = Number(process.env.PORT || 3000);
	const host = process.env.HOST || '0.0.0.0';
	const server = createAgent({
		signingSecret: process.env.SIGNING_SECRET,
		bearerToken: process.env.BEARER_TOKEN,
		lateReplyMs: process.env.LATE_REPLY_MS === undefined ? undefined : Number(process.env.LATE_REPLY_MS),
	});
	server.listen(port, host, () => {
		const { port: actual } = server.address();
		console.log(`example agent listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}`);
		console.log(`signature check: ${process.env.SIGNING_SECRET ? 'on' : 'off (set SIGNING_SECRET)'}; bearer token: ${process.env.BEARER_TOKEN ? 'required' : 'off'}`);
	});
	const stop = () => {
		server.close(() => process.exit(0));
		if (server.closeAllConnections) server.closeAllConnections();
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}
