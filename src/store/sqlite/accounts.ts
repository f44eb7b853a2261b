// Accounts of the SQLite store: creation (with the default mailboxes), lookup, password,
// quota, removal (with all their mail).
import { StoreError, type Account, type QuotaUsage, type SpecialUse } from '../types.js';
import type { StoreDb } from './db.js';
import { dropMailbox, insertMailbox } from './mailboxes.js';
import { deleteText } from './messages-update.js';
import { normalizeAddress, normalizeDomain, show } from './normalize.js';
import { toAccount, type AccountRow, type DomainRow, type MailboxRow } from './rows.js';

const DEFAULT_MAILBOXES: [string, SpecialUse | null][] = [
  ['INBOX', null],
  ['Drafts', '\\Drafts'],
  ['Sent', '\\Sent'],
  ['Junk', '\\Junk'],
  ['Trash', '\\Trash'],
  ['Archive', '\\Archive'],
];

function quotaInt(v: number | undefined, what: string): number {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new StoreError('invalid', `${what} must be a non-negative integer`);
  return v;
}

export async function addAccount(ctx: StoreDb, input: { address: string; passwordHash: string; quotaBytes?: number; quotaMessages?: number }): Promise<Account> {
  const a = normalizeAddress(input.address);
  if (!a) throw new StoreError('invalid', `invalid address ${show(input.address)}`);
  if (typeof input.passwordHash !== 'string') throw new StoreError('invalid', 'password hash must be a string');
  const qb = quotaInt(input.quotaBytes, 'byte quota');
  const qm = quotaInt(input.quotaMessages, 'message quota');
  const row = ctx.tx(() => {
    const d = ctx.get<DomainRow>('SELECT * FROM domains WHERE name = ?', a.domain);
    if (!d) throw new StoreError('not-found', `unknown domain ${a.domain}`);
    if (ctx.get('SELECT 1 AS x FROM accounts WHERE address = ?', a.address)) {
      throw new StoreError('exists', `account ${a.address} already exists`);
    }
    const now = Date.now();
    const r = ctx.get<AccountRow>(
      `INSERT INTO accounts (address, domain_id, password_hash, quota_bytes, quota_messages, created_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
      a.address, d.id, input.passwordHash, qb, qm, now,
    )!;
    for (const [name, su] of DEFAULT_MAILBOXES) insertMailbox(ctx, r.id, name, su, true, now);
    return r;
  });
  ctx.committed();
  return toAccount(row);
}

export async function getAccount(ctx: StoreDb, address: string): Promise<Account | null> {
  ctx.checkOpen();
  const a = normalizeAddress(address);
  if (!a) return null;
  const r = ctx.get<AccountRow>('SELECT * FROM accounts WHERE address = ?', a.address);
  return r ? toAccount(r) : null;
}

export async function getAccountById(ctx: StoreDb, id: number): Promise<Account | null> {
  ctx.checkOpen();
  const r = ctx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', id);
  return r ? toAccount(r) : null;
}

export async function listAccounts(ctx: StoreDb, domain?: string): Promise<Account[]> {
  ctx.checkOpen();
  if (domain === undefined) return ctx.all<AccountRow>('SELECT * FROM accounts ORDER BY address').map(toAccount);
  const n = normalizeDomain(domain);
  if (!n) return [];
  return ctx.all<AccountRow>(
    'SELECT a.* FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? ORDER BY a.address', n,
  ).map(toAccount);
}

function accountByAddress(ctx: StoreDb, address: string): AccountRow {
  const a = normalizeAddress(address);
  const r = a ? ctx.get<AccountRow>('SELECT * FROM accounts WHERE address = ?', a.address) : undefined;
  if (!r) throw new StoreError('not-found', `unknown account ${a ? a.address : show(address)}`);
  return r;
}

export async function setPasswordHash(ctx: StoreDb, address: string, passwordHash: string): Promise<void> {
  if (typeof passwordHash !== 'string') throw new StoreError('invalid', 'password hash must be a string');
  ctx.tx(() => {
    const r = accountByAddress(ctx, address);
    ctx.run('UPDATE accounts SET password_hash = ? WHERE id = ?', passwordHash, r.id);
  });
}

export async function setQuota(ctx: StoreDb, address: string, quota: { bytes?: number; messages?: number }): Promise<Account> {
  const qb = quota.bytes === undefined ? undefined : quotaInt(quota.bytes, 'byte quota');
  const qm = quota.messages === undefined ? undefined : quotaInt(quota.messages, 'message quota');
  return ctx.tx(() => {
    const r = accountByAddress(ctx, address);
    return toAccount(ctx.get<AccountRow>(
      'UPDATE accounts SET quota_bytes = ?, quota_messages = ? WHERE id = ? RETURNING *',
      qb ?? r.quota_bytes, qm ?? r.quota_messages, r.id,
    )!);
  });
}

export async function removeAccount(ctx: StoreDb, address: string): Promise<void> {
  const released: string[] = [];
  ctx.tx(() => {
    const acct = accountByAddress(ctx, address);
    const now = Date.now();
    const boxes = ctx.all<MailboxRow>('SELECT * FROM mailboxes WHERE account_id = ? ORDER BY id', acct.id);
    for (const mb of boxes) dropMailbox(ctx, mb, now, released);
    ctx.run('DELETE FROM subscriptions WHERE account_id = ?', acct.id);
    // Anything left (should be nothing): emails without mailbox rows.
    for (const e of ctx.all<{ id: number }>('SELECT id FROM emails WHERE account_id = ?', acct.id)) {
      deleteText(ctx, e.id);
      ctx.run('DELETE FROM email_origins WHERE email_id = ?', e.id);
      ctx.run('DELETE FROM emails WHERE id = ?', e.id);
    }
    ctx.run('DELETE FROM thread_refs WHERE account_id = ?', acct.id);
    // The account's spam filter state goes with it (its reports name the user).
    for (const t of ['spam_tokens', 'spam_totals', 'spam_trained']) ctx.run(`DELETE FROM ${t} WHERE scope = ?`, acct.id);
    ctx.run('DELETE FROM spam_reports WHERE account_id = ?', acct.id);
    ctx.run('DELETE FROM sender_verdicts WHERE account_id = ?', acct.id);
    ctx.run('DELETE FROM quarantine WHERE account_id = ?', acct.id);
    for (const t of ['sent_messages', 'sent_recipients', 'known_recipients', 'sending_events', 'sending_state', 'sending_identities']) ctx.run(`DELETE FROM ${t} WHERE account_id = ?`, acct.id);
    ctx.run('DELETE FROM keywords WHERE account_id = ?', acct.id);
    ctx.run('DELETE FROM aliases WHERE target = ?', acct.address);
    ctx.run('DELETE FROM accounts WHERE id = ?', acct.id);
  });
  ctx.removeUnreferencedBlobs(released);
  ctx.committed();
}

export async function getQuotaUsage(ctx: StoreDb, accountId: number): Promise<QuotaUsage> {
  ctx.checkOpen();
  const a = ctx.get<AccountRow>('SELECT * FROM accounts WHERE id = ?', accountId);
  if (!a) throw new StoreError('not-found', 'unknown account');
  return { usedBytes: a.used_bytes, usedMessages: a.used_messages, quotaBytes: a.quota_bytes, quotaMessages: a.quota_messages };
}
