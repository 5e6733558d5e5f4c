/**
 * The canonical outgoing message (SPEC §5): one JSON object per WhatsApp message,
 * discriminated by `type`. Call External Agent outputs a list of these, the trigger's
 * Agent Callbacks output carries them, and Send WhatsApp's "Send Agent Reply" reads them.
 *
 * Limits that cannot be fixed by splitting (button counts, title lengths, coordinates)
 * are enforced here, so a bad message is refused with the field named before anything
 * is sent. Long text and long captions are NOT errors: the send planner splits them.
 */
import { z } from 'zod';

import { WhatsAppValidationError } from './errors';
import { LIMITS } from './limits';

const nonEmpty = (what: string) =>
	z
		.string({ required_error: `${what} is required`, invalid_type_error: `${what} must be text` })
		.refine((value) => value.trim().length > 0, { message: `${what} must not be empty` });

const maxChars = (what: string, max: number) =>
	nonEmpty(what).refine((value) => [...value].length <= max, {
		message: `${what} must be at most ${max} characters`,
	});

export const textMessageSchema = z.object({
	type: z.literal('text'),
	text: nonEmpty('text'),
	previewUrl: z.boolean().optional(),
});

export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

const mediaFields = {
	url: z.string().url({ message: 'url must be an http(s) URL' }).optional(),
	mediaId: nonEmpty('mediaId').optional(),
	/** n8n only: the name of the input item's binary property to upload first. */
	binaryProperty: nonEmpty('binaryProperty').optional(),
	caption: z.string().optional(),
	filename: z.string().optional(),
	/** audio only: send as a voice note (needs OGG/OPUS). */
	voice: z.boolean().optional(),
};

const mediaSchema = <T extends MediaType>(type: T) =>
	z
		.object({ type: z.literal(type), ...mediaFields })
		.superRefine((message, ctx) => {
			const sources = [message.url, message.mediaId, message.binaryProperty].filter(
				(source) => source !== undefined,
			);
			if (sources.length !== 1) {
				ctx.addIssue({
					code: z.ZodIssueCode.custom,
					path: ['url'],
					message:
						sources.length === 0
							? `a ${type} needs exactly one of url, mediaId or binaryProperty`
							: `a ${type} takes only one of url, mediaId or binaryProperty`,
				});
			}
			if (message.url !== undefined && !/^https?:\/\//i.test(message.url)) {
				ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['url'], message: 'url must start with http:// or https://' });
			}
		});

export const imageMessageSchema = mediaSchema('image');
export const videoMessageSchema = mediaSchema('video');
export const audioMessageSchema = mediaSchema('audio');
export const documentMessageSchema = mediaSchema('document');
export const stickerMessageSchema = mediaSchema('sticker');

const coordinate = (what: string, limit: number) =>
	z.coerce
		.number({ invalid_type_error: `${what} must be a number` })
		.refine((value) => Number.isFinite(value) && value >= -limit && value <= limit, {
			message: `${what} must be between -${limit} and ${limit}`,
		});

export const locationMessageSchema = z.object({
	type: z.literal('location'),
	latitude: coordinate('latitude', 90),
	longitude: coordinate('longitude', 180),
	name: z.string().optional(),
	address: z.string().optional(),
});

export const contactPhoneSchema = z.object({
	phone: nonEmpty('phone'),
	type: z.string().optional(),
	waId: z.string().optional(),
});

export const contactSchema = z
	.object({
		name: nonEmpty('name'),
		firstName: z.string().optional(),
		lastName: z.string().optional(),
		phone: z.string().optional(),
		phones: z.array(contactPhoneSchema).optional(),
		email: z.string().optional(),
		emails: z.array(z.object({ email: nonEmpty('email'), type: z.string().optional() })).optional(),
		company: z.string().optional(),
		department: z.string().optional(),
		title: z.string().optional(),
		url: z.string().optional(),
		birthday: z
			.string()
			.regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'birthday must be YYYY-MM-DD' })
			.optional(),
		address: z
			.object({
				street: z.string().optional(),
				city: z.string().optional(),
				state: z.string().optional(),
				zip: z.string().optional(),
				country: z.string().optional(),
				countryCode: z.string().optional(),
				type: z.string().optional(),
			})
			.optional(),
	});

export const contactsMessageSchema = z.object({
	type: z.literal('contacts'),
	contacts: z
		.array(contactSchema)
		.min(1, { message: 'contacts needs at least one contact' })
		.max(LIMITS.contactsPerMessage, { message: `at most ${LIMITS.contactsPerMessage} contacts per message` }),
});

const replyButtonSchema = z.object({
	id: maxChars('button id', LIMITS.replyButtonId),
	title: maxChars('button title', LIMITS.replyButtonTitle),
});

const uniqueBy = <T>(items: T[], key: (item: T) => string) =>
	new Set(items.map(key)).size === items.length;

export const buttonsMessageSchema = z
	.object({
		type: z.literal('buttons'),
		body: maxChars('body', LIMITS.interactiveBody),
		buttons: z
			.array(replyButtonSchema)
			.min(1, { message: 'buttons needs at least one button' })
			.max(LIMITS.replyButtons, { message: `at most ${LIMITS.replyButtons} buttons (WhatsApp's limit)` }),
		header: maxChars('header', LIMITS.interactiveHeaderText).optional(),
		footer: maxChars('footer', LIMITS.interactiveFooterText).optional(),
	})
	.superRefine((message, ctx) => {
		if (!uniqueBy(message.buttons, (button) => button.id)) {
			ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['buttons'], message: 'button ids must be unique' });
		}
		if (!uniqueBy(message.buttons, (button) => button.title)) {
			ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['buttons'], message: 'button titles must be unique' });
		}
	});

const listRowSchema = z.object({
	id: maxChars('row id', LIMITS.listRowId),
	title: maxChars('row title', LIMITS.listRowTitle),
	description: z
		.string()
		.refine((value) => [...value].length <= LIMITS.listRowDescription, {
			message: `row description must be at most ${LIMITS.listRowDescription} characters`,
		})
		.optional(),
});

const listSectionSchema = z.object({
	title: maxChars('section title', LIMITS.listSectionTitle).optional(),
	rows: z.array(listRowSchema).min(1, { message: 'a section needs at least one row' }),
});

export const listMessageSchema = z
	.object({
		type: z.literal('list'),
		body: maxChars('body', LIMITS.interactiveBody),
		buttonText: maxChars('buttonText', LIMITS.listButtonText),
		sections: z
			.array(listSectionSchema)
			.min(1, { message: 'a list needs at least one section' })
			.max(LIMITS.listSections, { message: `at most ${LIMITS.listSections} sections` }),
		header: maxChars('header', LIMITS.interactiveHeaderText).optional(),
		footer: maxChars('footer', LIMITS.interactiveFooterText).optional(),
	})
	.superRefine((message, ctx) => {
		const rows = message.sections.flatMap((section) => section.rows);
		if (rows.length > LIMITS.listRowsTotal) {
			ctx.addIssue({
				code: z.ZodIssueCode.custom,
				path: ['sections'],
				message: `at most ${LIMITS.listRowsTotal} rows across all sections (got ${rows.length})`,
			});
		}
		if (!uniqueBy(rows, (row) => row.id)) {
			ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sections'], message: 'row ids must be unique' });
		}
		if (message.sections.length > 1) {
			message.sections.forEach((section, index) => {
				if (!section.title) {
					ctx.addIssue({
						code: z.ZodIssueCode.custom,
						path: ['sections', index, 'title'],
						message: 'each section needs a title when there is more than one section',
					});
				}
			});
		}
	});

export const reactionMessageSchema = z.object({
	type: z.literal('reaction'),
	messageId: nonEmpty('messageId'),
	/** One emoji; an empty string removes an earlier reaction. */
	emoji: z.string({ required_error: 'emoji is required' }),
});

export const templateMessageSchema = z.object({
	type: z.literal('template'),
	name: maxChars('template name', LIMITS.templateName),
	language: nonEmpty('language'),
	/** Passed to Meta as written (Cloud API `template.components`). */
	components: z.array(z.record(z.string(), z.unknown())).optional(),
});

const SCHEMAS = {
	text: textMessageSchema,
	image: imageMessageSchema,
	video: videoMessageSchema,
	audio: audioMessageSchema,
	document: documentMessageSchema,
	sticker: stickerMessageSchema,
	location: locationMessageSchema,
	contacts: contactsMessageSchema,
	buttons: buttonsMessageSchema,
	list: listMessageSchema,
	reaction: reactionMessageSchema,
	template: templateMessageSchema,
} as const;

export type CanonicalMessageType = keyof typeof SCHEMAS;
export const CANONICAL_MESSAGE_TYPES = Object.keys(SCHEMAS) as CanonicalMessageType[];

export type TextMessage = z.infer<typeof textMessageSchema>;
export type MediaMessage = z.infer<typeof imageMessageSchema> | z.infer<typeof videoMessageSchema> | z.infer<typeof audioMessageSchema> | z.infer<typeof documentMessageSchema> | z.infer<typeof stickerMessageSchema>;
export type LocationMessage = z.infer<typeof locationMessageSchema>;
export type Contact = z.infer<typeof contactSchema>;
export type ContactsMessage = z.infer<typeof contactsMessageSchema>;
export type ButtonsMessage = z.infer<typeof buttonsMessageSchema>;
export type ListMessage = z.infer<typeof listMessageSchema>;
export type ReactionMessage = z.infer<typeof reactionMessageSchema>;
export type TemplateMessage = z.infer<typeof templateMessageSchema>;

export type CanonicalMessage =
	| TextMessage
	| MediaMessage
	| LocationMessage
	| ContactsMessage
	| ButtonsMessage
	| ListMessage
	| ReactionMessage
	| TemplateMessage;

export function isMediaType(type: string): type is MediaType {
	return (MEDIA_TYPES as readonly string[]).includes(type);
}

function formatPath(path: Array<string | number>): string {
	return path.reduce<string>(
		(out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
		'',
	);
}

/** Turns zod issues into "field: reason" lines a non-developer can act on. */
export function describeIssues(issues: z.ZodIssue[], prefix = ''): string[] {
	return issues.map((issue) => {
		const field = formatPath([...(prefix ? [prefix] : []), ...issue.path]);
		return field ? `${field}: ${issue.message}` : issue.message;
	});
}

type Validation = { ok: true; message: CanonicalMessage } | { ok: false; problems: string[]; field: string };

function validateCanonicalMessage(input: unknown, field: string): Validation {
	if (typeof input !== 'object' || input === null || Array.isArray(input)) {
		return { ok: false, problems: [`${field}: must be an object with a "type"`], field };
	}
	const type = (input as { type?: unknown }).type;
	if (typeof type !== 'string' || !(type in SCHEMAS)) {
		return {
			ok: false,
			problems: [
				`${field}.type: unknown message type ${JSON.stringify(type)}; expected one of ${CANONICAL_MESSAGE_TYPES.join(', ')}`,
			],
			field: `${field}.type`,
		};
	}
	const result = SCHEMAS[type as CanonicalMessageType].safeParse(input);
	if (result.success) return { ok: true, message: result.data as CanonicalMessage };
	const problems = describeIssues(result.error.issues, field);
	return { ok: false, problems, field: problems[0]?.split(':')[0] ?? field };
}

/**
 * Validates one canonical message. `field` names it in errors (e.g. `messages[2]`).
 * Throws WhatsAppValidationError naming the field and the reason.
 */
export function parseCanonicalMessage(input: unknown, field = 'message'): CanonicalMessage {
	const validation = validateCanonicalMessage(input, field);
	if (!validation.ok) throw new WhatsAppValidationError(validation.problems.join('; '), validation.field);
	return validation.message;
}

/** Validates a list of canonical messages; every problem of every message is reported at once. */
export function parseCanonicalMessages(input: unknown, field = 'messages'): CanonicalMessage[] {
	if (!Array.isArray(input)) {
		throw new WhatsAppValidationError(`${field}: must be a list of messages`, field);
	}
	const validations = input.map((entry, index) => validateCanonicalMessage(entry, `${field}[${index}]`));
	const failures = validations.filter((validation) => !validation.ok);
	if (failures.length > 0) {
		throw new WhatsAppValidationError(
			failures.flatMap((failure) => (failure.ok ? [] : failure.problems)).join('; '),
			failures[0].ok ? field : failures[0].field,
		);
	}
	return validations.map((validation) => (validation.ok ? validation.message : (undefined as never)));
}
