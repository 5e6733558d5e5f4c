import { WhatsAppValidationError } from '../../../core/errors';
import { itemField, type MessageBuilder } from './types';

/** The canonical `messages` of the item (Call External Agent, Agent Callbacks). */
export const sendAgentReply: MessageBuilder = (input) => {
	if (itemField(input, 'noReply') === true) return { skip: true };
	const messages = itemField(input, 'messages');
	if (messages === undefined || messages === null) {
		throw new WhatsAppValidationError(
			'messages: the incoming item has no "messages" list. Connect this node after Call External Agent or the trigger\'s Agent Callbacks output, or use Send Text.',
			'messages',
		);
	}
	if (Array.isArray(messages) && messages.length === 0) return { skip: true };
	return { messages: Array.isArray(messages) ? messages : [messages], field: 'messages' };
};
