// Changing messages in the SQLite store: flags, expunge, copy and move, and releasing the
// email/blob references of removed messages.
import { StoreError, type CopyResult, type FlagOperation, type FlagUpdateResult } from '../types.js';
import type { StoreDb } from './db.js';
import { resolveKeywords } from './messages-insert.js';
import { applyFlagOp, decodeFlags, encodeFlags, normalizeFlags, show } from './normalize.js';
import { mailboxById, overQuota, uniqueSorted, type AccountRow, type IndexRow, type MailboxRow } from './rows.js';

export async function setFlags(ctx: StoreDb, mailboxId: number, uids: number[], op: FlagOperation, flags: string[], unchangedSince?: number): Promise<FlagUpdateResult> {
  if (op !== 'add' && op !== 'remove' && op !== 'replace') throw new StoreError('invalid', `invalid flag operation ${show(op)}`);
  const norm = normalizeFlags(flags);
  const list = uniqueSorted(uids);
  const res = ctx.tx((): FlagUpdateResult => {
    const mb = mailboxById(ctx, mailboxId);
    const fl = resolveKeywords(ctx, mb.account_id, norm);
    const updated: FlagUpdateResult['updated'] = [];
    const modified: number[] = [];
    let modseq = 0;
    let unseenDelta = 0;
    const now = Date.now();
    for (const uid of list) {
      const row = ctx.get<{ flags: string; modseq: number }>('SELECT flags, modseq FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', mailboxId, uid);
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
        modseq = ctx.get<{ m: number }>('UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq AS m', mailboxId)!.m;
      }
      ctx.run('UPDATE mailbox_messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?', enc, modseq, mailboxId, uid);
      const wasSeen = old.includes('\\Seen');
      const isSeen = next.includes('\\Seen');
      if (wasSeen !== isSeen) unseenDelta += isSeen ? -1 : 1;
      ctx.change(mb.account_id, mailboxId, 'flags', uid, modseq, null, now);
      updated.push({ uid, modseq, flags: next });
    }
    if (unseenDelta !== 0) ctx.run('UPDATE mailboxes SET unseen = unseen + ? WHERE id = ?', unseenDelta, mailboxId);
    return { updated, modified };
  });
  if (res.updated.length) ctx.committed();
  return res;
}

/** Drops one mailbox_messages reference of an email (row already deleted); frees the email
 * and its blob when it was the last. */
export function deleteText(ctx: StoreDb, emailId: number): void {
  ctx.run('DELETE FROM email_header_text WHERE rowid = ?', emailId);
  ctx.run('DELETE FROM email_body_text WHERE rowid = ?', emailId);
}

export function releaseEmail(ctx: StoreDb, emailId: number, released: string[]): void {
  const e = ctx.get<{ refs: number; blob_id: string }>('UPDATE emails SET refs = refs - 1 WHERE id = ? RETURNING refs, blob_id', emailId);
  if (!e) return;
  if (e.refs <= 0) {
    deleteText(ctx, emailId);
    ctx.run('DELETE FROM email_origins WHERE email_id = ?', emailId);
    ctx.run('DELETE FROM emails WHERE id = ?', emailId);
  }
  const b = ctx.get<{ refs: number }>('UPDATE blobs SET refs = refs - 1 WHERE id = ? RETURNING refs', e.blob_id);
  if (b && b.refs <= 0) {
    ctx.run('DELETE FROM blobs WHERE id = ?', e.blob_id);
    released.push(e.blob_id);
  }
}

/** Removes messages from a mailbox with tombstones, one new modseq. Inside a transaction.
 * With `keepContent` (MOVE) the email/blob references and quota usage are carried over. */
function removeMessages(ctx: StoreDb, mb: MailboxRow, rows: { uid: number; email_id: number; size: number; flags: string }[], keepContent: boolean, now: number, released: string[]): void {
  if (rows.length === 0) return;
  const modseq = ctx.get<{ m: number }>('UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq AS m', mb.id)!.m;
  let bytes = 0;
  let unseen = 0;
  for (const r of rows) {
    ctx.run('DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', mb.id, r.uid);
    ctx.run('INSERT OR REPLACE INTO expunged (mailbox_id, modseq, uid) VALUES (?, ?, ?)', mb.id, modseq, r.uid);
    if (!keepContent) releaseEmail(ctx, r.email_id, released);
    ctx.change(mb.account_id, mb.id, 'expunge', r.uid, modseq, null, now);
    bytes += r.size;
    if (!decodeFlags(r.flags).includes('\\Seen')) unseen++;
  }
  ctx.run('UPDATE mailboxes SET messages = messages - ?, unseen = unseen - ?, size = size - ? WHERE id = ?', rows.length, unseen, bytes, mb.id);
  if (!keepContent) {
    ctx.run('UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?', bytes, rows.length, mb.account_id);
  }
}

export async function expunge(ctx: StoreDb, mailboxId: number, uids?: number[]): Promise<number[]> {
  const list = uids === undefined ? undefined : uniqueSorted(uids);
  const released: string[] = [];
  const out = ctx.tx(() => {
    const mb = mailboxById(ctx, mailboxId);
    type Row = { uid: number; email_id: number; size: number; flags: string };
    let rows: Row[];
    if (list === undefined) {
      rows = ctx.all<Row>('SELECT uid, email_id, size, flags FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', mailboxId)
        .filter((r) => decodeFlags(r.flags).includes('\\Deleted'));
    } else {
      rows = [];
      for (const uid of list) {
        const r = ctx.get<Row>('SELECT uid, email_id, size, flags FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?', mailboxId, uid);
        if (r) rows.push(r);
      }
    }
    removeMessages(ctx, mb, rows, false, Date.now(), released);
    return rows.map((r) => r.uid);
  });
  ctx.removeUnreferencedBlobs(released);
  if (out.length) ctx.committed();
  return out;
}

/** COPY/MOVE inside a transaction. */
export function copyTx(ctx: StoreDb, fromId: number, uids: number[], toId: number, move: boolean, now: number, released: string[]): CopyResult {
  const src = mailboxById(ctx, fromId);
  const dst = mailboxById(ctx, toId);
  if (src.account_id !== dst.account_id) throw new StoreError('invalid', 'cannot copy messages between accounts');
  type Row = IndexRow & { uid: number };
  const rows: Row[] = [];
  for (const uid of uniqueSorted(uids)) {
    const r = ctx.get<Row>(
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
    const acct = ctx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', dst.account_id)!;
    if (overQuota(acct, bytes, rows.length)) throw new StoreError('overquota', 'mailbox quota exceeded');
  }
  const d = ctx.get<{ next: number; modseq: number }>(
    `UPDATE mailboxes SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1, messages = messages + ?,
       unseen = unseen + ?, size = size + ? WHERE id = ? RETURNING uid_next AS next, highest_modseq AS modseq`,
    rows.length, rows.length, unseen, bytes, toId,
  )!;
  let uid = d.next - rows.length;
  const pairs: [number, number][] = [];
  for (const r of rows) {
    ctx.run(
      `INSERT INTO mailbox_messages (mailbox_id, uid, email_id, modseq, flags, internal_date, size, thread_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      toId, uid, r.email_id, d.modseq, r.flags, r.internal_date, r.size, r.thread_id,
    );
    if (!move) {
      const e = ctx.get<{ blob_id: string }>('UPDATE emails SET refs = refs + 1 WHERE id = ? RETURNING blob_id', r.email_id)!;
      ctx.run('UPDATE blobs SET refs = refs + 1 WHERE id = ?', e.blob_id);
    }
    ctx.change(dst.account_id, toId, 'append', uid, d.modseq, null, now);
    pairs.push([r.uid, uid]);
    uid++;
  }
  if (move) {
    // Re-read the source (its counters changed when copying into itself).
    removeMessages(ctx, mailboxById(ctx, fromId), rows, true, now, released);
  } else {
    ctx.run('UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?', bytes, rows.length, dst.account_id);
  }
  return { uidValidity: dst.uid_validity, pairs };
}

export async function copyMessages(ctx: StoreDb, fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
  const r = ctx.tx(() => copyTx(ctx, fromMailboxId, uids, toMailboxId, false, Date.now(), []));
  if (r.pairs.length) ctx.committed();
  return r;
}

export async function moveMessages(ctx: StoreDb, fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
  const released: string[] = [];
  const r = ctx.tx(() => copyTx(ctx, fromMailboxId, uids, toMailboxId, true, Date.now(), released));
  ctx.removeUnreferencedBlobs(released);
  if (r.pairs.length) ctx.committed();
  return r;
}
