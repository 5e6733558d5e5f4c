import fc from 'fast-check';
import { WhatsAppValidationError } from '../../core/errors';
import { MIN_SPLIT_LIMIT, splitText } from '../../core/split-text';

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Grapheme boundaries of a (small) string, as positions 0..length. */
function boundaries(text: string): Set<number> {
	const set = new Set<number>([text.length]);
	for (const { index } of graphemes.segment(text)) set.add(index);
	return set;
}

function longestCluster(text: string): number {
	let longest = 0;
	for (const { segment } of graphemes.segment(text)) longest = Math.max(longest, segment.length);
	return longest;
}

const NUMBERING = / \((\d+)\/(\d+)\)$/;
const ADDED_CLOSE = /\n`{3,}$/;
const ADDED_REOPEN = /^`{3,}[^`\n]*\n/;

interface Located {
	/** Where each part's own text lies in the input, [start, end). */
	spans: Array<[number, number]>;
	/** Parts that got a closing fence added (and whose successor got a re-opening line). */
	fenceCuts: number;
}

/**
 * The exact "nothing lost" property. The input must equal
 *   ws + P1 + ws + P2 + … + Pn + ws
 * where every ws is whitespace only (possibly empty) and Pi is part i with its numbering suffix
 * removed and, only where a code block was cut, the closing fence line added at the end of
 * part i ("\n```") and the re-opening fence line added at the start of part i+1 ("```lang\n")
 * removed. Anything else (a lost, changed, duplicated or reordered character) throws.
 */
function locate(input: string, parts: string[], numbered: boolean): Located {
	const bodies = parts.map((raw, i) => {
		if (!numbered) return raw;
		const m = NUMBERING.exec(raw);
		if (!m) throw new Error(`part ${i} has no numbering: ${JSON.stringify(raw)}`);
		return raw.slice(0, m.index);
	});
	let failure = '';
	// Depth-first over the only choice there is: did part i get a closing fence added?
	const search = (i: number, pos: number, reopened: boolean): Located | null => {
		if (i === bodies.length) {
			if (reopened) failure = 'the last part closes a code block that continues nowhere';
			else if (input.slice(pos).trim() !== '') failure = `input lost after the last part: ${JSON.stringify(input.slice(pos))}`;
			else return { spans: [], fenceCuts: 0 };
			return null;
		}
		let part = bodies[i];
		if (reopened) {
			const m = ADDED_REOPEN.exec(part);
			if (!m) {
				failure = `part ${i} does not re-open the code block: ${JSON.stringify(part)}`;
				return null;
			}
			part = part.slice(m[0].length);
		}
		const attempts: Array<[string, boolean]> = [[part, false]];
		if (i < bodies.length - 1 && ADDED_CLOSE.test(part)) attempts.push([part.replace(ADDED_CLOSE, ''), true]);
		for (const [body, closes] of attempts) {
			// The part starts somewhere in the whitespace gap after the previous one.
			for (let q = pos; q <= input.length; q++) {
				if (input.startsWith(body, q)) {
					const rest = search(i + 1, q + body.length, closes);
					if (rest) return { spans: [[q, q + body.length], ...rest.spans], fenceCuts: rest.fenceCuts + (closes ? 1 : 0) };
				}
				if (q < input.length && !/\s/.test(input[q])) break;
			}
		}
		if (!failure) failure = `part ${i} is not the next piece of the input: ${JSON.stringify(parts[i])}`;
		return null;
	};
	const located = search(0, 0, false);
	if (!located) throw new Error(failure);
	return located;
}

/** Every property the splitter promises, checked on one input. */
function checkSplit(input: string, limit: number, numbering: boolean): string[] {
	const parts = splitText(input, { limit, numbering });
	if (input.trim() === '') {
		expect(parts).toEqual([]);
		return parts;
	}
	expect(parts.length).toBeGreaterThan(0);
	for (const part of parts) {
		expect(part.length).toBeLessThanOrEqual(limit);
		expect(part.trim()).not.toBe('');
		expect(/^[\udc00-\udfff]/.test(part)).toBe(false);
		expect(/[\ud800-\udbff]$/.test(part)).toBe(false);
	}
	if (numbering && parts.length > 1) {
		parts.forEach((part, i) => expect(part.endsWith(` (${i + 1}/${parts.length})`)).toBe(true));
	} else {
		for (const part of parts) expect(NUMBERING.test(part) && !NUMBERING.test(input)).toBe(false);
	}
	const { spans } = locate(input, parts, numbering && parts.length > 1);
	// No cluster cut: each part starts and ends on a boundary of the input and sees the same
	// boundaries inside as the input does (skipped only when one cluster is longer than a part).
	if (longestCluster(input) <= 12) {
		const whole = boundaries(input);
		for (const [start, end] of spans) {
			expect(whole.has(start)).toBe(true);
			expect(whole.has(end)).toBe(true);
			const own = [...boundaries(input.slice(start, end))].map((b) => b + start).sort((a, b) => a - b);
			const expected = [...whole].filter((b) => b >= start && b <= end).sort((a, b) => a - b);
			expect(own).toEqual(expected);
		}
	}
	return parts;
}

const words = ['a', 'the', 'WhatsApp', 'message', 'agent', 'naïve', 'Straße', 'привет', 'مرحبا', 'שלום', 'नमस्ते', 'กรุงเทพ', '日本語', '한국어'];
const specials = [
	'👨‍👩‍👧‍👦', // ZWJ family
	'👩🏽‍💻', // skin tone + ZWJ
	'👍🏿',
	'🇫🇷', // flag (regional indicator pair)
	'🇯🇵🇫',
	'🏴󠁧󠁢󠁳󠁣󠁴󠁿', // tag sequence
	'e\u0301', // combining acute
	'a\u0308\u0323',
	'\u1100\u1161\u11a8', // Hangul jamo
	'क्षि', // Devanagari conjunct
	' \u0301', // space carrying a combining mark
	'\u0600 ', // prepended concatenation mark before a space
	'\u00a0', // no-break space
	'❤️',
	'1️⃣',
	'\r\n',
	'\t',
];
const token = fc.oneof(
	{ weight: 6, arbitrary: fc.constantFrom(...words) },
	{ weight: 6, arbitrary: fc.constantFrom(' ', ' ', ' ', '\n', '\n\n', '. ', '! ', '? ', '。', '… ', '  \n  ') },
	{ weight: 3, arbitrary: fc.constantFrom(...specials) },
	{ weight: 2, arbitrary: fc.constantFrom('\n```js\n', '\n```\n', '\n````\n', '```', '\n    indented') },
	{ weight: 1, arbitrary: fc.integer({ min: 20, max: 150 }).map((n) => 'x'.repeat(n)) },
	{ weight: 1, arbitrary: fc.integer({ min: 5, max: 40 }).map((n) => '😀'.repeat(n)) },
	{ weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
	{ weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const mixedText = fc.array(token, { maxLength: 120 }).map((tokens) => tokens.join(''));
const limitArb = fc.integer({ min: MIN_SPLIT_LIMIT, max: 160 });

describe('splitText properties', () => {
	it('keeps every part within the limit, in order, losing nothing but whitespace at the cuts', () => {
		fc.assert(
			fc.property(mixedText, limitArb, fc.boolean(), (input, limit, numbering) => {
				checkSplit(input, limit, numbering);
			}),
			{ numRuns: 400 },
		);
	});

	it('holds on arbitrary unicode strings', () => {
		const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }));
		fc.assert(
			fc.property(anyText, limitArb, fc.boolean(), (input, limit, numbering) => {
				checkSplit(input, limit, numbering);
			}),
			{ numRuns: 300 },
		);
	});

	it('never cuts a code block that fits in a part', () => {
		const proseToken = fc.constantFrom('word', 'text', 'emoji 👨‍👩‍👧‍👦', ' ', ' ', '\n', '\n\n', '. ');
		const prose = fc.array(proseToken, { minLength: 1, maxLength: 30 }).map((t) => t.join(''));
		const codeLine = fc.constantFrom('x = 1', '  return y;', '', 'if (a) { b(); }', '// 🇫🇷 comment');
		const block = fc
			.tuple(fc.constantFrom('```', '```js', '```python'), fc.array(codeLine, { minLength: 1, maxLength: 8 }))
			.map(([open, lines]) => `${open}\n${lines.join('\n')}\n\`\`\``);
		fc.assert(
			fc.property(fc.array(fc.tuple(prose, block), { minLength: 1, maxLength: 6 }), limitArb, fc.boolean(), (pieces, limit, numbering) => {
				let input = '';
				const blocks: Array<[number, number]> = [];
				for (const [text, code] of pieces) {
					input += text + '\n';
					blocks.push([input.length, input.length + code.length]);
					input += code + '\n';
				}
				const room = limit - (numbering ? 10 : 0);
				fc.pre(blocks.every(([s, e]) => e - s <= room));
				const parts = checkSplit(input, limit, numbering);
				const { spans, fenceCuts } = locate(input, parts, numbering && parts.length > 1);
				expect(fenceCuts).toBe(0);
				for (const [s, e] of blocks) expect(spans.some(([ps, pe]) => ps <= s && e <= pe)).toBe(true);
			}),
			{ numRuns: 300 },
		);
	});

	it('returns text within the limit as its only part, trimmed at the end', () => {
		fc.assert(
			fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (input) => {
				fc.pre(input.trim() !== '' && input.length <= 64);
				const parts = splitText(input, { limit: 64, numbering: true });
				expect(parts).toHaveLength(1);
				expect(input.trimEnd().endsWith(parts[0])).toBe(true);
				expect(parts[0]).toBe(parts[0].trimEnd());
			}),
		);
	});
});

describe('splitText preference order', () => {
	const limit = 40;
	it.each([
		[
			'paragraph beats a later line break',
			'First paragraph.\n\nSecond line\nthird line here and more',
			['First paragraph.', 'Second line\nthird line here and more'],
		],
		[
			'line break beats a later sentence end',
			'One line here\nthen a sentence. And more words to go',
			['One line here', 'then a sentence. And more words to go'],
		],
		[
			'sentence end beats a later space',
			'A short one. Then words without any stop at all',
			['A short one.', 'Then words without any stop at all'],
		],
		['sentence end followed by a closing quote', 'He said "stop." and then kept walking far away', ['He said "stop."', 'and then kept walking far away']],
		['space beats a hard cut', 'words words words words words words words words', ['words words words words words words', 'words words']],
		['hard cut when there is no space', 'x'.repeat(90), ['x'.repeat(40), 'x'.repeat(40), 'x'.repeat(10)]],
		[
			'the last cut of the best kind is taken',
			'Para one.\n\nPara two.\n\nPara three is long enough to overflow',
			['Para one.\n\nPara two.', 'Para three is long enough to overflow'],
		],
		[
			'a paragraph at the very end of the window still counts',
			'This first paragraph is exactly forty ch\n\nnext part',
			['This first paragraph is exactly forty ch', 'next part'],
		],
		[
			'CJK sentence ends without spaces',
			'日本語の文章です。次の文です。もっと長い文がここにあります。短い文。終わりの文です。',
			['日本語の文章です。次の文です。もっと長い文がここにあります。短い文。', '終わりの文です。'],
		],
		['Windows line endings', 'First paragraph.\r\n\r\nSecond paragraph is longer here', ['First paragraph.', 'Second paragraph is longer here']],
		['the indentation of the next line is kept', 'A list of items here:\n  - nested item that is long', ['A list of items here:', '  - nested item that is long']],
	])('%s', (_name, input, expected) => {
		expect(splitText(input, { limit })).toEqual(expected);
		checkSplit(input, limit, false);
	});
});

describe('splitText code fences', () => {
	const code = (n: number) => Array.from({ length: n }, (_, i) => `const v${i} = ${i};`).join('\n');

	it('cuts before a code block rather than inside it', () => {
		const input = `Here is the code you asked for:\n\`\`\`js\n${code(3)}\n\`\`\`\nDone.`;
		const parts = splitText(input, { limit: 70 });
		expect(parts).toEqual(['Here is the code you asked for:', `\`\`\`js\n${code(3)}\n\`\`\`\nDone.`]);
	});

	it('cuts a block longer than a part between lines, closing and re-opening the fence', () => {
		const input = `Intro.\n\n\`\`\`python\n${code(12)}\n\`\`\`\n\nAfter the code.`;
		const parts = checkSplit(input, 64, false);
		expect(parts[0]).toBe('Intro.');
		const codeParts = parts.slice(1, -1);
		expect(codeParts.length).toBeGreaterThan(2);
		for (const part of codeParts) {
			expect(part.startsWith('```python\n')).toBe(true);
			expect(part.endsWith('\n```')).toBe(true);
			expect(part.split('\n').some((line) => line.startsWith('const v'))).toBe(true);
		}
		expect(parts.join('\n')).toContain('const v11 = 11;');
		expect(locate(input, parts, false).fenceCuts).toBe(codeParts.length - 1);
	});

	it('re-opens with the plain marker when the opening line is long', () => {
		const input = `\`\`\`${'a'.repeat(30)}\n${code(10)}\n\`\`\``;
		const parts = checkSplit(input, 64, false);
		expect(parts[0].startsWith('```' + 'a'.repeat(30) + '\n')).toBe(true);
		for (const part of parts.slice(1)) expect(part.startsWith('```\n')).toBe(true);
	});

	it('cuts a single code line longer than a part on grapheme boundaries, keeping it code', () => {
		const line = 'emit("' + '🇫🇷👨‍👩‍👧‍👦é'.repeat(12) + '");';
		const input = '```\n' + line + '\n```';
		const parts = checkSplit(input, 40, false);
		expect(parts.length).toBeGreaterThan(3);
		for (const part of parts) {
			expect(part.startsWith('```\n')).toBe(true);
			expect(part.endsWith('```')).toBe(true);
		}
	});

	it('treats an unclosed fence as code to the end', () => {
		const input = `Look:\n\`\`\`\n${code(8)}`;
		const parts = checkSplit(input, 60, false);
		expect(parts[0]).toBe('Look:');
		expect(parts.at(-1)!.endsWith('```')).toBe(false);
		for (const part of parts.slice(1)) expect(part.startsWith('```\n')).toBe(true);
	});

	it('uses a matching closing marker for longer fences', () => {
		const input = `\`\`\`\`md\n${code(8)}\n\`\`\`\``;
		const parts = checkSplit(input, 60, false);
		expect(parts[0].startsWith('````md\n')).toBe(true);
		expect(parts[0].endsWith('\n````')).toBe(true);
	});

	it('does not take inline triple backticks for a fence', () => {
		const input = '```inline``` code and words '.repeat(4);
		const parts = checkSplit(input, 40, false);
		expect(locate(input, parts, false).fenceCuts).toBe(0);
		expect(parts.every((p) => !p.endsWith('\n```'))).toBe(true);
	});

	it('keeps code indentation after a cut inside a block', () => {
		const body = Array.from({ length: 10 }, (_, i) => `    indented_line_${i}()`).join('\n');
		const parts = checkSplit('```\n' + body + '\n```', 60, false);
		for (const part of parts.slice(1)) expect(part.startsWith('```\n    indented_line_')).toBe(true);
	});
});

describe('splitText at the 4096 limit', () => {
	const limit = 4096;

	it('keeps exactly 4096 characters in one part and splits 4097', () => {
		expect(splitText('a'.repeat(4096), { limit })).toEqual(['a'.repeat(4096)]);
		expect(splitText('a'.repeat(4097), { limit })).toEqual(['a'.repeat(4096), 'a']);
		expect(splitText('a'.repeat(4096) + '\n\n  ', { limit })).toEqual(['a'.repeat(4096)]);
	});

	it('cuts at a space right at the limit', () => {
		const input = 'w'.repeat(4096) + ' tail';
		expect(splitText(input, { limit })).toEqual(['w'.repeat(4096), 'tail']);
		const input2 = 'w'.repeat(4095) + ' tail';
		expect(splitText(input2, { limit })).toEqual(['w'.repeat(4095), 'tail']);
	});

	it('never splits a surrogate pair straddling the limit', () => {
		const input = 'a'.repeat(4095) + '😀' + 'b';
		expect(splitText(input, { limit })).toEqual(['a'.repeat(4095), '😀b']);
	});

	it('never splits a ZWJ sequence or a flag straddling the limit', () => {
		const family = '👨‍👩‍👧‍👦';
		const input = 'a'.repeat(4090) + family + 'b';
		expect(splitText(input, { limit })).toEqual(['a'.repeat(4090), family + 'b']);
		const flags = 'a'.repeat(4093) + '🇫🇷🇯🇵';
		expect(splitText(flags, { limit })).toEqual(['a'.repeat(4093), '🇫🇷🇯🇵']);
		const combining = 'a'.repeat(4095) + 'e\u0301\u0323x';
		expect(splitText(combining, { limit })).toEqual(['a'.repeat(4095), 'e\u0301\u0323x']);
	});

	it('reserves room for the numbering suffix', () => {
		const input = 'a'.repeat(4096 * 2);
		const parts = splitText(input, { limit, numbering: true });
		expect(parts).toEqual(['a'.repeat(4090) + ' (1/3)', 'a'.repeat(4090) + ' (2/3)', 'a'.repeat(12) + ' (3/3)']);
		expect(splitText('a'.repeat(4096), { limit, numbering: true })).toEqual(['a'.repeat(4096)]);
	});

	it('handles a 1 MB message of mixed text, every part within the limit', () => {
		const input = ('Paragraph with words and 👨‍👩‍👧‍👦 emoji. '.repeat(20) + '\n\n```js\n' + 'code();\n'.repeat(30) + '```\n\n').repeat(700);
		const parts = splitText(input, { limit, numbering: true });
		expect(parts.length).toBeGreaterThan(200);
		for (const part of parts) expect(part.length).toBeLessThanOrEqual(limit);
		expect(parts.join('').replace(/\s|\(\d+\/\d+\)|`/g, '')).toBe(input.replace(/\s|`/g, ''));
	});
});

describe('splitText numbering', () => {
	it('appends " (i/n)" to every part when there is more than one', () => {
		expect(splitText('First part here.\n\nSecond part here and more text', { limit: 40, numbering: true })).toEqual([
			'First part here. (1/2)',
			'Second part here and more text (2/2)',
		]);
	});

	it('makes room for two-digit numbers', () => {
		const parts = splitText('word '.repeat(200), { limit: 40, numbering: true });
		expect(parts.length).toBeGreaterThanOrEqual(10);
		parts.forEach((part, i) => {
			expect(part.length).toBeLessThanOrEqual(40);
			expect(part.endsWith(` (${i + 1}/${parts.length})`)).toBe(true);
		});
	});

	it('adds nothing to a single part', () => {
		expect(splitText('short', { limit: 40, numbering: true })).toEqual(['short']);
	});
});

describe('splitText edge cases', () => {
	it.each([[''], ['   '], ['\n\n\t \r\n'], ['\u00a0\ufeff']])('returns no part for %j', (input) => {
		expect(splitText(input, { limit: 4096 })).toEqual([]);
	});

	it('drops leading blank lines and trailing whitespace, keeps first-line indentation', () => {
		expect(splitText('\n\n   indented\nsecond  \n\n', { limit: 4096 })).toEqual(['   indented\nsecond']);
		expect(splitText('unchanged text', { limit: 4096 })).toEqual(['unchanged text']);
	});

	it('cuts a cluster longer than a whole part between code points only', () => {
		const input = 'a' + '\u0301'.repeat(100);
		const parts = splitText(input, { limit: 32 });
		expect(parts.join('')).toBe(input);
		for (const part of parts) expect(part.length).toBeLessThanOrEqual(32);
	});
});

describe('splitText validation', () => {
	it.each([[0], [31], [-5], [40.5], [NaN], [Infinity], ['4096' as unknown as number], [undefined as unknown as number]])(
		'rejects limit %p',
		(limit) => {
			expect(() => splitText('text', { limit })).toThrow(WhatsAppValidationError);
			try {
				splitText('text', { limit });
			} catch (error) {
				expect((error as WhatsAppValidationError).field).toBe('limit');
				expect((error as Error).message).toMatch(/at least 32 characters/);
			}
		},
	);

	it('accepts the smallest limit', () => {
		expect(splitText('x'.repeat(100), { limit: 32 })).toHaveLength(4);
	});

	it('rejects numbering that cannot fit', () => {
		// 32 - " (1000000/1000000)".length leaves less than the minimum text per part.
		const input = 'x'.repeat(16 * 1_000_001);
		expect(() => splitText(input, { limit: 32, numbering: true })).toThrow(/too long to be split into numbered parts/);
		expect(splitText(input, { limit: 32 })).toHaveLength(Math.ceil(input.length / 32));
	});
});

describe('splitText running time', () => {
	// A quadratic rescan would take minutes on these 1 MB inputs.
	it.each([
		['no whitespace at all', 'x'.repeat(1 << 20)],
		['only emoji', '👨‍👩‍👧‍👦'.repeat(1 << 16)],
		['one word per line', 'word\n'.repeat(1 << 18)],
		['a paragraph break early in every window', ('p\n\n' + 'y'.repeat(5000)).repeat(200)],
		['one huge code block', '```\n' + 'code line;\n'.repeat(1 << 17) + '```'],
		['one huge code line', '```\n' + 'z'.repeat(1 << 20) + '\n```'],
		['combining marks', 'e\u0301'.repeat(1 << 19)],
		['flags', '🇫🇷'.repeat(1 << 18)],
	])('%s', (_name, input) => {
		const started = Date.now();
		const parts = splitText(input, { limit: 4096, numbering: true });
		expect(Date.now() - started).toBeLessThan(3000);
		for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
	});
});
