/**
 * multipart/form-data bodies (RFC 7578) for Meta's media upload, without a form-data
 * dependency: the package may not ship runtime dependencies.
 *
 * Header parameters (field names, file names) are kept ASCII-only and quote-safe, as RFC
 * 7578 §4.2 allows: `"`, `\`, CR, LF, other control characters and every non-ASCII byte of
 * the UTF-8 name are percent-encoded (`%22`, `%0D`, `é` → `%C3%A9`); a `%` is encoded only
 * where it would otherwise read as an escape (followed by two hex digits), so a decoder that
 * turns `%XX` back into bytes restores the name exactly and plain names stay as they are.
 * `filename*` (RFC 5987) is not used: RFC 7578 §4.2 forbids it in form data.
 */
import { randomBytes } from 'crypto';

import { WhatsAppValidationError } from './errors';

export type MultipartField =
	| { name: string; value: string }
	| { name: string; filename: string; contentType: string; data: Buffer };

const CRLF = '\r\n';
/** RFC 2046 §5.1.1: 1–70 characters from this set, not ending in a space. */
const BOUNDARY_PATTERN = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** type/subtype with optional parameters, no line breaks or quotes that could break the header. */
const CONTENT_TYPE_PATTERN = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\r\n\\]*"|[A-Za-z0-9!#$&^_.+-]+))*$/;

function isHex(byte: number | undefined): boolean {
	return (
		byte !== undefined &&
		((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66))
	);
}

/** Encodes a header parameter value so it is ASCII, has no quote, backslash or line break. */
export function encodeHeaderParameter(value: string): string {
	const bytes = Buffer.from(value, 'utf8');
	let result = '';
	for (let index = 0; index < bytes.length; index++) {
		const byte = bytes[index];
		const printable = byte >= 0x20 && byte <= 0x7e;
		const needsEscape =
			!printable ||
			byte === 0x22 /* " */ ||
			byte === 0x5c /* \ */ ||
			(byte === 0x25 /* % */ && isHex(bytes[index + 1]) && isHex(bytes[index + 2]));
		result += needsEscape ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
	}
	return result;
}

function newBoundary(): string {
	return `----WhatsAppAgentFormBoundary${randomBytes(16).toString('hex')}`;
}

function contentOf(field: MultipartField): Buffer {
	return 'data' in field ? field.data : Buffer.from(field.value, 'utf8');
}

/**
 * Builds a multipart/form-data body. Returns the bytes and the Content-Type header value
 * (with the boundary). A given boundary must not occur in any part; a generated one never does.
 */
export function buildMultipartBody(
	fields: MultipartField[],
	boundary?: string,
): { body: Buffer; contentType: string } {
	const contents = fields.map(contentOf);
	const occursIn = (candidate: string) => {
		const delimiter = Buffer.from(`--${candidate}`, 'latin1');
		return contents.some((content) => content.includes(delimiter));
	};

	let chosen = boundary;
	if (chosen === undefined) {
		do chosen = newBoundary();
		while (occursIn(chosen));
	} else {
		if (!BOUNDARY_PATTERN.test(chosen)) {
			throw new WhatsAppValidationError(
				'The multipart boundary must be 1–70 characters of letters, digits and \'()+_,-./:=? and not end with a space',
				'boundary',
			);
		}
		if (occursIn(chosen)) {
			throw new WhatsAppValidationError('The multipart boundary occurs inside the content', 'boundary');
		}
	}

	const chunks: Buffer[] = [];
	fields.forEach((field, index) => {
		let head = `--${chosen}${CRLF}Content-Disposition: form-data; name="${encodeHeaderParameter(field.name)}"`;
		if ('data' in field) {
			const contentType = field.contentType.trim();
			if (!CONTENT_TYPE_PATTERN.test(contentType)) {
				throw new WhatsAppValidationError(
					`The file's MIME type "${encodeHeaderParameter(field.contentType)}" is not valid (expected something like image/jpeg)`,
					'mimeType',
				);
			}
			head += `; filename="${encodeHeaderParameter(field.filename)}"${CRLF}Content-Type: ${contentType}`;
		}
		head += `${CRLF}${CRLF}`;
		chunks.push(Buffer.from(head, 'latin1'), contents[index], Buffer.from(CRLF, 'latin1'));
	});
	chunks.push(Buffer.from(`--${chosen}--${CRLF}`, 'latin1'));

	const parameter = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(chosen) ? chosen : `"${chosen}"`;
	return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${parameter}` };
}
