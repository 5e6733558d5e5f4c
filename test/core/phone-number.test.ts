import { WhatsAppValidationError } from '../../core/errors';
import { isBusinessScopedUserId, normalizeRecipient, recipientLabel } from '../../core/phone-number';

describe('normalizeRecipient', () => {
	it.each([
		['+1 (650) 555-1234', '+16505551234'],
		['+16505551234', '+16505551234'],
		['16505551234', '+16505551234'], // WhatsApp's own wa_id form: digits with the country code
		['0044 20 7946 0958', '+442079460958'],
		['+44.20.7946.0958', '+442079460958'],
		['  +49 30 1234567  ', '+49301234567'],
		['+33\u00a06\u00a012\u00a034\u00a056\u00a078', '+33612345678'], // non-breaking spaces from spreadsheets
		['+34–612–345–678', '+34612345678'], // en dashes
		['whatsapp:+5511987654321', '+5511987654321'],
		['+1234567', '+1234567'], // 7 digits: the shortest accepted
		['+123456789012345', '+123456789012345'], // 15 digits: E.164's maximum
	])('%j → %s', (input, expected) => {
		expect(normalizeRecipient(input)).toEqual({ to: expected });
	});

	it('puts a business-scoped user id into `recipient` (2026 usernames)', () => {
		expect(normalizeRecipient('US.13491208655302741918')).toEqual({ recipient: 'US.13491208655302741918' });
		expect(normalizeRecipient(' BR.abcDEF123456 ')).toEqual({ recipient: 'BR.abcDEF123456' });
		expect(isBusinessScopedUserId('US.13491208655302741918')).toBe(true);
		expect(isBusinessScopedUserId('+16505551234')).toBe(false);
	});

	it.each([
		['', /required/],
		['   ', /required/],
		['hello', /not a phone number/],
		['+1 650 CALL NOW', /not a phone number/],
		['+1 650 555 1234 ext 5', /not a phone number/],
		['+12345', /too short/],
		['123456', /too short/],
		['+1234567890123456', /too long/],
		['020 7946 0958', /national number.*country code/], // never guess a country: it could reach a stranger
		['+0 650 555 1234', /country code never starts with 0/],
		['+1+6505551234', /not a phone number/],
		['us.1234', /not a phone number/],
	])('refuses %j naming the field', (input, reason) => {
		let error: unknown;
		try {
			normalizeRecipient(input, 'phone_number');
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(WhatsAppValidationError);
		expect((error as WhatsAppValidationError).field).toBe('phone_number');
		expect((error as Error).message).toMatch(/^phone_number: /);
		expect((error as Error).message).toMatch(reason);
	});

	it('uses `to` as the default field name and refuses non-strings', () => {
		expect(() => normalizeRecipient(undefined as unknown as string)).toThrow(/^to: .*required/);
		expect(() => normalizeRecipient(16505551234 as unknown as string)).toThrow(WhatsAppValidationError);
	});

	it('never prepends a country code: the digits given are the whole number', () => {
		const { to } = normalizeRecipient('6505551234') as { to: string };
		expect(to).toBe('+6505551234');
	});

	it('labels either kind of recipient', () => {
		expect(recipientLabel({ to: '+16505551234' })).toBe('+16505551234');
		expect(recipientLabel({ recipient: 'US.1349120865530' })).toBe('US.1349120865530');
	});
});
