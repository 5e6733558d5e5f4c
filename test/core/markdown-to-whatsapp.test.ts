import fc from 'fast-check';
import { markdownToWhatsApp } from '../../core/markdown-to-whatsapp';

describe('markdownToWhatsApp rules', () => {
	it.each([
		// emphasis
		['bold with asterisks', 'a **bold** word', 'a *bold* word'],
		['bold with underscores', 'a __bold__ word', 'a *bold* word'],
		['italic with one asterisk becomes underscores', 'an *italic* word', 'an _italic_ word'],
		['italic with underscores stays', 'an _italic_ word', 'an _italic_ word'],
		['bold italic', '***both*** and ___both___', '*_both_* and *_both_*'],
		['italic inside bold', '**bold *and italic* here**', '*bold _and italic_ here*'],
		['bold inside italic', '_it **b** it_', '_it *b* it_'],
		['bold next to punctuation', '**Note:** read (**this**).', '*Note:* read (*this*).'],
		['bold next to emoji', '**Done**🎉', '*Done*🎉'],
		['non-Latin words', '**привет** _мир_ **日本**', '*привет* _мир_ *日本*'],
		['strikethrough', 'a ~~gone~~ word', 'a ~gone~ word'],
		['single tilde stays', 'a ~gone~ word', 'a ~gone~ word'],
		// markers that are not emphasis
		['snake_case is not italic', 'call snake_case_name now', 'call snake_case_name now'],
		['multiplication is not italic', '2*3*4 = 24 and 2 * 3 = 6', '2*3*4 = 24 and 2 * 3 = 6'],
		['intra-word bold stays', 'a**b**c', 'a**b**c'],
		['unmatched markers stay', 'a **b and *c', 'a **b and *c'],
		['space inside markers is not emphasis', '** not bold ** and * not it *', '** not bold ** and * not it *'],
		['four markers stay', 'a **** b ~~~ c', 'a **** b ~~~ c'],
		['escaped markers', '\\*not italic\\* and \\_x\\_ and \\# and \\[a\\](b)', '*not italic* and _x_ and # and [a](b)'],
		// headings
		['heading level 1', '# Title', '*Title*'],
		['heading level 6 with closing hashes', '###### Small title ###', '*Small title*'],
		['heading with bold inside', '## The **big** plan', '*The big plan*'],
		['heading with bold italic inside', '# ***Both***', '*_Both_*'],
		['heading with italic and link', '### _New_ [docs](https://x.io)', '*_New_ docs (https://x.io)*'],
		['hashtag is not a heading', '#hashtag and #1 priority', '#hashtag and #1 priority'],
		['setext heading', 'Title\n=====\ntext', '*Title*\ntext'],
		['setext heading with dashes', 'Title\n---\ntext', '*Title*\ntext'],
		// links and images
		['link', 'see [the docs](https://example.com/docs) now', 'see the docs (https://example.com/docs) now'],
		['link whose text is its address', '[https://example.com](https://example.com)', 'https://example.com'],
		['link whose text is its address without scheme', '[example.com](https://example.com/)', 'https://example.com/'],
		['link with empty text', '[](https://example.com)', 'https://example.com'],
		['link with title', '[docs](https://x.io "The docs")', 'docs (https://x.io)'],
		['link with angle brackets', '[docs](<https://x.io/a b>)', 'docs (https://x.io/a b)'],
		['link with parentheses in the address', '[Foo](https://en.wikipedia.org/wiki/Foo_(bar))', 'Foo (https://en.wikipedia.org/wiki/Foo_(bar))'],
		['link with formatted text', '[**bold** link](https://x.io)', '*bold* link (https://x.io)'],
		['link with brackets in the text', '[a [b] c](https://x.io)', 'a [b] c (https://x.io)'],
		['mailto link', '[mail me](mailto:a@b.co)', 'mail me (mailto:a@b.co)'],
		['image', '![a cat](https://x.io/cat.png)', 'a cat (https://x.io/cat.png)'],
		['image without alt', '![](https://x.io/cat.png)', 'https://x.io/cat.png'],
		['autolink', 'go to <https://x.io/a_b_c>', 'go to https://x.io/a_b_c'],
		['bare URL is untouched', 'see https://x.io/*a*/_b_ and www.x.io/__c__.', 'see https://x.io/*a*/_b_ and www.x.io/__c__.'],
		['brackets that are not links', '[x] done, [ ] todo, f(a) [b]', '[x] done, [ ] todo, f(a) [b]'],
		// lists, quotes, tables, rules
		['dash bullets', '- one\n- two', '• one\n• two'],
		['asterisk and plus bullets', '* one\n+ two', '• one\n• two'],
		['nested bullets keep indentation', '- one\n  - sub *it*', '• one\n  • sub _it_'],
		['bullet starting with bold', '* **Bold** item', '• *Bold* item'],
		['numbered list kept', '1. first **b**\n2) second', '1. first *b*\n2) second'],
		['quote kept, inline converted', '> **quoted** text\n> - item', '> *quoted* text\n> • item'],
		['table kept, inline converted', '| **a** | b |\n|---|---|\n| 1 | 2 |', '| *a* | b |\n|---|---|\n| 1 | 2 |'],
		['horizontal rule between paragraphs', 'above\n\n---\n\nbelow', 'above\n\nbelow'],
		['horizontal rule between list items', '- a\n***\n- b', '• a\n\n• b'],
		['spaced horizontal rule', 'above\n\n* * *\n\nbelow', 'above\n\nbelow'],
		['underscore rule', 'above\n\n___\nbelow', 'above\n\nbelow'],
		// HTML-ish line breaks
		['line break tags', 'one<br>two<br/>three<BR />four', 'one\ntwo\nthree\nfour'],
		['other tags stay', 'a <b>c</b> <div>', 'a <b>c</b> <div>'],
		// line endings
		['Windows line endings kept', '**a**\r\n- b\r\n', '*a*\r\n• b\r\n'],
	])('%s', (_name, input, expected) => {
		expect(markdownToWhatsApp(input)).toBe(expected);
	});
});

describe('markdownToWhatsApp leaves code alone', () => {
	it('copies inline code spans verbatim', () => {
		expect(markdownToWhatsApp('run `rm -rf *tmp*` and `a_b_c` then **go**')).toBe('run `rm -rf *tmp*` and `a_b_c` then *go*');
	});

	it('copies double-backtick spans verbatim', () => {
		expect(markdownToWhatsApp('use ``a ` **b**`` here')).toBe('use ``a ` **b**`` here');
	});

	it('does not take code for a link', () => {
		expect(markdownToWhatsApp('`[a](b)` and [c](`d`)')).toBe('`[a](b)` and c (`d`)');
	});

	it('copies fenced code blocks verbatim and drops the language', () => {
		const input = 'Code:\n```python\n# not a heading\n**not bold** _x_ [a](b)\n- not a bullet\n---\n```\n**after**';
		expect(markdownToWhatsApp(input)).toBe('Code:\n```\n# not a heading\n**not bold** _x_ [a](b)\n- not a bullet\n---\n```\n*after*');
	});

	it('turns tilde fences into backtick fences', () => {
		expect(markdownToWhatsApp('~~~js\nconst a = **b**;\n~~~\n~~done~~')).toBe('```\nconst a = **b**;\n```\n~done~');
	});

	it('needs a matching closing fence', () => {
		expect(markdownToWhatsApp('````\n```\n**x**\n````\n**y**')).toBe('```\n```\n**x**\n```\n*y*');
	});

	it('treats an unclosed fence as code to the end', () => {
		expect(markdownToWhatsApp('```\n**x**\n# y')).toBe('```\n**x**\n# y');
	});

	it('recognises fences nested in list items', () => {
		expect(markdownToWhatsApp('1. Run:\n    ```sh\n    echo **hi**\n    ```\n2. Done')).toBe('1. Run:\n    ```\n    echo **hi**\n    ```\n2. Done');
	});

	it('does not take a line with inline triple backticks for a fence', () => {
		expect(markdownToWhatsApp('```a``` **b**')).toBe('```a``` *b*');
	});
});

describe('markdownToWhatsApp properties', () => {
	const plainChar = fc.constantFrom(...'abcXYZ019 ,.;:?!\'"()/=%&@$^{}éñ日本🎉👨‍👩‍👧\n'.split(/(?=[\s\S])/u));
	it('returns text without markdown unchanged', () => {
		fc.assert(
			fc.property(fc.array(plainChar, { maxLength: 200 }), (chars) => {
				const text = chars.join('');
				expect(markdownToWhatsApp(text)).toBe(text);
			}),
			{ numRuns: 500 },
		);
	});

	it('returns prose with stray markers at odd places unchanged', () => {
		const token = fc.constantFrom('word', 'snake_case_name', '2*3*4', 'a * b', 'x _ y', '#tag', '5 - 3', 'C#', 'f(x)', ' ', '\n', 'e.g.', '~/path', 'a~b');
		fc.assert(
			fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
				const text = tokens.join(' ');
				expect(markdownToWhatsApp(text)).toBe(text);
			}),
			{ numRuns: 300 },
		);
	});

	it('never loses a letter or digit of content', () => {
		// Words are distinct from URLs, so `[u](u)` never collapses. A fence's language name is
		// markup and is dropped (tested above), so inputs where tokens form one are skipped: after
		// a backtick fence any text but a backtick, after a tilde fence any text at all
		// (CommonMark: "~~~~``alpha" opens a tilde fence whose info string is "``alpha").
		const token = fc.constantFrom(
			'alpha', 'beta', 'γάμμα', '日本', '42', ' ', ' ', '\n', '\n\n', '*', '**', '***', '_', '__', '~~', '`', '``', '#', '## ',
			'[', ']', '(', ')', '![', '](', '- ', '* ', '+ ', '1. ', '> ', '|', '---', '\n```\n', '\\', '<', '>', '!', '.',
		);
		fc.assert(
			fc.property(fc.array(token, { maxLength: 80 }), (tokens) => {
				const input = tokens.join('');
				fc.pre(!/^[ \t]*(?:`{3,}[ \t]*[^`\s]|~{3,}(?!~)[ \t]*\S)/m.test(input));
				const output = markdownToWhatsApp(input);
				const letters = (s: string) => s.replace(/[^\p{L}\p{N}]/gu, '');
				expect(letters(output)).toBe(letters(input));
			}),
			{ numRuns: 1000 },
		);
	});

	it('never throws on arbitrary unicode', () => {
		fc.assert(
			fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (input) => {
				expect(typeof markdownToWhatsApp(input)).toBe('string');
			}),
		);
	});
});

describe('markdownToWhatsApp running time', () => {
	// Each of these would take minutes with a rescan per marker.
	it.each([
		['opening brackets', '['.repeat(200_000)],
		['unclosed links', '[a]('.repeat(100_000)],
		['unmatched emphasis', '*a _b ~~c '.repeat(50_000)],
		['alternating markers', '*_'.repeat(200_000)],
		['backtick runs of growing length', Array.from({ length: 600 }, (_, i) => '`'.repeat(i + 1)).join(' ')],
		['unclosed angle brackets', '<https://x'.repeat(50_000)],
		['URL with many closing parens', 'https://x.io/' + ')'.repeat(200_000)],
		['many headings and bullets', '# **t**\n- *i*\n'.repeat(50_000)],
	])('%s', (_name, input) => {
		const started = Date.now();
		markdownToWhatsApp(input);
		expect(Date.now() - started).toBeLessThan(3000);
	});
});
