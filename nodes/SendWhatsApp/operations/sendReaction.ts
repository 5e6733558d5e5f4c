import { WhatsAppValidationError } from '../../../core/errors';
import { itemString, parameter, type MessageBuilder } from './types';

export const sendReaction: MessageBuilder = (input) => {
	const messageId = parameter(input, 'messageId', '').trim() || itemString(input, 'messageId');
	if (!messageId) {
		throw new WhatsAppValidationError(
			"messageId: no message to react to: set Message ID, or feed an item with a messageId field (the WhatsApp Agent Trigger's messages have one)",
			'messageId',
		);
	}
	return { messages: [{ type: 'reaction', messageId, emoji: parameter(input, 'emoji', '').trim() }], field: '' };
};
