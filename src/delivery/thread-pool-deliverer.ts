// Several delivery threads, each with its own store connection. A delivery thread spends much
// of its time waiting on the file system (creating blob files waits for the journal under
// fsync load) and in its commit's fsync; with two, one thread's waits overlap the other's
// parsing and transaction. SQLite serialises the write transactions themselves.
import type { BatchDeliverer, EntryOutcome, QueuedMessage } from './deliver-batch.js';
import { ThreadDeliverer } from './thread-deliverer.js';

export class ThreadPoolDeliverer implements BatchDeliverer {
  private readonly threads: { d: ThreadDeliverer; busy: number }[];

  constructor(count: number, dataDir: string, logLevel: string, onRestart?: (reason: string) => void) {
    this.threads = Array.from({ length: Math.max(1, count) }, () => ({ d: new ThreadDeliverer(dataDir, logLevel, onRestart), busy: 0 }));
  }

  async started(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.d.started()));
  }

  async deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]> {
    const t = this.threads.reduce((a, b) => (b.busy < a.busy ? b : a));
    t.busy++;
    try {
      return await t.d.deliver(entries);
    } finally {
      t.busy--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.d.close()));
  }
}
