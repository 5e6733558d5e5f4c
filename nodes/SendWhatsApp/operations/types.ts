import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

export interface OperationInput {
	context: IExecuteFunctions;
	itemIndex: number;
	item: INodeExecutionData;
}

/**
 * What an operation wants sent for one item: canonical messages (SPEC §5), still unvalidated,
 * and the name under which problems are reported (`messages` → `messages[1].buttons`; empty →
 * the parameter's own name, e.g. `latitude`). `skip` sends nothing and outputs nothing.
 */
export type MessagesToSend = { messages: unknown[]; field: string } | { skip: true };

export type MessageBuilder = (input: OperationInput) => MessagesToSend;

export function parameter<T>(input: OperationInput, name: string, fallback: T): T {
	return input.context.getNodeParameter(name, input.itemIndex, fallback) as T;
}

export function itemField(input: OperationInput, name: string): unknown {
	return (input.item.json as IDataObject)[name];
}

/** A string field of the item, trimmed; undefined when absent or empty. */
export function itemString(input: OperationInput, name: string): string | undefined {
	const value = itemField(input, name);
	if (typeof value === 'number') return String(value);
	return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
