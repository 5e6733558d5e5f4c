import { parameter, type MessageBuilder } from './types';

interface ContactParameters {
	name?: string;
	phone?: string;
	email?: string;
	company?: string;
	title?: string;
	url?: string;
	birthday?: string;
}

export const sendContact: MessageBuilder = (input) => {
	const entries = parameter<{ contact?: ContactParameters[] }>(input, 'contacts', {}).contact ?? [];
	const contacts = entries.map((entry) =>
		Object.fromEntries(
			Object.entries(entry)
				.map(([key, value]) => [key, typeof value === 'string' ? value.trim() : value])
				.filter(([key, value]) => key === 'name' || (value !== '' && value !== undefined)),
		),
	);
	return { messages: [{ type: 'contacts', contacts }], field: '' };
};
