// Mailboxes of the SQLite store: creation (with missing parents), listing, rename, delete,
// subscription.
import { StoreError, type Mailbox, type SpecialUse } from '../types.js';
import type { StoreDb } from './db.js';
import { copyTx, releaseEmail } from './messages-update.js';
import { normalizeMailboxName, normalizeSpecialUse, show } from './normalize.js';
import { mailboxByName, toMailbox, type MailboxRow } from './rows.js';

function nextUidValidity(ctx: StoreDb): number {
  const now = Math.floor(Date.now() / 1000);
  const last = ctx.get<{ value: number }>("SELECT value FROM counters WHERE name = 'uidvalidity'")?.value ?? 0;
  let v = Math.max(now, last + 1);
  if (v > 0xffffffff) v = 1; // year 2106
  ctx.run("INSERT INTO counters (name, value) VALUES ('uidvalidity', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", v);
  return v;
}

export function insertMailbox(ctx: StoreDb, accountId: number, name: string, specialUse: SpecialUse | null, subscribed: boolean, now: number): MailboxRow {
  const r = ctx.get<MailboxRow>(
    `INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity)
     VALUES (?, ?, ?, ?, ?) RETURNING *`,
    accountId, name, specialUse, subscribed ? 1 : 0, nextUidValidity(ctx),
  )!;
  ctx.change(accountId, r.id, 'mailbox-create', null, null, name, now);
  return adoptSubscription(ctx, r);
}

/** A mailbox appearing under a name that was subscribed while it did not exist takes over
 * that subscription. */
function adoptSubscription(ctx: StoreDb, mb: MailboxRow): MailboxRow {
  if (ctx.run('DELETE FROM subscriptions WHERE account_id = ? AND name = ?', mb.account_id, mb.name).changes === 0) return mb;
  ctx.run('UPDATE mailboxes SET subscribed = 1 WHERE id = ?', mb.id);
  return { ...mb, subscribed: 1 };
}


/** Creates the missing superiors of `name` (not subscribed, no special use). */
function ensureParents(ctx: StoreDb, accountId: number, name: string, now: number): void {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    if (!mailboxByName(ctx, accountId, p)) insertMailbox(ctx, accountId, p, null, false, now);
  }
}

export async function listMailboxes(ctx: StoreDb, accountId: number): Promise<Mailbox[]> {
  ctx.checkOpen();
  return ctx.all<MailboxRow>(
    "SELECT * FROM mailboxes WHERE account_id = ? ORDER BY name <> 'INBOX', name", accountId,
  ).map(toMailbox);
}

export async function getMailbox(ctx: StoreDb, accountId: number, name: string): Promise<Mailbox | null> {
  ctx.checkOpen();
  let n: string;
  try {
    n = normalizeMailboxName(name);
  } catch {
    return null;
  }
  const r = mailboxByName(ctx, accountId, n);
  return r ? toMailbox(r) : null;
}

export async function getMailboxById(ctx: StoreDb, id: number): Promise<Mailbox | null> {
  ctx.checkOpen();
  const r = ctx.get<MailboxRow>('SELECT * FROM mailboxes WHERE id = ?', id);
  return r ? toMailbox(r) : null;
}

/** `opts.subscribed` (optional addition to the interface) defaults to false: IMAP CREATE
 * does not subscribe. */
export async function createMailbox(ctx: StoreDb, accountId: number, name: string, opts?: { specialUse?: SpecialUse; subscribed?: boolean }): Promise<Mailbox> {
  const n = normalizeMailboxName(name, true);
  const su = normalizeSpecialUse(opts?.specialUse);
  const row = ctx.tx(() => {
    if (!ctx.get('SELECT 1 AS x FROM accounts WHERE id = ?', accountId)) throw new StoreError('not-found', 'unknown account');
    if (mailboxByName(ctx, accountId, n)) throw new StoreError('exists', `mailbox ${show(n)} already exists`);
    const now = Date.now();
    ensureParents(ctx, accountId, n, now);
    return insertMailbox(ctx, accountId, n, su, opts?.subscribed ?? false, now);
  });
  ctx.committed();
  return toMailbox(row);
}

export async function renameMailbox(ctx: StoreDb, accountId: number, from: string, to: string): Promise<void> {
  const f = normalizeMailboxName(from);
  const t = normalizeMailboxName(to, true);
  const released: string[] = [];
  ctx.tx(() => {
    const src = mailboxByName(ctx, accountId, f);
    if (!src) throw new StoreError('nonexistent-mailbox', `mailbox ${show(f)} does not exist`);
    if (t === f || mailboxByName(ctx, accountId, t)) throw new StoreError('exists', `mailbox ${show(t)} already exists`);
    const now = Date.now();
    if (f === 'INBOX') {
      // RFC 3501 §6.3.5: messages move to a new mailbox, INBOX stays (empty); children of
      // INBOX are not renamed.
      ensureParents(ctx, accountId, t, now);
      const dst = insertMailbox(ctx, accountId, t, null, src.subscribed !== 0, now);
      const uids = ctx.all<{ uid: number }>('SELECT uid FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', src.id).map((r) => r.uid);
      if (uids.length) copyTx(ctx, src.id, uids, dst.id, true, now, released);
      return;
    }
    if (t.startsWith(f + '/')) throw new StoreError('invalid', `cannot move mailbox ${show(f)} into itself`);
    const prefix = f + '/';
    const children = ctx.all<MailboxRow>(
      'SELECT * FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? ORDER BY name', accountId, prefix.length, prefix,
    );
    for (const c of children) {
      const nn = t + c.name.slice(f.length);
      if (mailboxByName(ctx, accountId, nn)) throw new StoreError('exists', `mailbox ${show(nn)} already exists`);
    }
    ensureParents(ctx, accountId, t, now);
    for (const mb of [src, ...children]) {
      const nn = t + mb.name.slice(f.length);
      ctx.run('UPDATE mailboxes SET name = ? WHERE id = ?', nn, mb.id);
      adoptSubscription(ctx, { ...mb, name: nn });
      ctx.change(accountId, mb.id, 'mailbox-rename', null, null, nn, now);
    }
  });
  ctx.removeUnreferencedBlobs(released);
  ctx.committed();
}

export async function deleteMailbox(ctx: StoreDb, accountId: number, name: string): Promise<void> {
  const n = normalizeMailboxName(name);
  if (n === 'INBOX') throw new StoreError('invalid', 'INBOX cannot be deleted');
  const released: string[] = [];
  ctx.tx(() => {
    const mb = mailboxByName(ctx, accountId, n);
    if (!mb) throw new StoreError('nonexistent-mailbox', `mailbox ${show(n)} does not exist`);
    const prefix = n + '/';
    if (ctx.get('SELECT 1 AS x FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? LIMIT 1', accountId, prefix.length, prefix)) {
      throw new StoreError('in-use', `mailbox ${show(n)} has child mailboxes; delete them first`);
    }
    dropMailbox(ctx, mb, Date.now(), released);
    // The subscription outlives the mailbox.
    if (mb.subscribed) ctx.run('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)', accountId, mb.name);
  });
  ctx.removeUnreferencedBlobs(released);
  ctx.committed();
}

/** Deletes a mailbox and its messages inside the current transaction. */
export function dropMailbox(ctx: StoreDb, mb: MailboxRow, now: number, released: string[]): void {
  const rows = ctx.all<{ email_id: number; size: number }>('SELECT email_id, size FROM mailbox_messages WHERE mailbox_id = ?', mb.id);
  let bytes = 0;
  for (const r of rows) bytes += r.size;
  ctx.run('DELETE FROM mailbox_messages WHERE mailbox_id = ?', mb.id);
  for (const r of rows) releaseEmail(ctx, r.email_id, released);
  ctx.run('DELETE FROM expunged WHERE mailbox_id = ?', mb.id);
  ctx.run('DELETE FROM mailboxes WHERE id = ?', mb.id);
  if (rows.length) {
    ctx.run('UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?', bytes, rows.length, mb.account_id);
  }
  ctx.change(mb.account_id, mb.id, 'mailbox-delete', null, null, mb.name, now);
}

/** Every subscribed name of the account, existing mailbox or not, sorted. */
export async function listSubscriptions(ctx: StoreDb, accountId: number): Promise<string[]> {
  ctx.checkOpen();
  return ctx.all<{ name: string }>(
    `SELECT name FROM mailboxes WHERE account_id = ? AND subscribed = 1
     UNION SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name`, accountId, accountId,
  ).map((r) => r.name);
}

export async function setSubscribed(ctx: StoreDb, accountId: number, name: string, subscribed: boolean): Promise<void> {
  const n = normalizeMailboxName(name);
  ctx.tx(() => {
    const mb = mailboxByName(ctx, accountId, n);
    if (!mb) {
      const r = subscribed
        ? ctx.run('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)', accountId, n)
        : ctx.run('DELETE FROM subscriptions WHERE account_id = ? AND name = ?', accountId, n);
      if (r.changes > 0) ctx.change(accountId, null, 'mailbox-subscribe', null, null, n, Date.now());
      return;
    }
    if ((mb.subscribed !== 0) === subscribed) return;
    ctx.run('UPDATE mailboxes SET subscribed = ? WHERE id = ?', subscribed ? 1 : 0, mb.id);
    ctx.change(accountId, mb.id, 'mailbox-subscribe', null, null, mb.name, Date.now());
  });
  ctx.committed();
}
