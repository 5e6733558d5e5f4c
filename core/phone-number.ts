/**
 * Recipient normalisation. Meta accepts `+`, dashes, parentheses and spaces, but a number
 * WITHOUT a leading `+` gets the business number's country code prepended, which can deliver
 * the message to a stranger (reference §3.1). So we always send `+<digits>` and never guess a
 * country code: a national number (leading single 0) is refused with an example instead.
 *
 * 2026: a user who enables a WhatsApp username may be known only by a business-scoped user id
 * (BSUID, `US.13491208655302741918`); Meta takes it in `recipient` instead of `to`.
 */
import { WhatsAppValidationError } from './errors';

export type Recipient = { to: string } | { recipient: string };

const E164_MIN_DIGITS = 7;
const E164_MAX_DIGITS = 15;

/** Country code (2 letters), a dot, then an opaque alphanumeric id. */
const BUSINESS_SCOPED_USER_ID = /^[A-Z]{2}\.[A-Za-z0-9]{6,}$/;

/** Separators people and spreadsheets put in phone numbers. */
const SEPARATORS = /[\s\u00a0\u2000-\u200b\u202f\u2060\-‐-―.()[\]/]/g;

export function isBusinessScopedUserId(input: string): boolean {
	return BUSINESS_SCOPED_USER_ID.test(input.trim());
}

/** The recipient as a display string: `+16505551234` or the business-scoped user id. */
export function recipientLabel(recipient: Recipient): string {
	return 'to' in recipient ? recipient.to : recipient.recipient;
}

/**
 * Returns `{to: "+<digits>"}` for a phone number in any common international notation
 * (`+1 (650) 555-1234`, `0044 20 7946 0958`, `16505551234` as WhatsApp reports it), or
 * `{recipient}` for a business-scoped user id. Throws WhatsAppValidationError naming `field`.
 */
export function normalizeRecipient(input: string, field = 'to'): Recipient {
	const raw = typeof input === 'string' ? input.trim() : '';
	const refuse = (reason: string): never => {
		throw new WhatsAppValidationError(`${field}: ${reason}`, field);
	};
	if (raw === '') {
		refuse('a recipient phone number is required (international format, e.g. +1 650 555 1234)');
	}
	if (isBusinessScopedUserId(raw)) return { recipient: raw };

	const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
	let compact = raw.replace(/^whatsapp:/i, '').replace(SEPARATORS, '');
	if (compact.startsWith('+')) {
		compact = compact.slice(1);
	} else if (compact.startsWith('00')) {
		compact = compact.slice(2);
	} else if (compact.startsWith('0')) {
		refuse(
			`${shown} looks like a national number; write it with its country code, e.g. +44 20 7946 0958 instead of 020 7946 0958`,
		);
	}
	if (!/^\d+$/.test(compact)) {
		refuse(`${shown} is not a phone number: use digits with the country code, e.g. +1 650 555 1234`);
	}
	if (compact.startsWith('0')) {
		refuse(`${shown} is not a valid international number: a country code never starts with 0`);
	}
	if (compact.length < E164_MIN_DIGITS) {
		refuse(`${shown} is too short for an international phone number (country code included)`);
	}
	if (compact.length > E164_MAX_DIGITS) {
		refuse(`${shown} is too long: an international phone number has at most ${E164_MAX_DIGITS} digits`);
	}
	return { to: `+${compact}` };
}
