import {
	GRAPH_ERROR_CODES,
	GraphApiError,
	isRetryableGraphError,
	scrubSecrets,
	toGraphApiError,
} from '../../core/graph-errors';
import { META_ERRORS } from '../fakes/fake-graph-api';

/** Meta's sync error body (reference §6.1). */
function metaBody(code: number, title: string, details: string, extra: Record<string, unknown> = {}) {
	return {
		error: {
			message: `(#${code}) ${title}`,
			type: 'OAuthException',
			code,
			error_data: { messaging_product: 'whatsapp', details },
			fbtrace_id: 'Az8or2yhqkZfEZ-_4Qn_Bam',
			...extra,
		},
	};
}

/** The codes the brief requires, then the rest of the reference §6.3 table. */
const REQUIRED_CODES = [0, 4, 10, 100, 190, 200, 368, 80007, 130429, 131000, 131005, 131008, 131009, 131026, 131030, 131031, 131042, 131047, 131051, 131053, 131056, 132000, 132001, 132012, 133010];
const REFERENCE_TABLE_CODES = [0, 1, 2, 3, 4, 10, 100, 190, 200, 368, 80007, 130429, 130472, 131000, 131005, 131008, 131009, 131016, 131021, 131026, 131031, 131042, 131045, 131047, 131048, 131049, 131050, 131051, 131052, 131053, 131056, 131057, 132000, 132001, 132005, 132007, 132012, 132015, 132016, 133004, 133010, 135000];
const RETRYABLE = new Set([2, 4, 80007, 130429, 131000, 131016, 131056, 133004]);
const ALL_CODES = [...new Set([...REQUIRED_CODES, ...REFERENCE_TABLE_CODES])];

describe('toGraphApiError: every mapped code', () => {
	it('has a hint for every code the brief and the reference table list', () => {
		for (const code of ALL_CODES) expect(GRAPH_ERROR_CODES[code]?.hint).toEqual(expect.any(String));
	});

	it.each(ALL_CODES)('(#%i) gives code, title, details and what to do, with the right retry decision', (code) => {
		// Bodies and HTTP statuses as the fake Graph API (reference §6.2) answers them.
		const { status, title, details } = META_ERRORS[code];
		const error = toGraphApiError(status, metaBody(code, title, details), { operation: 'Sending the message' });
		expect(error).toBeInstanceOf(GraphApiError);
		expect(error).toBeInstanceOf(Error);
		expect(error.name).toBe('GraphApiError');
		expect(error).toMatchObject({ httpStatus: status, code, title, fbtraceId: 'Az8or2yhqkZfEZ-_4Qn_Bam', operation: 'Sending the message' });
		expect(error.hint).toBe(GRAPH_ERROR_CODES[code].hint);
		expect(error.message.startsWith(`Sending the message failed (HTTP ${status}): (#${code}) ${title}`)).toBe(true);
		if (details !== title) expect(error.message).toContain(` – ${details.replace(/\.$/, '')}.`);
		expect(error.message).toContain(error.hint!.replace(/\.$/, ''));
		expect(error.message).toContain('Az8or2yhqkZfEZ-_4Qn_Bam');
		expect(error.retryable).toBe(RETRYABLE.has(code) || status === 429 || status >= 500);
	});
});

describe('toGraphApiError: the hints users need most', () => {
	it('131047: outside the 24-hour window → send a template', () => {
		const error = toGraphApiError(400, metaBody(131047, 'Re-engagement message', 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.'));
		expect(error.hint).toBe('More than 24 hours have passed since the customer last wrote: only an approved template can be sent now (use Send Template)');
		expect(error.message).toBe(
			'The WhatsApp Cloud API request failed (HTTP 400): (#131047) Re-engagement message – Message failed to send because more than 24 hours have passed since the customer last replied to this number. More than 24 hours have passed since the customer last wrote: only an approved template can be sent now (use Send Template). (Meta trace id: Az8or2yhqkZfEZ-_4Qn_Bam)',
		);
		expect(error.retryable).toBe(false);
	});

	it('190: token expired → new token, System User tokens do not expire', () => {
		const error = toGraphApiError(401, { error: { message: 'Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT.', type: 'OAuthException', code: 190, error_subcode: 463, fbtrace_id: 'X' } });
		expect(error).toMatchObject({ code: 190, subcode: 463, retryable: false });
		expect(error.title).toBe('Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT.');
		expect(error.hint).toMatch(/expired or was revoked: generate a new one .*System User token does not expire/);
	});

	it('131056: too many messages to this customer', () => {
		const error = toGraphApiError(400, metaBody(131056, '(Business Account, Consumer Account) pair rate limit hit', 'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.'));
		expect(error.hint).toMatch(/^Too many messages to this customer in a short time/);
		expect(error.retryable).toBe(true);
	});

	it('100 about the recipient → check the number (from the context field or from Meta\'s details)', () => {
		const phone = /check the recipient's number: international format with country code/i;
		expect(toGraphApiError(400, metaBody(100, 'Invalid parameter', 'Invalid parameter'), { field: 'to' }).hint).toMatch(phone);
		expect(toGraphApiError(400, metaBody(100, 'Invalid parameter', `Invalid parameter 'to': "12ab" is not a valid phone number.`)).hint).toMatch(phone);
		expect(toGraphApiError(400, metaBody(131009, 'Parameter value is not valid', 'Recipient phone number is not valid')).hint).toMatch(phone);
		const blamed = { error: { message: '(#100) Invalid parameter', code: 100, error_data: '{"blame_field_specs":[["to"]]}' } };
		expect(toGraphApiError(400, blamed).hint).toMatch(phone);
	});

	it('100 about another field keeps the generic hint and names the field through the details', () => {
		const error = toGraphApiError(400, metaBody(100, 'Invalid parameter', "Param text['body'] must be at most 4096 characters long."), { operation: 'Sending the message' });
		expect(error.hint).toBe(GRAPH_ERROR_CODES[100].hint);
		expect(error.message).toContain("Param text['body'] must be at most 4096 characters long.");
		expect(error.message).not.toMatch(/recipient's number/);
	});

	it('100 with "does not exist" (subcode 33) → check the Phone Number ID', () => {
		const body = {
			error: {
				message: "Unsupported post request. Object with ID '123' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
				type: 'GraphMethodException',
				code: 100,
				error_subcode: 33,
				fbtrace_id: 'T',
			},
		};
		const error = toGraphApiError(400, body);
		expect(error.hint).toMatch(/Phone Number ID/);
		expect(error.subcode).toBe(33);
	});

	it('131009 about a message id → a wamid from the last 30 days', () => {
		const error = toGraphApiError(400, metaBody(131009, 'Parameter value is not valid', 'Param message_id is not a valid WhatsApp message id.'), { field: 'message_id' });
		expect(error.hint).toMatch(/message id is not valid.*30 days/);
	});

	it('a 200–299 permission code outside the table still gets the permission hint', () => {
		expect(toGraphApiError(403, metaBody(294, 'Managing advertisements requires permission', 'x')).hint).toMatch(/permission/i);
	});

	it('an unknown code keeps Meta\'s title and details, and is retryable only for 429/5xx', () => {
		const error = toGraphApiError(400, metaBody(999999, 'Brand new error', 'Something new happened.'));
		expect(error.message).toBe('The WhatsApp Cloud API request failed (HTTP 400): (#999999) Brand new error – Something new happened. (Meta trace id: Az8or2yhqkZfEZ-_4Qn_Bam)');
		expect(error.retryable).toBe(false);
		expect(toGraphApiError(503, metaBody(999999, 'Brand new error', 'x')).retryable).toBe(true);
	});
});

describe('toGraphApiError: any body shape', () => {
	it('an HTML error page from a proxy → short readable text, retryable on 5xx', () => {
		const error = toGraphApiError(502, '<html><head><style>body{}</style></head><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>', { operation: 'Sending the message' });
		expect(error.message).toBe("Sending the message failed (HTTP 502): Meta answered with HTTP status 502 – 502 Bad Gateway nginx. Meta's service is temporarily unavailable: try again in a few minutes.");
		expect(error).toMatchObject({ httpStatus: 502, code: undefined, retryable: true });
	});

	it.each([
		['undefined', undefined],
		['null', null],
		['an empty string', ''],
		['a number', 42],
		['an array', [1, 2]],
		['an object without error', { ok: false }],
	])('%s as body', (_, body) => {
		const error = toGraphApiError(500, body);
		expect(error.message).toMatch(/^The WhatsApp Cloud API request failed \(HTTP 500\): Meta answered with HTTP status 500\. /);
		expect(error.retryable).toBe(true);
	});

	it('JSON delivered as a string or a Buffer is parsed; a string code is read as a number', () => {
		const body = JSON.stringify(metaBody(131047, 'Re-engagement message', 'x'));
		expect(toGraphApiError(400, body).code).toBe(131047);
		expect(toGraphApiError(400, Buffer.from(body)).code).toBe(131047);
		expect(toGraphApiError(400, { error: { message: '(#131047) Re-engagement message', code: '131047' } }).code).toBe(131047);
	});

	it('a body with only a code gets the title from the table', () => {
		const error = toGraphApiError(400, { error: { code: 132001 } });
		expect(error.title).toBe(GRAPH_ERROR_CODES[132001].title);
		expect(error.message).toContain('(#132001) Template name does not exist in the translation.');
	});

	it('error_user_title / error_user_msg fill in when the usual fields are missing', () => {
		const error = toGraphApiError(400, { error: { code: 100, error_user_title: 'Bad thing', error_user_msg: 'Do the other thing.' } });
		expect(error).toMatchObject({ title: 'Bad thing', details: 'Do the other thing.' });
	});

	it('status without a body: 401, 403, 404, 429 get their own hints', () => {
		expect(toGraphApiError(401, '').hint).toMatch(/access token/);
		expect(toGraphApiError(403, '').hint).toMatch(/permission/);
		expect(toGraphApiError(404, '').hint).toMatch(/Phone Number ID, the API version and the Graph API Base URL/);
		expect(toGraphApiError(429, '').hint).toMatch(/more slowly/);
		expect(toGraphApiError(429, '').retryable).toBe(true);
	});

	it('repeats nothing when Meta\'s details equal its title', () => {
		const error = toGraphApiError(400, metaBody(100, 'Invalid parameter', 'Invalid parameter'));
		expect(error.details).toBeUndefined();
		expect(error.message).toContain('(#100) Invalid parameter. A value sent');
	});
});

describe('secrets never reach a message', () => {
	const leaked = 'EAAGm0PX4ZCpsBAKZCv2ZBqZBZAyZC7ZC3ZBvZC0ZD';

	it.each([
		['a token in Meta\'s message', { error: { message: `Invalid OAuth access token ${leaked}`, code: 190 } }],
		['a token in the details', metaBody(190, 'Invalid', `The token ${leaked} has expired`)],
		['access_token in a URL', metaBody(100, 'Invalid', 'GET https://graph.facebook.com/v24.0/me?access_token=abc123secret&x=1 failed')],
		['a Bearer header echoed back', metaBody(100, 'Invalid', 'Header was Bearer s3cr3t-t0ken.value')],
		['a JSON token field', metaBody(100, 'Invalid', 'body was {"access_token": "shhh-secret"}')],
		['an HTML page', `<html><body>token ${leaked} refused; access_token=abc123secret</body></html>`],
	])('%s is scrubbed', (_, body) => {
		const error = toGraphApiError(401, body, { operation: 'Sending the message' });
		for (const secret of [leaked, 'abc123secret', 's3cr3t-t0ken', 'shhh-secret']) {
			expect(error.message).not.toContain(secret);
			expect(error.details ?? '').not.toContain(secret);
			expect(error.title ?? '').not.toContain(secret);
		}
		expect(error.message).toMatch(/redacted/);
	});

	it('scrubSecrets leaves ordinary text alone', () => {
		const text = 'Invalid OAuth access token. Bearer token expired. Token must be renewed; EAA is a prefix.';
		expect(scrubSecrets(text)).toBe(text);
	});

	it('the GraphApiError constructor scrubs too', () => {
		expect(new GraphApiError(`boom ${leaked}`, { httpStatus: 500, retryable: true }).message).toBe('boom EAA…[redacted]');
	});
});

describe('isRetryableGraphError', () => {
	it.each([
		[429, undefined, true],
		[500, undefined, true],
		[502, undefined, true],
		[503, undefined, true],
		[400, 4, true],
		[429, 4, true],
		[400, 2, true],
		[400, 80007, true],
		[400, 130429, true],
		[400, 131000, true],
		[500, 131000, true],
		[503, 131016, true],
		[400, 131056, true],
		[503, 133004, true],
		[400, undefined, false],
		[400, 100, false],
		[401, 190, false],
		[401, 0, false],
		[403, 10, false],
		[403, 200, false],
		[403, 368, false],
		[400, 131047, false],
		[400, 131026, false],
		[400, 131053, false],
		[400, 132001, false],
		[404, undefined, false],
		[409, undefined, false],
	])('HTTP %i, code %s → %s', (status, code, expected) => {
		expect(isRetryableGraphError(status, code)).toBe(expected);
	});
});

describe('GraphApiError.withAttempts', () => {
	it('says how many attempts were made and keeps every field', () => {
		const original = toGraphApiError(503, metaBody(131016, 'Service unavailable', 'A service is temporarily unavailable.'), { operation: 'Sending the message' });
		const final = original.withAttempts(4);
		expect(final.message).toBe(`${original.message} (gave up after 4 attempts)`);
		expect(final).toMatchObject({ attempts: 4, code: 131016, httpStatus: 503, hint: original.hint, retryable: true, fbtraceId: original.fbtraceId });
		expect(original.withAttempts(1).message).toMatch(/\(gave up after 1 attempt\)$/);
	});
});
