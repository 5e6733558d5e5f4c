/**
 * n8n's webhook lifecycle for the trigger (`webhookMethods.default`), called on activation
 * (checkExists, then create when it returns false) and deactivation (delete).
 *
 * Only manual setup exists so far: the user pastes the URL and verify token into Meta's
 * dashboard, so there is nothing to register. checkExists answers true ("nothing to
 * create"), create and delete do nothing, and nothing the user configured in Meta is ever
 * removed. Automatic setup (`webhookSetup: 'automatic'`, Meta webhook overrides) plugs in
 * here: n8n calls these once per `default` webhook (the events POST and the media GET), so
 * they must be idempotent.
 */
import type { IHookFunctions } from 'n8n-workflow';

export type WebhookSetup = 'automatic' | 'manual';

/** The `webhookSetup` parameter; `manual` until automatic setup exists. */
export function webhookSetupOf(context: IHookFunctions): WebhookSetup {
	const value = context.getNodeParameter('webhookSetup', 'manual');
	return value === 'automatic' ? 'automatic' : 'manual';
}

/** Manual setup: the user's Meta configuration is the webhook; there is nothing to create. */
export async function checkExists(this: IHookFunctions): Promise<boolean> {
	return true;
}

/** Manual setup: nothing to register (n8n calls this only when checkExists says false). */
export async function create(this: IHookFunctions): Promise<boolean> {
	return true;
}

/** Manual setup: nothing of ours to remove; the user's Meta settings are left alone. */
export async function deleteWebhook(this: IHookFunctions): Promise<boolean> {
	return true;
}

export const webhookLifecycle = { checkExists, create, delete: deleteWebhook };
