import { parameter, type MessageBuilder } from './types';

interface RowParameters {
	title?: string;
	description?: string;
	id?: string;
	section?: string;
}

/** Rows sharing a section title become one section, in the order the titles first appear. */
function sectionsOf(rows: RowParameters[]) {
	const sections: Array<{ title?: string; rows: Array<Record<string, string>> }> = [];
	for (const entry of rows) {
		const title = (entry.section ?? '').trim() || undefined;
		let section = sections.find((candidate) => candidate.title === title);
		if (!section) {
			section = { ...(title ? { title } : {}), rows: [] };
			sections.push(section);
		}
		const rowTitle = entry.title ?? '';
		const description = (entry.description ?? '').trim();
		section.rows.push({
			id: (entry.id ?? '').trim() || rowTitle.trim(),
			title: rowTitle,
			...(description ? { description } : {}),
		});
	}
	return sections;
}

export const sendList: MessageBuilder = (input) => {
	const rows = parameter<{ row?: RowParameters[] }>(input, 'rows', {}).row ?? [];
	const message: Record<string, unknown> = {
		type: 'list',
		body: parameter(input, 'body', ''),
		buttonText: parameter(input, 'buttonText', 'Choose'),
		sections: sectionsOf(rows),
	};
	const header = parameter(input, 'header', '').trim();
	const footer = parameter(input, 'footer', '').trim();
	if (header) message.header = header;
	if (footer) message.footer = footer;
	return { messages: [message], field: '' };
};
