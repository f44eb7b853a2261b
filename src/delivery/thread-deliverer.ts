// A BatchDeliverer that runs StoreDeliverer in a worker thread with its own store connection.
// A thread that dies (a crash in native code, out of memory) is replaced at the next batch:
// the batch it held is retried by the delivery worker, and delivery keys make that safe.
import { Worker } from 'node:worker_threads';
import type { BatchDeliverer, EntryOutcome, QueuedMessage } from './deliver-batch.js';
import type { ThreadReply } from './thread-main.js';

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  dead: Error | null;
}

export class ThreadDeliverer implements BatchDeliverer {
  private thread: Thread;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly dataDir: string,
    private readonly logLevel: string,
    private readonly onRestart: (reason: string) => void = () => {},
  ) {
    this.thread = this.spawn();
  }

  private spawn(): Thread {
    const worker = new Worker(new URL('./thread-main.js', import.meta.url), { workerData: { dataDir: this.dataDir, logLevel: this.logLevel } });
    const t: Thread = { worker, ready: Promise.resolve(), pending: new Map(), dead: null };
    t.ready = new Promise((resolve, reject) => t.pending.set(0, { resolve: () => resolve(), reject }));
    t.ready.catch(() => {}); // observed by started()/deliver()
    worker.on('message', (r: ThreadReply) => {
      const p = t.pending.get(r.seq);
      if (!p) return;
      t.pending.delete(r.seq);
      if (r.ok) p.resolve(r.result);
      else p.reject(new Error(r.error));
    });
    const fail = (e: Error) => {
      t.dead ??= e;
      for (const p of t.pending.values()) p.reject(e);
      t.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`delivery thread exited (${code})`)));
    return t;
  }

  /** Resolves once the thread has opened its store (so start-up errors surface at start). */
  started(): Promise<void> {
    return this.thread.ready;
  }

  private call(req: { op: 'deliver'; entries: QueuedMessage[] } | { op: 'close' }, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const t = this.thread;
    if (t.dead) return Promise.reject(t.dead);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      t.pending.set(seq, { resolve, reject });
      t.worker.postMessage({ ...req, seq }, transfer);
    });
  }

  async deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]> {
    if (this.thread.dead && !this.closed) {
      this.onRestart(this.thread.dead.message);
      this.thread = this.spawn();
    }
    await this.thread.ready;
    // Hand message bytes over without copying when a Buffer owns its whole memory (messages
    // over 4 KiB do; smaller ones share Node's pool and are copied). The caller does not use
    // the bodies after delivery (a failed batch is read again from the spool).
    const transfer = new Set<ArrayBuffer>();
    for (const e of entries) {
      const ab = e.body.buffer;
      if (ab instanceof ArrayBuffer && e.body.byteOffset === 0 && ab.byteLength === e.body.byteLength) transfer.add(ab);
    }
    return (await this.call({ op: 'deliver', entries }, [...transfer])) as EntryOutcome[];
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.thread.dead) return;
    await this.call({ op: 'close' }).catch(() => undefined);
    await this.thread.worker.terminate();
  }
}
