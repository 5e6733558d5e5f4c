import fc from 'fast-check';

import { AgentReplyFormatError, NO_REPLY_TEXT, parseAgentReply } from '../../core/agent-reply-parser';
import { WhatsAppValidationError } from '../../core/errors';

const IMG = 'https://cdn.example.com/cat.jpg';

describe('parseAgentReply: accepted forms', () => {
	const cases: Array<[string, unknown, unknown[], { contentType?: string }?]> = [
		['a plain string', 'Hello there', [{ type: 'text', text: 'Hello there' }]],
		['a plain string, trimmed', '  Hello\n', [{ type: 'text', text: 'Hello' }]],
		['a string that is JSON text', '{"content":"from text/plain"}', [{ type: 'text', text: 'from text/plain' }], { contentType: 'text/plain' }],
		['a quoted JSON string', '"quoted"', [{ type: 'text', text: 'quoted' }]],
		['a Buffer with JSON content type', Buffer.from('{"messages":["a","b"]}'), [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], { contentType: 'application/json; charset=utf-8' }],
		['a Buffer of plain text (BOM stripped)', Buffer.from('\uFEFFhi ünïcödé 👋'), [{ type: 'text', text: 'hi ünïcödé 👋' }], { contentType: 'text/plain' }],
		['text with braces that is not JSON', '{curly} talk', [{ type: 'text', text: '{curly} talk' }]],
		['a number as text/plain', Buffer.from('42'), [{ type: 'text', text: '42' }], { contentType: 'text/plain' }],
		['{"type":"message","content":"…"}', { type: 'message', content: 'Hi!' }, [{ type: 'text', text: 'Hi!' }]],
		['{"type":"message","content": <message object>}', { type: 'message', content: { type: 'image', url: IMG } }, [{ type: 'image', url: IMG }]],
		['{"type":"message","text":"…"}', { type: 'message', text: 'typed text' }, [{ type: 'text', text: 'typed text' }]],
		['{"content":"…"}', { content: 'Hi!' }, [{ type: 'text', text: 'Hi!' }]],
		['{"content": <message object>}', { content: { type: 'location', latitude: 1.5, longitude: 2 } }, [{ type: 'location', latitude: 1.5, longitude: 2 }]],
		['{"content": [ … ]}', { content: ['one', { type: 'text', text: 'two' }] }, [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }]],
		['{"messages": [ … ]}', { messages: [{ type: 'text', text: 'a' }, 'b', { image: IMG }] }, [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'image', url: IMG }]],
		['{"replies": [ … ]}', { replies: ['x'] }, [{ type: 'text', text: 'x' }]],
		['a top-level array of mixed forms', ['one', { content: 'two' }, { type: 'message', content: 'three' }], ['one', 'two', 'three'].map((text) => ({ type: 'text', text }))],
		['a canonical text message', { type: 'text', text: 'hi', previewUrl: true }, [{ type: 'text', text: 'hi', previewUrl: true }]],
		['a canonical buttons message', { type: 'buttons', body: 'Pick', buttons: [{ id: 'a', title: 'A' }] }, [{ type: 'buttons', body: 'Pick', buttons: [{ id: 'a', title: 'A' }] }]],
		['a canonical image by mediaId', { type: 'image', mediaId: '123', caption: 'c' }, [{ type: 'image', mediaId: '123', caption: 'c' }]],
		['{"image": url, "caption"}', { image: IMG, caption: 'A cat' }, [{ type: 'image', url: IMG, caption: 'A cat' }]],
		['{"image": {url, caption}}', { image: { url: IMG, caption: 'A cat' } }, [{ type: 'image', url: IMG, caption: 'A cat' }]],
		['{"video": url}', { video: 'https://v.example.com/a.mp4' }, [{ type: 'video', url: 'https://v.example.com/a.mp4' }]],
		['{"audio": url}', { audio: 'https://a.example.com/a.ogg' }, [{ type: 'audio', url: 'https://a.example.com/a.ogg' }]],
		['{"document": url, "filename"}', { document: 'https://d.example.com/x.pdf', filename: 'x.pdf' }, [{ type: 'document', url: 'https://d.example.com/x.pdf', filename: 'x.pdf' }]],
		['{"sticker": url}', { sticker: 'https://s.example.com/s.webp' }, [{ type: 'sticker', url: 'https://s.example.com/s.webp' }]],
		['{"location": {…}}', { location: { latitude: 52.52, longitude: 13.4, name: 'Berlin', address: 'Mitte' } }, [{ type: 'location', latitude: 52.52, longitude: 13.4, name: 'Berlin', address: 'Mitte' }]],
		['{"location": {…}} with string coordinates', { location: { latitude: '52.5', longitude: '13.4' } }, [{ type: 'location', latitude: 52.5, longitude: 13.4 }]],
		['{"contact": {name, phone}}', { contact: { name: 'Ana', phone: '+4912345' } }, [{ type: 'contacts', contacts: [{ name: 'Ana', phone: '+4912345' }] }]],
		['{"contacts": [ … ]}', { contacts: [{ name: 'Ana', phone: '+1' }, { name: 'Bo', phone: '+2' }] }, [{ type: 'contacts', contacts: [{ name: 'Ana', phone: '+1' }, { name: 'Bo', phone: '+2' }] }]],
		['text plus an attachment in one object', { text: 'Here it is', image: IMG }, [{ type: 'text', text: 'Here it is' }, { type: 'image', url: IMG }]],
		['{"reply": "…"}', { reply: 'r' }, [{ type: 'text', text: 'r' }]],
		['{"text": "…"} (Flowise)', { text: 't', question: 'q' }, [{ type: 'text', text: 't' }]],
		['{"output": "…"} (LangServe)', { output: 'o', metadata: { run_id: '1' } }, [{ type: 'text', text: 'o' }]],
		['{"output": AIMessage} (LangChain)', { output: { type: 'ai', content: 'from ai' } }, [{ type: 'text', text: 'from ai' }]],
		['{"response": "…"}', { response: 'resp' }, [{ type: 'text', text: 'resp' }]],
		['{"answer": "…"} (Dify)', { answer: 'ans', conversation_id: 'c' }, [{ type: 'text', text: 'ans' }]],
		['{"message": "…"}', { message: 'msg' }, [{ type: 'text', text: 'msg' }]],
		['an echoed request (null image ignored)', { message: 'hi', image: null, phone_number: '+1' }, [{ type: 'text', text: 'hi' }]],
		['a chat message {role, content}', { role: 'assistant', content: 'chat' }, [{ type: 'text', text: 'chat' }]],
		['an OpenAI chat completion', { choices: [{ message: { role: 'assistant', content: 'oa' } }] }, [{ type: 'text', text: 'oa' }]],
		['a Cloud API text message', { messaging_product: 'whatsapp', type: 'text', text: { body: 'cloud', preview_url: true } }, [{ type: 'text', text: 'cloud', previewUrl: true }]],
		['a Cloud API image message', { type: 'image', image: { link: IMG, caption: 'c' } }, [{ type: 'image', url: IMG, caption: 'c' }]],
		['a Cloud API document by id', { type: 'document', document: { id: '987', filename: 'f.pdf' } }, [{ type: 'document', mediaId: '987', filename: 'f.pdf' }]],
		['a Cloud API location message', { type: 'location', location: { latitude: 1, longitude: 2 } }, [{ type: 'location', latitude: 1, longitude: 2 }]],
		['{"type":"text","content":"…"}', { type: 'text', content: 'near miss' }, [{ type: 'text', text: 'near miss' }]],
		['a no-reply entry among messages is skipped', ['keep', NO_REPLY_TEXT, { type: 'no_reply' }], [{ type: 'text', text: 'keep' }]],
	];

	// Every row gets its 4th element: jest treats a missing trailing argument as a `done` callback.
	it.each(cases.map(([name, body, expected, meta]) => [name, body, expected, meta ?? {}] as const))('%s', (_name, body, expected, meta) => {
		expect(parseAgentReply(body, meta)).toEqual({ noReply: false, messages: expected });
	});
});

describe('parseAgentReply: no reply', () => {
	const cases: Array<[string, unknown, { statusCode?: number; contentType?: string }?]> = [
		['undefined body', undefined],
		['empty string', ''],
		['whitespace only', '  \n '],
		['empty Buffer', Buffer.alloc(0), { contentType: 'application/json' }],
		['status 204 (whatever the body)', 'ignored', { statusCode: 204 }],
		['JSON null', null],
		['the text "null" as JSON', Buffer.from('null'), { contentType: 'application/json' }],
		['{"type":"no_reply"}', { type: 'no_reply' }],
		['{"type":"no-reply"} and case', { type: 'No-Reply' }],
		['{"noReply": true}', { noReply: true }],
		['{"no_reply": true}', { no_reply: true }],
		['the magic text', NO_REPLY_TEXT],
		['the magic text, padded', `  ${NO_REPLY_TEXT}\n`],
		['the magic text as content', { type: 'message', content: NO_REPLY_TEXT }],
		['the magic text as {"content"}', { content: NO_REPLY_TEXT }],
		['the magic text as {"output"}', { output: NO_REPLY_TEXT }],
		['the magic text as JSON text', JSON.stringify({ content: NO_REPLY_TEXT }), { contentType: 'text/plain' }],
		['an empty list', []],
		['{"messages": []}', { messages: [] }],
		['empty content', { content: '' }],
	];

	it.each(cases.map(([name, body, meta]) => [name, body, meta ?? {}] as const))('%s', (_name, body, meta) => {
		expect(parseAgentReply(body, meta)).toEqual({ noReply: true, messages: [] });
	});

	it('the magic text must be exact (no partial or case-insensitive match)', () => {
		expect(parseAgentReply('no customer message reply').noReply).toBe(false);
		expect(parseAgentReply(`${NO_REPLY_TEXT}.`).noReply).toBe(false);
	});
});

describe('parseAgentReply: handoff (SPEC §10)', () => {
	it('{"type": "handoff"} alone: no message, a handoff without a reason', () => {
		expect(parseAgentReply({ type: 'handoff' })).toEqual({ noReply: true, messages: [], handoff: { reason: null } });
		expect(parseAgentReply('{"type":"hand_off"}')).toEqual({ noReply: true, messages: [], handoff: { reason: null } });
	});

	it('with a reason and a message for the customer (text or any accepted form)', () => {
		expect(parseAgentReply({ type: 'handoff', reason: ' refund ', message: 'A colleague will write to you.' })).toEqual({
			noReply: false,
			messages: [{ type: 'text', text: 'A colleague will write to you.' }],
			handoff: { reason: 'refund' },
		});
		expect(parseAgentReply({ type: 'handoff', message: { image: 'https://cdn.example.com/wait.png', caption: 'One moment' } }).messages).toEqual([
			{ type: 'image', url: 'https://cdn.example.com/wait.png', caption: 'One moment' },
		]);
	});

	it('inside a list or a wrapper, beside other messages', () => {
		const reply = parseAgentReply({ messages: ['Let me check.', { type: 'handoff', reason: 'stock' }] });
		expect(reply).toEqual({ noReply: false, messages: [{ type: 'text', text: 'Let me check.' }], handoff: { reason: 'stock' } });
		expect(parseAgentReply({ content: { type: 'handoff' } }).handoff).toEqual({ reason: null });
	});

	it('an ordinary reply has no handoff', () => {
		expect('handoff' in parseAgentReply('Hello')).toBe(false);
	});
});

describe('parseAgentReply: errors', () => {
	const unrecognised: Array<[string, unknown, RegExp, { contentType?: string }?]> = [
		['an object with no known field', { foo: 1, bar: 2 }, /none of the fields.*foo, bar/],
		['an empty object', {}, /empty JSON object/],
		['an unknown type', { type: 'tool_call', name: 'x' }, /"type": "tool_call".*not a message type/],
		['a bare number', 42, /is a number/],
		['a boolean', true, /is a boolean/],
		['invalid JSON declared as JSON', Buffer.from('{"content": "oops"'), /not valid JSON/, { contentType: 'application/json' }],
		['JSON-looking text that is broken', '{"content": oops}', /looks like JSON but is not valid JSON/],
		['an HTML page', '<!DOCTYPE html><html><body>Login</body></html>', /HTML page/, { contentType: 'text/html' }],
		['null inside a list', ['a', null], /null/],
		['nesting too deep', { content: { content: { content: { content: { content: { content: { content: { content: { content: 'x' } } } } } } } } }, /too deeply/],
	];

	it.each(unrecognised.map(([name, body, reason, meta]) => [name, body, reason, meta ?? {}] as const))('%s → AgentReplyFormatError', (_name, body, reason, meta) => {
		let caught: unknown;
		try {
			parseAgentReply(body, meta);
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(AgentReplyFormatError);
		const error = caught as AgentReplyFormatError;
		expect(error.message).toMatch(reason);
		expect(error.message).toContain('Accepted forms:');
		expect(error.message).toContain('"type": "no_reply"');
	});

	it('shows what was received, at most 500 characters', () => {
		const long = { foo: 'x'.repeat(2000) };
		let caught: AgentReplyFormatError | undefined;
		try {
			parseAgentReply(long);
		} catch (error) {
			caught = error as AgentReplyFormatError;
		}
		expect(caught).toBeInstanceOf(AgentReplyFormatError);
		expect(caught!.received).toBe(JSON.stringify(long).slice(0, 500));
		expect(caught!.message).toContain(`Received: ${JSON.stringify(long).slice(0, 500)} …(truncated)`);
		expect(caught!.message).not.toContain('x'.repeat(501));
	});

	it('shows a short body whole', () => {
		expect(() => parseAgentReply(Buffer.from('{"weird": true}'), { contentType: 'application/json' })).toThrow(
			'Received: {"weird": true}.',
		);
	});

	const invalid: Array<[string, unknown, string]> = [
		['an image shorthand with a non-URL', { image: 'not a url' }, 'messages[0].url'],
		['a canonical image with no source', { type: 'image', caption: 'x' }, 'messages[0].url'],
		['a location out of range', { location: { latitude: 123, longitude: 0 } }, 'messages[0].latitude'],
		['a contact without a name', { contact: { phone: '+1' } }, 'messages[0].contacts[0].name'],
		['too many buttons in the second message', ['ok', { type: 'buttons', body: 'b', buttons: [1, 2, 3, 4].map((n) => ({ id: `${n}`, title: `t${n}` })) }], 'messages[1].buttons'],
	];

	it.each(invalid)('%s → WhatsAppValidationError naming %s', (_name, body, field) => {
		let caught: unknown;
		try {
			parseAgentReply(body);
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(WhatsAppValidationError);
		expect((caught as WhatsAppValidationError).field).toBe(field);
		expect((caught as Error).message).toContain(field);
	});
});

describe('parseAgentReply: properties', () => {
	it('any JSON value or byte string: a reply, or one of the two documented errors, never anything else', () => {
		const bodies = fc.oneof(
			fc.jsonValue(),
			fc.string(),
			fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
			fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? '')),
		);
		const contentTypes = fc.constantFrom(undefined, 'application/json', 'text/plain', 'text/html', 'application/octet-stream');
		fc.assert(
			fc.property(bodies, contentTypes, (body, contentType) => {
				let reply;
				try {
					reply = parseAgentReply(body, { contentType });
				} catch (error) {
					expect(error instanceof AgentReplyFormatError || error instanceof WhatsAppValidationError).toBe(true);
					if (error instanceof AgentReplyFormatError) expect(error.received.length).toBeLessThanOrEqual(500);
					return;
				}
				expect(reply.noReply).toBe(reply.messages.length === 0);
			}),
			{ numRuns: 3000, seed: 4242 },
		);
	});

	it('plain text that is not JSON, HTML or the magic text becomes exactly one text message, trimmed', () => {
		const plain = fc
			.string({ minLength: 1 })
			.filter((text) => {
				const trimmed = text.trim();
				return trimmed !== '' && trimmed !== NO_REPLY_TEXT && !/^[[{"<]/.test(trimmed);
			});
		fc.assert(
			fc.property(plain, (text) => {
				expect(parseAgentReply(text, { contentType: 'text/plain' })).toEqual({ noReply: false, messages: [{ type: 'text', text: text.trim() }] });
			}),
			{ numRuns: 2000, seed: 7 },
		);
	});
});
