// SQLite backend of the Store interface (better-sqlite3, WAL, synchronous=FULL).
//
// Concurrency model: better-sqlite3 is synchronous, so every mutation runs its whole
// transaction within one turn of the event loop (BEGIN IMMEDIATE, so other processes queue
// on busy_timeout instead of failing an upgrade from a read lock). Only blob I/O is async and
// it happens BEFORE the transaction (write + fsync) or AFTER it (unlink of released blobs).
//
// Invariant between blob rows and files: a blobs row exists => its file exists. Files are
// removed only while holding the write lock after re-checking that no row exists, and a
// transaction that creates a blobs row checks (under the same lock) that the file is there,
// rewriting it from the bytes it holds if a concurrent cleanup removed it.
import Database from 'better-sqlite3';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BlobNotFoundError, BlobStore, isBlobId } from '../blobs.js';
import {
  StoreError,
  type Account,
  type Alias,
  type Change,
  type ChangeKind,
  type ChangeListener,
  type CopyResult,
  type DeliveryItem,
  type DeliveryOutcome,
  type Domain,
  type FlagOperation,
  type FlagUpdateResult,
  type Mailbox,
  type MessageIndexEntry,
  type MessageRecord,
  type NewMessage,
  type QuotaUsage,
  type SpecialUse,
  type Store,
} from '../types.js';
import type { ParsedMessage } from '../../mime/types.js';
import { MIGRATIONS, migrate, type Migration } from './schema.js';
import {
  applyFlagOp,
  decodeFlags,
  encodeFlags,
  ftsTokens,
  normalizeAddress,
  normalizeAlias,
  normalizeDomain,
  normalizeFlags,
  normalizeMailboxName,
  normalizeSpecialUse,
  show,
  sortFlags,
} from './normalize.js';

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

const DAY = 86_400_000;
const THREAD_SUBJECT_WINDOW = 30 * DAY;
const MAX_REFS = 50;
const DEFAULT_MAILBOXES: [string, SpecialUse | null][] = [
  ['INBOX', null],
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Junk', '\\Junk'],
  ['Trash', '\\Trash'],
  ['Archive', '\\Archive'],
];

export function emailIdString(id: number): string {
  return 'M' + id.toString(36);
}
export function threadIdString(id: number): string {
  return 'T' + id.toString(36);
}

interface DomainRow { id: number; name: string; created_at: number }
interface AccountRow {
  id: number; address: string; domain_id: number; password_hash: string;
  quota_bytes: number; quota_messages: number; used_bytes: number; used_messages: number; created_at: number;
}
interface AliasRow { id: number; alias: string; target: string; created_at: number }
interface MailboxRow {
  id: number; account_id: number; name: string; special_use: string | null; subscribed: number;
  uid_validity: number; uid_next: number; highest_modseq: number; messages: number; unseen: number; size: number;
}
interface IndexRow {
  uid: number; modseq: number; flags: string; internal_date: number; size: number; email_id: number; thread_id: number;
}
interface RecordRow extends IndexRow {
  blob_id: string; parsed: string; subject: string; from_display: string; date: number | null;
  message_id: string | null; has_attachments: number;
}
interface ChangeRow {
  id: number; account_id: number; mailbox_id: number | null; kind: string; uid: number | null;
  modseq: number | null; name: string | null; at: number;
}
interface Watcher { accountId: number | null; fn: ChangeListener; from: number; active: boolean }

function toDomain(r: DomainRow): Domain {
  return { id: r.id, name: r.name, createdAt: new Date(r.created_at) };
}
function toAccount(r: AccountRow): Account {
  return {
    id: r.id, address: r.address, domainId: r.domain_id, passwordHash: r.password_hash,
    quotaBytes: r.quota_bytes, quotaMessages: r.quota_messages, usedBytes: r.used_bytes,
    usedMessages: r.used_messages, createdAt: new Date(r.created_at),
  };
}
function toAlias(r: AliasRow): Alias {
  return { id: r.id, alias: r.alias, target: r.target, createdAt: new Date(r.created_at) };
}
function toMailbox(r: MailboxRow): Mailbox {
  return {
    id: r.id, accountId: r.account_id, name: r.name, specialUse: (r.special_use as SpecialUse | null) ?? null,
    subscribed: r.subscribed !== 0, uidValidity: r.uid_validity, uidNext: r.uid_next,
    highestModseq: r.highest_modseq, messages: r.messages, unseen: r.unseen, size: r.size,
  };
}
function toIndexEntry(r: IndexRow): MessageIndexEntry {
  return {
    uid: r.uid, modseq: r.modseq, flags: decodeFlags(r.flags), internalDate: new Date(r.internal_date),
    size: r.size, emailId: emailIdString(r.email_id), threadId: threadIdString(r.thread_id),
  };
}
function toChange(r: ChangeRow): Change {
  return {
    id: r.id, accountId: r.account_id, mailboxId: r.mailbox_id, kind: r.kind as ChangeKind, uid: r.uid,
    modseq: r.modseq, name: r.name, at: new Date(r.at),
  };
}

function quotaInt(v: number | undefined, what: string): number {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new StoreError('invalid', `${what} must be a non-negative integer`);
  return v;
}

function overQuota(a: { quota_bytes: number; quota_messages: number; used_bytes: number; used_messages: number }, bytes: number, count: number): boolean {
  return (a.quota_bytes > 0 && a.used_bytes + bytes > a.quota_bytes) ||
    (a.quota_messages > 0 && a.used_messages + count > a.quota_messages);
}

function uniqueSorted(uids: readonly number[]): number[] {
  const out = Array.from(new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0)));
  return out.sort((a, b) => a - b);
}

function fromDisplay(p: ParsedMessage): string {
  const f = p.from[0];
  if (!f) return '';
  return f.name ? (f.address ? `${f.name} <${f.address}>` : f.name) : f.address;
}

function validDate(d: Date | undefined, fallback: number): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  return Number.isFinite(t) ? t : fallback;
}

function cleanMessageIds(ids: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const id of ids ?? []) if (typeof id === 'string' && id.length > 0 && id.length <= 998) out.push(id);
  return out;
}

export class SqliteStore implements Store {
  readonly dataDir: string;
  readonly blobs: BlobStore;
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly kwCache = new Map<string, string>();
  private readonly opts: Required<Omit<SqliteStoreOptions, 'migrations' | 'onError'>> & { onError: (e: unknown) => void };
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();
  private sweeping: Promise<number> | null = null;
  private lastDeliveryPrune = Date.now();

  // change feed
  private readonly watchers = new Set<Watcher>();
  private feedCursor = 0;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  private repoll = false;

  private constructor(db: Database.Database, opts: SqliteStoreOptions) {
    this.db = db;
    this.dataDir = opts.dataDir;
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
  }

  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
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
    const store = new SqliteStore(db, opts);
    store.pruneOld(Date.now());
    if (store.opts.sweepAtOpen) {
      store.sweeping = store.sweepOrphanBlobs().catch((e) => {
        if (!store.closed) store.opts.onError(e);
        return 0;
      });
    }
    return store;
  }

  // ---------------------------------------------------------------- plumbing

  private q(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }
  private get<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.q(sql).get(...params) as T | undefined;
  }
  private all<T>(sql: string, ...params: unknown[]): T[] {
    return this.q(sql).all(...params) as T[];
  }
  private run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.q(sql).run(...params);
  }
  /** Runs fn in a BEGIN IMMEDIATE transaction (a savepoint when nested). */
  private tx<T>(fn: () => T): T {
    this.checkOpen();
    return this.db.transaction(fn).immediate();
  }
  private checkOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => { this.pending.delete(p); };
    p.then(done, done);
    return p;
  }

  private change(accountId: number, mailboxId: number | null, kind: ChangeKind, uid: number | null, modseq: number | null, name: string | null, at: number): void {
    this.run(
      'INSERT INTO changes (account_id, mailbox_id, kind, uid, modseq, name, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      accountId, mailboxId, kind, uid, modseq, name, at,
    );
  }

  /** After every committed mutation: tell watchers. */
  private committed(): void {
    if (this.watchers.size > 0) this.poll();
  }

  /** Removes the files of blobs that have no row, holding the write lock while checking. */
  private removeUnreferencedBlobs(ids: Iterable<string>): void {
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

  private pruneOld(now: number): void {
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

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimer();
    this.watchers.clear();
    await Promise.allSettled(Array.from(this.pending));
    this.closed = true;
    if (this.sweeping) await this.sweeping;
    this.db.close();
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

  // ---------------------------------------------------------------- settings

  async getSetting(key: string): Promise<string | null> {
    this.checkOpen();
    return this.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', String(key))?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.tx(() => {
      this.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', String(key), String(value));
    });
  }

  // ---------------------------------------------------------------- domains

  async addDomain(name: string): Promise<Domain> {
    const n = normalizeDomain(name);
    if (!n) throw new StoreError('invalid', `invalid domain name ${show(name)}`);
    return this.tx(() => {
      if (this.get('SELECT 1 AS x FROM domains WHERE name = ?', n)) throw new StoreError('exists', `domain ${n} already exists`);
      const row = this.get<DomainRow>('INSERT INTO domains (name, created_at) VALUES (?, ?) RETURNING *', n, Date.now())!;
      return toDomain(row);
    });
  }

  async getDomain(name: string): Promise<Domain | null> {
    this.checkOpen();
    const n = normalizeDomain(name);
    if (!n) return null;
    const r = this.get<DomainRow>('SELECT * FROM domains WHERE name = ?', n);
    return r ? toDomain(r) : null;
  }

  async listDomains(): Promise<Domain[]> {
    this.checkOpen();
    return this.all<DomainRow>('SELECT * FROM domains ORDER BY name').map(toDomain);
  }

  async removeDomain(name: string): Promise<void> {
    const n = normalizeDomain(name);
    if (!n) throw new StoreError('not-found', `unknown domain ${show(name)}`);
    this.tx(() => {
      const d = this.get<DomainRow>('SELECT * FROM domains WHERE name = ?', n);
      if (!d) throw new StoreError('not-found', `unknown domain ${n}`);
      const accounts = this.get<{ c: number }>('SELECT count(*) AS c FROM accounts WHERE domain_id = ?', d.id)!.c;
      const aliases = this.get<{ c: number }>('SELECT count(*) AS c FROM aliases WHERE domain_id = ?', d.id)!.c;
      if (accounts || aliases) {
        throw new StoreError('in-use', `domain ${n} still has ${accounts} account(s) and ${aliases} alias(es)`);
      }
      this.run('DELETE FROM domains WHERE id = ?', d.id);
    });
  }

  // ---------------------------------------------------------------- accounts

  async addAccount(input: { address: string; passwordHash: string; quotaBytes?: number; quotaMessages?: number }): Promise<Account> {
    const a = normalizeAddress(input.address);
    if (!a) throw new StoreError('invalid', `invalid address ${show(input.address)}`);
    if (typeof input.passwordHash !== 'string') throw new StoreError('invalid', 'password hash must be a string');
    const qb = quotaInt(input.quotaBytes, 'byte quota');
    const qm = quotaInt(input.quotaMessages, 'message quota');
    const row = this.tx(() => {
      const d = this.get<DomainRow>('SELECT * FROM domains WHERE name = ?', a.domain);
      if (!d) throw new StoreError('not-found', `unknown domain ${a.domain}`);
      if (this.get('SELECT 1 AS x FROM accounts WHERE address = ?', a.address)) {
        throw new StoreError('exists', `account ${a.address} already exists`);
      }
      const now = Date.now();
      const r = this.get<AccountRow>(
        `INSERT INTO accounts (address, domain_id, password_hash, quota_bytes, quota_messages, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
        a.address, d.id, input.passwordHash, qb, qm, now,
      )!;
      for (const [name, su] of DEFAULT_MAILBOXES) this.insertMailbox(r.id, name, su, true, now);
      return r;
    });
    this.committed();
    return toAccount(row);
  }

  async getAccount(address: string): Promise<Account | null> {
    this.checkOpen();
    const a = normalizeAddress(address);
    if (!a) return null;
    const r = this.get<AccountRow>('SELECT * FROM accounts WHERE address = ?', a.address);
    return r ? toAccount(r) : null;
  }

  async getAccountById(id: number): Promise<Account | null> {
    this.checkOpen();
    const r = this.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', id);
    return r ? toAccount(r) : null;
  }

  async listAccounts(domain?: string): Promise<Account[]> {
    this.checkOpen();
    if (domain === undefined) return this.all<AccountRow>('SELECT * FROM accounts ORDER BY address').map(toAccount);
    const n = normalizeDomain(domain);
    if (!n) return [];
    return this.all<AccountRow>(
      'SELECT a.* FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? ORDER BY a.address', n,
    ).map(toAccount);
  }

  private accountByAddress(address: string): AccountRow {
    const a = normalizeAddress(address);
    const r = a ? this.get<AccountRow>('SELECT * FROM accounts WHERE address = ?', a.address) : undefined;
    if (!r) throw new StoreError('not-found', `unknown account ${a ? a.address : show(address)}`);
    return r;
  }

  async setPasswordHash(address: string, passwordHash: string): Promise<void> {
    if (typeof passwordHash !== 'string') throw new StoreError('invalid', 'password hash must be a string');
    this.tx(() => {
      const r = this.accountByAddress(address);
      this.run('UPDATE accounts SET password_hash = ? WHERE id = ?', passwordHash, r.id);
    });
  }

  async setQuota(address: string, quota: { bytes?: number; messages?: number }): Promise<Account> {
    const qb = quota.bytes === undefined ? undefined : quotaInt(quota.bytes, 'byte quota');
    const qm = quota.messages === undefined ? undefined : quotaInt(quota.messages, 'message quota');
    return this.tx(() => {
      const r = this.accountByAddress(address);
      return toAccount(this.get<AccountRow>(
        'UPDATE accounts SET quota_bytes = ?, quota_messages = ? WHERE id = ? RETURNING *',
        qb ?? r.quota_bytes, qm ?? r.quota_messages, r.id,
      )!);
    });
  }

  async removeAccount(address: string): Promise<void> {
    const released: string[] = [];
    this.tx(() => {
      const acct = this.accountByAddress(address);
      const now = Date.now();
      const boxes = this.all<MailboxRow>('SELECT * FROM mailboxes WHERE account_id = ? ORDER BY id', acct.id);
      for (const mb of boxes) this.dropMailbox(mb, now, released);
      // Anything left (should be nothing): emails without mailbox rows.
      for (const e of this.all<{ id: number }>('SELECT id FROM emails WHERE account_id = ?', acct.id)) {
        this.deleteText(e.id);
        this.run('DELETE FROM emails WHERE id = ?', e.id);
      }
      this.run('DELETE FROM thread_refs WHERE account_id = ?', acct.id);
      this.run('DELETE FROM keywords WHERE account_id = ?', acct.id);
      this.run('DELETE FROM aliases WHERE target = ?', acct.address);
      this.run('DELETE FROM accounts WHERE id = ?', acct.id);
    });
    this.removeUnreferencedBlobs(released);
    this.committed();
  }

  // ---------------------------------------------------------------- aliases

  async addAlias(alias: string, target: string): Promise<Alias> {
    const a = normalizeAlias(alias);
    if (!a) throw new StoreError('invalid', `invalid alias ${show(alias)}`);
    const t = normalizeAddress(target);
    if (!t) throw new StoreError('invalid', `invalid alias target ${show(target)}`);
    return this.tx(() => {
      const d = this.get<DomainRow>('SELECT * FROM domains WHERE name = ?', a.domain);
      if (!d) throw new StoreError('not-found', `unknown domain ${a.domain}`);
      if (this.get('SELECT 1 AS x FROM aliases WHERE alias = ? AND target = ?', a.alias, t.address)) {
        throw new StoreError('exists', `alias ${a.alias} -> ${t.address} already exists`);
      }
      return toAlias(this.get<AliasRow>(
        'INSERT INTO aliases (alias, target, domain_id, created_at) VALUES (?, ?, ?, ?) RETURNING *',
        a.alias, t.address, d.id, Date.now(),
      )!);
    });
  }

  async getAliasTargets(alias: string): Promise<string[]> {
    this.checkOpen();
    const a = normalizeAlias(alias);
    if (!a) return [];
    return this.all<{ target: string }>('SELECT target FROM aliases WHERE alias = ? ORDER BY id', a.alias).map((r) => r.target);
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    this.checkOpen();
    if (domain === undefined) return this.all<AliasRow>('SELECT * FROM aliases ORDER BY alias, target').map(toAlias);
    const n = normalizeDomain(domain);
    if (!n) return [];
    return this.all<AliasRow>(
      'SELECT a.* FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? ORDER BY a.alias, a.target', n,
    ).map(toAlias);
  }

  async removeAlias(alias: string, target?: string): Promise<void> {
    const a = normalizeAlias(alias);
    if (!a) throw new StoreError('not-found', `unknown alias ${show(alias)}`);
    let t: string | undefined;
    if (target !== undefined) {
      const n = normalizeAddress(target);
      if (!n) throw new StoreError('not-found', `unknown alias ${a.alias} -> ${show(target)}`);
      t = n.address;
    }
    this.tx(() => {
      const r = t === undefined
        ? this.run('DELETE FROM aliases WHERE alias = ?', a.alias)
        : this.run('DELETE FROM aliases WHERE alias = ? AND target = ?', a.alias, t);
      if (r.changes === 0) throw new StoreError('not-found', t === undefined ? `unknown alias ${a.alias}` : `unknown alias ${a.alias} -> ${t}`);
    });
  }

  // ---------------------------------------------------------------- mailboxes

  private nextUidValidity(): number {
    const now = Math.floor(Date.now() / 1000);
    const last = this.get<{ value: number }>("SELECT value FROM counters WHERE name = 'uidvalidity'")?.value ?? 0;
    let v = Math.max(now, last + 1);
    if (v > 0xffffffff) v = 1; // year 2106
    this.run("INSERT INTO counters (name, value) VALUES ('uidvalidity', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", v);
    return v;
  }

  private insertMailbox(accountId: number, name: string, specialUse: SpecialUse | null, subscribed: boolean, now: number): MailboxRow {
    const r = this.get<MailboxRow>(
      `INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity)
       VALUES (?, ?, ?, ?, ?) RETURNING *`,
      accountId, name, specialUse, subscribed ? 1 : 0, this.nextUidValidity(),
    )!;
    this.change(accountId, r.id, 'mailbox-create', null, null, name, now);
    return r;
  }

  private mailboxByName(accountId: number, name: string): MailboxRow | undefined {
    return this.get<MailboxRow>('SELECT * FROM mailboxes WHERE account_id = ? AND name = ?', accountId, name);
  }

  private mailboxById(id: number): MailboxRow {
    const r = this.get<MailboxRow>('SELECT * FROM mailboxes WHERE id = ?', id);
    if (!r) throw new StoreError('nonexistent-mailbox', 'no such mailbox');
    return r;
  }

  /** Creates the missing superiors of `name` (not subscribed, no special use). */
  private ensureParents(accountId: number, name: string, now: number): void {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!this.mailboxByName(accountId, p)) this.insertMailbox(accountId, p, null, false, now);
    }
  }

  async listMailboxes(accountId: number): Promise<Mailbox[]> {
    this.checkOpen();
    return this.all<MailboxRow>(
      "SELECT * FROM mailboxes WHERE account_id = ? ORDER BY name <> 'INBOX', name", accountId,
    ).map(toMailbox);
  }

  async getMailbox(accountId: number, name: string): Promise<Mailbox | null> {
    this.checkOpen();
    let n: string;
    try {
      n = normalizeMailboxName(name);
    } catch {
      return null;
    }
    const r = this.mailboxByName(accountId, n);
    return r ? toMailbox(r) : null;
  }

  async getMailboxById(id: number): Promise<Mailbox | null> {
    this.checkOpen();
    const r = this.get<MailboxRow>('SELECT * FROM mailboxes WHERE id = ?', id);
    return r ? toMailbox(r) : null;
  }

  /** `opts.subscribed` (optional addition to the interface) defaults to false: IMAP CREATE
   * does not subscribe. */
  async createMailbox(accountId: number, name: string, opts?: { specialUse?: SpecialUse; subscribed?: boolean }): Promise<Mailbox> {
    const n = normalizeMailboxName(name, true);
    const su = normalizeSpecialUse(opts?.specialUse);
    const row = this.tx(() => {
      if (!this.get('SELECT 1 AS x FROM accounts WHERE id = ?', accountId)) throw new StoreError('not-found', 'unknown account');
      if (this.mailboxByName(accountId, n)) throw new StoreError('exists', `mailbox ${show(n)} already exists`);
      const now = Date.now();
      this.ensureParents(accountId, n, now);
      return this.insertMailbox(accountId, n, su, opts?.subscribed ?? false, now);
    });
    this.committed();
    return toMailbox(row);
  }

  async renameMailbox(accountId: number, from: string, to: string): Promise<void> {
    const f = normalizeMailboxName(from);
    const t = normalizeMailboxName(to, true);
    const released: string[] = [];
    this.tx(() => {
      const src = this.mailboxByName(accountId, f);
      if (!src) throw new StoreError('nonexistent-mailbox', `mailbox ${show(f)} does not exist`);
      if (t === f || this.mailboxByName(accountId, t)) throw new StoreError('exists', `mailbox ${show(t)} already exists`);
      const now = Date.now();
      if (f === 'INBOX') {
        // RFC 3501 §6.3.5: messages move to a new mailbox, INBOX stays (empty); children of
        // INBOX are not renamed.
        this.ensureParents(accountId, t, now);
        const dst = this.insertMailbox(accountId, t, null, src.subscribed !== 0, now);
        const uids = this.all<{ uid: number }>('SELECT uid FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', src.id).map((r) => r.uid);
        if (uids.length) this.copyTx(src.id, uids, dst.id, true, now, released);
        return;
      }
      if (t.startsWith(f + '/')) throw new StoreError('invalid', `cannot move mailbox ${show(f)} into itself`);
      const prefix = f + '/';
      const children = this.all<MailboxRow>(
        'SELECT * FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? ORDER BY name', accountId, prefix.length, prefix,
      );
      for (const c of children) {
        const nn = t + c.name.slice(f.length);
        if (this.mailboxByName(accountId, nn)) throw new StoreError('exists', `mailbox ${show(nn)} already exists`);
      }
      this.ensureParents(accountId, t, now);
      for (const mb of [src, ...children]) {
        const nn = t + mb.name.slice(f.length);
        this.run('UPDATE mailboxes SET name = ? WHERE id = ?', nn, mb.id);
        this.change(accountId, mb.id, 'mailbox-rename', null, null, nn, now);
      }
    });
    this.removeUnreferencedBlobs(released);
    this.committed();
  }

  async deleteMailbox(accountId: number, name: string): Promise<void> {
    const n = normalizeMailboxName(name);
    if (n === 'INBOX') throw new StoreError('invalid', 'INBOX cannot be deleted');
    const released: string[] = [];
    this.tx(() => {
      const mb = this.mailboxByName(accountId, n);
      if (!mb) throw new StoreError('nonexistent-mailbox', `mailbox ${show(n)} does not exist`);
      const prefix = n + '/';
      if (this.get('SELECT 1 AS x FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? LIMIT 1', accountId, prefix.length, prefix)) {
        throw new StoreError('in-use', `mailbox ${show(n)} has child mailboxes; delete them first`);
      }
      this.dropMailbox(mb, Date.now(), released);
    });
    this.removeUnreferencedBlobs(released);
    this.committed();
  }

  /** Deletes a mailbox and its messages inside the current transaction. */
  private dropMailbox(mb: MailboxRow, now: number, released: string[]): void {
    const rows = this.all<{ email_id: number; size: number }>('SELECT email_id, size FROM mailbox_messages WHERE mailbox_id = ?', mb.id);
    let bytes = 0;
    for (const r of rows) bytes += r.size;
    this.run('DELETE FROM mailbox_messages WHERE mailbox_id = ?', mb.id);
    for (const r of rows) this.releaseEmail(r.email_id, released);
    this.run('DELETE FROM expunged WHERE mailbox_id = ?', mb.id);
    this.run('DELETE FROM mailboxes WHERE id = ?', mb.id);
    if (rows.length) {
      this.run('UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?', bytes, rows.length, mb.account_id);
    }
    this.change(mb.account_id, mb.id, 'mailbox-delete', null, null, mb.name, now);
  }

  async setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void> {
    const n = normalizeMailboxName(name);
    this.tx(() => {
      const mb = this.mailboxByName(accountId, n);
      if (!mb) throw new StoreError('nonexistent-mailbox', `mailbox ${show(n)} does not exist`);
      if ((mb.subscribed !== 0) === subscribed) return;
      this.run('UPDATE mailboxes SET subscribed = ? WHERE id = ?', subscribed ? 1 : 0, mb.id);
      this.change(accountId, mb.id, 'mailbox-subscribe', null, null, mb.name, Date.now());
    });
    this.committed();
  }

  // ---------------------------------------------------------------- messages: insert

  /** Keywords keep the first spelling seen in the account. Inside a write transaction. */
  private resolveKeywords(accountId: number, flags: string[]): string[] {
    let out: string[] | null = null;
    for (let i = 0; i < flags.length; i++) {
      const f = flags[i]!;
      if (f.startsWith('\\')) continue;
      const lname = f.toLowerCase();
      const key = `${accountId}:${lname}`;
      let name = this.kwCache.get(key);
      if (name === undefined) {
        const r = this.get<{ name: string }>('SELECT name FROM keywords WHERE account_id = ? AND lname = ?', accountId, lname);
        if (r) {
          name = r.name;
          this.kwCache.set(key, name);
        } else {
          this.run('INSERT INTO keywords (account_id, lname, name) VALUES (?, ?, ?)', accountId, lname, f);
          name = f;
        }
      }
      if (name !== f) (out ??= flags.slice())[i] = name;
    }
    return out ?? flags;
  }

  private findThread(accountId: number, p: ParsedMessage, refs: string[], now: number): number | null {
    const candidates = refs.slice();
    if (p.messageId) candidates.push(p.messageId);
    for (const id of candidates) {
      const r = this.get<{ thread_id: number }>('SELECT thread_id FROM thread_refs WHERE account_id = ? AND message_id = ?', accountId, id);
      if (r) return r.thread_id;
    }
    if (p.baseSubject) {
      const r = this.get<{ t: number }>(
        `SELECT coalesce(thread_id, id) AS t FROM emails
         WHERE account_id = ? AND root_subject = ? AND received_at >= ? ORDER BY received_at DESC LIMIT 1`,
        accountId, p.baseSubject, now - THREAD_SUBJECT_WINDOW,
      );
      if (r) return r.t;
    }
    return null;
  }

  /** Inserts one message (blob already durable). Quota must have been checked. */
  private insertMessage(accountId: number, mailboxId: number, msg: NewMessage, blobId: string, flags: string[], now: number): { uid: number; modseq: number } {
    const raw = msg.raw;
    const size = raw.length;
    const blob = this.get<{ refs: number }>(
      'INSERT INTO blobs (id, size, refs) VALUES (?, ?, 1) ON CONFLICT(id) DO UPDATE SET refs = refs + 1 RETURNING refs',
      blobId, size,
    )!;
    if (blob.refs === 1) this.blobs.ensureSync(blobId, raw);

    const p = msg.parsed;
    const inReplyTo = cleanMessageIds(p.inReplyTo);
    const references = cleanMessageIds(p.references);
    // Most specific first: In-Reply-To, then References from the newest.
    const refs = Array.from(new Set([...inReplyTo, ...references.slice().reverse()])).slice(0, MAX_REFS);
    const messageId = p.messageId && p.messageId.length <= 998 ? p.messageId : null;
    const thread = this.findThread(accountId, p, refs, now);
    const isRoot = inReplyTo.length === 0 && references.length === 0;
    const date = p.date instanceof Date && Number.isFinite(p.date.getTime()) ? p.date.getTime() : null;
    const e = this.get<{ id: number }>(
      `INSERT INTO emails (account_id, blob_id, size, thread_id, refs, message_id, root_subject, subject,
         from_display, date, has_attachments, parsed, received_at)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      accountId, blobId, size, thread, messageId, isRoot && p.baseSubject ? p.baseSubject : null,
      p.subject ?? '', fromDisplay(p), date, p.hasAttachments ? 1 : 0,
      JSON.stringify({ t: p.tree, e: p.envelope }), now,
    )!;
    const threadId = thread ?? e.id;
    this.run('INSERT INTO email_header_text (rowid, text) VALUES (?, ?)', e.id, p.headerText ?? '');
    this.run('INSERT INTO email_body_text (rowid, text) VALUES (?, ?)', e.id, p.text ?? '');
    if (messageId) this.run('INSERT OR IGNORE INTO thread_refs (account_id, message_id, thread_id) VALUES (?, ?, ?)', accountId, messageId, threadId);
    for (const r of refs) this.run('INSERT OR IGNORE INTO thread_refs (account_id, message_id, thread_id) VALUES (?, ?, ?)', accountId, r, threadId);

    const seen = flags.includes('\\Seen');
    const mb = this.get<{ uid: number; modseq: number }>(
      `UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1, messages = messages + 1,
         unseen = unseen + ?, size = size + ? WHERE id = ? RETURNING uid_next - 1 AS uid, highest_modseq AS modseq`,
      seen ? 0 : 1, size, mailboxId,
    )!;
    this.run(
      `INSERT INTO mailbox_messages (mailbox_id, uid, email_id, modseq, flags, internal_date, size, thread_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      mailboxId, mb.uid, e.id, mb.modseq, encodeFlags(flags), validDate(msg.internalDate, now), size, threadId,
    );
    this.run('UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + 1 WHERE id = ?', size, accountId);
    this.change(accountId, mailboxId, 'append', mb.uid, mb.modseq, null, now);
    return mb;
  }

  async deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
    this.checkOpen();
    if (items.length === 0) return [];
    return this.track(this.deliverInner(items));
  }

  private async deliverInner(items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
    const flags = items.map((it) => sortFlags(normalizeFlags(it.flags, true)));
    const known = (id: string) => this.get('SELECT 1 AS x FROM blobs WHERE id = ?', id) !== undefined;
    const puts = await Promise.all(items.map((it) => this.blobs.put(it.raw, known)));
    this.checkOpen();
    const now = Date.now();
    let outcomes: DeliveryOutcome[];
    try {
      outcomes = this.tx(() => items.map((it, i): DeliveryOutcome => {
        const key = String(it.deliveryKey);
        if (this.get('SELECT 1 AS x FROM deliveries WHERE key = ?', key)) return { status: 'duplicate' };
        const acct = this.get<AccountRow>(
          'SELECT id, quota_bytes, quota_messages, used_bytes, used_messages FROM accounts WHERE id = ?', it.accountId,
        );
        if (!acct) return { status: 'no-account' };
        let mb: { id: number } | undefined;
        if (it.specialUse) {
          mb = this.get<{ id: number }>('SELECT id FROM mailboxes WHERE account_id = ? AND special_use = ? ORDER BY id LIMIT 1', acct.id, it.specialUse);
        }
        mb ??= this.get<{ id: number }>("SELECT id FROM mailboxes WHERE account_id = ? AND name = 'INBOX'", acct.id);
        if (!mb) return { status: 'no-account' };
        if (overQuota(acct, it.raw.length, 1)) return { status: 'overquota' };
        const fl = this.resolveKeywords(acct.id, flags[i]!);
        const r = this.insertMessage(acct.id, mb.id, it, puts[i]!.id, fl, now);
        this.run('INSERT INTO deliveries (key, at) VALUES (?, ?)', key, now);
        return { status: 'delivered', mailboxId: mb.id, uid: r.uid };
      }));
    } catch (err) {
      this.removeUnreferencedBlobs(puts.filter((p) => p.created).map((p) => p.id));
      throw err;
    }
    const unused = new Set<string>();
    const used = new Set<string>();
    outcomes.forEach((o, i) => (o.status === 'delivered' ? used : unused).add(puts[i]!.id));
    for (const id of used) unused.delete(id);
    if (unused.size) this.removeUnreferencedBlobs(unused);
    if (now - this.lastDeliveryPrune > 3_600_000) {
      this.lastDeliveryPrune = now;
      try { this.pruneOld(now); } catch (e) { this.opts.onError(e); }
    }
    this.committed();
    return outcomes;
  }

  async append(mailboxId: number, message: NewMessage): Promise<{ uid: number; uidValidity: number }> {
    this.checkOpen();
    this.mailboxById(mailboxId);
    const flags = sortFlags(normalizeFlags(message.flags));
    return this.track((async () => {
      const put = await this.blobs.put(message.raw, (id) => this.get('SELECT 1 AS x FROM blobs WHERE id = ?', id) !== undefined);
      this.checkOpen();
      let res: { uid: number; uidValidity: number };
      try {
        res = this.tx(() => {
          const mb = this.mailboxById(mailboxId);
          const acct = this.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', mb.account_id)!;
          if (overQuota(acct, message.raw.length, 1)) throw new StoreError('overquota', 'mailbox quota exceeded');
          const fl = this.resolveKeywords(acct.id, flags);
          const r = this.insertMessage(acct.id, mb.id, message, put.id, fl, Date.now());
          return { uid: r.uid, uidValidity: mb.uid_validity };
        });
      } catch (err) {
        this.removeUnreferencedBlobs([put.id]);
        throw err;
      }
      this.committed();
      return res;
    })());
  }

  // ---------------------------------------------------------------- messages: read

  async listMessages(mailboxId: number, opts?: { changedSince?: number }): Promise<MessageIndexEntry[]> {
    this.checkOpen();
    this.mailboxById(mailboxId);
    const rows = opts?.changedSince !== undefined
      ? this.all<IndexRow>(
        `SELECT uid, modseq, flags, internal_date, size, email_id, thread_id FROM mailbox_messages
         WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`, mailboxId, opts.changedSince)
      : this.all<IndexRow>(
        `SELECT uid, modseq, flags, internal_date, size, email_id, thread_id FROM mailbox_messages
         WHERE mailbox_id = ? ORDER BY uid`, mailboxId);
    return rows.map(toIndexEntry);
  }

  async getMessages(mailboxId: number, uids: number[]): Promise<MessageRecord[]> {
    this.checkOpen();
    this.mailboxById(mailboxId);
    const out: MessageRecord[] = [];
    for (const uid of uniqueSorted(uids)) {
      const r = this.get<RecordRow>(
        `SELECT mm.uid, mm.modseq, mm.flags, mm.internal_date, mm.size, mm.email_id, mm.thread_id,
           e.blob_id, e.parsed, e.subject, e.from_display, e.date, e.message_id, e.has_attachments
         FROM mailbox_messages mm JOIN emails e ON e.id = mm.email_id
         WHERE mm.mailbox_id = ? AND mm.uid = ?`, mailboxId, uid);
      if (!r) continue;
      const parsed = JSON.parse(r.parsed) as { t: MessageRecord['tree']; e: MessageRecord['envelope'] };
      out.push({
        ...toIndexEntry(r), mailboxId, blobId: r.blob_id, tree: parsed.t, envelope: parsed.e,
        subject: r.subject, from: r.from_display, date: r.date === null ? null : new Date(r.date),
        messageId: r.message_id, hasAttachments: r.has_attachments !== 0,
      });
    }
    return out;
  }

  async readBlob(blobId: string): Promise<Buffer> {
    this.checkOpen();
    if (!isBlobId(blobId)) throw new StoreError('not-found', 'no such blob');
    try {
      return await this.blobs.read(blobId);
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new StoreError('not-found', `blob ${blobId} not found`);
      throw err;
    }
  }

  /** Bytes [start, end) — end exclusive, clamped to the blob size. */
  async readBlobRange(blobId: string, start: number, end: number): Promise<Buffer> {
    this.checkOpen();
    if (!isBlobId(blobId)) throw new StoreError('not-found', 'no such blob');
    try {
      return await this.blobs.readRange(blobId, start, end);
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new StoreError('not-found', `blob ${blobId} not found`);
      throw err;
    }
  }

  // ---------------------------------------------------------------- messages: update

  async setFlags(mailboxId: number, uids: number[], op: FlagOperation, flags: string[], unchangedSince?: number): Promise<FlagUpdateResult> {
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw new StoreError('invalid', `invalid flag operation ${show(op)}`);
    const norm = normalizeFlags(flags);
    const list = uniqueSorted(uids);
    const res = this.tx((): FlagUpdateResult => {
      const mb = this.mailboxById(mailboxId);
      const fl = this.resolveKeywords(mb.account_id, norm);
      const updated: FlagUpdateResult['updated'] = [];
      const modified: number[] = [];
      let modseq = 0;
      let unseenDelta = 0;
      const now = Date.now();
      for (const uid of list) {
        const row = this.get<{ flags: string; modseq: number }>('SELECT flags, modseq FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', mailboxId, uid);
        if (!row) continue;
        if (unchangedSince !== undefined && row.modseq > unchangedSince) {
          modified.push(uid);
          continue;
        }
        const old = decodeFlags(row.flags);
        const next = applyFlagOp(old, op, fl);
        const enc = encodeFlags(next);
        if (enc === row.flags) continue;
        if (modseq === 0) {
          modseq = this.get<{ m: number }>('UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq AS m', mailboxId)!.m;
        }
        this.run('UPDATE mailbox_messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?', enc, modseq, mailboxId, uid);
        const wasSeen = old.includes('\\Seen');
        const isSeen = next.includes('\\Seen');
        if (wasSeen !== isSeen) unseenDelta += isSeen ? -1 : 1;
        this.change(mb.account_id, mailboxId, 'flags', uid, modseq, null, now);
        updated.push({ uid, modseq, flags: next });
      }
      if (unseenDelta !== 0) this.run('UPDATE mailboxes SET unseen = unseen + ? WHERE id = ?', unseenDelta, mailboxId);
      return { updated, modified };
    });
    if (res.updated.length) this.committed();
    return res;
  }

  /** Drops one mailbox_messages reference of an email (row already deleted); frees the email
   * and its blob when it was the last. */
  private deleteText(emailId: number): void {
    this.run('DELETE FROM email_header_text WHERE rowid = ?', emailId);
    this.run('DELETE FROM email_body_text WHERE rowid = ?', emailId);
  }

  private releaseEmail(emailId: number, released: string[]): void {
    const e = this.get<{ refs: number; blob_id: string }>('UPDATE emails SET refs = refs - 1 WHERE id = ? RETURNING refs, blob_id', emailId);
    if (!e) return;
    if (e.refs <= 0) {
      this.deleteText(emailId);
      this.run('DELETE FROM emails WHERE id = ?', emailId);
    }
    const b = this.get<{ refs: number }>('UPDATE blobs SET refs = refs - 1 WHERE id = ? RETURNING refs', e.blob_id);
    if (b && b.refs <= 0) {
      this.run('DELETE FROM blobs WHERE id = ?', e.blob_id);
      released.push(e.blob_id);
    }
  }

  /** Removes messages from a mailbox with tombstones, one new modseq. Inside a transaction.
   * With `keepContent` (MOVE) the email/blob references and quota usage are carried over. */
  private removeMessages(mb: MailboxRow, rows: { uid: number; email_id: number; size: number; flags: string }[], keepContent: boolean, now: number, released: string[]): void {
    if (rows.length === 0) return;
    const modseq = this.get<{ m: number }>('UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq AS m', mb.id)!.m;
    let bytes = 0;
    let unseen = 0;
    for (const r of rows) {
      this.run('DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', mb.id, r.uid);
      this.run('INSERT OR REPLACE INTO expunged (mailbox_id, modseq, uid) VALUES (?, ?, ?)', mb.id, modseq, r.uid);
      if (!keepContent) this.releaseEmail(r.email_id, released);
      this.change(mb.account_id, mb.id, 'expunge', r.uid, modseq, null, now);
      bytes += r.size;
      if (!decodeFlags(r.flags).includes('\\Seen')) unseen++;
    }
    this.run('UPDATE mailboxes SET messages = messages - ?, unseen = unseen - ?, size = size - ? WHERE id = ?', rows.length, unseen, bytes, mb.id);
    if (!keepContent) {
      this.run('UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?', bytes, rows.length, mb.account_id);
    }
  }

  async expunge(mailboxId: number, uids?: number[]): Promise<number[]> {
    const list = uids === undefined ? undefined : uniqueSorted(uids);
    const released: string[] = [];
    const out = this.tx(() => {
      const mb = this.mailboxById(mailboxId);
      type Row = { uid: number; email_id: number; size: number; flags: string };
      let rows: Row[];
      if (list === undefined) {
        rows = this.all<Row>('SELECT uid, email_id, size, flags FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', mailboxId)
          .filter((r) => decodeFlags(r.flags).includes('\\Deleted'));
      } else {
        rows = [];
        for (const uid of list) {
          const r = this.get<Row>('SELECT uid, email_id, size, flags FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', mailboxId, uid);
          if (r) rows.push(r);
        }
      }
      this.removeMessages(mb, rows, false, Date.now(), released);
      return rows.map((r) => r.uid);
    });
    this.removeUnreferencedBlobs(released);
    if (out.length) this.committed();
    return out;
  }

  async expungedSince(mailboxId: number, sinceModseq: number): Promise<number[]> {
    this.checkOpen();
    this.mailboxById(mailboxId);
    return this.all<{ uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid', mailboxId, sinceModseq)
      .map((r) => r.uid);
  }

  /** COPY/MOVE inside a transaction. */
  private copyTx(fromId: number, uids: number[], toId: number, move: boolean, now: number, released: string[]): CopyResult {
    const src = this.mailboxById(fromId);
    const dst = this.mailboxById(toId);
    if (src.account_id !== dst.account_id) throw new StoreError('invalid', 'cannot copy messages between accounts');
    type Row = IndexRow & { uid: number };
    const rows: Row[] = [];
    for (const uid of uniqueSorted(uids)) {
      const r = this.get<Row>(
        'SELECT uid, modseq, flags, internal_date, size, email_id, thread_id FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', fromId, uid,
      );
      if (r) rows.push(r);
    }
    if (rows.length === 0) return { uidValidity: dst.uid_validity, pairs: [] };
    let bytes = 0;
    let unseen = 0;
    for (const r of rows) {
      bytes += r.size;
      if (!decodeFlags(r.flags).includes('\\Seen')) unseen++;
    }
    if (!move) {
      const acct = this.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', dst.account_id)!;
      if (overQuota(acct, bytes, rows.length)) throw new StoreError('overquota', 'mailbox quota exceeded');
    }
    const d = this.get<{ next: number; modseq: number }>(
      `UPDATE mailboxes SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1, messages = messages + ?,
         unseen = unseen + ?, size = size + ? WHERE id = ? RETURNING uid_next AS next, highest_modseq AS modseq`,
      rows.length, rows.length, unseen, bytes, toId,
    )!;
    let uid = d.next - rows.length;
    const pairs: [number, number][] = [];
    for (const r of rows) {
      this.run(
        `INSERT INTO mailbox_messages (mailbox_id, uid, email_id, modseq, flags, internal_date, size, thread_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        toId, uid, r.email_id, d.modseq, r.flags, r.internal_date, r.size, r.thread_id,
      );
      if (!move) {
        const e = this.get<{ blob_id: string }>('UPDATE emails SET refs = refs + 1 WHERE id = ? RETURNING blob_id', r.email_id)!;
        this.run('UPDATE blobs SET refs = refs + 1 WHERE id = ?', e.blob_id);
      }
      this.change(dst.account_id, toId, 'append', uid, d.modseq, null, now);
      pairs.push([r.uid, uid]);
      uid++;
    }
    if (move) {
      // Re-read the source (its counters changed when copying into itself).
      this.removeMessages(this.mailboxById(fromId), rows, true, now, released);
    } else {
      this.run('UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?', bytes, rows.length, dst.account_id);
    }
    return { uidValidity: dst.uid_validity, pairs };
  }

  async copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    const r = this.tx(() => this.copyTx(fromMailboxId, uids, toMailboxId, false, Date.now(), []));
    if (r.pairs.length) this.committed();
    return r;
  }

  async moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    const released: string[] = [];
    const r = this.tx(() => this.copyTx(fromMailboxId, uids, toMailboxId, true, Date.now(), released));
    this.removeUnreferencedBlobs(released);
    if (r.pairs.length) this.committed();
    return r;
  }

  async searchText(mailboxId: number, query: string, where: 'text' | 'body' | 'header' = 'text'): Promise<number[]> {
    this.checkOpen();
    this.mailboxById(mailboxId);
    const tokens = ftsTokens(query);
    if (tokens === null) {
      return this.all<{ uid: number }>('SELECT uid FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', mailboxId).map((r) => r.uid);
    }
    // Every word must occur (as a word prefix) in the chosen part; for 'text', in either part.
    const tables = where === 'header' ? ['email_header_text'] : where === 'body' ? ['email_body_text'] : ['email_header_text', 'email_body_text'];
    const perWord = `mm.email_id IN (${tables.map((t) => `SELECT rowid FROM ${t} WHERE ${t} MATCH ?`).join(' UNION ')})`;
    const params: (string | number)[] = [mailboxId];
    for (const tok of tokens) for (let i = 0; i < tables.length; i++) params.push(tok);
    try {
      return this.all<{ uid: number }>(
        `SELECT mm.uid FROM mailbox_messages mm WHERE mm.mailbox_id = ? AND ${tokens.map(() => perWord).join(' AND ')} ORDER BY mm.uid`,
        ...params,
      ).map((r) => r.uid);
    } catch (err) {
      // Should not happen (every word is quoted), but a search must never take a session down.
      if (err instanceof Database.SqliteError && /fts5|syntax/i.test(err.message)) return [];
      throw err;
    }
  }

  async getQuotaUsage(accountId: number): Promise<QuotaUsage> {
    this.checkOpen();
    const a = this.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', accountId);
    if (!a) throw new StoreError('not-found', 'unknown account');
    return { usedBytes: a.used_bytes, usedMessages: a.used_messages, quotaBytes: a.quota_bytes, quotaMessages: a.quota_messages };
  }

  // ---------------------------------------------------------------- change feed

  async changesSince(accountId: number | null, afterId: number, limit = 1000): Promise<Change[]> {
    this.checkOpen();
    const lim = Math.max(1, Math.min(Math.floor(limit) || 1000, 100_000));
    const rows = accountId === null
      ? this.all<ChangeRow>('SELECT * FROM changes WHERE id > ? ORDER BY id LIMIT ?', afterId, lim)
      : this.all<ChangeRow>('SELECT * FROM changes WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?', accountId, afterId, lim);
    return rows.map(toChange);
  }

  private lastChangeIdSync(): number {
    const seq = this.get<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")?.seq ?? 0;
    const max = this.get<{ m: number | null }>('SELECT max(id) AS m FROM changes')!.m ?? 0;
    return Math.max(seq, max);
  }

  async lastChangeId(): Promise<number> {
    this.checkOpen();
    return this.lastChangeIdSync();
  }

  watch(accountId: number | null, listener: ChangeListener): () => void {
    this.checkOpen();
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
    if (!this.closed) this.poll();
  }

  private startTimer(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.poll(), this.opts.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopTimer(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private poll(): void {
    if (this.closed || this.watchers.size === 0) return;
    if (this.polling) {
      this.repoll = true; // a listener mutated the store: deliver after the current batch
      return;
    }
    this.polling = true;
    try {
      do {
        this.repoll = false;
        const max = this.get<{ m: number | null }>('SELECT max(id) AS m FROM changes')!.m ?? 0;
        while (max > this.feedCursor && this.watchers.size > 0) {
          const rows = this.all<ChangeRow>('SELECT * FROM changes WHERE id > ? ORDER BY id LIMIT 1000', this.feedCursor);
          if (rows.length === 0) break;
          this.feedCursor = rows[rows.length - 1]!.id;
          this.dispatch(rows.map(toChange));
        }
      } while (this.repoll && !this.closed);
    } catch (err) {
      if (!this.closed) this.opts.onError(err);
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
        this.opts.onError(err);
      }
    }
  }
}
