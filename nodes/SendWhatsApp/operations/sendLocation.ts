import { WhatsAppValidationError } from '../../../core/errors';
import { parameter, type MessageBuilder, type OperationInput } from './types';

/** "37.44", "37,44" (a decimal comma) or a number; empty is refused rather than read as 0. */
function coordinate(input: OperationInput, name: string): number | string {
	const value = parameter<unknown>(input, name, '');
	if (typeof value === 'number') return value;
	const text = String(value ?? '').trim();
	if (text === '') throw new WhatsAppValidationError(`${name}: ${name} is required`, name);
	return /^-?\d+,\d+$/.test(text) ? text.replace(',', '.') : text;
}

export const sendLocation: MessageBuilder = (input) => {
	const message: Record<string, unknown> = {
		type: 'location',
		latitude: coordinate(input, 'latitude'),
		longitude: coordinate(input, 'longitude'),
	};
	const name = parameter(input, 'locationName', '').trim();
	const address = parameter(input, 'address', '').trim();
	if (name) message.name = name;
	if (address) message.address = address;
	return { messages: [message], field: '' };
};
