/**
 * The nodes' way into the conversations (core/conversation-state.ts `Conversations`): rows in
 * an n8n data table, reached through n8n's public API with the `whatsAppConversationsApi`
 * credential, so every n8n process (queue mode included) sees the same conversations.
 */
import { sleep, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import { DataTableConversationRecords, DEFAULT_CONVERSATION_TABLE } from '../../core/conversation-records';
import { Conversations, type RetentionSettings } from '../../core/conversation-state';
import { DataTableApiError, N8nDataTables } from '../../core/n8n-data-tables';
import { authenticatedRequester } from './transport';

export const CONVERSATIONS_CREDENTIAL = 'whatsAppConversationsApi';

/** How long a handoff keeps the bot out when no node setting says otherwise (Call External Agent's default). */
export const DEFAULT_HANDOFF_PAUSE_MINUTES = 60;

export interface ConversationStore {
	conversations: Conversations;
	/** Call when a store call failed: a deleted table is looked up (or created) again next time. */
	failed(error: unknown): void;
}

export function hasConversationsCredential(context: IExecuteFunctions): boolean {
	return Boolean(context.getNode().credentials?.[CONVERSATIONS_CREDENTIAL]);
}

/** Opens the conversations of the node's credential; throws a readable error without one. */
export async function openConversations(
	context: IExecuteFunctions,
	retention: Partial<RetentionSettings> = {},
): Promise<ConversationStore> {
	const credentials = await context.getCredentials(CONVERSATIONS_CREDENTIAL);
	const baseUrl = String(credentials.baseUrl ?? '').trim().replace(/\/+$/, '');
	const tableName = String(credentials.tableName ?? '').trim() || DEFAULT_CONVERSATION_TABLE;
	if (!/^https?:\/\/[^\s/]+/i.test(baseUrl)) {
		throw new Error('The WhatsApp Conversations credential needs the n8n API URL, for example http://localhost:5678/api/v1');
	}
	const tables = new N8nDataTables({ baseUrl, request: authenticatedRequester(context, CONVERSATIONS_CREDENTIAL, credentials) });
	const records = new DataTableConversationRecords(tables, tableName, baseUrl);
	return {
		conversations: new Conversations(records, { sleep, retention, storeId: `${baseUrl}\u0000${tableName}` }),
		failed(error) {
			if (error instanceof DataTableApiError && error.status === 404) records.forgetTable();
		},
	};
}

/** A number parameter read from an options collection, bounded below. */
export function optionNumber(options: IDataObject, name: string, fallback: number, min = 0): number {
	const value = options[name];
	return typeof value === 'number' && Number.isFinite(value) ? Math.max(min, value) : fallback;
}
