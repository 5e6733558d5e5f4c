import { readFileSync } from 'fs';
import { join } from 'path';

import { conversationEvents, identityChangeEvent } from '../../core/conversation-events';
import { normalizeWebhook } from '../../core/inbound-normalizer';
import { customerOf } from '../../core/conversation-state';

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures', name), 'utf8'));
const WHERE = { phoneNumberId: '106540352242922', displayPhoneNumber: '15550783881' };

describe('conversation events (SPEC §10)', () => {
	it('an echo is a human turn addressed to the customer the business app answered', () => {
		const [event] = normalizeWebhook(fixture('conversation-events/smb-message-echoes.json')).events;
		expect(event).toMatchObject({
			event: 'echo',
			role: 'human',
			phone_number: '+16505551234',
			waId: '16505551234',
			messageId: 'wamid.HBgLMTY1MDUwNzY1MjAVAgARGBJFQ0hPMDAwMDAwMDAwMDAwMQA=',
			type: 'text',
			message: "Hi Sheena, this is Marco from the shop. I'll take it from here.",
			timestamp: '2025-12-06T10:00:00.000Z',
			...WHERE,
		});
		// Keyed like the customer's own messages.
		expect(customerOf(event)).toBe('16505551234');
		expect(normalizeWebhook(fixture('conversation-events/smb-message-echoes.json')).messages).toEqual([]);
	});

	it('a history backfill tells the customer from the business by the thread', () => {
		const events = normalizeWebhook(fixture('conversation-events/history.json')).events;
		expect(events.map((event) => [event.event, event.role, event.phone_number, event.message])).toEqual([
			['history', 'customer', '+16505551234', 'Do you still have the blue vase?'],
			['history', 'human', '+16505551234', 'Yes, one left.'],
		]);
	});

	it('media and other types become a readable summary; entries of the wrong shape are skipped', () => {
		const events = conversationEvents('smb_message_echoes', {
			message_echoes: [
				{ to: '16505551234', id: 'wamid.I', type: 'image', image: { caption: 'Your receipt' }, timestamp: '1765015200' },
				{ to: '16505551234', id: 'wamid.S', type: 'sticker', sticker: {} },
				'not an object',
				{ id: 'wamid.NOBODY', type: 'text', text: { body: 'to nobody' } },
			],
		}, WHERE);
		expect(events.map((event) => event.message)).toEqual(['Your receipt', '[sticker message]']);
	});

	it('a changed number moves the conversation from the old number to the new one', () => {
		const [event] = normalizeWebhook(fixture('webhooks/system.json')).events;
		expect(event).toMatchObject({ event: 'identity_change', previousCustomer: '16505551234', phone_number: '+12195555358' });
	});

	it('a changed business-scoped user id (a customer without a number) moves it too', () => {
		const event = identityChangeEvent(
			{ from_user_id: 'US.1111', id: 'wamid.U', type: 'system', system: { type: 'user_changed_user_id', user_id: 'US.2222', body: 'User changed' } },
			WHERE,
		);
		expect(event).toMatchObject({ previousCustomer: 'US.1111', phone_number: 'US.2222', userId: 'US.2222', waId: null });
		expect(customerOf(event!)).toBe('US.2222');
		expect(identityChangeEvent({ type: 'system', system: { type: 'something_else' } }, WHERE)).toBeUndefined();
		expect(identityChangeEvent({ type: 'text', text: { body: 'hi' } }, WHERE)).toBeUndefined();
	});
});
