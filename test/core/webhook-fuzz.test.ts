/**
 * Fuzz: thousands of randomly mutated Meta webhook bodies through signature check, parse,
 * normalize and select, exactly the path of a POST. Nothing may throw, and what comes out
 * must still be well-formed items n8n can store.
 */
import { createHash } from 'crypto';
import fc from 'fast-check';

import { DedupCache } from '../../core/dedup-cache';
import { normalizeWebhook, selectWebhookItems, type NormalizeHooks, type NormalizedWebhook } from '../../core/inbound-normalizer';
import { SignedTokens } from '../../core/signed-token';
import { verifyWebhookSignature } from '../../core/webhook-signature';
import { fixtureNames, loadFixture, serializeLikeMeta, signLikeMeta } from '../fakes/meta-webhook';
import { WebhookMutator } from '../fakes/webhook-mutator';

const SECRET = createHash('md5').update('fuzz app secret').digest('hex');
const tokens = new SignedTokens({ secret: SECRET });
const hooks: NormalizeHooks = {
	replyCallback: (claims) => {
		const token = tokens.replyCallbackToken(claims);
		return token && `https://n8n.test/reply?token=${token}`;
	},
	mediaUrl: (claims) => {
		const token = tokens.mediaLinkToken(claims);
		return token && `https://n8n.test/media?token=${token}`;
	},
};

function checkShape(result: NormalizedWebhook): void {
	for (const item of result.messages) {
		expect(typeof item.message).toBe('string');
		expect(typeof item.type).toBe('string');
		expect(typeof item.phone_number).toBe('string');
		expect(typeof item.messageId).toBe('string');
		expect(item.timestamp === null || !Number.isNaN(Date.parse(item.timestamp))).toBe(true);
		if (item.reply_callback !== null) {
			const verified = tokens.verifyReplyCallbackToken(new URL(item.reply_callback).searchParams.get('token'));
			expect(verified.ok).toBe(true);
		}
	}
	for (const item of [...result.statuses, ...result.errors]) {
		expect(typeof item.status).toBe('string');
		expect(Array.isArray(item.errors)).toBe(true);
	}
	// n8n stores items as JSON.
	expect(() => JSON.stringify(result)).not.toThrow();
}

/** What the trigger does with one POST body, in the core. */
function handle(text: string): void {
	const raw = Buffer.from(text, 'utf8');
	const check = verifyWebhookSignature(raw, signLikeMeta(raw, SECRET), SECRET);
	expect(check.ok).toBe(true);
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		return; // n8n answers 422 before the node runs
	}
	const result = normalizeWebhook(body, hooks);
	checkShape(result);
	selectWebhookItems(result, { phoneNumberIds: new Set(['106540352242922']), statuses: new Set(['read', 'other']), seen: new DedupCache() });
	expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
}

describe('webhook fuzz (core)', () => {
	const bases = fixtureNames().map((name) => loadFixture(name));

	it('5000 seeded mutations of every fixture: no exception, well-formed items', () => {
		const mutator = new WebhookMutator(20260501);
		let parsed = 0;
		let emitted = 0;
		for (let run = 0; run < 5000; run++) {
			const mutated = mutator.mutate(mutator.pick(bases));
			const { text, intact } = mutator.serialise(mutated);
			const wire = intact ? serializeLikeMeta(JSON.parse(text)) : text;
			handle(wire);
			if (intact) {
				parsed++;
				const result = normalizeWebhook(JSON.parse(wire), hooks);
				emitted += result.messages.length + result.statuses.length + result.errors.length;
			}
		}
		// The mutations keep most bodies recognisable, so the normalizer was really exercised.
		expect(parsed).toBeGreaterThan(4000);
		expect(emitted).toBeGreaterThan(2000);
	});

	it('arbitrary JSON values anywhere (fast-check)', () => {
		const base = loadFixture('batch');
		fc.assert(
			fc.property(fc.jsonValue(), fc.nat(1000), (value, position) => {
				const mutator = new WebhookMutator(position);
				const body = mutator.mutate(base) as any;
				// Splice the arbitrary value into a message, a value and the root.
				const message = body?.entry?.[0]?.changes?.[0]?.value?.messages?.[0];
				if (message && typeof message === 'object') message[mutator.pick(['text', 'image', 'interactive', 'context', 'from', 'type', 'timestamp', 'contacts', 'order', 'reaction'])] = value;
				handle(JSON.stringify(body));
				handle(JSON.stringify(value));
				handle(JSON.stringify({ object: 'whatsapp_business_account', entry: value }));
				return true;
			}),
			{ numRuns: 1000 },
		);
	});
});
