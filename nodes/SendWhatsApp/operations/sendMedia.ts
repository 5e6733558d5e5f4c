import { parameter, type MessageBuilder } from './types';

export const sendMedia: MessageBuilder = (input) => {
	const type = parameter<string>(input, 'mediaType', 'image');
	const source = parameter<string>(input, 'mediaSource', 'url');
	const message: Record<string, unknown> = { type };
	if (source === 'binary') message.binaryProperty = parameter(input, 'binaryProperty', 'data').trim();
	else if (source === 'mediaId') message.mediaId = parameter(input, 'mediaId', '').trim();
	else message.url = parameter(input, 'mediaUrl', '').trim();
	if (type === 'image' || type === 'video' || type === 'document') {
		const caption = parameter(input, 'caption', '');
		if (caption.trim() !== '') message.caption = caption;
	}
	if (type === 'document') {
		const filename = parameter(input, 'filename', '').trim();
		if (filename !== '') message.filename = filename;
	}
	if (type === 'audio' && parameter(input, 'voice', false)) message.voice = true;
	return { messages: [message], field: '' };
};
