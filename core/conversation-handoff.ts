/**
 * Human takeover (SPEC §10): a conversation the bot stays out of for a while.
 *
 * It is paused when the agent answers `{"type": "handoff"}`, or when a human answers the
 * customer (in the WhatsApp Business app on a coexistence number, or through Send WhatsApp
 * with "Sent by a Human"); it resumes when the pause ends, when someone resumes it (Send
 * WhatsApp → Resume Bot, from any workflow), or when the human hands back. Pauses and
 * resumes are rows appended to the conversation (conversation-records.ts): the latest one
 * decides, so two processes pausing and resuming at once never leave a half-written state.
 */
import type { ConversationRow, TurnRole } from './conversation-records';

export type PausedBy = 'agent' | 'human';

export interface ConversationStatus {
	paused: boolean;
	/** ISO 8601: when the current pause ends (null when not paused). */
	pausedUntil: string | null;
	/** Who paused it: the agent (a handoff) or a human (a human's reply). */
	pausedBy: PausedBy | null;
	reason: string | null;
	/** ISO 8601: when the latest pause or resume happened (null: never). */
	changedAt: string | null;
}

export const NOT_PAUSED: ConversationStatus = { paused: false, pausedUntil: null, pausedBy: null, reason: null, changedAt: null };

export function pauseRow(conversation: string, options: { at: number; until: number; by: PausedBy; reason?: string }): ConversationRow {
	return {
		kind: 'control',
		conversation,
		role: options.by as TurnRole,
		messageId: '',
		type: 'pause',
		text: options.reason ?? '',
		timestamp: new Date(options.at).toISOString(),
		at: options.at,
		burst: '-',
		until: options.until,
		payload: '',
	};
}

export function resumeRow(conversation: string, options: { at: number; by: TurnRole; reason?: string }): ConversationRow {
	return { ...pauseRow(conversation, { at: options.at, until: 0, by: 'human', reason: options.reason }), role: options.by, type: 'resume' };
}

/** The conversation's status from its control rows (any order), at `now`. */
export function statusFromRows(rows: ConversationRow[], now: number): ConversationStatus {
	let latest: ConversationRow | undefined;
	for (const row of rows) {
		if (row.kind !== 'control') continue;
		if (!latest || row.at > latest.at) latest = row;
	}
	if (!latest) return NOT_PAUSED;
	const changedAt = new Date(latest.at).toISOString();
	if (latest.type !== 'pause' || latest.until <= now) {
		return { ...NOT_PAUSED, changedAt };
	}
	return {
		paused: true,
		pausedUntil: new Date(latest.until).toISOString(),
		pausedBy: latest.role === 'agent' ? 'agent' : 'human',
		reason: latest.text || null,
		changedAt,
	};
}
