// The delivery worker: moves messages from the inbound spool into mailboxes. It takes queued
// entries in batches (one store transaction per batch), and removes an entry only after the
// store has committed it for every recipient. Delivery keys (spool id + account) make a
// redelivery after a crash a no-op, so each accepted message lands exactly once. While the
// store is unavailable, entries stay queued and are retried with backoff.
import type { Logger } from '../log/logger.js';
import type { Store, DeliveryItem } from '../store/types.js';
import type { Spool } from '../queue/spool.js';
import type { InboundMeta } from './inbound-meta.js';
import { parseMessage } from '../mime/index.js';
import { prependHeader } from './prepend.js';

export interface WorkerOptions {
  batchSize: number;
  /** Give up on a recipient that cannot be delivered (over quota) after this long. */
  maxAgeMs?: number;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 5 * 60_000;

export class DeliveryWorker {
  private readonly ready: string[] = [];
  /** Entries waiting for a retry (a recipient over quota), with their timers. */
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly spool: Spool<InboundMeta>,
    private readonly logger: Logger,
    private readonly opts: WorkerOptions,
  ) {}

  /** Queues every entry left in the spool (after a restart or crash) and starts delivering. */
  start(): void {
    for (const id of this.spool.recover()) this.ready.push(id);
    this.kick();
  }

  enqueue(id: string): void {
    if (this.stopped) return; // picked up by recover() at next start
    this.ready.push(id);
    this.kick();
  }

  /** Finishes the batch under way; entries not yet delivered stay in the spool. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.waiting.values()) clearTimeout(t);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.waiting.clear();
    if (this.running) await this.running;
  }

  /** Resolves when nothing is ready to deliver (tests, benchmarks). */
  idle(): Promise<void> {
    if (!this.running && this.ready.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  get pending(): number {
    return this.ready.length + this.waiting.size;
  }

  private kick(): void {
    if (this.running || this.stopped || this.retryTimer) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      if (this.ready.length) this.kick();
      else for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async loop(): Promise<void> {
    while (this.ready.length && !this.stopped) {
      const batch = this.ready.splice(0, this.opts.batchSize);
      try {
        await this.deliverBatch(batch);
        this.failures = 0;
      } catch (e) {
        // The store is down or failing: keep everything queued and retry the batch later.
        this.ready.unshift(...batch);
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.failures++, 12));
        this.logger.error({ err: (e as Error).message, retryMs: delay, queued: this.ready.length }, 'delivery failed, will retry');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kick();
        }, delay);
        this.retryTimer.unref();
        return;
      }
    }
  }

  private async deliverBatch(ids: string[]): Promise<void> {
    const entries = await Promise.all(
      ids.map((id) =>
        this.spool.read(id).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return null; // already delivered and removed
          throw e;
        }),
      ),
    );
    const items: DeliveryItem[] = [];
    const owners: string[] = [];
    for (const entry of entries) {
      if (!entry) continue;
      const parsed = parseMessage(entry.body);
      for (const r of entry.meta.recipients) {
        const account = await this.store.getAccount(r.account);
        if (!account) {
          this.logger.warn({ id: entry.id, rcpt: r.rcpt }, 'recipient account no longer exists; dropped');
          continue;
        }
        const copy = prependHeader(entry.body, parsed, `Delivered-To: ${r.account}\r\n`);
        items.push({
          deliveryKey: `${entry.id}:${r.account}`,
          accountId: account.id,
          raw: copy.raw,
          parsed: copy.parsed,
          internalDate: new Date(entry.meta.receivedAt),
        });
        owners.push(entry.id);
      }
    }
    const outcomes = items.length ? await this.store.deliver(items) : [];
    const retry = new Set<string>();
    outcomes.forEach((o, i) => {
      if (o.status === 'overquota') retry.add(owners[i]);
    });
    for (const entry of entries) {
      if (!entry) continue;
      if (retry.has(entry.id)) {
        this.scheduleRetry(entry.id, entry.meta.receivedAt);
      } else {
        await this.spool.remove(entry.id);
        this.attempts.delete(entry.id);
        this.logger.debug({ id: entry.id }, 'delivered');
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
      void this.spool.park(id, 'failed').catch((e) => this.logger.error({ id, err: (e as Error).message }, 'park failed'));
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
