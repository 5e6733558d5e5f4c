import { parameter, type MessageBuilder } from './types';

export const sendText: MessageBuilder = (input) => ({
	messages: [{ type: 'text', text: parameter(input, 'text', '') }],
	field: '',
});
