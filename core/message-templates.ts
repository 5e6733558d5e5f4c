/**
 * The WhatsApp Business Account's message templates (GET /{waba-id}/message_templates), so
 * users pick a template from a list instead of typing its exact name.
 */
import { WhatsAppValidationError } from './errors';
import type { GraphClient } from './graph-client';

export interface MessageTemplateSummary {
	name: string;
	language: string;
	status: string;
	category?: string;
}

export interface TemplatePage {
	templates: MessageTemplateSummary[];
	/** Pass back as `after` for the next page; absent on the last page. */
	next?: string;
}

const PAGE_SIZE = 100;

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export async function listMessageTemplates(
	graph: Pick<GraphClient, 'call'>,
	businessAccountId: string,
	options: { after?: string; search?: string } = {},
): Promise<TemplatePage> {
	const account = (businessAccountId ?? '').trim();
	if (!/^\d+$/.test(account)) {
		throw new WhatsAppValidationError(
			'businessAccountId: listing templates needs the WhatsApp Business Account ID in the WhatsApp Cloud API credential (WhatsApp → API Setup). You can also type the template name.',
			'businessAccountId',
		);
	}
	const qs: Record<string, string | number> = { fields: 'name,language,status,category', limit: PAGE_SIZE };
	if (options.after) qs.after = options.after;
	if (options.search?.trim()) qs.name = options.search.trim();
	const body = await graph.call<unknown>('GET', `${account}/message_templates`, { qs, operation: 'Listing the message templates' });
	const record = (body ?? {}) as { data?: unknown; paging?: { cursors?: { after?: unknown }; next?: unknown } };
	const templates = (Array.isArray(record.data) ? record.data : []).flatMap((entry): MessageTemplateSummary[] => {
		const template = (entry ?? {}) as Record<string, unknown>;
		const name = text(template.name);
		const language = text(template.language);
		if (!name || !language) return [];
		const category = text(template.category);
		return [{ name, language, status: text(template.status) ?? 'UNKNOWN', ...(category ? { category } : {}) }];
	});
	const next = record.paging?.next ? text(record.paging.cursors?.after) : undefined;
	return next ? { templates, next } : { templates };
}
