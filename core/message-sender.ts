/**
 * Sends one planned part through the Graph client: media that comes from the n8n item's
 * binary data is uploaded first (with its MIME type and file name) and the message then
 * references the returned media id; everything else goes straight to the payload builder.
 */
import type { MediaMessage } from './canonical-message';
import { isMediaType } from './canonical-message';
import { buildMessagePayload } from './cloud-api-payloads';
import type { SendPart } from './delivery';
import { WhatsAppValidationError } from './errors';
import type { GraphClient } from './graph-client';
import { MEDIA_MAX_BYTES } from './limits';
import type { Recipient } from './phone-number';
import type { PlannedPart } from './send-plan';

export interface BinaryFile {
	data: Buffer;
	mimeType: string;
	filename?: string;
}

export interface MessageSenderOptions {
	graph: Pick<GraphClient, 'sendMessage' | 'uploadMedia'>;
	/** The business phone number id the messages are sent from. */
	phoneNumberId: string;
	recipient: Recipient;
	/** Reads a binary property of the item being sent (n8n's binary data). */
	loadBinary?: (property: string) => Promise<BinaryFile>;
}

/** Refuses a file Meta would refuse anyway, before anything is uploaded. */
function checkFile(message: MediaMessage, file: BinaryFile, property: string): void {
	if (!file.mimeType) {
		throw new WhatsAppValidationError(`${property}: the binary data has no MIME type, so WhatsApp cannot tell what it is`, property);
	}
	const max = MEDIA_MAX_BYTES[message.type];
	if (file.data.length > max) {
		throw new WhatsAppValidationError(
			`${property}: the file is ${file.data.length} bytes; WhatsApp accepts at most ${max} bytes for a ${message.type}`,
			property,
		);
	}
}

/** Uploads a binary-backed media message and returns it pointing at the uploaded media id. */
export async function uploadIfBinary(
	message: PlannedPart['message'],
	options: MessageSenderOptions,
): Promise<PlannedPart['message']> {
	if (!isMediaType(message.type)) return message;
	const media = message as MediaMessage;
	if (media.binaryProperty === undefined) return media;
	if (!options.loadBinary) {
		throw new WhatsAppValidationError(`${media.binaryProperty}: no binary data is available to upload`, media.binaryProperty);
	}
	const file = await options.loadBinary(media.binaryProperty);
	checkFile(media, file, media.binaryProperty);
	const filename = media.filename || file.filename;
	const mediaId = await options.graph.uploadMedia(options.phoneNumberId, { data: file.data, mimeType: file.mimeType, filename });
	const uploaded: MediaMessage = { ...media, mediaId };
	delete uploaded.binaryProperty;
	if (media.type === 'document' && filename) uploaded.filename = filename;
	return uploaded;
}

/** A SendPart for deliverPlan: upload if needed, build the payload, send. */
export function createMessageSender(options: MessageSenderOptions): SendPart {
	return async (part) => {
		const message = await uploadIfBinary(part.message, options);
		const payload = buildMessagePayload(message, { recipient: options.recipient, replyTo: part.replyTo });
		return options.graph.sendMessage(options.phoneNumberId, payload);
	};
}
