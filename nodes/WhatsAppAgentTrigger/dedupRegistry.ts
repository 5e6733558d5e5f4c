/**
 * One dedup cache per trigger node, kept in this process's memory for as long as n8n runs:
 * the webhook phase's first filter (no database there). In queue mode every webhook process
 * has its own; what one process cannot know is caught by the shared claim in the run's first
 * step (execute.ts). Workflow static data is no substitute for either: it is one JSON blob
 * per workflow, written back last-writer-wins after every request.
 */
import { DedupCache } from '../../core/dedup-cache';

const MAX_TRIGGERS = 1000;

const caches = new Map<string, DedupCache>();

export function dedupCacheFor(key: string): DedupCache {
	let cache = caches.get(key);
	if (!cache) {
		if (caches.size >= MAX_TRIGGERS) {
			const oldest = caches.keys().next();
			if (!oldest.done) caches.delete(oldest.value);
		}
		cache = new DedupCache();
		caches.set(key, cache);
	}
	return cache;
}

/** Tests only: forget every cache. */
export function resetDedupCaches(): void {
	caches.clear();
}
