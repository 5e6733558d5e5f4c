import type { INodeExecutionData } from 'n8n-workflow';

import { WhatsAppValidationError } from '../../../core/errors';
import type { GraphClient } from '../../../core/graph-client';
import { itemString, parameter, type OperationInput } from './types';

/**
 * Marks the customer's message as read (and shows "typing…" when asked), then passes the item
 * on unchanged plus `markedAsRead: true`, so the next node still sees the customer's message.
 */
export async function markAsRead(
	input: OperationInput,
	graph: Pick<GraphClient, 'markAsRead'>,
	phoneNumberId: string,
): Promise<INodeExecutionData> {
	const messageId = parameter(input, 'messageId', '').trim() || itemString(input, 'messageId');
	if (!messageId) {
		throw new WhatsAppValidationError(
			"messageId: no message to mark as read: set Message ID, or feed an item with a messageId field (the WhatsApp Agent Trigger's messages have one)",
			'messageId',
		);
	}
	const typing = parameter(input, 'typingIndicator', true);
	await graph.markAsRead(phoneNumberId, messageId, { typing });
	return {
		json: { ...input.item.json, markedAsRead: true },
		...(input.item.binary ? { binary: input.item.binary } : {}),
		pairedItem: { item: input.itemIndex },
	};
}
