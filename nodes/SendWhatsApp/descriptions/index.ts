import type { INodeProperties } from 'n8n-workflow';

import { optionsProperty, toProperty } from './common';
import { recordInConversationProperties } from './conversation';
import { interactiveProperties } from './interactive';
import { markAsReadProperties } from './markAsRead';
import { messageIdProperty } from './messageId';
import { operationProperty } from './operation';
import { sendAgentReplyProperties } from './sendAgentReply';
import { sendButtonsProperties } from './sendButtons';
import { sendContactProperties } from './sendContact';
import { sendListProperties } from './sendList';
import { sendLocationProperties } from './sendLocation';
import { sendMediaProperties } from './sendMedia';
import { sendReactionProperties } from './sendReaction';
import { sendTemplateProperties } from './sendTemplate';
import { sendTextProperties } from './sendText';

export const sendWhatsAppProperties: INodeProperties[] = [
	operationProperty,
	toProperty,
	...sendAgentReplyProperties,
	...sendTextProperties,
	...sendMediaProperties,
	...sendLocationProperties,
	...sendContactProperties,
	...interactiveProperties,
	...sendButtonsProperties,
	...sendListProperties,
	...sendTemplateProperties,
	messageIdProperty,
	...sendReactionProperties,
	...markAsReadProperties,
	...recordInConversationProperties,
	optionsProperty,
];
