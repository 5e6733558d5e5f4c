import { DEFAULT_DEDUP_MAX_ENTRIES, DEFAULT_DEDUP_TTL_MS, DedupCache } from '../../core/dedup-cache';

function clock() {
	let now = 1_000_000;
	return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('DedupCache', () => {
	it('reports a key as a duplicate only after it was added', () => {
		const cache = new DedupCache();
		expect(cache.checkAndAdd('wamid.1')).toBe(false);
		expect(cache.checkAndAdd('wamid.1')).toBe(true);
		expect(cache.checkAndAdd('wamid.2')).toBe(false);
		expect(cache.has('wamid.1')).toBe(true);
		expect(cache.has('wamid.3')).toBe(false);
		expect(cache.size).toBe(2);
	});

	it('defaults to 24 h and 10 000 entries', () => {
		expect(DEFAULT_DEDUP_TTL_MS).toBe(86_400_000);
		expect(DEFAULT_DEDUP_MAX_ENTRIES).toBe(10_000);
		const time = clock();
		const cache = new DedupCache({ now: time.now });
		cache.checkAndAdd('a');
		time.advance(DEFAULT_DEDUP_TTL_MS - 1);
		expect(cache.has('a')).toBe(true);
		time.advance(1);
		expect(cache.has('a')).toBe(false);
		expect(cache.checkAndAdd('a')).toBe(false);
	});

	it('forgets keys after the TTL and frees their memory', () => {
		const time = clock();
		const cache = new DedupCache({ ttlMs: 1000, now: time.now });
		for (let index = 0; index < 100; index++) cache.checkAndAdd(`k${index}`);
		time.advance(1000);
		cache.checkAndAdd('fresh');
		expect(cache.size).toBe(1);
		expect(cache.checkAndAdd('k5')).toBe(false);
	});

	it('restarts the window of a key seen again (spaced-out retries stay recognised)', () => {
		const time = clock();
		const cache = new DedupCache({ ttlMs: 1000, now: time.now });
		cache.checkAndAdd('a');
		time.advance(800);
		expect(cache.checkAndAdd('a')).toBe(true);
		time.advance(800);
		expect(cache.checkAndAdd('a')).toBe(true);
		time.advance(1000);
		expect(cache.checkAndAdd('a')).toBe(false);
	});

	it('keeps at most maxEntries, evicting the oldest first', () => {
		const cache = new DedupCache({ maxEntries: 3 });
		for (const key of ['a', 'b', 'c', 'd']) cache.checkAndAdd(key);
		expect(cache.size).toBe(3);
		expect(cache.has('a')).toBe(false);
		expect(cache.has('b')).toBe(true);
		// 'b' seen again becomes the newest, so 'c' is the next to go.
		cache.checkAndAdd('b');
		cache.checkAndAdd('e');
		expect(cache.has('c')).toBe(false);
		expect(cache.has('b')).toBe(true);
		expect(cache.has('d')).toBe(true);
		expect(cache.has('e')).toBe(true);
	});

	it('stays bounded and fast under many distinct ids', () => {
		const cache = new DedupCache({ maxEntries: 10_000 });
		const started = performance.now();
		for (let index = 0; index < 300_000; index++) cache.checkAndAdd(`wamid.${index}`);
		const elapsed = performance.now() - started;
		expect(cache.size).toBe(10_000);
		expect(cache.has('wamid.299999')).toBe(true);
		expect(cache.has('wamid.289999')).toBe(false);
		expect((cache as any).keys.length).toBeLessThanOrEqual(2 * 10_000 + 64);
		// O(1) per operation (a linear scan per operation would take minutes here).
		expect(elapsed).toBeLessThan(3000);
	});

	it('keeps its memory bounded when one key is seen again and again', () => {
		const cache = new DedupCache({ maxEntries: 100 });
		for (let index = 0; index < 50_000; index++) cache.checkAndAdd(index % 7 === 0 ? `other.${index}` : 'hot');
		expect(cache.size).toBe(100);
		expect(cache.has('hot')).toBe(true);
		expect((cache as any).keys.length).toBeLessThanOrEqual(2 * 100 + 64);
	});

	it('delete and clear forget keys', () => {
		const cache = new DedupCache();
		cache.checkAndAdd('a');
		cache.checkAndAdd('b');
		cache.delete('a');
		expect(cache.checkAndAdd('a')).toBe(false);
		cache.clear();
		expect(cache.size).toBe(0);
	});

	it('falls back to the defaults for nonsensical options', () => {
		const time = clock();
		const cache = new DedupCache({ ttlMs: -1, maxEntries: 0, now: time.now });
		cache.checkAndAdd('a');
		cache.checkAndAdd('b');
		expect(cache.size).toBe(2);
		time.advance(DEFAULT_DEDUP_TTL_MS - 1);
		expect(cache.has('a')).toBe(true);
	});
});
