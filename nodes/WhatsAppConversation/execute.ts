/**
 * WhatsApp Conversation: reads and changes the conversations Call External Agent keeps
 * (SPEC §10), from any workflow: a human inbox resuming the bot, a Slack command pausing it,
 * a privacy request erasing a customer's history.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { conversationKey, customerOf } from '../../core/conversation-state';
import { openConversations } from '../shared/conversations';
import type { ConversationOperation } from './description';

function field(item: INodeExecutionData, name: string): string {
	const value = (item.json as IDataObject)[name];
	return typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
}

function target(context: IExecuteFunctions, item: INodeExecutionData, itemIndex: number): { customer: string; phoneNumberId: string } {
	const given = String(context.getNodeParameter('customer', itemIndex, '') ?? '').trim();
	const raw = given || field(item, 'phone_number') || field(item, 'to') || field(item, 'waId');
	const customer = customerOf({ phone_number: /^[+\d\s().-]+$/.test(raw) ? `+${raw.replace(/[^\d]/g, '')}` : raw });
	const phoneNumberId = String(context.getNodeParameter('phoneNumberId', itemIndex, '') ?? '').trim() || field(item, 'phoneNumberId');
	if (customer === '' || customer === '+') {
		throw new NodeOperationError(context.getNode(), 'No customer: fill in Customer, or feed an item with a phone_number field', { itemIndex });
	}
	if (phoneNumberId === '') {
		throw new NodeOperationError(context.getNode(), 'No business phone number ID: fill in Business Phone Number ID, or feed an item with a phoneNumberId field', {
			itemIndex,
			description: 'Conversations are kept per business number. Its ID is in your Meta app under WhatsApp → API Setup.',
		});
	}
	return { customer, phoneNumberId };
}

export async function executeWhatsAppConversation(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const { conversations, failed } = await openConversations(this);
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const operation = this.getNodeParameter('operation', itemIndex) as ConversationOperation;
			const { customer, phoneNumberId } = target(this, items[itemIndex], itemIndex);
			const key = conversationKey(phoneNumberId, customer);
			const json: IDataObject = { customer, phoneNumberId, operation };
			const reason = String(this.getNodeParameter('reason', itemIndex, '') ?? '').trim() || undefined;
			if (operation === 'erase') {
				json.erased = await conversations.erase(key);
			} else if (operation === 'pause') {
				const minutes = Number(this.getNodeParameter('minutes', itemIndex, 60));
				Object.assign(json, await conversations.pause(key, { minutes, by: 'human', reason }));
			} else if (operation === 'resume') {
				Object.assign(json, await conversations.resume(key, { by: 'human', reason }));
			} else {
				Object.assign(json, await conversations.status(key));
				const turns = Math.max(0, Math.floor(Number(this.getNodeParameter('historyTurns', itemIndex, 20)) || 0));
				json.history = (await conversations.history(key, turns, new Set())) as unknown as IDataObject[];
			}
			output.push({ json, pairedItem: { item: itemIndex } });
		} catch (error) {
			failed(error);
			const nodeError =
				error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error instanceof Error ? error : String(error), { itemIndex });
			if (!this.continueOnFail()) throw nodeError;
			output.push({ json: { ...items[itemIndex].json, error: nodeError.message }, pairedItem: { item: itemIndex } });
		}
	}
	return [output];
}
