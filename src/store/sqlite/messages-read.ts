// Reading messages from the SQLite store: the index, full records, blob bytes, expunged uids
// and full-text search.
import Database from 'better-sqlite3';
import { BlobNotFoundError, isBlobId } from '../blobs.js';
import { StoreError, type FlagColumns, type ListMessagesOptions, type MessageIndexEntry, type MessageRecord } from '../types.js';
import type { StoreDb } from './db.js';
import { ftsTokens } from './normalize.js';
import { mailboxById, toIndexEntry, uniqueSorted, type IndexRow, type RecordRow } from './rows.js';

export async function listMessages(ctx: StoreDb, mailboxId: number, opts: ListMessagesOptions = {}): Promise<MessageIndexEntry[]> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  const from = opts.uidFrom ?? 1;
  const to = opts.uidTo ?? 0xffffffff;
  const rows = opts.changedSince !== undefined
    ? ctx.all<IndexRow>(
      `SELECT uid, modseq, flags, internal_date, size, email_id, thread_id FROM mailbox_messages
       WHERE mailbox_id = ? AND modseq > ? AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxId, opts.changedSince, from, to)
    : ctx.all<IndexRow>(
      `SELECT uid, modseq, flags, internal_date, size, email_id, thread_id FROM mailbox_messages
       WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxId, from, to);
  return rows.map(toIndexEntry);
}

export async function listFlags(ctx: StoreDb, mailboxId: number, opts: ListMessagesOptions = {}): Promise<FlagColumns> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  const from = opts.uidFrom ?? 1;
  const to = opts.uidTo ?? 0xffffffff;
  const since = opts.changedSince ?? 0;
  const uids: number[] = [];
  const modseqs: number[] = [];
  const flags: string[] = [];
  // iterate() streams rows without building an array of row objects first.
  const stmt = ctx.q('SELECT uid, modseq, flags FROM mailbox_messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND modseq > ? ORDER BY uid');
  for (const row of stmt.raw(true).iterate(mailboxId, from, to, since) as Iterable<[number, number, string]>) {
    uids.push(row[0]);
    modseqs.push(row[1]);
    flags.push(row[2]);
  }
  return { uids: Uint32Array.from(uids), modseqs: Float64Array.from(modseqs), flags };
}

export async function firstUnseenUid(ctx: StoreDb, mailboxId: number): Promise<number | null> {
  ctx.checkOpen();
  // Flags are stored space-separated; backslash cannot occur in keywords, so this is exact.
  const r = ctx.get<{ uid: number }>(
    `SELECT uid FROM mailbox_messages WHERE mailbox_id = ? AND (' ' || flags || ' ') NOT LIKE '% \\Seen %' ORDER BY uid LIMIT 1`, mailboxId);
  return r?.uid ?? null;
}

export async function listUids(ctx: StoreDb, mailboxId: number): Promise<Uint32Array> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  const stmt = ctx.q('SELECT uid AS u FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid');
  return Uint32Array.from(stmt.pluck(true).all(mailboxId) as number[]);
}

export async function getMessages(ctx: StoreDb, mailboxId: number, uids: number[]): Promise<MessageRecord[]> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  const out: MessageRecord[] = [];
  const wanted = uniqueSorted(uids);
  // One statement per 500 UIDs (a JSON array parameter keeps it one cached statement).
  for (let i = 0; i < wanted.length; i += 500) {
    const rows = ctx.all<RecordRow>(
      `SELECT mm.uid, mm.modseq, mm.flags, mm.internal_date, mm.size, mm.email_id, mm.thread_id,
         e.blob_id, e.parsed, e.subject, e.from_display, e.date, e.message_id, e.has_attachments
       FROM mailbox_messages mm JOIN emails e ON e.id = mm.email_id
       WHERE mm.mailbox_id = ? AND mm.uid IN (SELECT value FROM json_each(?)) ORDER BY mm.uid`,
      mailboxId, JSON.stringify(wanted.slice(i, i + 500)));
    for (const r of rows) {
      const parsed = JSON.parse(r.parsed) as { t: MessageRecord['tree']; e: MessageRecord['envelope'] };
      out.push({
        ...toIndexEntry(r), mailboxId, blobId: r.blob_id, tree: parsed.t, envelope: parsed.e,
        subject: r.subject, from: r.from_display, date: r.date === null ? null : new Date(r.date),
        messageId: r.message_id, hasAttachments: r.has_attachments !== 0,
      });
    }
  }
  return out;
}

export async function readBlob(ctx: StoreDb, blobId: string): Promise<Buffer> {
  ctx.checkOpen();
  if (!isBlobId(blobId)) throw new StoreError('not-found', 'no such blob');
  try {
    return await ctx.blobs.read(blobId);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new StoreError('not-found', `blob ${blobId} not found`);
    throw err;
  }
}

/** Bytes [start, end) — end exclusive, clamped to the blob size. */
export async function readBlobRange(ctx: StoreDb, blobId: string, start: number, end: number): Promise<Buffer> {
  ctx.checkOpen();
  if (!isBlobId(blobId)) throw new StoreError('not-found', 'no such blob');
  try {
    return await ctx.blobs.readRange(blobId, start, end);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new StoreError('not-found', `blob ${blobId} not found`);
    throw err;
  }
}

export async function expungedSince(ctx: StoreDb, mailboxId: number, sinceModseq: number): Promise<number[]> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  return ctx.all<{ uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid', mailboxId, sinceModseq)
    .map((r) => r.uid);
}

export async function searchText(ctx: StoreDb, mailboxId: number, query: string, where: 'text' | 'body' | 'header' = 'text'): Promise<number[]> {
  ctx.checkOpen();
  mailboxById(ctx, mailboxId);
  const tokens = ftsTokens(query);
  if (tokens === null) {
    return ctx.all<{ uid: number }>('SELECT uid FROM mailbox_messages WHERE mailbox_id = ? ORDER BY uid', mailboxId).map((r) => r.uid);
  }
  // Every word must occur (as a word prefix) in the chosen part; for 'text', in either part.
  const tables = where === 'header' ? ['email_header_text'] : where === 'body' ? ['email_body_text'] : ['email_header_text', 'email_body_text'];
  const perWord = `mm.email_id IN (${tables.map((t) => `SELECT rowid FROM ${t} WHERE ${t} MATCH ?`).join(' UNION ')})`;
  const params: (string | number)[] = [mailboxId];
  for (const tok of tokens) for (let i = 0; i < tables.length; i++) params.push(tok);
  try {
    return ctx.all<{ uid: number }>(
      `SELECT mm.uid FROM mailbox_messages mm WHERE mm.mailbox_id = ? AND ${tokens.map(() => perWord).join(' AND ')} ORDER BY mm.uid`,
      ...params,
    ).map((r) => r.uid);
  } catch (err) {
    // Should not happen (every word is quoted), but a search must never take a session down.
    if (err instanceof Database.SqliteError && /fts5|syntax/i.test(err.message)) return [];
    throw err;
  }
}
