/**
 * Agent markdown → WhatsApp formatting (SPEC §6). The exact rules:
 *
 * Blocks (line by line)
 * - Fenced code (``` or ~~~, indentation kept, closed by the same character at
 *   least as many times): the lines inside are copied exactly; each fence line becomes a bare
 *   ``` (WhatsApp's monospace block), dropping the language name. An unclosed fence runs to the end.
 * - `# h` … `###### h` (closing #s dropped), and a line of 3+ `=` or `-` right under a
 *   paragraph line (setext): the heading becomes `*h*`, with bold markers inside it dropped.
 * - `- x`, `* x`, `+ x` → `• x`, indentation kept. Numbered lists (`1. x`, `1) x`), quotes
 *   (`> x`, rendered by WhatsApp too) and tables stay as text, inline rules applied inside.
 * - Horizontal rules (`---`, `***`, `___`, spaces allowed) become one empty line.
 *
 * Inline (never across lines, never inside code)
 * - `` `code` `` and longer code spans are copied verbatim, backticks included.
 * - `**b**` and `__b__` → `*b*`; `*i*` and `_i_` → `_i_` (in WhatsApp `*` means bold);
 *   `***bi***` and `___bi___` → `*_bi_*`; `~~s~~` → `~s~`. A marker opens only at the start
 *   of a word and closes only at its end (snake_case, 2*3*4 and URLs are left alone), and
 *   an unmatched marker stays as typed.
 * - `[t](u)` → `t (u)`; when t is u itself (scheme and trailing slash aside), or empty → `u`.
 *   `![alt](u)` → `alt (u)`, or `u` without alt. `<https://…>` → `https://…`. Titles
 *   (`[t](u "title")`) are dropped. Bare URLs are copied untouched.
 * - `<br>`, `<br/>`, `<br />` → a line break.
 * - A backslash escape (`\*`, `\_`, `\#` …) → the character itself.
 *
 * Text with none of these is returned unchanged; no word of content is ever dropped. Linear
 * time: each line is scanned a fixed number of times, brackets and code spans are paired
 * with stacks and queues, never by rescanning.
 */

export function markdownToWhatsApp(markdown: string): string {
	if (typeof markdown !== 'string' || markdown === '') return markdown;
	const out: string[] = [];
	let fence: { char: number; length: number } | null = null;
	/** The last output line that could become a setext heading: its index and source. */
	let paragraph: { index: number; content: string; terminator: string } | null = null;
	/** After a horizontal rule: blank lines that would double the one it left are dropped. */
	let afterRule = false;
	const lastIsBlank = () => out.length === 0 || out[out.length - 1].trim() === '';

	for (let pos = 0; pos < markdown.length; ) {
		let nl = markdown.indexOf('\n', pos);
		if (nl === -1) nl = markdown.length;
		let contentEnd = nl;
		if (contentEnd > pos && markdown.charCodeAt(contentEnd - 1) === 13) contentEnd--;
		const line = markdown.slice(pos, contentEnd);
		const terminator = markdown.slice(contentEnd, Math.min(nl + 1, markdown.length));
		pos = nl + 1;

		if (fence) {
			const marker = fenceMarker(line);
			if (marker && marker.char === fence.char && marker.length >= fence.length && marker.rest.trim() === '') {
				out.push(marker.indent + '```' + terminator);
				fence = null;
			} else {
				out.push(line + terminator);
			}
			continue;
		}
		const marker = fenceMarker(line);
		if (marker && !(marker.char === 96 && marker.rest.includes('`'))) {
			fence = { char: marker.char, length: marker.length };
			out.push(marker.indent + '```' + terminator);
			paragraph = null;
			continue;
		}
		if (line.trim() === '') {
			if (!(afterRule && lastIsBlank())) out.push(line + terminator);
			paragraph = null;
			continue;
		}
		afterRule = false;
		if (paragraph && SETEXT_UNDERLINE.test(line)) {
			out[paragraph.index] = heading(paragraph.content) + paragraph.terminator;
			paragraph = null;
			continue;
		}
		if (HORIZONTAL_RULE.test(line)) {
			// One empty line in place of the rule, none if there is one already.
			if (!lastIsBlank()) out.push(terminator);
			afterRule = true;
			paragraph = null;
			continue;
		}
		const { text, isParagraph } = convertLine(line);
		paragraph = isParagraph ? { index: out.length, content: line, terminator } : null;
		out.push(text + terminator);
	}
	return out.join('');
}

const SETEXT_UNDERLINE = /^ {0,3}(?:={3,}|-{3,})[ \t]*$/;
const HORIZONTAL_RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE_PREFIX = /^(?: {0,3}>[ \t]?)+/;
const BULLET = /^([ \t]*)[-*+][ \t]+(?=\S)/;
const NUMBERED = /^[ \t]*\d{1,9}[.)][ \t]+/;

/** A fence line: indentation (any, so fences nested in list items count), then 3+ backticks or tildes. */
function fenceMarker(line: string): { char: number; length: number; rest: string; indent: string } | null {
	let i = 0;
	while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
	const char = line.charCodeAt(i);
	if (char !== 96 && char !== 126) return null;
	let j = i;
	while (line.charCodeAt(j) === char) j++;
	if (j - i < 3) return null;
	return { char, length: j - i, rest: line.slice(j), indent: line.slice(0, i) };
}

/** Block rules of one line outside code; tells whether it is a plain paragraph line. */
function convertLine(line: string): { text: string; isParagraph: boolean } {
	const quote = QUOTE_PREFIX.exec(line);
	if (quote) return { text: quote[0] + convertLine(line.slice(quote[0].length)).text, isParagraph: false };

	const title = atxHeadingContent(line);
	if (title !== null) return { text: heading(title), isParagraph: false };

	const bullet = BULLET.exec(line);
	if (bullet && !HORIZONTAL_RULE.test(line)) {
		return { text: bullet[1] + '• ' + convertInline(line, bullet[0].length, line.length, false), isParagraph: false };
	}
	const numbered = NUMBERED.exec(line);
	if (numbered) {
		return { text: numbered[0] + convertInline(line, numbered[0].length, line.length, false), isParagraph: false };
	}
	const isTableRow = line.trimStart().startsWith('|');
	return { text: convertInline(line, 0, line.length, false), isParagraph: !isTableRow };
}

/** The text of an ATX heading (`## Title ##` → `Title`), or null when the line is not one. */
function atxHeadingContent(line: string): string | null {
	let i = 0;
	while (i < 3 && line.charCodeAt(i) === 32) i++;
	let j = i;
	while (j < line.length && line.charCodeAt(j) === 35) j++;
	const hashes = j - i;
	if (hashes < 1 || hashes > 6) return null;
	if (j < line.length && line[j] !== ' ' && line[j] !== '\t') return null;
	let content = line.slice(j).trim();
	// Optional closing sequence: spaces then #s at the end.
	let k = content.length;
	while (k > 0 && content.charCodeAt(k - 1) === 35) k--;
	if (k === 0) content = '';
	else if (k < content.length && (content[k - 1] === ' ' || content[k - 1] === '\t')) content = content.slice(0, k).trimEnd();
	return content;
}

function heading(content: string): string {
	const inner = convertInline(content, 0, content.length, true).trim();
	return inner === '' ? '' : `*${inner}*`;
}

// ---- Inline ------------------------------------------------------------------------------

/** Pairings of one line, computed once and shared by nested ranges (link texts). */
interface LineIndex {
	/** Code span start → end (exclusive). */
	codeSpans: Map<number, number>;
	/** `[` → matching `]`, `(` → matching `)`. */
	brackets: Map<number, number>;
	parens: Map<number, number>;
}

function convertInline(line: string, from: number, to: number, stripBold: boolean): string {
	if (!hasInlineSyntax(line, from, to)) return line.slice(from, to);
	return inlineRange(line, indexLine(line, from, to), from, to, stripBold);
}

const INLINE_SYNTAX = /[*_~`\\[<!]|https?:\/\/|www\./i;

function hasInlineSyntax(line: string, from: number, to: number): boolean {
	return INLINE_SYNTAX.test(from === 0 && to === line.length ? line : line.slice(from, to));
}

function isAsciiPunctuation(c: number): boolean {
	return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

function indexLine(line: string, from: number, to: number): LineIndex {
	const codeSpans = new Map<number, number>();
	const brackets = new Map<number, number>();
	const parens = new Map<number, number>();

	// Backtick runs, paired with the next run of the same length (queues per length).
	const runs: Array<[number, number]> = [];
	for (let i = from; i < to; ) {
		const c = line.charCodeAt(i);
		if (c === 92 && i + 1 < to && isAsciiPunctuation(line.charCodeAt(i + 1))) {
			i += 2;
		} else if (c === 96) {
			let j = i;
			while (j < to && line.charCodeAt(j) === 96) j++;
			runs.push([i, j - i]);
			i = j;
		} else {
			i++;
		}
	}
	const byLength = new Map<number, { runs: number[]; next: number }>();
	runs.forEach(([, length], index) => {
		let queue = byLength.get(length);
		if (!queue) byLength.set(length, (queue = { runs: [], next: 0 }));
		queue.runs.push(index);
	});
	let spanEnd = from;
	runs.forEach(([start, length], index) => {
		if (start < spanEnd) return;
		const queue = byLength.get(length)!;
		while (queue.next < queue.runs.length && queue.runs[queue.next] <= index) queue.next++;
		if (queue.next < queue.runs.length) {
			const close = runs[queue.runs[queue.next]];
			spanEnd = close[0] + length;
			codeSpans.set(start, spanEnd);
		}
	});

	// Brackets and parentheses outside code spans, paired with stacks.
	const openBrackets: number[] = [];
	const openParens: number[] = [];
	for (let i = from; i < to; i++) {
		const span = codeSpans.get(i);
		if (span !== undefined) {
			i = span - 1;
			continue;
		}
		const c = line.charCodeAt(i);
		if (c === 92 && i + 1 < to && isAsciiPunctuation(line.charCodeAt(i + 1))) i++;
		else if (c === 91) openBrackets.push(i);
		else if (c === 93 && openBrackets.length > 0) brackets.set(openBrackets.pop()!, i);
		else if (c === 40) openParens.push(i);
		else if (c === 41 && openParens.length > 0) parens.set(openParens.pop()!, i);
	}
	return { codeSpans, brackets, parens };
}

type DelimiterKind = '*' | '**' | '***' | '_' | '__' | '___' | '~~';

interface Delimiter {
	kind: DelimiterKind;
	/** Index of its placeholder in the output pieces. */
	piece: number;
}

const AUTOLINK = /<((?:https?|mailto|tel):[^\s<>]*)>/iy;
const LINE_BREAK_TAG = /<br\s*\/?>/iy;
const BARE_URL = /(?:https?:\/\/|www\.)[^\s<]*/iy;

function inlineRange(line: string, index: LineIndex, from: number, to: number, stripBold: boolean): string {
	const pieces: string[] = [];
	const stack: Delimiter[] = [];
	const openCount = new Map<DelimiterKind, number>();
	let plainStart = from;
	const flush = (until: number) => {
		if (until > plainStart) pieces.push(line.slice(plainStart, until));
	};

	let p = from;
	while (p < to) {
		const c = line.charCodeAt(p);
		let consumed = 0;
		let replacement: string | null = null;

		if (c === 96) {
			const end = index.codeSpans.get(p);
			if (end !== undefined && end <= to) {
				consumed = end - p;
				replacement = line.slice(p, end);
			} else {
				let j = p;
				while (j < to && line.charCodeAt(j) === 96) j++;
				consumed = j - p;
				replacement = line.slice(p, j);
			}
		} else if (c === 92 && p + 1 < to && isAsciiPunctuation(line.charCodeAt(p + 1))) {
			consumed = 2;
			replacement = line[p + 1];
		} else if (c === 91 || (c === 33 && line.charCodeAt(p + 1) === 91)) {
			const link = linkAt(line, index, c === 33 ? p + 1 : p, to, stripBold);
			if (link) {
				consumed = link.end - p;
				replacement = link.text;
			}
		} else if (c === 60) {
			AUTOLINK.lastIndex = p;
			LINE_BREAK_TAG.lastIndex = p;
			const auto = AUTOLINK.exec(line);
			if (auto && auto.index + auto[0].length <= to) {
				consumed = auto[0].length;
				replacement = auto[1];
			} else if (LINE_BREAK_TAG.exec(line) && LINE_BREAK_TAG.lastIndex <= to) {
				consumed = LINE_BREAK_TAG.lastIndex - p;
				replacement = '\n';
			}
		} else if ((c === 104 || c === 72 || c === 119 || c === 87) && !isWordChar(charBefore(line, p, from))) {
			BARE_URL.lastIndex = p;
			const url = BARE_URL.exec(line);
			if (url) {
				consumed = Math.min(trimUrl(url[0]).length, to - p);
				replacement = line.slice(p, p + consumed);
			}
		} else if (c === 42 || c === 95 || c === 126) {
			let j = p;
			while (j < to && line.charCodeAt(j) === c) j++;
			const length = j - p;
			const kind = delimiterKind(c, length);
			consumed = length;
			replacement = line.slice(p, j);
			if (kind) {
				flush(p);
				plainStart = j;
				const before = charBefore(line, p, from);
				const after = charAt(line, j, to);
				const canClose = !isSpace(before) && !isWordChar(after);
				const canOpen = !isSpace(after) && !isWordChar(before);
				if (canClose && (openCount.get(kind) ?? 0) > 0) {
					// Close the nearest opener of this kind; openers above it stay literal.
					let opener = stack.pop()!;
					openCount.set(opener.kind, openCount.get(opener.kind)! - 1);
					while (opener.kind !== kind) {
						opener = stack.pop()!;
						openCount.set(opener.kind, openCount.get(opener.kind)! - 1);
					}
					const [open, close] = markers(kind, stripBold);
					pieces[opener.piece] = open;
					pieces.push(close);
				} else if (canOpen) {
					stack.push({ kind, piece: pieces.length });
					openCount.set(kind, (openCount.get(kind) ?? 0) + 1);
					pieces.push(replacement);
				} else {
					pieces.push(replacement);
				}
				p = j;
				continue;
			}
		}

		if (replacement === null) {
			p++;
			continue;
		}
		flush(p);
		pieces.push(replacement);
		p += consumed;
		plainStart = p;
	}
	flush(to);
	return pieces.join('');
}

function delimiterKind(c: number, length: number): DelimiterKind | null {
	if (c === 126) return length === 2 ? '~~' : null;
	if (length > 3) return null;
	return String.fromCharCode(c).repeat(length) as DelimiterKind;
}

function markers(kind: DelimiterKind, stripBold: boolean): [string, string] {
	switch (kind) {
		case '**':
		case '__':
			return stripBold ? ['', ''] : ['*', '*'];
		case '***':
		case '___':
			return stripBold ? ['_', '_'] : ['*_', '_*'];
		case '~~':
			return ['~', '~'];
		default:
			return ['_', '_'];
	}
}

/** `[text](url)` or `![alt](url)` starting at the `[` at `open`. */
function linkAt(
	line: string,
	index: LineIndex,
	open: number,
	to: number,
	stripBold: boolean,
): { end: number; text: string } | null {
	const close = index.brackets.get(open);
	if (close === undefined || close + 1 >= to || line.charCodeAt(close + 1) !== 40) return null;
	const parenClose = index.parens.get(close + 1);
	if (parenClose === undefined || parenClose >= to) return null;
	const url = destination(line.slice(close + 2, parenClose));
	if (url === null) return null;
	const text = inlineRange(line, index, open + 1, close, stripBold).trim();
	let rendered: string;
	if (url === '') rendered = text;
	else if (text === '' || sameAddress(text, url)) rendered = url;
	else rendered = `${text} (${url})`;
	return { end: parenClose + 1, text: rendered };
}

/** The URL of a link destination, without `<>` or a title; null when it is not one. */
function destination(raw: string): string | null {
	const trimmed = raw.trim();
	if (trimmed.startsWith('<')) {
		const end = trimmed.indexOf('>');
		return end === -1 ? null : trimmed.slice(1, end);
	}
	const space = trimmed.search(/\s/);
	if (space === -1) return trimmed;
	const title = trimmed.slice(space).trim();
	// Only a quoted or parenthesised title may follow the address.
	if (!/^(?:"[^"]*"|'[^']*'|\([^)]*\))$/.test(title)) return null;
	return trimmed.slice(0, space);
}

function sameAddress(text: string, url: string): boolean {
	const normalise = (s: string) =>
		s
			.replace(/^(?:https?:\/\/|mailto:|tel:)/i, '')
			.replace(/^www\./i, '')
			.replace(/\/$/, '')
			.toLowerCase();
	return normalise(text) === normalise(url);
}

/** Trailing punctuation is not part of a bare URL; a closing paren only when unbalanced. */
function trimUrl(url: string): string {
	let balance = 0;
	for (let i = 0; i < url.length; i++) {
		if (url[i] === '(') balance++;
		else if (url[i] === ')') balance--;
	}
	let end = url.length;
	while (end > 0) {
		const c = url[end - 1];
		if ('.,;:!?\'"*_~'.includes(c)) {
			end--;
		} else if (c === ')' && balance < 0) {
			balance++;
			end--;
		} else {
			break;
		}
	}
	return url.slice(0, end);
}

function isSpace(ch: string): boolean {
	const code = ch.charCodeAt(0);
	if (code < 128) return code === 32 || (code >= 9 && code <= 13);
	return /\s/.test(ch);
}

/** The whole character (code point) that ends just before `i`, or a space outside the range. */
function charBefore(line: string, i: number, from: number): string {
	if (i <= from) return ' ';
	const low = line.charCodeAt(i - 1);
	if (low >= 0xdc00 && low <= 0xdfff && i - 2 >= from) return line.slice(i - 2, i);
	return line[i - 1];
}

/** The whole character that starts at `i`, or a space outside the range. */
function charAt(line: string, i: number, to: number): string {
	if (i >= to) return ' ';
	const code = line.charCodeAt(i);
	return code < 0xd800 || code > 0xdbff ? line[i] : String.fromCodePoint(line.codePointAt(i)!);
}

/** A letter or a digit, in any script. */
function isWordChar(ch: string): boolean {
	const code = ch.charCodeAt(0);
	if (code < 128) return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
	return /[\p{L}\p{N}]/u.test(ch);
}
