import fc from 'fast-check';

import { WhatsAppValidationError } from '../../core/errors';
import { buildMultipartBody, encodeHeaderParameter } from '../../core/multipart';
import { parseMultipart } from '../fakes/fake-graph-api';

/** Node's own (undici) multipart parser: an independent reader of what we build. */
async function readWithUndici(body: Buffer, contentType: string) {
	const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
	const entries: Array<{ name: string; value?: string; filename?: string; type?: string; data?: Buffer }> = [];
	for (const [name, value] of form.entries()) {
		if (typeof value === 'string') entries.push({ name, value });
		else entries.push({ name, filename: value.name, type: value.type, data: Buffer.from(await value.arrayBuffer()) });
	}
	return entries;
}

/** Byte-wise %XX decoding, as RFC 7578 §4.2 describes. */
function percentDecode(value: string): string {
	return Buffer.from(value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

function headerLines(body: Buffer): string[] {
	return body
		.toString('latin1')
		.split('\r\n')
		.filter((line) => /^Content-/i.test(line));
}

describe('buildMultipartBody', () => {
	it('lays out fields and files exactly as RFC 7578 says', () => {
		const { body, contentType } = buildMultipartBody(
			[
				{ name: 'messaging_product', value: 'whatsapp' },
				{ name: 'file', filename: 'photo.jpg', contentType: 'image/jpeg', data: Buffer.from([0xff, 0xd8, 0xff, 0x00]) },
			],
			'XyZ',
		);
		expect(contentType).toBe('multipart/form-data; boundary=XyZ');
		expect(body).toEqual(
			Buffer.concat([
				Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="messaging_product"\r\n\r\nwhatsapp\r\n', 'latin1'),
				Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n', 'latin1'),
				Buffer.from([0xff, 0xd8, 0xff, 0x00]),
				Buffer.from('\r\n--XyZ--\r\n', 'latin1'),
			]),
		);
	});

	it('is read back by an independent parser (undici), bytes intact', async () => {
		const data = Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 37) % 256));
		const withTraps = Buffer.concat([data, Buffer.from('\r\n--\r\n--boundary\r\n\r\n', 'latin1')]);
		const { body, contentType } = buildMultipartBody([
			{ name: 'messaging_product', value: 'whatsapp' },
			{ name: 'type', value: 'application/pdf' },
			{ name: 'file', filename: 'report.pdf', contentType: 'application/pdf', data: withTraps },
		]);
		const entries = await readWithUndici(body, contentType);
		expect(entries).toEqual([
			{ name: 'messaging_product', value: 'whatsapp' },
			{ name: 'type', value: 'application/pdf' },
			{ name: 'file', filename: 'report.pdf', type: 'application/pdf', data: withTraps },
		]);
	});

	it.each([
		['quote', 'my "best" photo.jpg', 'my %22best%22 photo.jpg'],
		['CR/LF (header injection attempt)', 'a.jpg"\r\nContent-Type: text/html', 'a.jpg%22%0D%0AContent-Type: text/html'],
		['non-ASCII UTF-8', 'résumé.pdf', 'r%C3%A9sum%C3%A9.pdf'],
		['emoji', '🎉.png', '%F0%9F%8E%89.png'],
		['backslash', 'C:\\docs\\a.pdf', 'C:%5Cdocs%5Ca.pdf'],
		['a lone percent sign stays', '100% done.pdf', '100% done.pdf'],
		['a percent that looks like an escape is escaped', 'x%41.pdf', 'x%2541.pdf'],
		['tab and other controls', 'a\tb\u0000.txt', 'a%09b%00.txt'],
	])('encodes a filename with %s safely', async (_, filename, encoded) => {
		expect(encodeHeaderParameter(filename)).toBe(encoded);
		const { body, contentType } = buildMultipartBody([
			{ name: 'file', filename, contentType: 'application/pdf', data: Buffer.from('x') },
		]);
		const lines = headerLines(body);
		expect(lines[0]).toBe(`Content-Disposition: form-data; name="file"; filename="${encoded}"`);
		expect(lines[1]).toBe('Content-Type: application/pdf');
		expect(/^[\x20-\x7e]*$/.test(lines[0])).toBe(true);
		// undici decodes the HTML-standard escapes (%22, %0D, %0A); the rest decodes byte-wise.
		const [entry] = await readWithUndici(body, contentType);
		expect(percentDecode(entry.filename ?? '')).toBe(filename);
	});

	it('round-trips any field name, filename and bytes through a real parser (property)', () => {
		fc.assert(
			fc.property(
				fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
				fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
				fc.uint8Array({ maxLength: 300 }),
				fc.string({ maxLength: 60 }),
				(name, filename, bytes, value) => {
					const data = Buffer.from(bytes);
					const { body, contentType } = buildMultipartBody([
						{ name, value },
						{ name: 'file', filename, contentType: 'image/png', data },
					]);
					const parts = parseMultipart(body, contentType);
					expect(parts).toHaveLength(2);
					expect(parts[0]).toMatchObject({ name, data: Buffer.from(value, 'utf8') });
					expect(parts[0].filename).toBeUndefined();
					expect(parts[1]).toMatchObject({ name: 'file', filename, contentType: 'image/png', data });
				},
			),
			{ numRuns: 150 },
		);
	});

	it('never picks a boundary that occurs in the content', () => {
		const sneaky = Buffer.from('------WhatsAppAgentFormBoundary' + 'a'.repeat(32), 'latin1');
		for (let run = 0; run < 50; run++) {
			const { body, contentType } = buildMultipartBody([{ name: 'file', filename: 'x', contentType: 'text/plain', data: sneaky }]);
			const boundary = contentType.split('boundary=')[1];
			expect(sneaky.includes(`--${boundary}`)).toBe(false);
			expect(parseMultipart(body, contentType)[0].data).toEqual(sneaky);
		}
	});

	it('refuses a given boundary that occurs in the content, or one RFC 2046 does not allow', () => {
		expect(() => buildMultipartBody([{ name: 'a', value: 'x--abc y' }], 'abc')).toThrow(WhatsAppValidationError);
		expect(() => buildMultipartBody([{ name: 'a', value: 'x' }], '')).toThrow(/boundary/);
		expect(() => buildMultipartBody([{ name: 'a', value: 'x' }], 'a'.repeat(71))).toThrow(/boundary/);
		expect(() => buildMultipartBody([{ name: 'a', value: 'x' }], 'ends with space ')).toThrow(/boundary/);
		expect(() => buildMultipartBody([{ name: 'a', value: 'x' }], 'bad\r\nboundary')).toThrow(/boundary/);
	});

	it('quotes a boundary that is not a plain token', async () => {
		const { body, contentType } = buildMultipartBody([{ name: 'a', value: 'x' }], "with space:and'(x)");
		expect(contentType).toBe(`multipart/form-data; boundary="with space:and'(x)"`);
		expect(await readWithUndici(body, contentType)).toEqual([{ name: 'a', value: 'x' }]);
	});

	it('refuses a MIME type that could break the part headers, naming the field', () => {
		let caught: unknown;
		try {
			buildMultipartBody([{ name: 'file', filename: 'a', contentType: 'image/jpeg\r\nX-Evil: 1', data: Buffer.from('x') }]);
		} catch (error) {
			caught = error;
		}
		expect(caught).toBeInstanceOf(WhatsAppValidationError);
		expect((caught as WhatsAppValidationError).field).toBe('mimeType');
		expect((caught as Error).message).not.toMatch(/[\r\n]/);
		expect(() => buildMultipartBody([{ name: 'file', filename: 'a', contentType: 'jpeg', data: Buffer.from('x') }])).toThrow(WhatsAppValidationError);
		expect(buildMultipartBody([{ name: 'file', filename: 'a.ogg', contentType: 'audio/ogg; codecs=opus', data: Buffer.from('x') }]).body.toString()).toContain(
			'Content-Type: audio/ogg; codecs=opus\r\n',
		);
	});

	it('writes text field values as UTF-8, line breaks included', async () => {
		const { body, contentType } = buildMultipartBody([{ name: 'caption', value: 'héllo\r\nwörld 🎉' }]);
		expect(await readWithUndici(body, contentType)).toEqual([{ name: 'caption', value: 'héllo\r\nwörld 🎉' }]);
	});

	it('builds an empty form', () => {
		const { body, contentType } = buildMultipartBody([], 'b');
		expect(body.toString()).toBe('--b--\r\n');
		expect(parseMultipart(body, contentType)).toEqual([]);
	});
});
