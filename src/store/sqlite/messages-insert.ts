// Adding messages to the SQLite store: delivery (idempotent, quota-checked) and APPEND, with
// keyword spelling, threading and full-text rows.
import { StoreError, type DeliveryItem, type DeliveryOutcome, type NewMessage } from '../types.js';
import type { ParsedMessage } from '../../mime/types.js';
import { DAY, type StoreDb } from './db.js';
import { encodeFlags, normalizeFlags, sortFlags } from './normalize.js';
import { mailboxById, overQuota, type AccountRow } from './rows.js';
import { putOrigin } from './spam.js';

const THREAD_SUBJECT_WINDOW = 30 * DAY;
const MAX_REFS = 50;

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

/** Keywords keep the first spelling seen in the account. Inside a write transaction. */
export function resolveKeywords(ctx: StoreDb, accountId: number, flags: string[]): string[] {
  let out: string[] | null = null;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (f.startsWith('\\')) continue;
    const lname = f.toLowerCase();
    const key = `${accountId}:${lname}`;
    let name = ctx.kwCache.get(key);
    if (name === undefined) {
      const r = ctx.get<{ name: string }>('SELECT name FROM keywords WHERE account_id = ? AND lname = ?', accountId, lname);
      if (r) {
        name = r.name;
        ctx.kwCache.set(key, name);
      } else {
        ctx.run('INSERT INTO keywords (account_id, lname, name) VALUES (?, ?, ?)', accountId, lname, f);
        name = f;
      }
    }
    if (name !== f) (out ??= flags.slice())[i] = name;
  }
  return out ?? flags;
}

function findThread(ctx: StoreDb, accountId: number, p: ParsedMessage, refs: string[], now: number): number | null {
  const candidates = refs.slice();
  if (p.messageId) candidates.push(p.messageId);
  for (const id of candidates) {
    const r = ctx.get<{ thread_id: number }>('SELECT thread_id FROM thread_refs WHERE account_id = ? AND message_id = ?', accountId, id);
    if (r) return r.thread_id;
  }
  if (p.baseSubject) {
    const r = ctx.get<{ t: number }>(
      `SELECT coalesce(thread_id, id) AS t FROM emails
       WHERE account_id = ? AND root_subject = ? AND received_at >= ? ORDER BY received_at DESC LIMIT 1`,
      accountId, p.baseSubject, now - THREAD_SUBJECT_WINDOW,
    );
    if (r) return r.t;
  }
  return null;
}

/** Inserts one message (blob already durable). Quota must have been checked. */
function insertMessage(ctx: StoreDb, accountId: number, mailboxId: number, msg: NewMessage & { origin?: DeliveryItem['origin'] }, blobId: string, flags: string[], now: number): { uid: number; modseq: number } {
  const raw = msg.raw;
  const size = raw.length;
  const blob = ctx.get<{ refs: number }>(
    'INSERT INTO blobs (id, size, refs) VALUES (?, ?, 1) ON CONFLICT(id) DO UPDATE SET refs = refs + 1 RETURNING refs',
    blobId, size,
  )!;
  if (blob.refs === 1) ctx.blobs.ensureSync(blobId, raw);

  const p = msg.parsed;
  const inReplyTo = cleanMessageIds(p.inReplyTo);
  const references = cleanMessageIds(p.references);
  // Most specific first: In-Reply-To, then References from the newest.
  const refs = Array.from(new Set([...inReplyTo, ...references.slice().reverse()])).slice(0, MAX_REFS);
  const messageId = p.messageId && p.messageId.length <= 998 ? p.messageId : null;
  const thread = findThread(ctx, accountId, p, refs, now);
  const isRoot = inReplyTo.length === 0 && references.length === 0;
  const date = p.date instanceof Date && Number.isFinite(p.date.getTime()) ? p.date.getTime() : null;
  const e = ctx.get<{ id: number }>(
    `INSERT INTO emails (account_id, blob_id, size, thread_id, refs, message_id, root_subject, subject,
       from_display, date, has_attachments, parsed, received_at)
     VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    accountId, blobId, size, thread, messageId, isRoot && p.baseSubject ? p.baseSubject : null,
    p.subject ?? '', fromDisplay(p), date, p.hasAttachments ? 1 : 0,
    JSON.stringify({ t: p.tree, e: p.envelope }), now,
  )!;
  const threadId = thread ?? e.id;
  if (msg.origin) putOrigin(ctx, e.id, msg.origin);
  ctx.run('INSERT INTO email_header_text (rowid, text) VALUES (?, ?)', e.id, p.headerText ?? '');
  ctx.run('INSERT INTO email_body_text (rowid, text) VALUES (?, ?)', e.id, p.text ?? '');
  if (messageId) ctx.run('INSERT OR IGNORE INTO thread_refs (account_id, message_id, thread_id) VALUES (?, ?, ?)', accountId, messageId, threadId);
  for (const r of refs) ctx.run('INSERT OR IGNORE INTO thread_refs (account_id, message_id, thread_id) VALUES (?, ?, ?)', accountId, r, threadId);

  const seen = flags.includes('\\Seen');
  const mb = ctx.get<{ uid: number; modseq: number }>(
    `UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1, messages = messages + 1,
       unseen = unseen + ?, size = size + ? WHERE id = ? RETURNING uid_next - 1 AS uid, highest_modseq AS modseq`,
    seen ? 0 : 1, size, mailboxId,
  )!;
  ctx.run(
    `INSERT INTO mailbox_messages (mailbox_id, uid, email_id, modseq, flags, internal_date, size, thread_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    mailboxId, mb.uid, e.id, mb.modseq, encodeFlags(flags), validDate(msg.internalDate, now), size, threadId,
  );
  ctx.run('UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + 1 WHERE id = ?', size, accountId);
  ctx.change(accountId, mailboxId, 'append', mb.uid, mb.modseq, null, now);
  return mb;
}

export async function deliver(ctx: StoreDb, items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
  ctx.checkOpen();
  if (items.length === 0) return [];
  return ctx.track(deliverInner(ctx, items));
}

async function deliverInner(ctx: StoreDb, items: DeliveryItem[]): Promise<DeliveryOutcome[]> {
  const flags = items.map((it) => sortFlags(normalizeFlags(it.flags, true)));
  const known = (id: string) => ctx.get('SELECT 1 AS x FROM blobs WHERE id = ?', id) !== undefined;
  const puts = await Promise.all(items.map((it) => ctx.blobs.put(it.raw, known)));
  ctx.checkOpen();
  const now = Date.now();
  let outcomes: DeliveryOutcome[];
  try {
    outcomes = ctx.tx(() => items.map((it, i): DeliveryOutcome => {
      const key = String(it.deliveryKey);
      if (ctx.get('SELECT 1 AS x FROM deliveries WHERE key = ?', key)) return { status: 'duplicate' };
      const acct = ctx.get<AccountRow>(
        'SELECT id, quota_bytes, quota_messages, used_bytes, used_messages FROM accounts WHERE id = ?', it.accountId,
      );
      if (!acct) return { status: 'no-account' };
      let mb: { id: number } | undefined;
      if (it.specialUse) {
        mb = ctx.get<{ id: number }>('SELECT id FROM mailboxes WHERE account_id = ? AND special_use = ? ORDER BY id LIMIT 1', acct.id, it.specialUse);
      }
      mb ??= ctx.get<{ id: number }>("SELECT id FROM mailboxes WHERE account_id = ? AND name = 'INBOX'", acct.id);
      if (!mb) return { status: 'no-account' };
      if (overQuota(acct, it.raw.length, 1)) return { status: 'overquota' };
      const fl = resolveKeywords(ctx, acct.id, flags[i]!);
      const r = insertMessage(ctx, acct.id, mb.id, it, puts[i]!.id, fl, now);
      ctx.run('INSERT INTO deliveries (key, at) VALUES (?, ?)', key, now);
      return { status: 'delivered', mailboxId: mb.id, uid: r.uid };
    }));
  } catch (err) {
    ctx.removeUnreferencedBlobs(puts.filter((p) => p.created).map((p) => p.id));
    throw err;
  }
  const unused = new Set<string>();
  const used = new Set<string>();
  outcomes.forEach((o, i) => (o.status === 'delivered' ? used : unused).add(puts[i]!.id));
  for (const id of used) unused.delete(id);
  if (unused.size) ctx.removeUnreferencedBlobs(unused);
  if (now - ctx.lastDeliveryPrune > 3_600_000) {
    ctx.lastDeliveryPrune = now;
    try { ctx.pruneOld(now); } catch (e) { ctx.opts.onError(e); }
  }
  ctx.committed();
  return outcomes;
}

export async function append(ctx: StoreDb, mailboxId: number, message: NewMessage): Promise<{ uid: number; uidValidity: number }> {
  const r = await appendMany(ctx, mailboxId, [message]);
  return { uid: r.uids[0]!, uidValidity: r.uidValidity };
}

/** Appends all messages in one transaction, or none (IMAP MULTIAPPEND, RFC 3502). */
export async function appendMany(ctx: StoreDb, mailboxId: number, messages: NewMessage[]): Promise<{ uids: number[]; uidValidity: number }> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  const flagLists = messages.map((m) => sortFlags(normalizeFlags(m.flags)));
  return ctx.track((async () => {
    const puts: { id: string }[] = [];
    try {
      for (const m of messages) puts.push(await ctx.blobs.put(m.raw, (id) => ctx.get('SELECT 1 AS x FROM blobs WHERE id = ?', id) !== undefined));
    } catch (err) {
      ctx.removeUnreferencedBlobs(puts.map((p) => p.id));
      throw err;
    }
    ctx.checkOpen();
    let res: { uids: number[]; uidValidity: number };
    try {
      res = ctx.tx(() => {
        const mb = mailboxById(ctx, mailboxId);
        const acct = ctx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', mb.account_id)!;
        const bytes = messages.reduce((n, m) => n + m.raw.length, 0);
        if (overQuota(acct, bytes, messages.length)) throw new StoreError('overquota', 'mailbox quota exceeded');
        const now = Date.now();
        const uids = messages.map((m, i) => insertMessage(ctx, acct.id, mb.id, m, puts[i]!.id, resolveKeywords(ctx, acct.id, flagLists[i]!), now).uid);
        return { uids, uidValidity: mb.uid_validity };
      });
    } catch (err) {
      ctx.removeUnreferencedBlobs(puts.map((p) => p.id));
      throw err;
    }
    ctx.committed();
    return res;
  })());
}
