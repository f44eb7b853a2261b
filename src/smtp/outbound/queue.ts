// The durable outbound queue: node-local (like Postfix's queue, it does not go through the
// mailbox Store), shared by the server's sender and `fjord queue` in other processes.
//
// Layout: <data>/queue/outbound.db (SQLite, WAL, synchronous=FULL: every commit is fsynced
// before it returns) holds the envelope and per-recipient state; bodies are files in
// <data>/queue/outbound/ (see queue-files.ts). Why not bodies in SQLite too: a body is written
// once and read once or twice, up to 50 MB; as a blob it would go through the WAL and again
// through every checkpoint, and large blobs would bloat the database file for good. A file
// costs one write, one fsync and a directory fsync shared with concurrent enqueues.
//
// Order of durability: enqueue() fsyncs the body file and its directory, then commits the rows;
// it resolves only after that commit. A recipient's 2xx is committed (synchronously, fsynced)
// by applyResults() as soon as the remote's reply is in, before the sender does anything else,
// so a recipient that got a 250 is never sent to again, even after SIGKILL.
//
// Full disk: enqueue() refuses with OutboundQueueError 'no-space' and removes its partial body.
// Recording what happened to mail already accepted must not fail the same way (a lost 250 means
// a duplicate later), so the queue keeps a reserve file (queue/outbound.reserve, 2 MiB): when a
// state change hits SQLITE_FULL the reserve is given up and the change retried. enqueue() never
// uses the reserve; it is made again once there is room.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { migrateQueue } from './queue-schema.js';
import { BodyFiles } from './queue-files.js';
import { checkEnvelope } from './envelope.js';
import { GroupCommit } from '../../fs/group-commit.js';
import { OutboundQueueError, type Notify, type OutboundEnvelope, type QueuedMessage, type QueuedRecipient, type RecipientState } from './types.js';

export type { OutboundEnvelope, QueuedMessage, QueuedRecipient, RecipientState } from './types.js';

/** A due recipient, as the sender picks it up. */
export interface DueRecipient {
  messageId: string;
  index: number;
  address: string;
  domain: string;
  attempts: number;
}

/** The outcome of one attempt for one recipient, as the sender records it. */
export interface RecipientUpdate {
  index: number;
  /** 'pending': deferred until nextAttemptAt. */
  state: 'delivered' | 'failed' | 'pending';
  attempts: number;
  attemptAt: number;
  nextAttemptAt?: number;
  reply: string;
  remoteMta: string | null;
  status: string | null;
  /** A DSN is owed for this recipient (decided by the sender from NOTIFY and the sender address). */
  dsnDue: boolean;
}

export interface StsPolicyRow {
  domain: string;
  policyId: string;
  mode: 'enforce' | 'testing' | 'none';
  mx: string[];
  maxAge: number;
  fetchedAt: number;
  expiresAt: number;
}

interface MessageRow {
  id: string;
  mail_from: string;
  account_id: number | null;
  ret: 'FULL' | 'HDRS' | null;
  envid: string | null;
  size: number;
  eight_bit: number;
  created_at: number;
  delay_warned: number;
}

interface RecipientRow {
  message_id: string;
  idx: number;
  address: string;
  domain: string;
  notify: string | null;
  orcpt: string | null;
  state: RecipientState;
  attempts: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  last_reply: string | null;
  remote_mta: string | null;
  status: string | null;
  dsn_due: number;
}

let idCounter = 0;
/** Sortable by creation time, unique across processes; [0-9A-Z] only (used as a file name). */
export function newQueueId(): string {
  idCounter = (idCounter + 1) % 1296;
  return Date.now().toString(36).toUpperCase().padStart(9, '0') + idCounter.toString(36).toUpperCase().padStart(2, '0') + randomBytes(4).toString('hex').toUpperCase();
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const RESERVE_BYTES = 2 * 1024 * 1024;

function toQueueError(e: unknown): OutboundQueueError {
  if (e instanceof OutboundQueueError) return e;
  const code = (e as { code?: string }).code ?? '';
  if (NO_SPACE.has(code)) return new OutboundQueueError('no-space', `outbound queue: disk full (${code}), message not queued`);
  return new OutboundQueueError('io', `outbound queue: ${(e as Error).message ?? String(e)}`);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function isEightBit(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) if (body[i] > 0x7f) return true;
  return false;
}

export class OutboundQueue {
  private readonly files: BodyFiles;
  private closed = false;
  private readonly q: ReturnType<OutboundQueue['prepare']>;
  private readonly reserveFile: string;
  /** Enqueues arriving together share one commit (one fsync, which blocks the event loop);
   * so do delivery results of different destinations. Separate groups: enqueues never use the
   * disk-full reserve, results may. */
  private readonly enqueues: GroupCommit;
  private readonly results: GroupCommit;

  private constructor(
    private readonly db: Database.Database,
    readonly dir: string,
  ) {
    this.files = new BodyFiles(path.join(dir, 'outbound'));
    this.q = this.prepare();
    this.reserveFile = path.join(dir, 'outbound.reserve');
    this.keepReserve();
    this.enqueues = new GroupCommit((fn) => this.db.transaction(fn)());
    this.results = new GroupCommit((fn) => this.change(() => this.db.transaction(fn)()));
  }

  /** Makes the reserve file if it is missing and there is room (best effort). */
  keepReserve(): void {
    try {
      if (fs.statSync(this.reserveFile).size >= RESERVE_BYTES) return;
    } catch {
      /* missing */
    }
    const tmp = `${this.reserveFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, Buffer.alloc(RESERVE_BYTES));
      fs.renameSync(tmp, this.reserveFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Runs a state change; on SQLITE_FULL gives up the reserve and tries once more. */
  private change<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_FULL') throw e;
      try {
        fs.unlinkSync(this.reserveFile);
      } catch {
        throw e; // no reserve left
      }
      return fn();
    }
  }

  /** Opens (creating if needed) <dataDir>/queue/outbound.db and the body folder. */
  static open(dataDir: string): OutboundQueue {
    const dir = path.join(dataDir, 'queue');
    if (fs.mkdirSync(path.join(dir, 'outbound'), { recursive: true, mode: 0o700 }) !== undefined) {
      // new folders are durable only once their parents are synced (first start)
      for (const d of [dir, dataDir]) fsyncDir(d);
    }
    const db = new Database(path.join(dir, 'outbound.db'));
    try {
      db.pragma('busy_timeout = 10000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrateQueue(db);
      return new OutboundQueue(db, dir);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insertMessage: db.prepare('INSERT INTO messages (id, mail_from, account_id, ret, envid, size, eight_bit, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      insertRcpt: db.prepare("INSERT INTO recipients (message_id, idx, address, domain, notify, orcpt, state, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)"),
      message: db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE id = ?'),
      messages: db.prepare<[], MessageRow>('SELECT * FROM messages ORDER BY created_at, id'),
      rcpts: db.prepare<[string], RecipientRow>('SELECT * FROM recipients WHERE message_id = ? ORDER BY idx'),
      allRcpts: db.prepare<[], RecipientRow>('SELECT * FROM recipients ORDER BY message_id, idx'),
      exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM messages WHERE id = ?'),
      retryAll: db.prepare("UPDATE recipients SET next_attempt_at = ? WHERE state = 'pending'"),
      retryOne: db.prepare("UPDATE recipients SET next_attempt_at = ? WHERE state = 'pending' AND message_id = ?"),
      hold: db.prepare("UPDATE recipients SET state = 'held' WHERE state = 'pending' AND message_id = ?"),
      release: db.prepare("UPDATE recipients SET state = 'pending', next_attempt_at = ? WHERE state = 'held' AND message_id = ?"),
      deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
      due: db.prepare<[number, number], { message_id: string; idx: number; address: string; domain: string; attempts: number }>(
        "SELECT message_id, idx, address, domain, attempts FROM recipients WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, message_id, idx LIMIT ?",
      ),
      setFinal: db.prepare(
        "UPDATE recipients SET state = ?, attempts = ?, last_attempt_at = ?, last_reply = ?, remote_mta = ?, status = ?, dsn_due = ? WHERE message_id = ? AND idx = ? AND state IN ('pending', 'held')",
      ),
      // an admin's hold made during the attempt stays in force
      setDeferred: db.prepare(
        "UPDATE recipients SET state = CASE state WHEN 'held' THEN 'held' ELSE 'pending' END, attempts = ?, next_attempt_at = ?, last_attempt_at = ?, last_reply = ?, remote_mta = ?, status = ? WHERE message_id = ? AND idx = ? AND state IN ('pending', 'held')",
      ),
      dsnDue: db.prepare<[], { message_id: string }>('SELECT DISTINCT message_id FROM recipients WHERE dsn_due = 1'),
      clearDsn: db.prepare('UPDATE recipients SET dsn_due = 0 WHERE message_id = ? AND idx = ?'),
      delayCandidates: db.prepare<[number], { id: string }>(
        "SELECT id FROM messages m WHERE delay_warned = 0 AND created_at <= ? AND EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state IN ('pending', 'held') AND r.attempts > 0)",
      ),
      delayWarned: db.prepare('UPDATE messages SET delay_warned = 1 WHERE id = ?'),
      openWork: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM recipients WHERE message_id = ? AND (state IN ('pending', 'held') OR dsn_due = 1)"),
      complete: db.prepare<[], { id: string }>(
        "SELECT id FROM messages m WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND (r.state IN ('pending', 'held') OR r.dsn_due = 1))",
      ),
      stsGet: db.prepare<[string], { domain: string; policy_id: string; mode: StsPolicyRow['mode']; mx: string; max_age: number; fetched_at: number; expires_at: number }>(
        'SELECT * FROM sts_policies WHERE domain = ?',
      ),
      insertLocalCopy: db.prepare('INSERT OR IGNORE INTO local_copies (spool_id, created_at) VALUES (?, ?)'),
      hasLocalCopy: db.prepare<[string], { x: number }>('SELECT 1 AS x FROM local_copies WHERE spool_id = ?'),
      deleteLocalCopy: db.prepare('DELETE FROM local_copies WHERE spool_id = ?'),
      localCopies: db.prepare<[], { spool_id: string }>('SELECT spool_id FROM local_copies'),
      stsPut: db.prepare('INSERT OR REPLACE INTO sts_policies (domain, policy_id, mode, mx, max_age, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    };
  }

  private live(): void {
    if (this.closed) throw new OutboundQueueError('io', 'outbound queue is closed');
  }

  /** Queues a message. Resolves with its queue id once the body and every row are on disk
   * (fsynced); rejects with OutboundQueueError ('invalid', 'no-space', 'io') leaving nothing behind. */
  async enqueue(env: OutboundEnvelope, body: Buffer): Promise<string> {
    this.live();
    const rcpts = checkEnvelope(env);
    const id = newQueueId();
    try {
      await this.files.write(id, body);
    } catch (e) {
      throw toQueueError(e);
    }
    try {
      this.live();
      const now = Date.now();
      await this.enqueues.add(() => {
        this.q.insertMessage.run(id, env.mailFrom, env.accountId, env.ret ?? null, env.envid ?? null, body.length, isEightBit(body) ? 1 : 0, now);
        rcpts.forEach((r, i) => this.q.insertRcpt.run(id, i, r.address, r.domain, r.notify ? r.notify.join(',') : null, r.orcpt, now));
        if (env.localCopy !== undefined) this.q.insertLocalCopy.run(env.localCopy, now);
      });
    } catch (e) {
      this.files.remove(id);
      throw toQueueError(e);
    }
    return id;
  }

  private toMessage(m: MessageRow, rows: RecipientRow[]): QueuedMessage {
    return {
      id: m.id,
      mailFrom: m.mail_from,
      accountId: m.account_id,
      ret: m.ret,
      envid: m.envid,
      size: m.size,
      eightBit: m.eight_bit === 1,
      createdAt: new Date(m.created_at),
      delayWarned: m.delay_warned === 1,
      recipients: rows.map(
        (r): QueuedRecipient => ({
          index: r.idx,
          address: r.address,
          domain: r.domain,
          notify: r.notify ? (r.notify.split(',') as Notify[]) : null,
          orcpt: r.orcpt,
          state: r.state,
          attempts: r.attempts,
          nextAttemptAt: r.state === 'pending' ? new Date(r.next_attempt_at) : null,
          lastAttemptAt: r.last_attempt_at === null ? null : new Date(r.last_attempt_at),
          lastReply: r.last_reply,
          remoteMta: r.remote_mta,
          status: r.status,
          dsnDue: r.dsn_due === 1,
        }),
      ),
    };
  }

  /** Every queued message with its recipients, oldest first. */
  list(): QueuedMessage[] {
    this.live();
    return this.db.transaction(() => {
      const byMessage = new Map<string, RecipientRow[]>();
      for (const r of this.q.allRcpts.all()) {
        let l = byMessage.get(r.message_id);
        if (!l) byMessage.set(r.message_id, (l = []));
        l.push(r);
      }
      return this.q.messages.all().map((m) => this.toMessage(m, byMessage.get(m.id) ?? []));
    })();
  }

  /** One message, or null when it is not (or no longer) queued. */
  show(id: string): QueuedMessage | null {
    this.live();
    return this.db.transaction(() => {
      const m = this.q.message.get(id);
      return m ? this.toMessage(m, this.q.rcpts.all(id)) : null;
    })();
  }

  /** The message as queued (bytes exactly as enqueued). */
  readBody(id: string): Promise<Buffer> {
    return this.files.read(id);
  }

  /** A stream of the body (for sending without holding it in memory); rejects if it is gone. */
  openBody(id: string): Promise<Readable> {
    return this.files.open(id);
  }

  /** Makes pending recipients (of one message, or all) due now. Returns how many. */
  retry(id?: string): number {
    this.live();
    return this.change(() => (id === undefined ? this.q.retryAll.run(Date.now()) : this.q.retryOne.run(Date.now(), id)).changes);
  }

  /** Parks a message's pending recipients (no attempts until released). Returns how many. */
  hold(id: string): number {
    this.live();
    return this.change(() => this.q.hold.run(id).changes);
  }

  /** Makes held recipients pending again, due now. Returns how many. */
  release(id: string): number {
    this.live();
    return this.change(() => this.q.release.run(Date.now(), id).changes);
  }

  /** Whether the remote half of the submission whose local copy this is was queued. */
  hasLocalCopy(spoolId: string): boolean {
    this.live();
    return this.q.hasLocalCopy.get(spoolId) !== undefined;
  }

  /** The local copy was delivered: its mark is no longer needed (shares a commit with delivery
   * results; a mark that outlives a crash is pruned at the next start). */
  forgetLocalCopy(spoolId: string): Promise<void> {
    this.live();
    return this.results.add(() => { this.q.deleteLocalCopy.run(spoolId); });
  }

  /** Drops the marks of local copies the spool no longer holds; returns how many. */
  pruneLocalCopies(inSpool: (spoolId: string) => boolean): number {
    this.live();
    const gone = this.q.localCopies.all().map((r) => r.spool_id).filter((id) => !inSpool(id));
    if (gone.length > 0) this.change(() => this.db.transaction(() => { for (const id of gone) this.q.deleteLocalCopy.run(id); })());
    return gone.length;
  }

  /** Removes a message without any notification. False when it was not queued. */
  delete(id: string): boolean {
    this.live();
    const removed = this.change(() => this.q.deleteMessage.run(id).changes > 0);
    if (removed) this.files.remove(id);
    return removed;
  }

  close(): void {
    if (this.closed) return;
    this.enqueues.flush();
    this.results.flush();
    this.closed = true;
    this.db.close();
  }

  // ---- used by the sender --------------------------------------------------------------

  /** Pending recipients whose next attempt is due, most overdue first. */
  due(now: number, limit: number): DueRecipient[] {
    this.live();
    return this.q.due.all(now, limit).map((r) => ({ messageId: r.message_id, index: r.idx, address: r.address, domain: r.domain, attempts: r.attempts }));
  }

  /** Records attempt outcomes; resolves once committed (fsynced, shared with other results
   * arriving at the same time). Never touches a recipient already
   * delivered or failed (nor one deleted meanwhile by `fjord queue delete`). */
  async applyResults(messageId: string, updates: RecipientUpdate[]): Promise<void> {
    this.live();
    let done = false;
    await this.results.add(() => {
      for (const u of updates) {
        if (u.state === 'pending') {
          this.q.setDeferred.run(u.attempts, u.nextAttemptAt ?? u.attemptAt, u.attemptAt, u.reply, u.remoteMta, u.status, messageId, u.index);
        } else {
          this.q.setFinal.run(u.state, u.attempts, u.attemptAt, u.reply, u.remoteMta, u.status, u.dsnDue ? 1 : 0, messageId, u.index);
        }
      }
      // Done with the message (the usual case: its last recipient delivered)? Removed in the same
      // commit, saving one more fsync per message.
      done = this.q.openWork.get(messageId)!.n === 0 && this.q.deleteMessage.run(messageId).changes > 0;
    });
    if (done) this.files.remove(messageId);
  }

  /** Messages with recipients owed a DSN. */
  dsnDue(): string[] {
    this.live();
    return this.q.dsnDue.all().map((r) => r.message_id);
  }

  clearDsnDue(messageId: string, indexes: number[]): void {
    this.live();
    const tx = this.db.transaction(() => {
      for (const i of indexes) this.q.clearDsn.run(messageId, i);
    });
    this.change(() => tx());
  }

  /** Messages queued before `createdBefore` that have deferred recipients and no delay warning yet. */
  delayCandidates(createdBefore: number): string[] {
    this.live();
    return this.q.delayCandidates.all(createdBefore).map((r) => r.id);
  }

  markDelayWarned(id: string): void {
    this.live();
    this.change(() => this.q.delayWarned.run(id));
  }

  /** Removes a message once nothing is left to do for it (every recipient delivered or failed,
   * no DSN owed). Returns whether it was removed. */
  removeIfComplete(id: string): boolean {
    this.live();
    const tx = this.db.transaction(() => (this.q.openWork.get(id)!.n === 0 ? this.q.deleteMessage.run(id).changes > 0 : false));
    const removed = this.change(() => tx.immediate());
    if (removed) this.files.remove(id);
    return removed;
  }

  /** Messages with nothing left to do (e.g. after a crash between the last result and removal). */
  completeMessages(): string[] {
    this.live();
    return this.q.complete.all().map((r) => r.id);
  }

  /** Removes body files without a row that are older than minAgeMs (orphans of a crash during enqueue). */
  sweepOrphans(minAgeMs = 3600_000): number {
    this.live();
    return this.files.sweepOrphans((id) => this.q.exists.get(id) !== undefined, minAgeMs);
  }

  stsPolicy(domain: string): StsPolicyRow | null {
    this.live();
    const r = this.q.stsGet.get(domain);
    if (!r) return null;
    return { domain: r.domain, policyId: r.policy_id, mode: r.mode, mx: JSON.parse(r.mx) as string[], maxAge: r.max_age, fetchedAt: r.fetched_at, expiresAt: r.expires_at };
  }

  putStsPolicy(p: StsPolicyRow): void {
    this.live();
    this.q.stsPut.run(p.domain, p.policyId, p.mode, JSON.stringify(p.mx), p.maxAge, p.fetchedAt, p.expiresAt); // a cache: not worth the reserve
  }
}
