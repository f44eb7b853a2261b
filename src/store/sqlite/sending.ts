// What the sending limits remember, in SQLite: each submitted message with its recipients (for
// hourly and daily counts and the bulk signals), bounces and complaints against an account, the
// recipients each account has ever written to (so "new recipient" means new), the freeze state,
// and extra sender identities the operator granted.
import type { SendingCounts, SendingEventKind, SendingState, SendingStats, SentMessage } from '../types.js';
import type { StoreDb } from './db.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export function recordSentMessage(ctx: StoreDb, accountId: number, m: SentMessage): void {
  const at = m.at.getTime();
  ctx.tx(() => {
    const id = Number(ctx.run(
      'INSERT INTO sent_messages (account_id, at, queue_id, message_id, body_hash, bulk, recipients) VALUES (?, ?, ?, ?, ?, ?, ?)',
      accountId, at, m.queueId, m.messageId, m.bodyHash, m.bulk ? 1 : 0, m.recipients.length,
    ).lastInsertRowid);
    for (const rcpt of new Set(m.recipients)) {
      const known = ctx.run('INSERT INTO known_recipients (account_id, rcpt, first_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', accountId, rcpt, at).changes === 0;
      ctx.run('INSERT INTO sent_recipients (message, account_id, at, rcpt, is_new) VALUES (?, ?, ?, ?, ?)', id, accountId, at, rcpt, known ? 0 : 1);
    }
  });
}

export function recordSendingEvent(ctx: StoreDb, accountId: number, kind: SendingEventKind, at: Date, detail: { rcpt?: string; messageId?: string }): void {
  ctx.run('INSERT INTO sending_events (account_id, at, kind, rcpt, message_id) VALUES (?, ?, ?, ?, ?)', accountId, at.getTime(), kind, detail.rcpt ?? null, detail.messageId ?? null);
}

export function sentToSince(ctx: StoreDb, accountId: number, rcpt: string, since: Date): boolean {
  return ctx.get('SELECT 1 AS x FROM sent_recipients WHERE account_id = ? AND rcpt = ? AND at >= ? LIMIT 1', accountId, rcpt, since.getTime()) !== undefined;
}

export function hasWrittenTo(ctx: StoreDb, accountId: number, address: string): boolean {
  return ctx.get('SELECT 1 AS x FROM known_recipients WHERE account_id = ? AND rcpt = ?', accountId, address) !== undefined;
}

/** Counted since the later of the period's start and an unfreeze (countFrom). */
function since(state: SendingState, from: number): number {
  return Math.max(from, state.countFrom?.getTime() ?? 0);
}

function counts(ctx: StoreDb, accountId: number, t: number, state: SendingState): SendingCounts {
  const n = (sql: string, from: number) => ctx.get<{ n: number }>(sql, accountId, since(state, from))?.n ?? 0;
  return {
    messagesLastHour: n('SELECT count(*) AS n FROM sent_messages WHERE account_id = ? AND at >= ?', t - HOUR),
    messagesLastDay: n('SELECT count(*) AS n FROM sent_messages WHERE account_id = ? AND at >= ?', t - DAY),
    recipientsLastDay: n('SELECT count(DISTINCT rcpt) AS n FROM sent_recipients WHERE account_id = ? AND at >= ?', t - DAY),
  };
}

export function sendingCounts(ctx: StoreDb, accountId: number, now: Date): SendingCounts {
  return counts(ctx, accountId, now.getTime(), getSendingState(ctx, accountId));
}

export function sendingStats(ctx: StoreDb, accountId: number, now: Date, windowSeconds: number): SendingStats {
  const t = now.getTime();
  const state = getSendingState(ctx, accountId);
  const from = since(state, t - windowSeconds * 1000);
  const w = ctx.get<{ r: number; nw: number; b: number }>(
    'SELECT count(*) AS r, coalesce(sum(r.is_new), 0) AS nw, coalesce(sum(m.bulk), 0) AS b FROM sent_recipients r JOIN sent_messages m ON m.id = r.message WHERE r.account_id = ? AND r.at >= ?',
    accountId, from,
  )!;
  const fanout = ctx.all<{ body_hash: string; n: number }>(
    'SELECT m.body_hash, count(DISTINCT r.rcpt) AS n FROM sent_recipients r JOIN sent_messages m ON m.id = r.message WHERE r.account_id = ? AND r.at >= ? GROUP BY m.body_hash ORDER BY n DESC LIMIT 5',
    accountId, from,
  );
  const events = ctx.all<{ kind: SendingEventKind; n: number }>('SELECT kind, count(*) AS n FROM sending_events WHERE account_id = ? AND at >= ? GROUP BY kind', accountId, from);
  return {
    ...counts(ctx, accountId, t, state),
    window: {
      since: new Date(from),
      recipients: w.r,
      newRecipients: w.nw,
      bulkRecipients: w.b,
      fanout: fanout.map((f) => ({ bodyHash: f.body_hash, recipients: f.n })),
      bounces: events.find((e) => e.kind === 'bounce')?.n ?? 0,
      complaints: events.find((e) => e.kind === 'complaint')?.n ?? 0,
    },
  };
}

export function findSentMessage(ctx: StoreDb, messageId: string): { accountId: number; at: Date } | null {
  const r = ctx.get<{ account_id: number; at: number }>('SELECT account_id, at FROM sent_messages WHERE message_id = ? ORDER BY at DESC LIMIT 1', messageId);
  return r ? { accountId: r.account_id, at: new Date(r.at) } : null;
}

export function getSendingState(ctx: StoreDb, accountId: number): SendingState {
  const r = ctx.get<{ frozen_at: number | null; reason: string | null; count_from: number | null }>('SELECT frozen_at, reason, count_from FROM sending_state WHERE account_id = ?', accountId);
  return {
    frozenAt: r?.frozen_at != null ? new Date(r.frozen_at) : null,
    reason: r?.reason ?? null,
    countFrom: r?.count_from != null ? new Date(r.count_from) : null,
  };
}

export function setSendingState(ctx: StoreDb, accountId: number, s: SendingState): void {
  ctx.run(
    'INSERT INTO sending_state (account_id, frozen_at, reason, count_from) VALUES (?, ?, ?, ?) ON CONFLICT(account_id) DO UPDATE SET frozen_at = excluded.frozen_at, reason = excluded.reason, count_from = excluded.count_from',
    accountId, s.frozenAt?.getTime() ?? null, s.reason, s.countFrom?.getTime() ?? null,
  );
}

export function pruneSending(ctx: StoreDb, before: Date): number {
  const t = before.getTime();
  return ctx.tx(() =>
    ctx.run('DELETE FROM sent_recipients WHERE at < ?', t).changes +
    ctx.run('DELETE FROM sent_messages WHERE at < ?', t).changes +
    ctx.run('DELETE FROM sending_events WHERE at < ?', t).changes,
  );
}

export function listSendingIdentities(ctx: StoreDb, accountId: number): string[] {
  return ctx.all<{ address: string }>('SELECT address FROM sending_identities WHERE account_id = ? ORDER BY address', accountId).map((r) => r.address);
}

export function setSendingIdentity(ctx: StoreDb, accountId: number, address: string, on: boolean): void {
  if (on) ctx.run('INSERT INTO sending_identities (account_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING', accountId, address.toLowerCase());
  else ctx.run('DELETE FROM sending_identities WHERE account_id = ? AND address = ?', accountId, address.toLowerCase());
}

/** Schema of the sending state (a migration step). */
export const SENDING_SCHEMA = `
  CREATE TABLE sent_messages (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    queue_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    bulk INTEGER NOT NULL,
    recipients INTEGER NOT NULL
  );
  CREATE INDEX sent_messages_account ON sent_messages(account_id, at);
  CREATE INDEX sent_messages_msgid ON sent_messages(message_id);
  CREATE INDEX sent_messages_at ON sent_messages(at);
  CREATE TABLE sent_recipients (
    message INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    rcpt TEXT NOT NULL,
    is_new INTEGER NOT NULL
  );
  CREATE INDEX sent_recipients_account ON sent_recipients(account_id, at);
  CREATE INDEX sent_recipients_rcpt ON sent_recipients(account_id, rcpt, at);
  CREATE INDEX sent_recipients_message ON sent_recipients(message);
  CREATE INDEX sent_recipients_at ON sent_recipients(at);
  CREATE TABLE known_recipients (
    account_id INTEGER NOT NULL,
    rcpt TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, rcpt)
  ) WITHOUT ROWID;
  CREATE TABLE sending_events (
    account_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    rcpt TEXT,
    message_id TEXT
  );
  CREATE INDEX sending_events_account ON sending_events(account_id, at);
  CREATE INDEX sending_events_at ON sending_events(at);
  CREATE TABLE sending_state (
    account_id INTEGER PRIMARY KEY,
    frozen_at INTEGER,
    reason TEXT,
    count_from INTEGER
  );
  CREATE TABLE sending_identities (
    account_id INTEGER NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (account_id, address)
  ) WITHOUT ROWID;
`;
