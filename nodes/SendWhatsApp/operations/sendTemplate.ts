import { WhatsAppValidationError } from '../../../core/errors';
import { parameter, type MessageBuilder, type OperationInput } from './types';

function components(input: OperationInput): Array<Record<string, unknown>> {
	const raw = parameter<unknown>(input, 'components', '[]');
	let parsed: unknown = raw;
	if (typeof raw === 'string') {
		if (raw.trim() === '') return [];
		try {
			parsed = JSON.parse(raw);
		} catch {
			parsed = undefined;
		}
	}
	if (!Array.isArray(parsed) || parsed.some((entry) => typeof entry !== 'object' || entry === null || Array.isArray(entry))) {
		throw new WhatsAppValidationError(
			'components: must be a JSON list of component objects, e.g. [{"type": "header", "parameters": [...]}]',
			'components',
		);
	}
	return parsed as Array<Record<string, unknown>>;
}

export const sendTemplate: MessageBuilder = (input) => {
	const variables = parameter<{ parameter?: Array<{ text?: string; name?: string }> }>(input, 'bodyParameters', {}).parameter ?? [];
	const list = components(input);
	if (variables.length > 0 && !list.some((component) => component.type === 'body')) {
		list.push({
			type: 'body',
			parameters: variables.map((variable) => ({
				type: 'text',
				text: variable.text ?? '',
				...((variable.name ?? '').trim() ? { parameter_name: (variable.name ?? '').trim() } : {}),
			})),
		});
	}
	return {
		messages: [
			{
				type: 'template',
				name: String(input.context.getNodeParameter('templateName', input.itemIndex, '', { extractValue: true }) ?? '').trim(),
				language: parameter(input, 'templateLanguage', 'en_US').trim(),
				...(list.length > 0 ? { components: list } : {}),
			},
		],
		field: '',
	};
};
