/**
 * Errors raised by the core. They carry what a user needs to act, never a secret;
 * the nodes wrap them into n8n's NodeOperationError / NodeApiError.
 */

/** Bad input: names the field and the reason. Nothing was sent. */
export class WhatsAppValidationError extends Error {
	constructor(
		message: string,
		/** The offending field, e.g. `messages[1].buttons`. */
		readonly field: string,
	) {
		super(message);
		this.name = 'WhatsAppValidationError';
	}
}
