/**
 * A seeded mutator of Meta webhook bodies for fuzz tests: deletes keys, changes value types,
 * inserts odd unicode, duplicates and empties arrays, renames types, and truncates or
 * corrupts the serialised text. Deterministic for a seed, so a failure can be replayed.
 * No jest imports (the end-to-end suite may use it too).
 */

/** mulberry32: small, fast, good enough to pick mutations. */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const ODD_STRINGS = [
	'',
	' ',
	'\u0000',
	'\ud83d', // lone high surrogate
	'\udc4b', // lone low surrogate
	'👋🏽🇩🇪👨‍👩‍👧',
	'Grüße ÄÖÜ ß',
	'\u202e reversed',
	'a'.repeat(5000),
	'{"nested": "json"}',
	'wamid.' + 'x'.repeat(300),
	'__proto__',
	'constructor',
	'toString',
	'1e400',
	'-1',
	'NaN',
	'99999999999999999999999',
	'US.13491208655302741918',
	'text',
	'image',
	'interactive',
	'unsupported',
];

const TYPES = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'reaction', 'order', 'system', 'unsupported', 'unknown', 'request_welcome', 'edit', 'revoke', 'hologram'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class WebhookMutator {
	private readonly random: () => number;

	constructor(seed: number) {
		this.random = seededRandom(seed);
	}

	int(max: number): number {
		return Math.floor(this.random() * max);
	}

	pick<T>(values: readonly T[]): T {
		return values[this.int(values.length)];
	}

	chance(probability: number): boolean {
		return this.random() < probability;
	}

	/** A random JSON value of modest size. */
	value(depth = 0): Json {
		switch (this.int(depth > 2 ? 6 : 8)) {
			case 0:
				return null;
			case 1:
				return this.chance(0.5);
			case 2:
				return this.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 1750000000, Number.MAX_SAFE_INTEGER]);
			case 3:
			case 4:
				return this.pick(ODD_STRINGS);
			case 5:
				return this.pick(TYPES);
			case 6:
				return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
			default: {
				const object: { [key: string]: Json } = {};
				for (let index = this.int(4); index > 0; index--) object[this.pick(['id', 'type', 'body', 'from', 'text', '__proto__', 'x'])] = this.value(depth + 1);
				return object;
			}
		}
	}

	/** Every container (object or array) in the tree, with its path. */
	private containers(root: Json): Array<{ [key: string]: Json } | Json[]> {
		const found: Array<{ [key: string]: Json } | Json[]> = [];
		const visit = (node: Json) => {
			if (node === null || typeof node !== 'object') return;
			found.push(node);
			if (Array.isArray(node)) node.forEach(visit);
			else Object.values(node).forEach(visit);
		};
		visit(root);
		return found;
	}

	/** Applies 1–4 structural mutations to a deep copy. */
	mutate(body: unknown): Json {
		const root = JSON.parse(JSON.stringify(body)) as Json;
		const rounds = 1 + this.int(4);
		let current: Json = root;
		for (let round = 0; round < rounds; round++) current = this.mutateOnce(current);
		return current;
	}

	private mutateOnce(root: Json): Json {
		const containers = this.containers(root);
		if (containers.length === 0 || this.chance(0.02)) return this.value();
		const target = this.pick(containers);
		if (Array.isArray(target)) {
			const action = this.int(5);
			if (action === 0 && target.length > 0) target.splice(this.int(target.length), 1);
			else if (action === 1 && target.length > 0) target.push(JSON.parse(JSON.stringify(target[this.int(target.length)])) as Json);
			else if (action === 2) target.length = 0;
			else if (action === 3 && target.length > 0) target[this.int(target.length)] = this.value();
			else target.push(this.value());
			return root;
		}
		const keys = Object.keys(target);
		const action = this.int(6);
		if (keys.length > 0 && action === 0) delete target[this.pick(keys)];
		else if (keys.length > 0 && action <= 2) target[this.pick(keys)] = this.value();
		else if (keys.length > 0 && action === 3) {
			const key = this.pick(keys);
			const value = target[key];
			if (typeof value === 'string') target[key] = value.slice(0, this.int(value.length + 1)) + this.pick(ODD_STRINGS);
			else target[key] = String(value);
		} else if (action === 4 && 'type' in target) target.type = this.pick(TYPES);
		else target[this.pick(['extra', 'type', 'errors', 'context', 'referral', 'from_user_id', this.pick(TYPES)])] = this.value();
		return root;
	}

	/** The serialised body, sometimes truncated or with a corrupted byte (so not JSON). */
	serialise(body: Json): { text: string; intact: boolean } {
		let text = JSON.stringify(body) ?? 'null';
		// JSON.parse makes "__proto__" an own property: make sure such keys reach the parser.
		if (this.chance(0.05) && text.startsWith('{') && text !== '{}') text = `{"__proto__":{"polluted":true},${text.slice(1)}`;
		if (this.chance(0.9) || text.length < 2) return { text, intact: true };
		if (this.chance(0.5)) return { text: text.slice(0, this.int(text.length)), intact: false };
		const index = this.int(text.length);
		return { text: text.slice(0, index) + this.pick(['"', '{', ']', '\\', '\u0000']) + text.slice(index + 1), intact: false };
	}
}
