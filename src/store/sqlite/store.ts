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
//
// This class is a facade: the work is done by the modules next to it, each a set of functions
// taking the shared StoreDb context (db.ts): directory.ts (settings, domains, aliases),
// accounts.ts, mailboxes.ts, messages-insert.ts, messages-read.ts, messages-update.ts, the
// change feed (change-feed.ts), spam.ts and dkim.ts (DKIM signing keys).
import type Database from 'better-sqlite3';
import type { BlobStore } from '../blobs.js';
import type {
  Account,
  Alias,
  Change,
  ChangeListener,
  CopyResult,
  DeliveryItem,
  DeliveryOutcome,
  Domain,
  FlagOperation,
  FlagUpdateResult,
  Mailbox,
  FlagColumns,
  ListMessagesOptions,
  MessageIndexEntry,
  MessageRecord,
  NewMessage,
  QuotaUsage,
  SpecialUse,
  Store,
  MessageOrigin,
  QuarantineEntry,
  ReputationKind,
  ReputationOverride,
  OverrideAction,
  SpamReport,
  SpamVerdict,
  TrainItem,
  TokenCounts,
  TokenSnapshot,
  DkimKey,
  NewDkimKey,
  SendingCounts,
  SendingEventKind,
  SendingState,
  SendingStats,
  SentMessage,
} from '../types.js';
import * as accounts from './accounts.js';
import { openDatabase, StoreDb, type SqliteStoreOptions } from './db.js';
import * as directory from './directory.js';
import * as mailboxes from './mailboxes.js';
import * as insert from './messages-insert.js';
import * as read from './messages-read.js';
import * as update from './messages-update.js';
import * as spam from './spam.js';
import * as dkim from './dkim.js';
import * as sending from './sending.js';
import { GroupCommit } from '../../fs/group-commit.js';
import { parseEmailId } from './rows.js';

export type { SqliteStoreOptions } from './db.js';
export { emailIdString, threadIdString } from './rows.js';

/** Tokens dropped per transaction by expireTokens (a few milliseconds of work each). */
const EXPIRY_BATCH = 5000;

export class SqliteStore implements Store {
  readonly dataDir: string;
  readonly blobs: BlobStore;
  private readonly db: Database.Database;
  private readonly ctx: StoreDb;
  private sweeping: Promise<number> | null = null;

  private constructor(db: Database.Database, opts: SqliteStoreOptions) {
    this.db = db;
    this.dataDir = opts.dataDir;
    this.ctx = new StoreDb(db, opts);
    this.blobs = this.ctx.blobs;
  }

  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const db = await openDatabase(opts);
    const store = new SqliteStore(db, opts);
    const ctx = store.ctx;
    ctx.pruneOld(Date.now());
    if (ctx.opts.sweepAtOpen) {
      store.sweeping = store.sweepOrphanBlobs().catch((e) => {
        if (!ctx.closed) ctx.opts.onError(e);
        return 0;
      });
    }
    return store;
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.closed) return;
    this.ledger.flush();
    ctx.feed.close();
    await Promise.allSettled(Array.from(ctx.pending));
    ctx.closed = true;
    if (this.sweeping) await this.sweeping;
    this.db.close();
  }

  /** Removes blob files not referenced by any row and older than orphanBlobAgeMs (files
   * written by a transaction that then failed or crashed), and stale temp files. */
  sweepOrphanBlobs(minAgeMs = this.ctx.opts.orphanBlobAgeMs): Promise<number> {
    return this.ctx.sweepOrphanBlobs(minAgeMs);
  }

  // ---------------------------------------------------------------- settings, domains, aliases

  getSetting(key: string): Promise<string | null> { return directory.getSetting(this.ctx, key); }
  setSetting(key: string, value: string): Promise<void> { return directory.setSetting(this.ctx, key, value); }

  addDomain(name: string): Promise<Domain> { return directory.addDomain(this.ctx, name); }
  getDomain(name: string): Promise<Domain | null> { return directory.getDomain(this.ctx, name); }
  listDomains(): Promise<Domain[]> { return directory.listDomains(this.ctx); }
  removeDomain(name: string): Promise<void> { return directory.removeDomain(this.ctx, name); }

  addAlias(alias: string, target: string): Promise<Alias> { return directory.addAlias(this.ctx, alias, target); }
  getAliasTargets(alias: string): Promise<string[]> { return directory.getAliasTargets(this.ctx, alias); }
  listAliases(domain?: string): Promise<Alias[]> { return directory.listAliases(this.ctx, domain); }
  removeAlias(alias: string, target?: string): Promise<void> { return directory.removeAlias(this.ctx, alias, target); }

  // ---------------------------------------------------------------- accounts

  addAccount(input: { address: string; passwordHash: string; quotaBytes?: number; quotaMessages?: number }): Promise<Account> {
    return accounts.addAccount(this.ctx, input);
  }
  getAccount(address: string): Promise<Account | null> { return accounts.getAccount(this.ctx, address); }
  getAccountById(id: number): Promise<Account | null> { return accounts.getAccountById(this.ctx, id); }
  listAccounts(domain?: string): Promise<Account[]> { return accounts.listAccounts(this.ctx, domain); }
  setPasswordHash(address: string, passwordHash: string): Promise<void> {
    return accounts.setPasswordHash(this.ctx, address, passwordHash);
  }
  setQuota(address: string, quota: { bytes?: number; messages?: number }): Promise<Account> {
    return accounts.setQuota(this.ctx, address, quota);
  }
  removeAccount(address: string): Promise<void> { return accounts.removeAccount(this.ctx, address); }
  getQuotaUsage(accountId: number): Promise<QuotaUsage> { return accounts.getQuotaUsage(this.ctx, accountId); }

  // ---------------------------------------------------------------- mailboxes

  listMailboxes(accountId: number): Promise<Mailbox[]> { return mailboxes.listMailboxes(this.ctx, accountId); }
  getMailbox(accountId: number, name: string): Promise<Mailbox | null> { return mailboxes.getMailbox(this.ctx, accountId, name); }
  getMailboxById(id: number): Promise<Mailbox | null> { return mailboxes.getMailboxById(this.ctx, id); }
  /** `opts.subscribed` (optional addition to the interface) defaults to false: IMAP CREATE
   * does not subscribe. */
  createMailbox(accountId: number, name: string, opts?: { specialUse?: SpecialUse; subscribed?: boolean }): Promise<Mailbox> {
    return mailboxes.createMailbox(this.ctx, accountId, name, opts);
  }
  renameMailbox(accountId: number, from: string, to: string): Promise<void> {
    return mailboxes.renameMailbox(this.ctx, accountId, from, to);
  }
  deleteMailbox(accountId: number, name: string): Promise<void> { return mailboxes.deleteMailbox(this.ctx, accountId, name); }
  listSubscriptions(accountId: number): Promise<string[]> {
    return mailboxes.listSubscriptions(this.ctx, accountId);
  }
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void> {
    return mailboxes.setSubscribed(this.ctx, accountId, name, subscribed);
  }

  // ---------------------------------------------------------------- messages: insert

  deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]> { return insert.deliver(this.ctx, items); }
  appendMany(mailboxId: number, messages: NewMessage[]): Promise<{ uids: number[]; uidValidity: number }> {
    return insert.appendMany(this.ctx, mailboxId, messages);
  }
  append(mailboxId: number, message: NewMessage): Promise<{ uid: number; uidValidity: number }> {
    return insert.append(this.ctx, mailboxId, message);
  }

  // ---------------------------------------------------------------- messages: read

  listMessages(mailboxId: number, opts?: ListMessagesOptions): Promise<MessageIndexEntry[]> {
    return read.listMessages(this.ctx, mailboxId, opts);
  }
  listFlags(mailboxId: number, opts?: ListMessagesOptions): Promise<FlagColumns> {
    return read.listFlags(this.ctx, mailboxId, opts);
  }
  firstUnseenUid(mailboxId: number): Promise<number | null> {
    return read.firstUnseenUid(this.ctx, mailboxId);
  }
  listUids(mailboxId: number): Promise<Uint32Array> {
    return read.listUids(this.ctx, mailboxId);
  }
  getMessages(mailboxId: number, uids: number[]): Promise<MessageRecord[]> { return read.getMessages(this.ctx, mailboxId, uids); }
  readBlob(blobId: string): Promise<Buffer> { return read.readBlob(this.ctx, blobId); }
  /** Bytes [start, end) — end exclusive, clamped to the blob size. */
  readBlobRange(blobId: string, start: number, end: number): Promise<Buffer> {
    return read.readBlobRange(this.ctx, blobId, start, end);
  }
  expungedSince(mailboxId: number, sinceModseq: number): Promise<number[]> {
    return read.expungedSince(this.ctx, mailboxId, sinceModseq);
  }
  searchText(mailboxId: number, query: string, where?: 'text' | 'body' | 'header'): Promise<number[]> {
    return read.searchText(this.ctx, mailboxId, query, where);
  }

  // ---------------------------------------------------------------- messages: update

  setFlags(mailboxId: number, uids: number[], op: FlagOperation, flags: string[], unchangedSince?: number): Promise<FlagUpdateResult> {
    return update.setFlags(this.ctx, mailboxId, uids, op, flags, unchangedSince);
  }
  expunge(mailboxId: number, uids?: number[]): Promise<number[]> { return update.expunge(this.ctx, mailboxId, uids); }
  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return update.copyMessages(this.ctx, fromMailboxId, uids, toMailboxId);
  }
  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return update.moveMessages(this.ctx, fromMailboxId, uids, toMailboxId);
  }

  // ---------------------------------------------------------------- change feed

  changesSince(accountId: number | null, afterId: number, limit?: number): Promise<Change[]> {
    return this.ctx.feed.changesSince(accountId, afterId, limit);
  }
  lastChangeId(): Promise<number> { return this.ctx.feed.lastChangeId(); }
  watch(accountId: number | null, listener: ChangeListener): () => void { return this.ctx.feed.watch(accountId, listener); }
  /** Polls the change feed now (e.g. after another process signalled a change). */
  poke(): void { this.ctx.feed.poke(); }

  // ---------------------------------------------------------------- spam filter

  private async sync<T>(fn: () => T): Promise<T> {
    this.ctx.checkOpen();
    return fn();
  }
  getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>> { return this.sync(() => spam.getTokens(this.ctx, scope, tokens)); }
  getTotals(scope: number): Promise<TokenCounts> { return this.sync(() => spam.getTotals(this.ctx, scope)); }
  addTokens(scope: number, tokens: string[], verdict: SpamVerdict, delta: 1 | -1, prior = 0, at = new Date()): Promise<void> {
    return this.sync(() => spam.addTokens(this.ctx, scope, tokens, verdict, delta, at, prior));
  }
  markTrained(scope: number, key: string, verdict: SpamVerdict | null): Promise<SpamVerdict | null> {
    return this.sync(() => spam.markTrained(this.ctx, scope, key, verdict));
  }
  trainMessages(scope: number, items: readonly TrainItem[], at = new Date(), stepModel = true): Promise<number> {
    return this.sync(() => spam.trainMessages(this.ctx, scope, items, at, stepModel));
  }
  setGlobalModel(model: (token: string) => [number, number] | undefined, bias: number, steps: { ham: number; spam: number }): Promise<number> {
    return this.sync(() => spam.setGlobalModel(this.ctx, model, bias, steps));
  }
  tokenVersion(scope: number): Promise<number> { return this.sync(() => spam.tokenVersion(this.ctx, scope)); }
  tokenSnapshot(scope: number, max: number, each: (token: string, ham: number, spam: number, w: number) => void): Promise<TokenSnapshot | null> {
    return this.sync(() => spam.tokenSnapshot(this.ctx, scope, max, each));
  }
  tokenScopesToCheck(): Promise<number[]> { return this.sync(() => spam.tokenScopesToCheck(this.ctx)); }
  async expireTokens(scope: number, max: number, target: number, signal?: AbortSignal): Promise<{ tokens: number; removed: number }> {
    const version = await this.sync(() => spam.tokenVersion(this.ctx, scope));
    // Between steps: let other work run, and stop when asked to.
    const pause = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    };
    let removed = 0;
    let tokens = 0;
    try {
      // Counted a day at a time: one count of millions of tokens would hold up everything else
      // the process does.
      const ages: { day: number; tokens: number }[] = [];
      for (let day = -1; ;) {
        await pause();
        const next = await this.sync(() => spam.nextTokenDay(this.ctx, scope, day));
        if (next === null) break;
        day = next;
        ages.push({ day, tokens: await this.sync(() => spam.tokensOfDay(this.ctx, scope, day)) });
      }
      tokens = ages.reduce((n, a) => n + a.tokens, 0);
      let excess = tokens > max ? tokens - Math.min(target, max) : 0;
      // Oldest day first; a day that goes whole in one pass, the day where the excess ends in
      // passes over ever more common tokens (seen in at most 1, 2, 4... messages; within a pass
      // in token order), so the rarest go first.
      for (const { day, tokens: ofDay } of ages) {
        if (excess <= 0) break;
        for (let maxCount = ofDay <= excess ? Number.MAX_SAFE_INTEGER : 1; excess > 0; maxCount *= 2) {
          let after: string | null = '';
          while (after !== null && excess > 0) {
            await pause();
            const r = await this.sync(() => spam.dropTokensOfDay(this.ctx, scope, day, maxCount, after!, Math.min(EXPIRY_BATCH, excess)));
            removed += r.removed;
            excess -= r.removed;
            after = r.next;
          }
          if (maxCount >= Number.MAX_SAFE_INTEGER / 2) break;
        }
      }
    } catch (e) {
      // Stopped or failed midway: what was dropped is gone, so copies in memory must reload.
      if (removed > 0 && !this.ctx.closed) await this.sync(() => spam.bumpTokenVersion(this.ctx, scope));
      throw e;
    }
    await this.sync(() => spam.markTokensChecked(this.ctx, scope, version, removed > 0));
    return { tokens: tokens - removed, removed };
  }
  getEmailOrigin(accountId: number, emailId: string): Promise<MessageOrigin | null> {
    const id = parseEmailId(emailId);
    return this.sync(() => (id === null ? null : spam.getEmailOrigin(this.ctx, accountId, id)));
  }
  putSpamReport(report: SpamReport): Promise<SpamVerdict | null> { return this.sync(() => spam.putSpamReport(this.ctx, report)); }
  listSpamReports(filter: { ip?: string; domain?: string; since?: Date; limit?: number }): Promise<SpamReport[]> {
    return this.sync(() => spam.listSpamReports(this.ctx, filter));
  }
  setSenderVerdict(accountId: number, address: string, verdict: SpamVerdict, at: Date): Promise<void> {
    return this.sync(() => spam.setSenderVerdict(this.ctx, accountId, address, verdict, at));
  }
  senderVerdict(accountId: number, address: string): Promise<SpamVerdict | null> { return this.sync(() => spam.senderVerdict(this.ctx, accountId, address)); }
  purgeSpamReports(before: Date): Promise<number> { return this.sync(() => spam.purgeSpamReports(this.ctx, before)); }
  setReputationOverride(kind: ReputationKind, value: string, action: OverrideAction | null, reason = ''): Promise<void> {
    return this.sync(() => spam.setReputationOverride(this.ctx, kind, value, action, reason));
  }
  listReputationOverrides(): Promise<ReputationOverride[]> { return this.sync(() => spam.listReputationOverrides(this.ctx)); }
  quarantine(entry: Omit<QuarantineEntry, 'id' | 'size'>, raw: Buffer): Promise<number> { return this.sync(() => spam.quarantine(this.ctx, entry, raw)); }
  listQuarantine(opts: { accountId?: number } = {}): Promise<QuarantineEntry[]> { return this.sync(() => spam.listQuarantine(this.ctx, opts)); }
  getQuarantined(id: number): Promise<{ entry: QuarantineEntry; raw: Buffer } | null> { return this.sync(() => spam.getQuarantined(this.ctx, id)); }
  removeQuarantined(ids: number[]): Promise<number> { return this.sync(() => spam.removeQuarantined(this.ctx, ids)); }
  purgeQuarantine(now: Date): Promise<number> { return this.sync(() => spam.purgeQuarantine(this.ctx, now)); }

  // ---------------------------------------------------------------- sending limits

  // One record per submitted message: those arriving together share a commit (see GroupCommit).
  private readonly ledger = new GroupCommit((fn) => this.ctx.tx(fn));
  recordSentMessage(accountId: number, m: SentMessage): Promise<void> {
    this.ctx.checkOpen();
    return this.ledger.add(() => sending.recordSentMessage(this.ctx, accountId, m));
  }
  recordSendingEvent(accountId: number, kind: SendingEventKind, at: Date, detail: { rcpt?: string; messageId?: string }): Promise<void> {
    this.ctx.checkOpen();
    return this.ledger.add(() => sending.recordSendingEvent(this.ctx, accountId, kind, at, detail));
  }
  sentToSince(accountId: number, rcpt: string, since: Date): Promise<boolean> { return this.sync(() => sending.sentToSince(this.ctx, accountId, rcpt, since)); }
  hasWrittenTo(accountId: number, address: string): Promise<boolean> { return this.sync(() => sending.hasWrittenTo(this.ctx, accountId, address)); }
  sendingCounts(accountId: number, now: Date): Promise<SendingCounts> { return this.sync(() => sending.sendingCounts(this.ctx, accountId, now)); }
  sendingStats(accountId: number, now: Date, windowSeconds: number): Promise<SendingStats> {
    return this.sync(() => sending.sendingStats(this.ctx, accountId, now, windowSeconds));
  }
  findSentMessage(messageId: string): Promise<{ accountId: number; at: Date } | null> { return this.sync(() => sending.findSentMessage(this.ctx, messageId)); }
  getSendingState(accountId: number): Promise<SendingState> { return this.sync(() => sending.getSendingState(this.ctx, accountId)); }
  setSendingState(accountId: number, st: SendingState): Promise<void> { return this.sync(() => sending.setSendingState(this.ctx, accountId, st)); }
  pruneSending(before: Date): Promise<number> { return this.sync(() => sending.pruneSending(this.ctx, before)); }
  listSendingIdentities(accountId: number): Promise<string[]> { return this.sync(() => sending.listSendingIdentities(this.ctx, accountId)); }
  setSendingIdentity(accountId: number, address: string, on: boolean): Promise<void> {
    return this.sync(() => sending.setSendingIdentity(this.ctx, accountId, address, on));
  }

  // ---------------------------------------------------------------- DKIM keys

  addDkimKeys(domain: string, keys: NewDkimKey[], opts?: { retireActive?: boolean; ifNoneActive?: boolean }): Promise<DkimKey[]> {
    return this.sync(() => dkim.addDkimKeys(this.ctx, domain, keys, opts));
  }
  listDkimKeys(domain?: string): Promise<DkimKey[]> { return this.sync(() => dkim.listDkimKeys(this.ctx, domain)); }
  retireDkimKey(domain: string, selector: string): Promise<void> { return this.sync(() => dkim.retireDkimKey(this.ctx, domain, selector)); }
}
