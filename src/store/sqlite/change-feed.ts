// Change feed of the SQLite store: reading the `changes` table and pushing new rows to watch()
// listeners, polling for changes made by other processes/Store objects.
import type { Change, ChangeListener } from '../types.js';
import type { StoreDb } from './db.js';
import { toChange, type ChangeRow } from './rows.js';

interface Watcher { accountId: number | null; fn: ChangeListener; from: number; active: boolean }

export class ChangeFeed {
  private readonly watchers = new Set<Watcher>();
  private feedCursor = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private repoll = false;

  constructor(private readonly ctx: StoreDb) {}

  /** After every committed mutation: tell watchers. */
  committed(): void {
    if (this.watchers.size > 0) this.poll();
  }

  /** At close: stop polling and forget the watchers. */
  close(): void {
    this.stopTimer();
    this.watchers.clear();
  }

  async changesSince(accountId: number | null, afterId: number, limit = 1000): Promise<Change[]> {
    this.ctx.checkOpen();
    const lim = Math.max(1, Math.min(Math.floor(limit) || 1000, 100_000));
    const rows = accountId === null
      ? this.ctx.all<ChangeRow>('SELECT * FROM changes WHERE id > ? ORDER BY id LIMIT ?', afterId, lim)
      : this.ctx.all<ChangeRow>('SELECT * FROM changes WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?', accountId, afterId, lim);
    return rows.map(toChange);
  }

  private lastChangeIdSync(): number {
    const seq = this.ctx.get<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")?.seq ?? 0;
    const max = this.ctx.get<{ m: number | null }>('SELECT max(id) AS m FROM changes')!.m ?? 0;
    return Math.max(seq, max);
  }

  async lastChangeId(): Promise<number> {
    this.ctx.checkOpen();
    return this.lastChangeIdSync();
  }

  watch(accountId: number | null, listener: ChangeListener): () => void {
    this.ctx.checkOpen();
    const last = this.lastChangeIdSync();
    if (this.watchers.size === 0) {
      this.feedCursor = last;
      this.startTimer();
    }
    const w: Watcher = { accountId, fn: listener, from: last, active: true };
    this.watchers.add(w);
    return () => {
      if (!w.active) return;
      w.active = false;
      this.watchers.delete(w);
      if (this.watchers.size === 0) this.stopTimer();
    };
  }

  /** Polls the change feed now (e.g. after another process signalled a change). */
  poke(): void {
    if (!this.ctx.closed) this.poll();
  }

  private startTimer(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.poll(), this.ctx.opts.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopTimer(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private poll(): void {
    if (this.ctx.closed || this.watchers.size === 0) return;
    if (this.polling) {
      this.repoll = true; // a listener mutated the store: deliver after the current batch
      return;
    }
    this.polling = true;
    try {
      do {
        this.repoll = false;
        const max = this.ctx.get<{ m: number | null }>('SELECT max(id) AS m FROM changes')!.m ?? 0;
        while (max > this.feedCursor && this.watchers.size > 0) {
          const rows = this.ctx.all<ChangeRow>('SELECT * FROM changes WHERE id > ? ORDER BY id LIMIT 1000', this.feedCursor);
          if (rows.length === 0) break;
          this.feedCursor = rows[rows.length - 1]!.id;
          this.dispatch(rows.map(toChange));
        }
      } while (this.repoll && !this.ctx.closed);
    } catch (err) {
      if (!this.ctx.closed) this.ctx.opts.onError(err);
    } finally {
      this.polling = false;
    }
  }

  private dispatch(changes: Change[]): void {
    for (const w of Array.from(this.watchers)) {
      if (!w.active) continue;
      const mine = changes.filter((c) => c.id > w.from && (w.accountId === null || c.accountId === w.accountId));
      if (mine.length === 0) continue;
      w.from = mine[mine.length - 1]!.id;
      try {
        w.fn(mine);
      } catch (err) {
        this.ctx.opts.onError(err);
      }
    }
  }
}
