import { parameter, type MessageBuilder } from './types';

export const sendButtons: MessageBuilder = (input) => {
	const entries = parameter<{ button?: Array<{ title?: string; id?: string }> }>(input, 'buttons', {}).button ?? [];
	const message: Record<string, unknown> = {
		type: 'buttons',
		body: parameter(input, 'body', ''),
		// The id comes back in the customer's tap; the title is a good default.
		buttons: entries.map((entry) => ({ title: entry.title ?? '', id: (entry.id ?? '').trim() || (entry.title ?? '').trim() })),
	};
	const header = parameter(input, 'header', '').trim();
	const footer = parameter(input, 'footer', '').trim();
	if (header) message.header = header;
	if (footer) message.footer = footer;
	return { messages: [message], field: '' };
};
