// A BatchDeliverer that runs StoreDeliverer in a worker thread with its own store connection.
import { Worker } from 'node:worker_threads';
import type { BatchDeliverer, EntryOutcome, QueuedMessage } from './deliver-batch.js';
import type { ThreadReply } from './thread-main.js';

export class ThreadDeliverer implements BatchDeliverer {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly ready: Promise<void>;
  private dead: Error | null = null;

  constructor(dataDir: string, logLevel: string) {
    this.worker = new Worker(new URL('./thread-main.js', import.meta.url), { workerData: { dataDir, logLevel } });
    this.ready = new Promise((resolve, reject) => {
      this.pending.set(0, { resolve: () => resolve(), reject });
    });
    this.worker.on('message', (r: ThreadReply) => {
      const p = this.pending.get(r.seq);
      if (!p) return;
      this.pending.delete(r.seq);
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(r.error));
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`delivery thread exited (${code})`)));
  }

  /** Resolves once the thread has opened its store (so start-up errors surface at start). */
  started(): Promise<void> {
    return this.ready;
  }

  private call(req: { op: 'deliver'; entries: QueuedMessage[] } | { op: 'close' }, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...req, seq }, transfer);
    });
  }

  async deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]> {
    await this.ready;
    // Hand message bytes over without copying when a Buffer owns its whole memory (messages
    // over 4 KiB do; smaller ones share Node's pool and are copied). The caller does not use
    // the bodies after delivery.
    const transfer = new Set<ArrayBuffer>();
    for (const e of entries) {
      const ab = e.body.buffer;
      if (ab instanceof ArrayBuffer && e.body.byteOffset === 0 && ab.byteLength === e.body.byteLength) transfer.add(ab);
    }
    return (await this.call({ op: 'deliver', entries }, [...transfer])) as EntryOutcome[];
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await this.call({ op: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
