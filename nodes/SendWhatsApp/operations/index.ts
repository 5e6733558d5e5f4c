import type { Operation } from '../descriptions/operation';
import { sendAgentReply } from './sendAgentReply';
import { sendButtons } from './sendButtons';
import { sendContact } from './sendContact';
import { sendList } from './sendList';
import { sendLocation } from './sendLocation';
import { sendMedia } from './sendMedia';
import { sendReaction } from './sendReaction';
import { sendTemplate } from './sendTemplate';
import { sendText } from './sendText';
import type { MessageBuilder } from './types';

/** What each sending operation sends for one item (Mark as Read sends no message: see markAsRead.ts). */
export const MESSAGE_BUILDERS: Record<Exclude<Operation, 'markAsRead'>, MessageBuilder> = {
	sendAgentReply,
	sendText,
	sendMedia,
	sendLocation,
	sendContact,
	sendButtons,
	sendList,
	sendTemplate,
	sendReaction,
};
