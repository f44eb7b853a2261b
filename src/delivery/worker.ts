// The delivery worker: moves messages from the inbound spool into mailboxes. It takes queued
// entries in batches (one store transaction per batch, done by a BatchDeliverer, normally on its
// own thread) and removes an entry from the spool only after the store has committed it for every
// recipient. Delivery keys (spool id + account) make a redelivery after a crash a no-op, so each
// accepted message lands exactly once. While the store is unavailable, entries stay queued and
// are retried with backoff.
import type { Logger } from '../log/logger.js';
import { SpoolError, type Spool } from '../queue/spool.js';
import type { InboundMeta } from './inbound-meta.js';
import type { BatchDeliverer, QueuedMessage } from './deliver-batch.js';

export interface WorkerOptions {
  batchSize: number;
  /** Batches handed to the deliverer at once: the next batch is read while one commits. */
  inFlight?: number;
  /** Give up on a recipient that cannot be delivered (over quota) after this long. */
  maxAgeMs?: number;
  /** Called after each committed batch (e.g. to wake watchers of another store connection). */
  onDelivered?: () => void;
  /** Where a submission's local copy (meta.awaitsRemote) learns whether its remote half was
   * queued: if not (a crash between the two writes, or a withdrawal the spool forgot in a
   * restart) it is dropped instead of delivered, since the client got no 250 and will retry. */
  localCopies?: { committed(spoolId: string): boolean; delivered(spoolId: string): Promise<void> };
}

/** Sibling folder of the spool where entries that cannot be delivered are set aside. */
export const PARKED = 'failed';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 5 * 60_000;
/** Content of freshly accepted messages kept in memory so it need not be read back from disk. */
const MAX_CACHED_BYTES = 256 * 1024 * 1024;
/** Failures of a message delivered alone (while others succeed) before it is set aside. */
const MAX_STRIKES = 3;
/** Message bytes read into one batch at most (besides at least one message). */
const MAX_BATCH_BYTES = 64 * 1024 * 1024;

export class DeliveryWorker {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  /** Entries waiting for a retry (a recipient over quota), with their timers. */
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly cache = new Map<string, { meta: InboundMeta; body: Buffer }>();
  private cachedBytes = 0;
  private active = 0;
  private readonly batches = new Set<Promise<void>>();
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  /** After a batch fails, its entries are retried one per batch, to find a message that makes
   * every batch fail (a poison message) instead of retrying it with others forever. */
  private isolate = 0;
  private readonly strikes = new Map<string, number>();
  private lastBatchOk = true;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly deliverer: BatchDeliverer,
    private readonly spool: Spool<InboundMeta>,
    private readonly logger: Logger,
    private readonly opts: WorkerOptions,
  ) {}

  /** Spooled entries whose delivery waits for their writer's word (enqueue, or release on
   * withdrawal): start() must not take them for a crash's leftovers. */
  private readonly held = new Set<string>();

  /** Queues every entry left in the spool (after a restart or crash) and starts delivering. */
  start(): void {
    for (const id of this.spool.recover()) if (!this.held.has(id)) this.push(id);
    this.kick();
  }

  /** Marks a spooled entry as not yet to be delivered (see held). */
  hold(id: string): void {
    this.held.add(id);
  }

  /** Forgets a held entry that its writer withdrew. */
  release(id: string): void {
    this.held.delete(id);
  }

  /** Queues a spooled entry. Passing its content saves reading it back from disk; content is
   * kept in memory only up to a bound, beyond which the spool is read when its turn comes. */
  enqueue(id: string, entry?: { meta: InboundMeta; body: Buffer }): void {
    this.held.delete(id);
    if (this.stopped) return; // picked up by recover() at next start
    if (entry && this.cachedBytes + entry.body.length <= MAX_CACHED_BYTES) {
      this.cache.set(id, entry);
      this.cachedBytes += entry.body.length;
    }
    this.push(id);
    this.kick();
  }

  /** Finishes the batches under way; entries not yet delivered stay in the spool. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.waiting.values()) clearTimeout(t);
    this.waiting.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    while (this.batches.size) await Promise.allSettled([...this.batches]);
    await this.deliverer.close();
  }

  /** Resolves when nothing is ready to deliver (tests, benchmarks, graceful stop). */
  idle(): Promise<void> {
    if (this.active === 0 && this.ready.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private push(id: string): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.ready.push(id);
  }

  private kick(): void {
    const limit = Math.max(1, this.opts.inFlight ?? 2);
    while (!this.stopped && !this.retryTimer && this.ready.length && this.active < limit) {
      const batch = this.ready.splice(0, this.isolate > 0 ? 1 : this.opts.batchSize);
      if (this.isolate > 0) this.isolate--;
      this.active++;
      const p = this.run(batch).finally(() => {
        this.active--;
        this.batches.delete(p);
        this.kick();
        if (this.active === 0 && this.ready.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
      this.batches.add(p);
    }
  }

  private async take(id: string): Promise<QueuedMessage | null> {
    const entry = await this.read(id);
    if (entry?.meta.awaitsRemote && this.opts.localCopies && !this.opts.localCopies.committed(id)) {
      this.logger.error({ id }, 'local copy of a submission whose remote half was never queued: dropped');
      await this.spool.remove(id);
      return null;
    }
    return entry;
  }

  private read(id: string): Promise<QueuedMessage | null> {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cachedBytes -= hit.body.length;
      return Promise.resolve({ id, ...hit });
    }
    return this.spool.read(id).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null; // already delivered and removed
      if (e instanceof SpoolError && e.code === 'corrupt') {
        // A damaged entry must not stall everything behind it: keep its bytes aside for the operator.
        this.logger.error({ id }, 'damaged queue entry; parked in queue/failed');
        await this.spool.park(id, PARKED);
        return null;
      }
      throw e;
    });
  }

  private async run(ids: string[]): Promise<void> {
    let entries: (QueuedMessage | null)[] = [];
    try {
      // Read in order until the batch holds enough bytes; the rest go back to the front.
      let bytes = 0;
      for (let i = 0; i < ids.length; i++) {
        if (bytes >= MAX_BATCH_BYTES) {
          this.ready.unshift(...ids.splice(i));
          break;
        }
        const entry = await this.take(ids[i]);
        entries.push(entry);
        bytes += entry ? entry.body.length : 0;
      }
      const present = entries.filter((e): e is QueuedMessage => e !== null);
      const outcomes = present.length ? await this.deliverer.deliver(present) : [];
      this.failures = 0;
      this.lastBatchOk = true;
      this.opts.onDelivered?.();
      const cleared: Promise<void>[] = [];
      for (let i = 0; i < present.length; i++) {
        const entry = present[i];
        if (outcomes[i] === 'retry') {
          this.queued.delete(entry.id);
          this.scheduleRetry(entry.id, entry.meta.receivedAt);
        } else {
          await this.spool.remove(entry.id);
          this.queued.delete(entry.id);
          this.attempts.delete(entry.id);
          const marks = this.opts.localCopies;
          if (entry.meta.awaitsRemote && marks) {
            // Together (one commit for the batch), and never failing the batch: a mark left
            // behind is pruned at the next start.
            cleared.push(Promise.resolve().then(() => marks.delivered(entry.id)).catch((e: Error) => this.logger.warn({ id: entry.id, err: e.message }, 'could not clear the mark of a delivered local copy')));
          }
        }
      }
      await Promise.all(cleared);
      for (let i = 0; i < ids.length; i++) if (entries[i] === null) this.queued.delete(ids[i]);
    } catch (e) {
      // The store is down or failing, or one message breaks the batch: keep everything queued
      // (content is read back from the spool next time) and retry after a backoff, one by one.
      const again = ids.filter((id) => this.queued.has(id) && !this.waiting.has(id));
      if (again.length > 1) this.isolate = Math.max(this.isolate, again.length);
      else if (again.length === 1 && this.lastBatchOk) {
        // It failed alone while other deliveries succeed: count it against the message.
        const n = (this.strikes.get(again[0]) ?? 0) + 1;
        this.strikes.set(again[0], n);
        if (n >= MAX_STRIKES) {
          const id = again.pop()!;
          this.strikes.delete(id);
          this.queued.delete(id);
          this.logger.error({ id, err: (e as Error).message }, 'message fails delivery on its own; parked in queue/failed');
          await this.spool.park(id, PARKED).catch((err) => this.logger.error({ id, err: (err as Error).message }, 'park failed'));
        }
      }
      this.lastBatchOk = false;
      // a batch goes back to the front; a single failing message behind the others, so they go on
      if (again.length === 1) this.ready.push(again[0]);
      else this.ready.unshift(...again);
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.failures++, 12));
      this.logger.error({ err: (e as Error).message, retryMs: delay, queued: this.ready.length }, 'delivery failed, will retry');
      if (!this.retryTimer && !this.stopped) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, delay);
        this.retryTimer.unref();
      }
    }
  }

  /** A recipient over quota: keep the entry and try again later (already delivered copies are skipped by their keys). */
  private scheduleRetry(id: string, receivedAt: number): void {
    const n = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, n);
    const maxAge = this.opts.maxAgeMs ?? 5 * 24 * 3600_000;
    if (Date.now() - receivedAt > maxAge) {
      this.logger.error({ id }, 'undeliverable (mailbox over quota for too long); parked in queue/failed');
      this.attempts.delete(id);
      void this.spool.park(id, PARKED).catch((e) => this.logger.error({ id, err: (e as Error).message }, 'park failed'));
      return;
    }
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(n, 12));
    this.logger.warn({ id, attempt: n, retryMs: delay }, 'recipient over quota, will retry');
    const timer = setTimeout(() => {
      this.waiting.delete(id);
      this.enqueue(id);
    }, delay);
    timer.unref();
    this.waiting.set(id, timer);
  }
}
