import { NodeOperationError, type ILoadOptionsFunctions, type INodeListSearchResult } from 'n8n-workflow';

import { WhatsAppValidationError } from '../../../core/errors';
import { listMessageTemplates, type TemplatePage } from '../../../core/message-templates';
import { createGraphClient, readCloudAccount } from '../graph';

/** Lists the account's templates for the Template parameter ("From List" mode). */
export async function searchTemplates(
	this: ILoadOptionsFunctions,
	filter?: string,
	paginationToken?: string,
): Promise<INodeListSearchResult> {
	const account = await readCloudAccount(this);
	let page: TemplatePage | undefined;
	let problem: unknown;
	try {
		page = await listMessageTemplates(createGraphClient(this, account, 1), account.businessAccountId, {
			after: paginationToken,
			search: filter,
		});
	} catch (error) {
		problem = error;
	}
	if (!page) {
		throw new NodeOperationError(this.getNode(), problem instanceof Error ? problem.message : String(problem), {
			description: problem instanceof WhatsAppValidationError ? undefined : 'Type the template name instead (By Name).',
		});
	}
	return {
		results: page.templates.map((template) => ({
			name: `${template.name} (${template.language}${template.status === 'APPROVED' ? '' : `, ${template.status.toLowerCase()}`})`,
			value: template.name,
			...(template.category ? { description: template.category } : {}),
		})),
		...(page.next ? { paginationToken: page.next } : {}),
	};
}
