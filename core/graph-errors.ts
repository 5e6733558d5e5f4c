/**
 * Meta Graph API errors → readable errors.
 *
 * Meta answers a failed call with `{error: {message: "(#<code>) <title>", type, code,
 * error_subcode?, error_data: {messaging_product, details}, fbtrace_id}}` (reference §6.1).
 * Meta says to switch on `code` (and `error_data.details`), never on the title, subcode or
 * HTTP status; so the hint and the retry decision come from the code, the HTTP status only
 * fills in when the body carries no code (a proxy's HTML page, an empty 502…).
 *
 * Nothing Meta sends back is trusted to be secret-free: anything that looks like an access
 * token is scrubbed before it goes into a message.
 */

export interface GraphApiErrorInit {
	httpStatus: number;
	code?: number;
	subcode?: number;
	title?: string;
	details?: string;
	fbtraceId?: string;
	retryable: boolean;
	hint?: string;
	/** How many requests were made before giving up (set by the Graph client). */
	attempts?: number;
	/** What was being done, e.g. "Send message". */
	operation?: string;
}

/** A Graph API call that Meta (or the proxy in front of it) answered with an error. */
export class GraphApiError extends Error {
	readonly httpStatus: number;
	readonly code?: number;
	readonly subcode?: number;
	readonly title?: string;
	readonly details?: string;
	readonly fbtraceId?: string;
	readonly retryable: boolean;
	/** What the user should do, in plain words. */
	readonly hint?: string;
	readonly attempts?: number;
	readonly operation?: string;

	constructor(message: string, init: GraphApiErrorInit) {
		super(scrubSecrets(message));
		this.name = 'GraphApiError';
		this.httpStatus = init.httpStatus;
		this.code = init.code;
		this.subcode = init.subcode;
		this.title = init.title;
		this.details = init.details;
		this.fbtraceId = init.fbtraceId;
		this.retryable = init.retryable;
		this.hint = init.hint;
		this.attempts = init.attempts;
		this.operation = init.operation;
	}

	/** The same error, saying how many attempts were made (used after the last retry). */
	withAttempts(attempts: number, note?: string): GraphApiError {
		const suffix = note ?? `gave up after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}`;
		return new GraphApiError(`${this.message} (${suffix})`, {
			httpStatus: this.httpStatus,
			code: this.code,
			subcode: this.subcode,
			title: this.title,
			details: this.details,
			fbtraceId: this.fbtraceId,
			retryable: this.retryable,
			hint: this.hint,
			attempts,
			operation: this.operation,
		});
	}
}

/** Meta's title per code (used when the body has none) and what the user should do. */
interface CodeInfo {
	title: string;
	hint: string;
}

const TOKEN_HINT =
	'The access token has expired or was revoked: generate a new one and put it in the WhatsApp Cloud API credential (a System User token does not expire)';
const PERMISSION_HINT =
	'The access token lacks a permission: in Meta Business Settings give the System User the whatsapp_business_messaging and whatsapp_business_management permissions and assign it the WhatsApp account, then generate a new token';
const TRY_LATER_HINT = "Meta's service is temporarily unavailable: try again in a few minutes";
const PHONE_HINT =
	"Check the recipient's number: international format with country code, for example +14155550123";
const MISSING_OBJECT_HINT =
	'Check the Phone Number ID in the credential (the long ID under WhatsApp → API Setup, not the phone number itself), the media id, and that the token has access to them';

export const GRAPH_ERROR_CODES: Readonly<Record<number, CodeInfo>> = {
	0: { title: 'AuthException', hint: TOKEN_HINT },
	1: {
		title: 'API Unknown',
		hint: 'Meta reported an unknown error, possibly on its side: try again; if it keeps failing check https://metastatus.com and the request',
	},
	2: { title: 'API Service', hint: TRY_LATER_HINT },
	3: {
		title: 'API Method',
		hint: "The app is not allowed to make this call: check the app's WhatsApp permissions in Meta's App Dashboard",
	},
	4: {
		title: 'Too many calls',
		hint: "The app reached Meta's limit on API calls: wait a few minutes and make fewer calls per minute",
	},
	10: { title: 'Permission denied', hint: PERMISSION_HINT },
	100: {
		title: 'Invalid parameter',
		hint: 'A value sent to Meta is missing, unsupported or too long: the details name the field to fix',
	},
	190: { title: 'Access token expired', hint: TOKEN_HINT },
	200: { title: 'API Permission', hint: PERMISSION_HINT },
	368: {
		title: 'Temporarily blocked for policies violations',
		hint: 'Meta has temporarily restricted this WhatsApp Business Account for policy violations: see Account Quality in WhatsApp Manager; sending works again when the restriction ends',
	},
	80007: {
		title: 'Rate limit issues',
		hint: 'The WhatsApp Business Account reached its rate limit: wait a little and send fewer messages per second',
	},
	130429: {
		title: 'Rate limit hit',
		hint: "The phone number's message throughput (messages per second) was reached: send more slowly",
	},
	130472: {
		title: "User's number is part of an experiment",
		hint: 'Meta held this marketing message back because the number is part of a Meta experiment: nothing to fix; send a non-marketing message if needed',
	},
	130497: {
		title: 'Business account is restricted from messaging users in this country',
		hint: 'This business may not message users in the recipient\'s country: check the restriction in WhatsApp Manager',
	},
	131000: {
		title: 'Something went wrong',
		hint: 'Meta failed for an unknown reason: try again; if it keeps failing check https://metastatus.com',
	},
	131005: { title: 'Access denied', hint: PERMISSION_HINT },
	131008: {
		title: 'Required parameter is missing',
		hint: 'A required field is missing from the request: the details name it',
	},
	131009: {
		title: 'Parameter value is not valid',
		hint: 'A value is not valid (for example a message id, phone number or media id): the details say which',
	},
	131016: { title: 'Service unavailable', hint: TRY_LATER_HINT },
	131021: {
		title: 'Recipient cannot be sender',
		hint: "The recipient is the business's own number: send to a customer's number instead",
	},
	131026: {
		title: 'Message undeliverable',
		hint: "WhatsApp could not deliver to this number: it may not be on WhatsApp, the person may not have accepted WhatsApp's latest terms, or their app is too old; check the number and ask them to update WhatsApp",
	},
	131030: {
		title: 'Recipient phone number not in allowed list',
		hint: 'While the Meta app is in development mode it can only message numbers on its allowed list: add this number under WhatsApp → API Setup (To → Manage phone number list), or use a production phone number',
	},
	131031: {
		title: 'Account has been locked',
		hint: 'The WhatsApp Business Account is locked (policy violation, or failed verification such as a wrong two-step verification PIN): see Account Quality in WhatsApp Manager',
	},
	131037: {
		title: 'WhatsApp provided number needs display name approval',
		hint: "The number's display name is not approved yet: wait for Meta's approval in WhatsApp Manager",
	},
	131042: {
		title: 'Business eligibility payment issue',
		hint: 'There is a problem with the payment method or eligibility of the WhatsApp Business Account: fix the payment method in WhatsApp Manager; no message can be sent until then',
	},
	131045: {
		title: 'Incorrect certificate',
		hint: 'The phone number is not correctly registered: register it again in WhatsApp Manager',
	},
	131047: {
		title: 'Re-engagement message',
		hint: 'More than 24 hours have passed since the customer last wrote: only an approved template can be sent now (use Send Template)',
	},
	131048: {
		title: 'Spam rate limit hit',
		hint: "Too many of this number's recent messages were blocked or reported: send fewer messages and check the quality rating in WhatsApp Manager",
	},
	131049: {
		title: 'Meta chose not to deliver',
		hint: 'Meta limits how many marketing messages one person receives: try again after 24 hours or more, or send a non-marketing message',
	},
	131050: {
		title: 'User has stopped marketing messages',
		hint: 'The customer opted out of marketing messages from this business: do not send them marketing templates',
	},
	131051: {
		title: 'Unsupported message type',
		hint: 'WhatsApp does not support this message type: send text, media, location, contacts, interactive, reaction or template messages',
	},
	131052: {
		title: 'Media download error',
		hint: 'WhatsApp could not download the media the customer sent (files over 100 MB are not supported): ask them to send it again',
	},
	131053: {
		title: 'Media upload error',
		hint: 'Meta could not use the media: check that the file type is supported (JPEG/PNG images, MP4/3GP video, AAC/MP3/MP4/OGG-Opus audio, PDF/Office/text documents, WebP stickers), that it is within the size limit (image 5 MB, video and audio 16 MB, document 100 MB, sticker 500 KB), and that a media link is public and answers with the right Content-Type',
	},
	131056: {
		title: '(Business Account, Consumer Account) pair rate limit hit',
		hint: 'Too many messages to this customer in a short time: wait before sending them more (about one message every 6 seconds)',
	},
	131057: {
		title: 'Account in maintenance mode',
		hint: 'The business account is in maintenance (for example a throughput upgrade): try again in a few minutes',
	},
	132000: {
		title: 'Number of parameters does not match the expected number of params',
		hint: 'The number of template variables sent does not match the approved template: send exactly one value per placeholder',
	},
	132001: {
		title: 'Template name does not exist in the translation',
		hint: 'This template does not exist in this language or is not approved yet: check the template name and language code in WhatsApp Manager → Message templates',
	},
	132005: {
		title: 'Translated text too long',
		hint: 'The template text with the variables filled in is too long: shorten the variable values',
	},
	132007: {
		title: 'Template format character policy violated',
		hint: "The template's content breaks a WhatsApp policy: edit the template or the variable values",
	},
	132012: {
		title: 'Parameter format does not match format in the created template',
		hint: 'A template variable has the wrong format (for example text where the template expects an image header): match the format the template was approved with',
	},
	132015: {
		title: 'Template is paused',
		hint: 'The template was paused because of low quality: edit it or use another template',
	},
	132016: {
		title: 'Template is disabled',
		hint: 'The template was disabled for good because of low quality: create a new template',
	},
	133004: { title: 'Server temporarily unavailable', hint: TRY_LATER_HINT },
	133010: {
		title: 'Phone number not registered',
		hint: 'The business phone number is not registered on the WhatsApp Cloud API: register it in WhatsApp Manager before sending',
	},
	133016: {
		title: 'Account register deregister rate limit exceeded',
		hint: 'Too many register or deregister attempts for this number: wait before trying again',
	},
	135000: {
		title: 'Generic user error',
		hint: 'Meta could not process the request parameters: check the values sent',
	},
};

/** Codes for which trying again (with backoff) may succeed. */
const RETRYABLE_CODES = new Set([2, 4, 80007, 130429, 131000, 131016, 131056, 133004]);

/**
 * Whether a failed Graph call is worth retrying: HTTP 429 and 5xx, plus Meta's throttling
 * and temporary-failure codes (which Meta may send with HTTP 400). Never other client errors.
 */
export function isRetryableGraphError(httpStatus: number, code?: number): boolean {
	if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
	return httpStatus === 429 || httpStatus >= 500;
}

const SECRET_PATTERNS: Array<[RegExp, string]> = [
	// Meta user, page and system-user tokens all start with EAA.
	[/EAA[A-Za-z0-9_\-.]{8,}/g, 'EAA…[redacted]'],
	// App access tokens `<app id>|<app secret>` (the secret is 32 hex digits), raw or URL-encoded.
	[/\b(\d{5,})(?:\||%7C)[A-Za-z0-9_-]{16,}/gi, '$1|[redacted]'],
	[/(access_token|appsecret_proof|client_secret|token)=[^&\s"'<>]+/gi, '$1=[redacted]'],
	[/\bBearer\s+(?!token\b)[A-Za-z0-9_\-.~+/=]+/gi, 'Bearer [redacted]'],
	[/("(?:access_token|token|appsecret|app_secret)"\s*:\s*")[^"]*"/gi, '$1[redacted]"'],
];

/** Removes anything that looks like a token or secret from text meant for users or logs. */
export function scrubSecrets(text: string): string {
	let result = text;
	for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
	return result;
}

function toInteger(value: unknown): number | undefined {
	if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
	if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
	return undefined;
}

function text(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const trimmed = value.trim();
	return trimmed === '' ? undefined : trimmed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as an object if it is (or holds) JSON, else as text. */
function decodeBody(body: unknown): { json?: Record<string, unknown>; raw?: string } {
	if (isRecord(body) && !Buffer.isBuffer(body)) return { json: body };
	let raw: string | undefined;
	if (Buffer.isBuffer(body)) raw = body.toString('utf8');
	else if (body instanceof ArrayBuffer) raw = Buffer.from(body).toString('utf8');
	else if (typeof body === 'string') raw = body;
	if (raw === undefined) return {};
	const trimmed = raw.trim();
	if (trimmed.startsWith('{')) {
		try {
			const parsed: unknown = JSON.parse(trimmed);
			if (isRecord(parsed)) return { json: parsed };
		} catch {
			// not JSON after all: treated as text below
		}
	}
	return { raw: trimmed };
}

/** A short, single-line, tag-free excerpt of a non-JSON body (an HTML error page, say). */
function excerpt(raw: string, max = 160): string | undefined {
	const plain = raw
		.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
		.replace(/<[^>]*>/g, ' ')
		.replace(/\s+/g, ' ')
		.trim();
	if (plain === '') return undefined;
	return plain.length > max ? `${plain.slice(0, max)}…` : plain;
}

interface ParsedMetaError {
	code?: number;
	subcode?: number;
	title?: string;
	details?: string;
	fbtraceId?: string;
	field?: string;
}

function parseMetaError(json: Record<string, unknown>): ParsedMetaError | undefined {
	const error = json.error;
	if (!isRecord(error)) {
		if (typeof error === 'string') return { title: text(error) };
		return undefined;
	}
	const code = toInteger(error.code);
	let title: string | undefined;
	let details: string | undefined;
	const message = text(error.message);
	if (message) {
		const prefixed = /^\(#(\d+)\)\s*(.*)$/s.exec(message);
		title = prefixed ? text(prefixed[2]) : message;
	}
	let field: string | undefined;
	let data: unknown = error.error_data;
	if (typeof data === 'string') {
		try {
			data = JSON.parse(data);
		} catch {
			details = text(data);
		}
	}
	if (isRecord(data)) {
		details = text(data.details) ?? details;
		const blame = data.blame_field_specs;
		if (Array.isArray(blame) && Array.isArray(blame[0]) && typeof blame[0][0] === 'string') {
			field = blame[0][0];
		}
	}
	details ??= text(error.error_user_msg);
	title ??= text(error.error_user_title);
	return {
		code,
		subcode: toInteger(error.error_subcode),
		title,
		details,
		fbtraceId: text(error.fbtrace_id),
		field,
	};
}

/** Whether Meta's details blame the recipient (`to`) rather than another field. */
function blamesRecipient(details: string | undefined): boolean {
	if (!details) return false;
	return (
		/\bparam(?:eter)?\s*\[?['"]?to['"]?\]?(?=[\s.,:;]|$)/i.test(details) ||
		/\brecipient\b/i.test(details) ||
		/\bphone number\b/i.test(details) ||
		/\bwa_?id\b/i.test(details)
	);
}

function hintFor(httpStatus: number, parsed: ParsedMetaError, field: string | undefined): string | undefined {
	const { code, details } = parsed;
	const recipientField = field === 'to' || field === 'recipient';
	if (code === 100 || code === 131009) {
		if (recipientField || blamesRecipient(details)) return PHONE_HINT;
		if (details && /does not exist|cannot be loaded|missing permissions/i.test(details)) return MISSING_OBJECT_HINT;
		if (code === 131009 && details && /message[_ ]?id|wamid/i.test(details)) {
			return 'The message id is not valid: use the id of a message the customer sent (wamid…) within the last 30 days';
		}
	}
	if (code === 100 && parsed.subcode === 33) return MISSING_OBJECT_HINT;
	if (code !== undefined) {
		const known = GRAPH_ERROR_CODES[code];
		if (known) return known.hint;
		if (code >= 200 && code <= 299) return PERMISSION_HINT;
	}
	if (httpStatus === 401) return TOKEN_HINT;
	if (httpStatus === 403) return PERMISSION_HINT;
	if (httpStatus === 404) {
		return 'Nothing was found at this address: check the Phone Number ID, the API version and the Graph API Base URL in the credential';
	}
	if (httpStatus === 429) return 'Too many requests: wait a little and send more slowly';
	if (httpStatus >= 500) return TRY_LATER_HINT;
	return undefined;
}

function sentence(value: string): string {
	return value.replace(/[\s.]+$/, '');
}

/**
 * From an HTTP status and a Meta error body (any shape, even non-JSON) to a readable error:
 * `"<operation> failed (HTTP <status>): (#<code>) <title> – <details>. <what to do>."`
 * `context.field` names the field the call was about (e.g. `to`), to sharpen the hint for 100.
 */
export function toGraphApiError(
	httpStatus: number,
	body: unknown,
	context: { operation?: string; field?: string } = {},
): GraphApiError {
	const { json, raw } = decodeBody(body);
	const parsed: ParsedMetaError = (json && parseMetaError(json)) ?? {};
	const code = parsed.code;
	const title = parsed.title
		? scrubSecrets(parsed.title)
		: code !== undefined
			? GRAPH_ERROR_CODES[code]?.title
			: undefined;
	let details = parsed.details ? scrubSecrets(parsed.details) : undefined;
	if (!json && raw) details = excerpt(scrubSecrets(raw));
	if (details && title && sentence(details) === sentence(title)) details = undefined;
	const hint = hintFor(httpStatus, { ...parsed, details }, context.field ?? parsed.field);

	const what = context.operation ? `${context.operation} failed` : 'The WhatsApp Cloud API request failed';
	const statusText = httpStatus > 0 ? ` (HTTP ${httpStatus})` : '';
	let summary: string;
	if (code !== undefined) summary = `(#${code}) ${title ?? 'Error'}`;
	else if (title) summary = title;
	else summary = httpStatus > 0 ? `Meta answered with HTTP status ${httpStatus}` : 'no usable answer';
	let message = `${what}${statusText}: ${sentence(summary)}`;
	if (details) message += ` – ${sentence(details)}`;
	message += '.';
	if (hint) message += ` ${sentence(hint)}.`;
	if (parsed.fbtraceId) message += ` (Meta trace id: ${parsed.fbtraceId})`;

	return new GraphApiError(message, {
		httpStatus,
		code,
		subcode: parsed.subcode,
		title,
		details,
		fbtraceId: parsed.fbtraceId,
		retryable: isRetryableGraphError(httpStatus, code),
		hint,
		operation: context.operation,
	});
}
