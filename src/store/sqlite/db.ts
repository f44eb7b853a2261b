// Plumbing shared by the SQLite store modules: opening the connection, cached prepared
// statements, transactions, change rows, blob cleanup and pruning. A `StoreDb` is the small
// context object every module's functions take as their first argument.
import Database from 'better-sqlite3';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BlobStore } from '../blobs.js';
import type { ChangeKind } from '../types.js';
import { ChangeFeed } from './change-feed.js';
import { MIGRATIONS, migrate, type Migration } from './schema.js';

export interface SqliteStoreOptions {
  dataDir: string;
  /** Poll interval for changes made by other processes/Store objects (ms, default 100). */
  pollIntervalMs?: number;
  /** Change-feed rows older than this are pruned at open (days, default 30). */
  changeRetentionDays?: number;
  /** Delivery idempotency keys older than this are pruned (days, default 7). */
  deliveryKeyRetentionDays?: number;
  /** Unreferenced blob files younger than this are left alone by the sweep (ms, default 10 min). */
  orphanBlobAgeMs?: number;
  /** Run sweepOrphanBlobs() in the background after open (default true). */
  sweepAtOpen?: boolean;
  /** SQLite busy_timeout (ms, default 10000). */
  busyTimeoutMs?: number;
  /** Schema migrations to apply (default: all). For upgrade tests. */
  migrations?: readonly Migration[];
  /** Errors thrown by watch listeners or background work (default: console.error). */
  onError?: (err: unknown) => void;
}

export const DAY = 86_400_000;

/** Opens (creating or upgrading) <dataDir>/fjord.db and makes <dataDir>/blobs. */
export async function openDatabase(opts: SqliteStoreOptions): Promise<Database.Database> {
  await fsp.mkdir(path.join(opts.dataDir, 'blobs'), { recursive: true });
  const db = new Database(path.join(opts.dataDir, 'fjord.db'));
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -32768');
    migrate(db, opts.migrations ?? MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

export class StoreDb {
  readonly db: Database.Database;
  readonly blobs: BlobStore;
  readonly opts: Required<Omit<SqliteStoreOptions, 'migrations' | 'onError'>> & { onError: (e: unknown) => void };
  readonly feed: ChangeFeed;
  closed = false;
  readonly pending = new Set<Promise<unknown>>();
  readonly kwCache = new Map<string, string>();
  lastDeliveryPrune = Date.now();
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(db: Database.Database, opts: SqliteStoreOptions) {
    this.db = db;
    this.blobs = new BlobStore(path.join(opts.dataDir, 'blobs'));
    this.opts = {
      dataDir: opts.dataDir,
      pollIntervalMs: opts.pollIntervalMs ?? 100,
      changeRetentionDays: opts.changeRetentionDays ?? 30,
      deliveryKeyRetentionDays: opts.deliveryKeyRetentionDays ?? 7,
      orphanBlobAgeMs: opts.orphanBlobAgeMs ?? 10 * 60_000,
      sweepAtOpen: opts.sweepAtOpen ?? true,
      busyTimeoutMs: opts.busyTimeoutMs ?? 10_000,
      onError: opts.onError ?? ((e: unknown) => console.error('fjord store:', e)),
    };
    this.feed = new ChangeFeed(this);
  }

  q(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }
  get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.q(sql).get(...params) as T | undefined;
  }
  all<T>(sql: string, ...params: unknown[]): T[] {
    return this.q(sql).all(...params) as T[];
  }
  run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.q(sql).run(...params);
  }
  /** Runs fn in a BEGIN IMMEDIATE transaction (a savepoint when nested). */
  tx<T>(fn: () => T): T {
    this.checkOpen();
    return this.db.transaction(fn).immediate();
  }
  /** Runs fn in a read transaction (BEGIN DEFERRED): its reads see one snapshot. */
  read<T>(fn: () => T): T {
    this.checkOpen();
    return this.db.transaction(fn).deferred();
  }
  checkOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
  track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => { this.pending.delete(p); };
    p.then(done, done);
    return p;
  }

  change(accountId: number, mailboxId: number | null, kind: ChangeKind, uid: number | null, modseq: number | null, name: string | null, at: number): void {
    this.run(
      'INSERT INTO changes (account_id, mailbox_id, kind, uid, modseq, name, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      accountId, mailboxId, kind, uid, modseq, name, at,
    );
  }

  /** After every committed mutation: tell watchers. */
  committed(): void {
    this.feed.committed();
  }

  /** Removes the files of blobs that have no row, holding the write lock while checking. */
  removeUnreferencedBlobs(ids: Iterable<string>): void {
    const list = Array.from(new Set(ids));
    if (list.length === 0 || this.closed) return;
    try {
      this.db.transaction(() => {
        for (const id of list) {
          if (!this.get('SELECT 1 AS x FROM blobs WHERE id = ?', id)) this.blobs.removeSync(id);
        }
      }).immediate();
    } catch (err) {
      // Left for sweepOrphanBlobs().
      this.opts.onError(err);
    }
  }

  pruneOld(now: number): void {
    const prune = (table: 'changes' | 'deliveries', keyCol: 'id' | 'rowid', cutoff: number) => {
      const first = this.get<{ k: number }>(`SELECT ${keyCol} AS k FROM ${table} WHERE at >= ? ORDER BY ${keyCol} LIMIT 1`, cutoff);
      if (first) this.run(`DELETE FROM ${table} WHERE ${keyCol} < ?`, first.k);
      else this.run(`DELETE FROM ${table}`);
    };
    this.tx(() => {
      prune('changes', 'id', now - this.opts.changeRetentionDays * DAY);
      prune('deliveries', 'rowid', now - this.opts.deliveryKeyRetentionDays * DAY);
    });
  }

  /** Removes blob files not referenced by any row and older than orphanBlobAgeMs (files
   * written by a transaction that then failed or crashed), and stale temp files. */
  async sweepOrphanBlobs(minAgeMs = this.opts.orphanBlobAgeMs): Promise<number> {
    let removed = 0;
    await this.blobs.walkOld(minAgeMs, (ids, tmps) => {
      if (this.closed) return false;
      for (const t of tmps) {
        fsp.unlink(t).catch(() => {});
        removed++;
      }
      const candidates = ids.filter((id) => !this.get('SELECT 1 AS x FROM blobs WHERE id = ?', id));
      if (candidates.length) {
        this.db.transaction(() => {
          for (const id of candidates) {
            if (!this.get('SELECT 1 AS x FROM blobs WHERE id = ?', id)) {
              this.blobs.removeSync(id);
              removed++;
            }
          }
        }).immediate();
      }
      return true;
    });
    return removed;
  }
}
