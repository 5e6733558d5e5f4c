import { WhatsAppValidationError } from '../../core/errors';
import { listMessageTemplates } from '../../core/message-templates';

function graphAnswering(body: unknown) {
	const calls: Array<{ method: string; path: string; options: unknown }> = [];
	return {
		calls,
		graph: {
			call: async <T>(method: string, path: string, options?: unknown): Promise<T> => {
				calls.push({ method, path, options });
				return body as T;
			},
		},
	};
}

describe('listMessageTemplates', () => {
	it('asks for one page of templates and keeps the readable fields', async () => {
		const { graph, calls } = graphAnswering({
			data: [
				{ name: 'hello_world', language: 'en_US', status: 'APPROVED', category: 'UTILITY', components: [] },
				{ name: 'no_language' },
				null,
				{ name: 'draft', language: 'de' },
			],
			paging: { cursors: { after: 'NEXT' }, next: 'https://graph.facebook.com/…' },
		});
		const page = await listMessageTemplates(graph, ' 102290129340398 ', { search: ' order ', after: 'PREV' });
		expect(page).toEqual({
			templates: [
				{ name: 'hello_world', language: 'en_US', status: 'APPROVED', category: 'UTILITY' },
				{ name: 'draft', language: 'de', status: 'UNKNOWN' },
			],
			next: 'NEXT',
		});
		expect(calls).toEqual([
			{
				method: 'GET',
				path: '102290129340398/message_templates',
				options: {
					qs: { fields: 'name,language,status,category', limit: 100, after: 'PREV', name: 'order' },
					operation: 'Listing the message templates',
				},
			},
		]);
	});

	it('has no next page without paging.next', async () => {
		const { graph } = graphAnswering({ data: [], paging: { cursors: { after: 'X' } } });
		expect(await listMessageTemplates(graph, '1')).toEqual({ templates: [] });
		expect(await listMessageTemplates(graphAnswering('odd').graph, '1')).toEqual({ templates: [] });
	});

	it.each(['', '  ', 'abc', '12/34'])('refuses business account id %j, naming the credential field', async (id) => {
		const { graph, calls } = graphAnswering({});
		await expect(listMessageTemplates(graph, id)).rejects.toThrow(WhatsAppValidationError);
		expect(calls).toHaveLength(0);
	});
});
