/**
 * WhatsApp Cloud API limits (Meta's documentation, see the reference §5).
 * One place, so the schemas, the payload builders and the splitter agree.
 */
export const LIMITS = {
	textBody: 4096,
	caption: 1024,
	interactiveBody: 1024,
	interactiveHeaderText: 60,
	interactiveFooterText: 60,
	replyButtons: 3,
	replyButtonTitle: 20,
	replyButtonId: 256,
	listButtonText: 20,
	listSections: 10,
	listRowsTotal: 10,
	listSectionTitle: 24,
	listRowTitle: 24,
	listRowDescription: 72,
	listRowId: 200,
	contactsPerMessage: 257,
	templateName: 512,
	bizOpaqueCallbackData: 512,
	messageId: 128,
} as const;

/** Meta's media size caps in bytes, per kind (reference §4). */
export const MEDIA_MAX_BYTES = {
	image: 5 * 1024 * 1024,
	video: 16 * 1024 * 1024,
	audio: 16 * 1024 * 1024,
	document: 100 * 1024 * 1024,
	sticker: 500 * 1024,
} as const;
