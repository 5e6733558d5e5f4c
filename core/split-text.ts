/**
 * Splits a long text into WhatsApp-sized parts (SPEC §6).
 *
 * Rules, in the order they are applied:
 * - Length is counted in UTF-16 code units (`String.length`), as Meta counts.
 * - Empty or whitespace-only text gives `[]`.
 * - The text is first trimmed: trailing whitespace and leading blank lines are dropped (the
 *   first line's indentation is kept). If what is left fits in `limit`, it is the only part,
 *   and no numbering is added.
 * - Otherwise each part is as long as possible and ends at the LAST cut point of the best
 *   kind found within the limit: paragraph (a blank line) → line break → sentence end
 *   (`. ! ? …` followed by a space, or `。！？`) → space between words → hard cut. A better
 *   kind always wins over a worse one, even when it gives a shorter part.
 * - The whitespace at a cut is dropped, except the indentation of the line a part starts
 *   with. Nothing else is ever dropped, and the order is kept.
 * - Cuts never fall inside a fenced code block (a line starting with ``` up to a line with
 *   at least as many backticks). A block longer than the limit is cut between its lines
 *   (inside a line only when one line alone is too long); each piece is closed with the
 *   fence marker and the next piece re-opens it with the original opening line, so every
 *   part renders as code.
 * - A hard cut falls on a grapheme cluster boundary (emoji ZWJ sequences, flags, skin
 *   tones, combining marks stay whole). Only a single cluster longer than the whole part
 *   (pathological combining-mark stacks) is cut between code points, never inside a
 *   surrogate pair.
 * - `numbering: true` appends ` (i/n)` to every part when there is more than one; the
 *   suffix counts against the limit.
 *
 * The work is linear in the text length: one pass records every cut point, each part then
 * costs a few binary searches, and grapheme boundaries are only computed on small local
 * slices (Intl.Segmenter on a whole long string is slow on Node 20).
 */
import { WhatsAppValidationError } from './errors';

export interface SplitOptions {
	/** Max characters per part, counted in UTF-16 code units like Meta does (String.length). */
	limit: number;
	/** Append " (i/n)" to every part when there is more than one part; the suffix counts against limit. */
	numbering?: boolean;
}

/** The smallest limit accepted: room for some text, a numbering suffix and code fences. */
export const MIN_SPLIT_LIMIT = 32;

/** Characters that must stay for text once the numbering suffix is reserved. */
const MIN_CONTENT = 16;

const PARAGRAPH = 0;
const LINE = 1;
const SENTENCE = 2;
const WORD = 3;
const LEVELS = 4;

export function splitText(text: string, options: SplitOptions): string[] {
	const limit = options?.limit;
	if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < MIN_SPLIT_LIMIT) {
		throw new WhatsAppValidationError(
			`The maximum length of a message part must be a whole number of at least ${MIN_SPLIT_LIMIT} characters (got ${String(limit)}).`,
			'limit',
		);
	}
	if (typeof text !== 'string') {
		throw new WhatsAppValidationError('The text to split must be a string.', 'text');
	}
	let to = text.trimEnd().length;
	// A prepended concatenation mark (e.g. U+0600) forms one cluster with the space after it.
	if (to > 0 && to < text.length && !isControlSpace(text.charCodeAt(to)) && endsWithPrepend(text, to)) to++;
	const from = contentStart(text, to);
	if (from >= to) return [];
	if (to - from <= limit) return [text.slice(from, to)];

	const layout = analyse(text, from, to);
	if (!options.numbering) return cut(text, layout, from, to, limit);

	for (let digits = 1; ; digits++) {
		// " (" + i + "/" + n + ")" with i and n at most `digits` long.
		const budget = limit - (4 + 2 * digits);
		if (budget < MIN_CONTENT) {
			throw new WhatsAppValidationError(
				`The text is too long to be split into numbered parts of at most ${limit} characters. Raise the maximum length or turn numbering off.`,
				'limit',
			);
		}
		const parts = cut(text, layout, from, to, budget);
		if (parts.length < 10 ** digits) {
			const n = parts.length;
			return parts.map((part, i) => `${part} (${i + 1}/${n})`);
		}
	}
}

/** A fenced code block: [open, end) from the opening line's start to after the closing backticks. */
interface Fence {
	open: number;
	/** Start of the first line after the opening line. */
	firstCodeLine: number;
	end: number;
	/** Number of backticks of the opening marker. */
	ticks: number;
	/** The opening line without its indentation, e.g. "```python". */
	openingLine: string;
}

/** Cut points found in one pass; each list is sorted by `ends`. */
interface Layout {
	/** Per level: where the part before the cut ends, and where the next part starts. */
	ends: number[][];
	nexts: number[][];
	fences: Fence[];
	/** Cut points between two code lines inside fences. */
	codeEnds: number[];
	codeNexts: number[];
}

function cut(text: string, layout: Layout, from: number, to: number, budget: number): string[] {
	const parts: string[] = [];
	let start = from;
	let reopened: Fence | null = null;
	let fenceIndex = 0;
	const { fences } = layout;

	for (;;) {
		const markers: FenceMarkers | null = reopened ? fenceMarkers(reopened, budget) : null;
		const prefix: string = markers ? markers.reopen + '\n' : '';
		const room = budget - prefix.length;
		if (to - start <= room) {
			parts.push(prefix + text.slice(start, to));
			return parts;
		}
		const hi = start + room;

		const best = bestCut(layout, start, hi);
		if (best) {
			parts.push(prefix + text.slice(start, layout.ends[best.level][best.index]));
			start = layout.nexts[best.level][best.index];
			reopened = null;
			continue;
		}

		while (fenceIndex < fences.length && fences[fenceIndex].end <= start) fenceIndex++;
		const fence = fenceIndex < fences.length ? fences[fenceIndex] : undefined;
		if (fence && fence.open <= start) {
			// The code block is longer than a part: cut it between lines, close and re-open it.
			const { close } = fenceMarkers(fence, budget);
			const codeHi = hi - (1 + close.length);
			const lo = reopened ? start : fence.firstCodeLine;
			let end = -1;
			let next = -1;
			const i = lastAtMost(layout.codeEnds, codeHi);
			if (i >= 0 && layout.codeEnds[i] > lo) {
				end = layout.codeEnds[i];
				next = layout.codeNexts[i];
			} else if (codeHi > lo) {
				end = graphemeCut(text, lo, codeHi);
				next = end;
			}
			if (end > lo) {
				parts.push(prefix + text.slice(start, end) + '\n' + close);
				start = next;
				reopened = fence;
				continue;
			}
			// Only an opening line longer than a whole part gets here: cut it as plain text.
		}

		// Hard cut. Indentation kept at the start of this part would be cut through anyway.
		start = skipSpaces(text, start, to);
		if (to - start <= room) continue;
		const end = graphemeCut(text, start, start + room);
		parts.push(prefix + text.slice(start, end));
		start = end;
		reopened = null;
	}
}

interface FenceMarkers {
	reopen: string;
	close: string;
}

function fenceMarkers(fence: Fence, budget: number): FenceMarkers {
	const close = fence.ticks <= 8 ? '`'.repeat(fence.ticks) : '```';
	// Re-open with the original line (keeps the language) unless it would eat half a part.
	const reopen = fence.openingLine.length + close.length + 2 <= budget / 2 ? fence.openingLine : close;
	return { reopen, close };
}

/** The best cut whose part ends in (start, hi]: the last one of the best level present. */
function bestCut(layout: Layout, start: number, hi: number): { level: number; index: number } | null {
	for (let level = 0; level < LEVELS; level++) {
		const ends = layout.ends[level];
		const index = lastAtMost(ends, hi);
		if (index >= 0 && ends[index] > start) return { level, index };
	}
	return null;
}

/** Index of the last element ≤ value in a sorted array, or -1. */
function lastAtMost(sorted: number[], value: number): number {
	let lo = 0;
	let hi = sorted.length - 1;
	let found = -1;
	while (lo <= hi) {
		const mid = (lo + hi) >> 1;
		if (sorted[mid] <= value) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/** Skip breakable spaces from `start`, except a space carrying a combining mark after it. */
function skipSpaces(text: string, start: number, to: number): number {
	let i = start;
	while (i < to && isBreakSpace(text.charCodeAt(i))) i++;
	if (i > start && !isControlSpace(text.charCodeAt(i - 1)) && startsWithExtender(text, i)) i--;
	return i;
}

/** Drop leading blank lines, keep the first visible line's indentation. */
function contentStart(text: string, to: number): number {
	let from = 0;
	for (let i = 0; i < to; i++) {
		const c = text.charCodeAt(i);
		if (!isJsWhitespace(c)) break;
		if (isNewline(c)) from = i + 1;
	}
	return from;
}

/** One pass over the text: code fences, then every whitespace cut point outside them. */
function analyse(text: string, from: number, to: number): Layout {
	const ends: number[][] = [[], [], [], []];
	const nexts: number[][] = [[], [], [], []];
	const fences: Fence[] = [];
	const codeEnds: number[] = [];
	const codeNexts: number[] = [];

	// Fences and the line boundaries inside them.
	let open: Fence | null = null;
	let previousCodeLineEnd = -1;
	for (let pos = from; pos < to; ) {
		let nl = text.indexOf('\n', pos);
		if (nl === -1 || nl > to) nl = to;
		let lineEnd = nl;
		if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
		let j = pos;
		// Any indentation: agents indent fences nested in list items.
		while (j < lineEnd && (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)) j++;
		let k = j;
		while (k < lineEnd && text.charCodeAt(k) === 96) k++;
		const ticks = k - j;
		if (open === null) {
			if (ticks >= 3 && !hasBacktick(text, k, lineEnd)) {
				open = {
					open: pos,
					firstCodeLine: Math.min(nl + 1, to),
					end: to,
					ticks,
					openingLine: text.slice(j, lineEnd).trim(),
				};
				previousCodeLineEnd = -1;
			}
		} else if (ticks >= open.ticks && isBlank(text, k, lineEnd)) {
			open.end = k;
			fences.push(open);
			open = null;
		} else {
			if (previousCodeLineEnd >= 0) {
				codeEnds.push(previousCodeLineEnd);
				codeNexts.push(pos);
			}
			previousCodeLineEnd = lineEnd;
		}
		pos = nl + 1;
	}
	if (open !== null) fences.push(open);

	// Whitespace runs (and CJK sentence ends) outside fences.
	let fenceIndex = 0;
	let stop = fences.length > 0 ? Math.min(to, fences[0].open) : to;
	let i = from;
	while (i < to) {
		if (i >= stop) {
			// Skip the fence, then scan up to the next one.
			i = Math.max(i, fences[fenceIndex].end);
			fenceIndex++;
			stop = fenceIndex < fences.length ? Math.min(to, fences[fenceIndex].open) : to;
			continue;
		}
		const c = text.charCodeAt(i);
		if (!isBreakSpace(c)) {
			i++;
			if (c >= 0x3002 && isCjkSentenceEnd(c)) {
				const p = skipClosers(text, i, to);
				if (p < to && p > from && !isBreakSpace(text.charCodeAt(p)) && !startsWithExtender(text, p)) {
					ends[SENTENCE].push(p);
					nexts[SENTENCE].push(p);
				}
			}
			continue;
		}
		const runStart = i;
		let newlines = 0;
		let afterNewline = -1;
		while (i < to) {
			const w = text.charCodeAt(i);
			if (!isBreakSpace(w)) break;
			if (w === 10 || w === 0x2028 || (w === 13 && text.charCodeAt(i + 1) !== 10)) {
				newlines++;
				afterNewline = i + 1;
			} else if (w === 0x2029) {
				newlines += 2;
				afterNewline = i + 1;
			}
			i++;
		}
		if (runStart <= from || i >= to) continue;
		const level =
			newlines >= 2 ? PARAGRAPH : newlines === 1 ? LINE : endsSentence(text, runStart, from) ? SENTENCE : WORD;

		// Keep the cut on grapheme boundaries: a space glued to a neighbour stays with it.
		let end = runStart;
		if (!isControlSpace(text.charCodeAt(runStart)) && endsWithPrepend(text, runStart)) end++;
		let next = newlines > 0 ? afterNewline : i;
		if (newlines === 0 && !isControlSpace(text.charCodeAt(next - 1)) && startsWithExtender(text, next)) next--;
		if (next < end) continue;
		ends[level].push(end);
		nexts[level].push(next);
	}
	return { ends, nexts, fences, codeEnds, codeNexts };
}

function hasBacktick(text: string, from: number, to: number): boolean {
	for (let i = from; i < to; i++) if (text.charCodeAt(i) === 96) return true;
	return false;
}

function isBlank(text: string, from: number, to: number): boolean {
	for (let i = from; i < to; i++) if (!isJsWhitespace(text.charCodeAt(i))) return false;
	return true;
}

/** Closing quotes and brackets that may follow a sentence end. */
function isCloser(c: number): boolean {
	return (
		c === 34 || c === 39 || c === 41 || c === 93 || c === 0x201d || c === 0x2019 || c === 0xbb ||
		c === 0x300d || c === 0x300f || c === 0xff09
	);
}

function skipClosers(text: string, i: number, to: number): number {
	while (i < to && isCloser(text.charCodeAt(i))) i++;
	return i;
}

/** Does the text before `runStart` end a sentence (". ! ? …", optionally followed by closers)? */
function endsSentence(text: string, runStart: number, from: number): boolean {
	let p = runStart - 1;
	while (p > from && isCloser(text.charCodeAt(p))) p--;
	const c = text.charCodeAt(p);
	return c === 46 || c === 33 || c === 63 || c === 0x2026 || isCjkSentenceEnd(c);
}

function isCjkSentenceEnd(c: number): boolean {
	return c === 0x3002 || c === 0xff01 || c === 0xff1f;
}

/** Whitespace where a line may be broken (no-break spaces and BOM excluded). */
function isBreakSpace(c: number): boolean {
	if (c > 32 && c < 0x1680) return false;
	return (
		c === 32 ||
		(c >= 9 && c <= 13) ||
		(c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
		c === 0x2028 ||
		c === 0x2029 ||
		c === 0x205f ||
		c === 0x3000 ||
		c === 0x1680
	);
}

/** Whitespace of grapheme break class Control/CR/LF: always a boundary on both sides. */
function isControlSpace(c: number): boolean {
	return (c >= 9 && c <= 13) || c === 0x2028 || c === 0x2029;
}

function isNewline(c: number): boolean {
	return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/** The set String.prototype.trim removes. */
function isJsWhitespace(c: number): boolean {
	return isBreakSpace(c) || c === 0xa0 || c === 0x2007 || c === 0x202f || c === 0xfeff;
}

// ---- Grapheme clusters -------------------------------------------------------------------

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Per code point: is it glued to a following space (Prepend) / to a preceding space (Extend, SpacingMark, ZWJ)? */
const prependMemo = new Map<number, boolean>();
const extenderMemo = new Map<number, boolean>();

function memoized(memo: Map<number, boolean>, cp: number, compute: () => boolean): boolean {
	let value = memo.get(cp);
	if (value === undefined) {
		if (memo.size > 4096) memo.clear();
		value = compute();
		memo.set(cp, value);
	}
	return value;
}

/** Is the code point just before `pos` glued to a space after it? Only Prepend characters (U+0600+) are. */
function endsWithPrepend(text: string, pos: number): boolean {
	const cp = codePointBefore(text, pos);
	if (cp < 0x600 || isSimple(cp)) return false;
	return memoized(prependMemo, cp, () => {
		const s = String.fromCodePoint(cp) + ' ';
		return graphemes.segment(s).containing(s.length - 1)!.index === 0;
	});
}

/** Is the code point at `pos` glued to a space before it (combining mark, skin tone, ZWJ…)? */
function startsWithExtender(text: string, pos: number): boolean {
	const cp = text.codePointAt(pos)!;
	if (cp < 0x300 || isSimple(cp)) return false;
	return memoized(extenderMemo, cp, () => graphemes.segment(' ' + String.fromCodePoint(cp)).containing(1)!.index === 0);
}

function codePointBefore(text: string, pos: number): number {
	const low = text.charCodeAt(pos - 1);
	if (low >= 0xdc00 && low <= 0xdfff && pos >= 2) {
		const high = text.charCodeAt(pos - 2);
		if (high >= 0xd800 && high <= 0xdbff) return (high - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
	}
	return low;
}

/** Code units that never join a neighbour into a cluster (letters of common scripts, ASCII…). */
function isSimple(c: number): boolean {
	return (
		c < 0x300 ||
		(c >= 0x370 && c <= 0x482) ||
		(c >= 0x48a && c <= 0x52f) ||
		(c >= 0x5d0 && c <= 0x5ea) ||
		(c >= 0x620 && c <= 0x64a) ||
		(c >= 0x3041 && c <= 0x3096) ||
		(c >= 0x30a1 && c <= 0x30fa) ||
		(c >= 0x4e00 && c <= 0x9fff) ||
		(c >= 0xac00 && c <= 0xd7a3)
	);
}

/** A grapheme boundary that can be seen from the two code units around it. */
function isEvidentBoundary(text: string, p: number): boolean {
	const before = text.charCodeAt(p - 1);
	const after = text.charCodeAt(p);
	if (before === 13) return after !== 10;
	if (before === 10 || after === 10 || after === 13) return true;
	return isSimple(before) && isSimple(after);
}

/**
 * The last grapheme boundary in (lo, hi], where lo is a boundary and hi < text.length.
 * Falls back to hi (moved off a surrogate pair) when one cluster spans the whole range.
 */
function graphemeCut(text: string, lo: number, hi: number): number {
	if (isEvidentBoundary(text, hi)) return hi;
	// Segment only from the nearest evident boundary: segmentation restarted on a boundary
	// agrees with the whole text's.
	let anchor = hi - 1;
	while (anchor > lo && !isEvidentBoundary(text, anchor)) anchor--;
	const slice = text.slice(anchor, Math.min(text.length, hi + 2));
	const boundary = anchor + graphemes.segment(slice).containing(hi - anchor)!.index;
	if (boundary > lo) return boundary;
	const high = text.charCodeAt(hi - 1);
	const low = text.charCodeAt(hi);
	return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff ? hi - 1 : hi;
}
