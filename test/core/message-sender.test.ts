import { WhatsAppValidationError } from '../../core/errors';
import { createMessageSender, uploadIfBinary } from '../../core/message-sender';
import type { PlannedPart } from '../../core/send-plan';

function fakeGraph() {
	const calls: Array<{ kind: string; phoneNumberId: string; value: unknown }> = [];
	return {
		calls,
		graph: {
			async uploadMedia(phoneNumberId: string, file: { data: Buffer; mimeType: string; filename?: string }) {
				calls.push({ kind: 'upload', phoneNumberId, value: file });
				return 'media-77';
			},
			async sendMessage(phoneNumberId: string, payload: Record<string, unknown>) {
				calls.push({ kind: 'send', phoneNumberId, value: payload });
				return { messageId: 'wamid.SENT1', waId: '16505551234' };
			},
		},
	};
}

const part = (message: PlannedPart['message'], replyTo?: string): PlannedPart => ({
	part: 1,
	parts: 1,
	type: message.type,
	message,
	source: 0,
	fingerprint: 'f',
	...(replyTo ? { replyTo } : {}),
});

describe('createMessageSender', () => {
	it('builds the payload for the recipient with the part\'s reply context and sends it', async () => {
		const { graph, calls } = fakeGraph();
		const send = createMessageSender({ graph, phoneNumberId: '1065', recipient: { to: '+16505551234' } });
		const result = await send(part({ type: 'text', text: 'Hi' }, 'wamid.Q'));
		expect(result).toEqual({ messageId: 'wamid.SENT1', waId: '16505551234' });
		expect(calls).toEqual([
			{
				kind: 'send',
				phoneNumberId: '1065',
				value: {
					messaging_product: 'whatsapp',
					recipient_type: 'individual',
					to: '+16505551234',
					context: { message_id: 'wamid.Q' },
					type: 'text',
					text: { preview_url: false, body: 'Hi' },
				},
			},
		]);
	});

	it('uploads binary media first (MIME type, file name) and sends the returned id', async () => {
		const { graph, calls } = fakeGraph();
		const data = Buffer.from('%PDF-1.4');
		const send = createMessageSender({
			graph,
			phoneNumberId: '1065',
			recipient: { recipient: 'US.13491208655302741918' },
			loadBinary: async (property) => {
				expect(property).toBe('file');
				return { data, mimeType: 'application/pdf', filename: 'quote.pdf' };
			},
		});
		await send(part({ type: 'document', binaryProperty: 'file', caption: 'Quote' }));
		expect(calls.map((call) => call.kind)).toEqual(['upload', 'send']);
		expect(calls[0].value).toEqual({ data, mimeType: 'application/pdf', filename: 'quote.pdf' });
		expect((calls[1].value as Record<string, unknown>).document).toEqual({ id: 'media-77', caption: 'Quote', filename: 'quote.pdf' });
		expect((calls[1].value as Record<string, unknown>).recipient).toBe('US.13491208655302741918');
	});
});

describe('uploadIfBinary', () => {
	it('leaves non-binary messages alone', async () => {
		const { graph, calls } = fakeGraph();
		const message = { type: 'image' as const, url: 'https://example.com/a.png' };
		expect(await uploadIfBinary(message, { graph, phoneNumberId: '1', recipient: { to: '+1650555123' } })).toBe(message);
		expect(calls).toHaveLength(0);
	});

	it('keeps an explicit file name over the binary one', async () => {
		const { graph, calls } = fakeGraph();
		const uploaded = await uploadIfBinary(
			{ type: 'document', binaryProperty: 'data', filename: 'named.pdf' },
			{ graph, phoneNumberId: '1', recipient: { to: '+1650555123' }, loadBinary: async () => ({ data: Buffer.from('x'), mimeType: 'application/pdf', filename: 'other.pdf' }) },
		);
		expect(uploaded).toEqual({ type: 'document', mediaId: 'media-77', filename: 'named.pdf' });
		expect((calls[0].value as { filename: string }).filename).toBe('named.pdf');
	});

	it.each<[string, { data: Buffer; mimeType: string } | undefined, RegExp]>([
		['no loader', undefined, /no binary data is available/],
		['no MIME type', { data: Buffer.from('x'), mimeType: '' }, /no MIME type/],
		['over the size cap', { data: Buffer.alloc(500 * 1024 + 1), mimeType: 'image/webp' }, /at most 512000 bytes for a sticker/],
	])('refuses %s before uploading', async (_name, file, pattern) => {
		const { graph, calls } = fakeGraph();
		const promise = uploadIfBinary(
			{ type: 'sticker', binaryProperty: 'data' },
			{ graph, phoneNumberId: '1', recipient: { to: '+1650555123' }, ...(file ? { loadBinary: async () => file } : {}) },
		);
		await expect(promise).rejects.toThrow(WhatsAppValidationError);
		await expect(promise).rejects.toThrow(pattern);
		expect(calls).toHaveLength(0);
	});
});
