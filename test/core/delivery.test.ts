import { createHash } from 'crypto';

import {
	DeliveryLedger,
	PartialDeliveryError,
	deliverPlan,
	readPreviousDelivery,
	summarizeError,
	type DeliveryReport,
	type SendPart,
} from '../../core/delivery';
import { GraphApiError } from '../../core/graph-errors';
import type { PlannedPart } from '../../core/send-plan';

function plan(texts: string[]): PlannedPart[] {
	return texts.map((text, index) => ({
		part: index + 1,
		parts: texts.length,
		type: 'text',
		message: { type: 'text', text },
		source: 0,
		fingerprint: createHash('sha256').update(`${index}:${text}`).digest('hex'),
	}));
}

/** A send function that records what it sent and fails on the listed calls (1-based). */
function recorder(failOnCalls: number[] = []) {
	const sent: string[] = [];
	let calls = 0;
	const send: SendPart = async (part) => {
		calls++;
		if (failOnCalls.includes(calls)) {
			throw new GraphApiError('Sending the message failed (HTTP 400): (#131047) Re-engagement message.', {
				httpStatus: 400,
				code: 131047,
				title: 'Re-engagement message',
				retryable: false,
				hint: 'send a template',
			});
		}
		const text = (part.message as { text: string }).text;
		sent.push(text);
		return { messageId: `wamid.${text}`, waId: '16505551234' };
	};
	return { send, sent, calls: () => calls };
}

async function failure(promise: Promise<unknown>): Promise<PartialDeliveryError> {
	let error: unknown;
	try {
		await promise;
	} catch (caught) {
		error = caught;
	}
	expect(error).toBeInstanceOf(PartialDeliveryError);
	return error as PartialDeliveryError;
}

const scope = { executionId: 'exec-1', node: 'Send WhatsApp', itemIndex: 0 };

describe('deliverPlan', () => {
	it('sends every part in order and reports each id', async () => {
		const { send, sent } = recorder();
		const results = await deliverPlan(plan(['a', 'b', 'c']), { send, to: '+16505551234' });
		expect(sent).toEqual(['a', 'b', 'c']);
		expect(results.map((result) => [result.part, result.parts, result.messageId, result.type])).toEqual([
			[1, 3, 'wamid.a', 'text'],
			[2, 3, 'wamid.b', 'text'],
			[3, 3, 'wamid.c', 'text'],
		]);
		expect(results.every((result) => result.alreadySent === undefined && result.waId === '16505551234')).toBe(true);
	});

	it('stops at the failed part and reports delivered ids, the failed part, what remains and the readable error', async () => {
		const { send, sent } = recorder([3]);
		const parts = plan(['a', 'b', 'c', 'd', 'e']);
		const error = await failure(deliverPlan(parts, { send, to: '+16505551234', phoneNumberId: '1065' }));
		expect(sent).toEqual(['a', 'b']);
		expect(error.delivered.map((entry) => [entry.part, entry.messageId, entry.fingerprint])).toEqual([
			[1, 'wamid.a', parts[0].fingerprint],
			[2, 'wamid.b', parts[1].fingerprint],
		]);
		expect(error.failedPart).toEqual({ part: 3, parts: 5, type: 'text', fingerprint: parts[2].fingerprint });
		expect(error.remaining.map((entry) => entry.part)).toEqual([4, 5]);
		expect(error.report).toMatchObject({
			to: '+16505551234',
			phoneNumberId: '1065',
			parts: 5,
			error: { code: 131047, httpStatus: 400, title: 'Re-engagement message', hint: 'send a template', retryable: false },
		});
		expect(error.report.error.message).toMatch(/131047/);
		expect(error.cause).toBeInstanceOf(GraphApiError);
		expect(error.message).toMatch(/^Sent 2 of 5 WhatsApp messages, then message 3 failed\. .*131047/);
	});

	it('a rerun with the earlier report sends only the parts not delivered, reporting the earlier ids', async () => {
		const parts = plan(['a', 'b', 'c', 'd']);
		const first = recorder([3]);
		const error = await failure(deliverPlan(parts, { send: first.send, to: '+16505551234' }));
		// The report travels through n8n as JSON (Continue On Fail → loop back).
		const report = JSON.parse(JSON.stringify(error.report)) as DeliveryReport;

		const second = recorder();
		const results = await deliverPlan(parts, { send: second.send, to: '+16505551234', previous: report });
		expect(second.sent).toEqual(['c', 'd']);
		expect(results.map((result) => [result.part, result.messageId, result.alreadySent])).toEqual([
			[1, 'wamid.a', 'previous'],
			[2, 'wamid.b', 'previous'],
			[3, 'wamid.c', undefined],
			[4, 'wamid.d', undefined],
		]);
	});

	it('a second failure keeps the first deliveries in its report', async () => {
		const parts = plan(['a', 'b', 'c', 'd']);
		const first = await failure(deliverPlan(parts, { send: recorder([2]).send }));
		const second = await failure(deliverPlan(parts, { send: recorder([2]).send, previous: first.report }));
		expect(second.delivered.map((entry) => [entry.part, entry.messageId])).toEqual([
			[1, 'wamid.a'],
			[2, 'wamid.b'],
		]);
		expect(second.failedPart.part).toBe(3);
		const third = recorder();
		await deliverPlan(parts, { send: third.send, previous: { delivery: second.report } });
		expect(third.sent).toEqual(['c', 'd']);
	});

	it('a failure on the first part says nothing was sent', async () => {
		const error = await failure(deliverPlan(plan(['a', 'b']), { send: recorder([1]).send }));
		expect(error.delivered).toEqual([]);
		expect(error.message).toMatch(/^Nothing was sent: message 1 of 2 failed\./);
		const single = await failure(deliverPlan(plan(['a']), { send: recorder([1]).send }));
		expect(single.message).toBe('Sending the message failed (HTTP 400): (#131047) Re-engagement message.');
	});

	it('ignores a report made for another recipient', async () => {
		const parts = plan(['a', 'b']);
		const error = await failure(deliverPlan(parts, { send: recorder([2]).send, to: '+16505551234' }));
		const other = recorder();
		await deliverPlan(parts, { send: other.send, to: '+447700900123', previous: error.report });
		expect(other.sent).toEqual(['a', 'b']);
	});

	it('with the ledger, n8n rerunning the node in the same execution never re-sends a delivered part', async () => {
		const ledger = new DeliveryLedger();
		const parts = plan(['a', 'b', 'c']);
		const first = recorder([3]);
		await failure(deliverPlan(parts, { send: first.send, ledger, scope, to: '+16505551234' }));
		expect(first.sent).toEqual(['a', 'b']);

		const retry = recorder();
		const results = await deliverPlan(parts, { send: retry.send, ledger, scope, to: '+16505551234' });
		expect(retry.sent).toEqual(['c']);
		expect(results.map((result) => [result.messageId, result.alreadySent])).toEqual([
			['wamid.a', 'ledger'],
			['wamid.b', 'ledger'],
			['wamid.c', undefined],
		]);

		// Another execution, another item or another recipient is a new send.
		for (const [otherScope, to] of [
			[{ ...scope, executionId: 'exec-2' }, '+16505551234'],
			[{ ...scope, itemIndex: 1 }, '+16505551234'],
			[scope, '+447700900123'],
		] as const) {
			const fresh = recorder();
			await deliverPlan(parts, { send: fresh.send, ledger, scope: otherScope, to });
			expect(fresh.sent).toEqual(['a', 'b', 'c']);
		}
	});

	it('pauses between the parts it sends with the injected sleep, never before the first or for skipped parts', async () => {
		const parts = plan(['a', 'b', 'c', 'd']);
		const events: string[] = [];
		const sleep = async (ms: number) => {
			events.push(`sleep ${ms}`);
		};
		let failedOnce = false;
		const send: SendPart = async (part) => {
			const text = (part.message as { text: string }).text;
			events.push(`send ${text}`);
			if (text === 'c' && !failedOnce) {
				failedOnce = true;
				throw new Error('boom');
			}
			return { messageId: `wamid.${text}` };
		};
		const error = await failure(deliverPlan(parts, { send, sleep, pauseMs: 250 }));
		expect(events).toEqual(['send a', 'sleep 250', 'send b', 'sleep 250', 'send c']);
		events.length = 0;
		await deliverPlan(parts, { send, sleep, pauseMs: 250, previous: error.report });
		expect(events).toEqual(['send c', 'sleep 250', 'send d']);
		events.length = 0;
		await deliverPlan(plan(['x', 'y']), { send, sleep, pauseMs: 0 });
		expect(events).toEqual(['send x', 'send y']);
	});

	it('treats an answer without a message id as a failure', async () => {
		const send: SendPart = async () => ({ messageId: '' });
		const error = await failure(deliverPlan(plan(['a']), { send }));
		expect(error.report.error.message).toMatch(/without a message id/);
	});
});

describe('DeliveryLedger', () => {
	it('forgets after the TTL', () => {
		let now = 1_000;
		const ledger = new DeliveryLedger({ ttlMs: 100, now: () => now });
		ledger.set(scope, 'f1', { messageId: 'wamid.1' });
		now += 99;
		expect(ledger.get(scope, 'f1')).toEqual({ messageId: 'wamid.1' });
		now += 1;
		expect(ledger.get(scope, 'f1')).toBeUndefined();
		expect(ledger.size).toBe(0);
	});

	it('is bounded: the least recently used entry goes first', () => {
		const ledger = new DeliveryLedger({ maxEntries: 2 });
		ledger.set(scope, 'a', { messageId: 'A' });
		ledger.set(scope, 'b', { messageId: 'B' });
		expect(ledger.get(scope, 'a')?.messageId).toBe('A'); // a is now the most recent
		ledger.set(scope, 'c', { messageId: 'C' });
		expect(ledger.size).toBe(2);
		expect(ledger.get(scope, 'b')).toBeUndefined();
		expect(ledger.get(scope, 'a')?.messageId).toBe('A');
		expect(ledger.get(scope, 'c')?.messageId).toBe('C');
	});

	it('stays bounded under many entries', () => {
		const ledger = new DeliveryLedger({ maxEntries: 100 });
		for (let index = 0; index < 10_000; index++) ledger.set({ ...scope, itemIndex: index }, 'f', { messageId: String(index) });
		expect(ledger.size).toBe(100);
		expect(ledger.get({ ...scope, itemIndex: 9_999 }, 'f')?.messageId).toBe('9999');
		expect(ledger.get({ ...scope, itemIndex: 0 }, 'f')).toBeUndefined();
	});
});

describe('readPreviousDelivery', () => {
	it('ignores anything malformed', () => {
		for (const value of [undefined, null, 'x', 3, {}, { delivered: 'x' }, { delivered: [null, 1, { fingerprint: 'f' }, { messageId: 'm' }, { fingerprint: 'f', messageId: '' }] }]) {
			expect(readPreviousDelivery(value).size).toBe(0);
		}
	});

	it('reads the delivered fingerprints', () => {
		const found = readPreviousDelivery({ delivered: [{ part: 1, parts: 2, type: 'text', fingerprint: 'f1', messageId: 'wamid.1' }] });
		expect([...found.keys()]).toEqual(['f1']);
		expect(found.get('f1')?.messageId).toBe('wamid.1');
	});
});

describe('summarizeError', () => {
	it('keeps the readable fields only', () => {
		expect(summarizeError(new Error('plain'))).toEqual({ message: 'plain' });
		expect(summarizeError('text')).toEqual({ message: 'text' });
	});
});
