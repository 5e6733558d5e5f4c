import { createHmac } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';

import {
	SIGNATURE_HEADER,
	TIMESTAMP_HEADER,
	TIMESTAMP_SIGNATURE_HEADER,
	agentCredentialProblems,
	agentRequestHeaders,
	buildAgentRequestBody,
	missingCustomerReason,
	serializeAgentRequestBody,
	signAgentRequest,
	verifyAgentSignature,
} from '../../core/agent-request';
import { normalizeWebhook } from '../../core/inbound-normalizer';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures/webhooks', name), 'utf8'));
const hooks = {
	replyCallback: () => 'https://n8n.example.com/webhook/abc/reply?token=t',
	mediaUrl: () => 'https://n8n.example.com/webhook/abc/media?token=m',
};
const triggerItem = (name: string) => normalizeWebhook(fixture(name), hooks).messages[0] as unknown as Record<string, unknown>;

const BODY_KEYS = [
	'message', 'image', 'phone_number', 'reply_callback', 'message_id', 'type', 'name', 'timestamp', 'media',
	'location', 'contacts', 'interactive', 'button', 'reaction', 'order', 'referral', 'context', 'conversation_id',
	'phone_number_id', 'display_phone_number', 'messages', 'history',
];

describe('buildAgentRequestBody', () => {
	it('maps a trigger text message to the BYOA fields', () => {
		const item = triggerItem('text.json');
		const body = buildAgentRequestBody(item);
		expect(Object.keys(body)).toEqual(BODY_KEYS);
		expect(body).toMatchObject({
			message: item.message,
			image: null,
			phone_number: item.phone_number,
			reply_callback: 'https://n8n.example.com/webhook/abc/reply?token=t',
			message_id: item.messageId,
			type: 'text',
			name: item.contactName,
			timestamp: item.timestamp,
			conversation_id: item.phone_number,
			phone_number_id: item.phoneNumberId,
			display_phone_number: item.displayPhoneNumber,
			media: null,
			location: null,
			contacts: null,
		});
		expect(typeof body.message).toBe('string');
		expect(body.message.length).toBeGreaterThan(0);
		expect(body.phone_number).toMatch(/^\+\d+$/);
	});

	it('carries the image link and media details of an image message', () => {
		const item = triggerItem('image.json');
		const body = buildAgentRequestBody(item);
		expect(body.type).toBe('image');
		expect(body.image).toBe('https://n8n.example.com/webhook/abc/media?token=m');
		expect(body.media).toEqual(item.media);
	});

	it.each([
		['location.json', 'location'],
		['contacts.json', 'contacts'],
		['interactive-button-reply.json', 'interactive'],
		['reaction.json', 'reaction'],
		['text-reply-forwarded.json', 'context'],
	] as const)('%s carries %s', (file, field) => {
		const item = triggerItem(file);
		const body = buildAgentRequestBody(item);
		expect(item[field]).toBeDefined();
		expect(body[field]).toEqual(item[field]);
	});

	it('is tolerant of items that lack fields: null, never undefined', () => {
		const body = buildAgentRequestBody({ phone_number: '+15550001111' });
		expect(Object.keys(body)).toEqual(BODY_KEYS);
		for (const key of BODY_KEYS) expect(body[key as keyof typeof body]).not.toBeUndefined();
		expect(body).toMatchObject({ message: '', image: null, reply_callback: null, message_id: null, conversation_id: '+15550001111' });
		// SPEC §10: one message is a burst of one; no conversations kept, no history.
		expect(body.messages).toEqual([{ phone_number: '+15550001111' }]);
		expect(body.history).toBeNull();
		expect(JSON.parse(serializeAgentRequestBody(body))).toEqual(body);
	});

	it('accepts items already written in the agent\'s snake_case', () => {
		const body = buildAgentRequestBody({ phone_number: '+1', message: 'hi', message_id: 'wamid.X', reply_callback: 'https://cb', name: 'Ana' });
		expect(body).toMatchObject({ message_id: 'wamid.X', reply_callback: 'https://cb', name: 'Ana' });
	});

	it('adds raw only when asked', () => {
		const item = triggerItem('text.json');
		expect('raw' in buildAgentRequestBody(item)).toBe(false);
		expect(buildAgentRequestBody(item, { includeRaw: true }).raw).toEqual(item.raw);
	});
});

describe('missingCustomerReason', () => {
	it('accepts a trigger message item', () => {
		expect(missingCustomerReason(triggerItem('text.json'))).toBeUndefined();
	});

	it('names the Statuses output when fed a status item', () => {
		const status = normalizeWebhook(fixture('status-delivered.json')).statuses[0] as unknown as Record<string, unknown>;
		expect(missingCustomerReason(status)).toMatch(/status update \("delivered"\).*Messages output.*not its Statuses output/);
	});

	it('names an agent callback item', () => {
		expect(missingCustomerReason({ phone_number: '', messages: [], callback: {} })).toMatch(/agent callback/);
	});

	it('lists what an unrelated item has', () => {
		expect(missingCustomerReason({ foo: 1, bar: 2 })).toMatch(/no phone_number.*\(the item has: foo, bar\)/);
		expect(missingCustomerReason({})).toMatch(/the item is empty/);
	});
});

describe('signing and verification', () => {
	const secret = 's3cret-signing-key-0123456789';
	const body = serializeAgentRequestBody(buildAgentRequestBody({ phone_number: '+1', message: 'Grüße 👋 "quoted" \\ </script>', messageId: 'wamid.1' }));
	const now = 1_760_000_000_000;

	it('X-Signature-256 is the HMAC of the exact body bytes (UTF-8)', () => {
		const headers = signAgentRequest(body, secret, now / 1000);
		const expected = createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex');
		expect(headers[SIGNATURE_HEADER]).toBe(`sha256=${expected}`);
		expect(headers[TIMESTAMP_HEADER]).toBe(String(now / 1000));
		const bound = createHmac('sha256', secret).update(`${now / 1000}.${body}`).digest('hex');
		expect(headers[TIMESTAMP_SIGNATURE_HEADER]).toBe(`sha256=${bound}`);
	});

	it('verifies a genuine, fresh request (headers in any case, body as Buffer or string)', () => {
		const headers = signAgentRequest(body, secret, now / 1000);
		const lower = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));
		expect(verifyAgentSignature(Buffer.from(body), lower, secret, { now: () => now + 10_000 })).toEqual({ ok: true, timestamp: now / 1000 });
		expect(verifyAgentSignature(body, headers, secret, { now: () => now - 10_000 }).ok).toBe(true);
	});

	it.each([
		['no signature', (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: '' }), body, 'missing-signature'],
		['a tampered body', (h: Record<string, string>) => h, body.replace('wamid.1', 'wamid.2'), 'bad-signature'],
		['another secret', (h: Record<string, string>) => ({ ...h, ...signAgentRequest(body, 'other-secret-0123456789', now / 1000) }), body, 'bad-signature'],
		['no timestamp', (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: '' }), body, 'missing-timestamp'],
		['a replay with a new timestamp', (h: Record<string, string>) => ({ ...h, [TIMESTAMP_HEADER]: String(now / 1000 + 100) }), body, 'bad-timestamp-signature'],
		['no timestamp signature', (h: Record<string, string>) => ({ ...h, [TIMESTAMP_SIGNATURE_HEADER]: '' }), body, 'bad-timestamp-signature'],
		['a malformed signature', (h: Record<string, string>) => ({ ...h, [SIGNATURE_HEADER]: 'sha256=zz' }), body, 'bad-signature'],
	])('refuses %s', (_name, change, sentBody, reason) => {
		const headers = change(signAgentRequest(body, secret, now / 1000));
		const check = verifyAgentSignature(sentBody, headers, secret, { now: () => now });
		expect(check).toMatchObject({ ok: false, reason });
	});

	it('refuses an old request (replayed as is) and one from the future', () => {
		const headers = signAgentRequest(body, secret, now / 1000);
		expect(verifyAgentSignature(body, headers, secret, { now: () => now + 301_000 })).toMatchObject({ ok: false, reason: 'stale-timestamp' });
		expect(verifyAgentSignature(body, headers, secret, { now: () => now - 301_000 })).toMatchObject({ ok: false, reason: 'stale-timestamp' });
		expect(verifyAgentSignature(body, headers, secret, { now: () => now + 59_000, toleranceSec: 60 }).ok).toBe(true);
		expect(verifyAgentSignature(body, headers, secret, { now: () => now + 61_000, toleranceSec: 60 }).ok).toBe(false);
	});

	it('headers: JSON content type and the message id as idempotency key', () => {
		expect(agentRequestHeaders(buildAgentRequestBody({ phone_number: '+1', messageId: 'wamid.9' }))).toMatchObject({
			'Content-Type': 'application/json; charset=utf-8',
			'Idempotency-Key': 'wamid.9',
		});
		expect('Idempotency-Key' in agentRequestHeaders(buildAgentRequestBody({ phone_number: '+1' }))).toBe(false);
	});
});

describe('agentCredentialProblems', () => {
	it.each([
		[{ authentication: 'none' }, []],
		[{}, []],
		[{ authentication: 'bearer', bearerToken: 'abc123' }, []],
		[{ authentication: 'header', headerName: 'X-API-Key', headerValue: 'k' }, []],
		[{ authentication: 'bearer', bearerToken: '' }, [/Bearer Token is empty/]],
		[{ authentication: 'bearer', bearerToken: 'Bearer abc' }, [/starts with "Bearer "/]],
		[{ authentication: 'bearer', bearerToken: 'abc def' }, [/spaces/]],
		[{ authentication: 'header', headerName: '', headerValue: '' }, [/Header Name is empty/, /Header Value is empty/]],
		[{ authentication: 'header', headerName: 'X API Key:', headerValue: 'v' }, [/not a valid HTTP header name/]],
		[{ authentication: 'header', headerName: 'X-Signature-256', headerValue: 'v' }, [/set by this node itself/]],
		[{ authentication: 'none', signingSecret: 'short' }, [/shorter than 16/]],
		[{ authentication: 'oauth' }, [/not one of/]],
	] as Array<[Record<string, unknown>, RegExp[]]>)('%j', (data, expected) => {
		const problems = agentCredentialProblems(data);
		expect(problems).toHaveLength(expected.length);
		expected.forEach((pattern, index) => expect(problems[index]).toMatch(pattern));
	});

	it('never repeats a secret', () => {
		const problems = agentCredentialProblems({ authentication: 'bearer', bearerToken: 'Bearer topsecret-value', signingSecret: 'tiny-secret' });
		expect(problems.join(' ')).not.toContain('topsecret-value');
		expect(problems.join(' ')).not.toContain('tiny-secret');
	});
});
