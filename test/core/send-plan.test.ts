import { parseCanonicalMessages, type CanonicalMessage } from '../../core/canonical-message';
import { buildMessagePayload } from '../../core/cloud-api-payloads';
import { WhatsAppValidationError } from '../../core/errors';
import { canonicalJson, fingerprintOf, planMessages, type PlannedPart } from '../../core/send-plan';

const messages = (list: unknown[]) => parseCanonicalMessages(list);
const textOf = (part: PlannedPart) => (part.message as { text: string }).text;
const squash = (text: string) => text.replace(/\s+/g, '');
const chars = (text: string) => [...text].length;

const paragraph = (index: number) =>
	`Paragraph ${index}: the quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.`;
const longText = Array.from({ length: 40 }, (_, index) => paragraph(index)).join('\n\n'); // ≈ 4.5k characters

describe('planMessages: text', () => {
	it('sends a short text as one part', () => {
		const plan = planMessages(messages([{ type: 'text', text: 'Hello' }]));
		expect(plan).toHaveLength(1);
		expect(plan[0]).toMatchObject({ part: 1, parts: 1, type: 'text', source: 0, message: { type: 'text', text: 'Hello' } });
		expect(plan[0].fingerprint).toMatch(/^[0-9a-f]{64}$/);
	});

	it('splits text over the limit into parts ≤ limit, in order, losing nothing', () => {
		const plan = planMessages(messages([{ type: 'text', text: longText }]));
		expect(plan.length).toBeGreaterThan(1);
		expect(plan.every((part) => chars(textOf(part)) <= 4096)).toBe(true);
		expect(squash(plan.map(textOf).join(''))).toBe(squash(longText));
		expect(plan.map((part) => part.part)).toEqual(plan.map((_, index) => index + 1));
		expect(plan.every((part) => part.parts === plan.length && part.source === 0)).toBe(true);
	});

	it('honours a lower text limit', () => {
		const plan = planMessages(messages([{ type: 'text', text: longText }]), { textLimit: 300 });
		expect(plan.length).toBeGreaterThanOrEqual(Math.ceil(chars(longText) / 300));
		expect(plan.every((part) => chars(textOf(part)) <= 300)).toBe(true);
		expect(squash(plan.map(textOf).join(''))).toBe(squash(longText));
		// Cuts fall on paragraph boundaries when they can: every part starts a paragraph.
		expect(plan.every((part) => textOf(part).startsWith('Paragraph'))).toBe(true);
	});

	it('numbers the parts (i/n) within the limit when asked, and only when split', () => {
		const plan = planMessages(messages([{ type: 'text', text: longText }]), { textLimit: 500, numbering: true });
		const n = plan.length;
		plan.forEach((part, index) => {
			expect(textOf(part).endsWith(`(${index + 1}/${n})`)).toBe(true);
			expect(chars(textOf(part))).toBeLessThanOrEqual(500);
		});
		const single = planMessages(messages([{ type: 'text', text: 'Short' }]), { numbering: true });
		expect(textOf(single[0])).toBe('Short');
	});

	it('converts markdown by default and not when turned off', () => {
		const markdown = '# Title\n\nThis is **bold** and ~~gone~~, see [docs](https://example.com).';
		const [converted] = planMessages(messages([{ type: 'text', text: markdown }]));
		expect(textOf(converted)).toContain('*Title*');
		expect(textOf(converted)).toContain('*bold*');
		expect(textOf(converted)).toContain('~gone~');
		expect(textOf(converted)).toContain('docs (https://example.com)');
		expect(textOf(converted)).not.toContain('**');
		const [raw] = planMessages(messages([{ type: 'text', text: markdown }]), { convertMarkdown: false });
		expect(textOf(raw)).toBe(markdown);
	});

	it('applies the default link preview unless the message sets its own', () => {
		const plan = planMessages(messages([{ type: 'text', text: 'a' }, { type: 'text', text: 'b', previewUrl: false }]), { previewUrl: true });
		expect(plan.map((part) => (part.message as { previewUrl?: boolean }).previewUrl)).toEqual([true, false]);
		const none = planMessages(messages([{ type: 'text', text: 'a' }]));
		expect(none[0].message).not.toHaveProperty('previewUrl');
	});

	it.each([0, 31, 4097, 1.5, Number.NaN])('refuses text limit %p', (textLimit) => {
		expect(() => planMessages(messages([{ type: 'text', text: 'a' }]), { textLimit })).toThrow(WhatsAppValidationError);
	});
});

describe('planMessages: captions', () => {
	it('keeps a caption up to 1024 characters on the media', () => {
		const caption = 'c'.repeat(1024);
		const plan = planMessages(messages([{ type: 'image', url: 'https://example.com/a.png', caption }]), { convertMarkdown: false });
		expect(plan).toHaveLength(1);
		expect(plan[0].message).toMatchObject({ type: 'image', caption });
	});

	it('overflows a caption over 1024 characters into following text parts', () => {
		const caption = Array.from({ length: 20 }, (_, index) => paragraph(index)).join('\n\n'); // ≈ 2.2k
		const plan = planMessages(messages([{ type: 'document', mediaId: '1', filename: 'a.pdf', caption }]));
		expect(plan[0].type).toBe('document');
		const head = (plan[0].message as { caption: string }).caption;
		expect(chars(head)).toBeLessThanOrEqual(1024);
		expect(plan.slice(1).every((part) => part.type === 'text')).toBe(true);
		expect(squash(head + plan.slice(1).map(textOf).join(''))).toBe(squash(caption));
		expect(plan.every((part) => part.source === 0)).toBe(true);
		// Every part is sendable as is.
		for (const part of plan) expect(() => buildMessagePayload(part.message, { recipient: { to: '+16505551234' } })).not.toThrow();
	});

	it('starts the overflow where the caption was cut, without the whitespace of the cut', () => {
		const sentences = Array.from({ length: 50 }, (_, index) => `Sentence number ${index} is here.`).join(' '); // one paragraph
		const plan = planMessages(messages([{ type: 'image', mediaId: '1', caption: sentences }]));
		const head = (plan[0].message as { caption: string }).caption;
		expect(head.endsWith('.')).toBe(true);
		expect(plan.length).toBe(2);
		expect(textOf(plan[1])).toMatch(/^Sentence number \d+ is here\./);
		expect(`${head} ${textOf(plan[1])}`).toBe(sentences);
	});

	it('counts UTF-16 units for captions, like the splitter: 600 emoji do not fit in 1024', () => {
		const caption = '😀'.repeat(600);
		const plan = planMessages(messages([{ type: 'image', mediaId: '1', caption }]));
		expect(plan.length).toBe(2);
		expect((plan[0].message as { caption: string }).caption.length).toBeLessThanOrEqual(1024);
		expect((plan[0].message as { caption: string }).caption + textOf(plan[1])).toBe(caption);
	});

	it('caps the caption at a text limit below 1024', () => {
		const caption = Array.from({ length: 5 }, (_, index) => paragraph(index)).join('\n\n');
		const plan = planMessages(messages([{ type: 'image', mediaId: '1', caption }]), { textLimit: 200 });
		expect(chars((plan[0].message as { caption: string }).caption)).toBeLessThanOrEqual(200);
		expect(plan.slice(1).every((part) => chars(textOf(part)) <= 200)).toBe(true);
	});

	it.each(['audio', 'sticker'] as const)('moves a caption on %s (which WhatsApp cannot show) into a following text', (type) => {
		const plan = planMessages(messages([{ type, mediaId: '1', caption: 'Listen to this' }]));
		expect(plan.map((part) => part.type)).toEqual([type, 'text']);
		expect(plan[0].message).not.toHaveProperty('caption');
		expect(textOf(plan[1])).toBe('Listen to this');
	});

	it('converts markdown in captions', () => {
		const plan = planMessages(messages([{ type: 'image', mediaId: '1', caption: '**Sale** today' }]));
		expect((plan[0].message as { caption: string }).caption).toBe('*Sale* today');
	});
});

describe('planMessages: interactive bodies', () => {
	it('refuses a body over 1024 characters (it cannot be split), naming the field', () => {
		const tooLong = { type: 'buttons', body: 'b'.repeat(1025), buttons: [{ id: 'a', title: 'A' }] } as CanonicalMessage;
		expect(() => planMessages([{ type: 'text', text: 'x' }, tooLong])).toThrow(/^messages\[1\]\.body: must be at most 1024/);
		expect(() => planMessages([tooLong], { field: '' })).toThrow(/^body: must be at most 1024/);
	});


	it('converts markdown in button and list bodies but not in titles', () => {
		const plan = planMessages(
			messages([
				{ type: 'buttons', body: 'Pick **one**', buttons: [{ id: 'a', title: '**A**' }] },
				{ type: 'list', body: '~~Old~~ menu', buttonText: 'Open', sections: [{ rows: [{ id: 'r', title: 'Row' }] }] },
			]),
		);
		expect(plan[0].message).toMatchObject({ body: 'Pick *one*', buttons: [{ id: 'a', title: '**A**' }] });
		expect(plan[1].message).toMatchObject({ body: '~Old~ menu' });
	});
});

describe('planMessages: reply context and numbering', () => {
	const reply = messages([
		{ type: 'text', text: longText },
		{ type: 'image', url: 'https://example.com/a.png' },
		{ type: 'location', latitude: 1, longitude: 2 },
	]);

	it('puts the reply context on the first part only', () => {
		const plan = planMessages(reply, { replyTo: 'wamid.ABC', textLimit: 1000 });
		expect(plan[0].replyTo).toBe('wamid.ABC');
		expect(plan.slice(1).every((part) => part.replyTo === undefined)).toBe(true);
		const payloads = plan.map((part) => buildMessagePayload(part.message, { recipient: { to: '+1650555123' }, replyTo: part.replyTo }));
		expect(payloads.filter((payload) => payload.context !== undefined)).toHaveLength(1);
		expect(payloads[0].context).toEqual({ message_id: 'wamid.ABC' });
	});

	it('never puts the reply context on a reaction', () => {
		const plan = planMessages(messages([{ type: 'reaction', messageId: 'wamid.X', emoji: '👍' }, { type: 'text', text: 'Thanks!' }]), {
			replyTo: 'wamid.X',
		});
		expect(plan.every((part) => part.replyTo === undefined)).toBe(true);
	});

	it('numbers parts across the whole plan and records their source message', () => {
		const plan = planMessages(reply, { textLimit: 1000 });
		expect(plan.map((part) => part.part)).toEqual(plan.map((_, index) => index + 1));
		expect(plan.every((part) => part.parts === plan.length)).toBe(true);
		expect(plan.slice(-2).map((part) => [part.type, part.source])).toEqual([
			['image', 1],
			['location', 2],
		]);
	});
});

describe('fingerprints', () => {
	const list: unknown[] = [
		{ type: 'text', text: longText },
		{ type: 'text', text: 'Same' },
		{ type: 'text', text: 'Same' },
	];

	it('are stable: the same input plans the same fingerprints', () => {
		const first = planMessages(messages(list), { textLimit: 800, replyTo: 'wamid.A' });
		const second = planMessages(messages(JSON.parse(JSON.stringify(list))), { textLimit: 800, replyTo: 'wamid.A' });
		expect(second.map((part) => part.fingerprint)).toEqual(first.map((part) => part.fingerprint));
	});

	it('are unique within a plan, even for identical messages', () => {
		const plan = planMessages(messages(list), { textLimit: 800 });
		expect(new Set(plan.map((part) => part.fingerprint)).size).toBe(plan.length);
	});

	it('change with what is sent (content, context), not with key order', () => {
		const base: CanonicalMessage = { type: 'text', text: 'Hi', previewUrl: true };
		const reordered = JSON.parse('{"previewUrl": true, "text": "Hi", "type": "text"}') as CanonicalMessage;
		expect(fingerprintOf({ part: 1, message: base })).toBe(fingerprintOf({ part: 1, message: reordered }));
		expect(fingerprintOf({ part: 1, message: base })).not.toBe(fingerprintOf({ part: 1, message: { ...base, text: 'Ho' } }));
		expect(fingerprintOf({ part: 1, message: base })).not.toBe(fingerprintOf({ part: 1, replyTo: 'wamid.X', message: base }));
		expect(fingerprintOf({ part: 1, message: base })).not.toBe(fingerprintOf({ part: 2, message: base }));
	});

	it('canonical JSON sorts keys and drops undefined', () => {
		expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 'x' }], e: undefined })).toBe('{"a":[1,{"c":"x"}],"b":1}');
	});
});

describe('planMessages: other types pass through unchanged', () => {
	it.each<[string, unknown]>([
		['location', { type: 'location', latitude: 1, longitude: 2 }],
		['contacts', { type: 'contacts', contacts: [{ name: 'Ada' }] }],
		['reaction', { type: 'reaction', messageId: 'wamid.X', emoji: '👍' }],
		['template', { type: 'template', name: 't', language: 'en' }],
		['sticker', { type: 'sticker', mediaId: '1' }],
		['video from binary', { type: 'video', binaryProperty: 'data' }],
	])('%s', (_name, input) => {
		const plan = planMessages(messages([input]));
		expect(plan).toHaveLength(1);
		expect(plan[0].message).toEqual(messages([input])[0]);
	});

	it('an empty list plans nothing', () => {
		expect(planMessages([])).toEqual([]);
	});
});
