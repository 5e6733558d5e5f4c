/**
 * Runs async tasks one at a time per key, in arrival order, within this process.
 *
 * n8n runs many executions of one workflow at once in a single process (every webhook
 * request, every worker job). Work that must not interleave with itself for the same key
 * (conversation state read-modify-write) queues here first, so only one task per key and
 * process goes on to contend for the shared lock in n8n's database. This is a contention
 * filter, not the guarantee: other processes are kept out by the shared lock.
 */
export class KeyedMutex {
	private readonly tails = new Map<string, Promise<void>>();

	/** Number of keys with a task running or queued. */
	get size(): number {
		return this.tails.size;
	}

	async run<T>(key: string, task: () => Promise<T>): Promise<T> {
		const previous = this.tails.get(key) ?? Promise.resolve();
		let release!: () => void;
		const mine = new Promise<void>((resolve) => {
			release = resolve;
		});
		const tail = previous.then(() => mine);
		this.tails.set(key, tail);
		await previous;
		try {
			return await task();
		} finally {
			release();
			// Forget the key when nothing queued after us.
			if (this.tails.get(key) === tail) this.tails.delete(key);
		}
	}
}
