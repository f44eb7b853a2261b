// Row shapes of the SQLite tables, their conversion to the Store types, and the small row-level
// helpers (mailbox lookups, quota check, uid lists) shared by several store modules.
import {
  StoreError,
  type Account,
  type Alias,
  type Change,
  type ChangeKind,
  type Domain,
  type Mailbox,
  type MessageIndexEntry,
  type SpecialUse,
} from '../types.js';
import type { StoreDb } from './db.js';
import { decodeFlags } from './normalize.js';

export function emailIdString(id: number): string {
  return 'M' + id.toString(36);
}
/** The row id behind an EMAILID string, or null when it is not one of ours. */
export function parseEmailId(s: string): number | null {
  if (!/^M[0-9a-z]{1,12}$/.test(s)) return null;
  const n = parseInt(s.slice(1), 36);
  return Number.isSafeInteger(n) ? n : null;
}
export function threadIdString(id: number): string {
  return 'T' + id.toString(36);
}

export interface DomainRow { id: number; name: string; created_at: number }
export interface AccountRow {
  id: number; address: string; domain_id: number; password_hash: string;
  quota_bytes: number; quota_messages: number; used_bytes: number; used_messages: number; created_at: number;
}
export interface AliasRow { id: number; alias: string; target: string; created_at: number }
export interface MailboxRow {
  id: number; account_id: number; name: string; special_use: string | null; subscribed: number;
  uid_validity: number; uid_next: number; highest_modseq: number; messages: number; unseen: number; size: number;
}
export interface IndexRow {
  uid: number; modseq: number; flags: string; internal_date: number; size: number; email_id: number; thread_id: number;
}
export interface RecordRow extends IndexRow {
  blob_id: string; parsed: string; subject: string; from_display: string; date: number | null;
  message_id: string | null; has_attachments: number;
}
export interface ChangeRow {
  id: number; account_id: number; mailbox_id: number | null; kind: string; uid: number | null;
  modseq: number | null; name: string | null; at: number;
}

export function toDomain(r: DomainRow): Domain {
  return { id: r.id, name: r.name, createdAt: new Date(r.created_at) };
}
export function toAccount(r: AccountRow): Account {
  return {
    id: r.id, address: r.address, domainId: r.domain_id, passwordHash: r.password_hash,
    quotaBytes: r.quota_bytes, quotaMessages: r.quota_messages, usedBytes: r.used_bytes,
    usedMessages: r.used_messages, createdAt: new Date(r.created_at),
  };
}
export function toAlias(r: AliasRow): Alias {
  return { id: r.id, alias: r.alias, target: r.target, createdAt: new Date(r.created_at) };
}
export function toMailbox(r: MailboxRow): Mailbox {
  return {
    id: r.id, accountId: r.account_id, name: r.name, specialUse: (r.special_use as SpecialUse | null) ?? null,
    subscribed: r.subscribed !== 0, uidValidity: r.uid_validity, uidNext: r.uid_next,
    highestModseq: r.highest_modseq, messages: r.messages, unseen: r.unseen, size: r.size,
  };
}
export function toIndexEntry(r: IndexRow): MessageIndexEntry {
  return {
    uid: r.uid, modseq: r.modseq, flags: decodeFlags(r.flags), internalDate: new Date(r.internal_date),
    size: r.size, emailId: emailIdString(r.email_id), threadId: threadIdString(r.thread_id),
  };
}
export function toChange(r: ChangeRow): Change {
  return {
    id: r.id, accountId: r.account_id, mailboxId: r.mailbox_id, kind: r.kind as ChangeKind, uid: r.uid,
    modseq: r.modseq, name: r.name, at: new Date(r.at),
  };
}

export function overQuota(a: { quota_bytes: number; quota_messages: number; used_bytes: number; used_messages: number }, bytes: number, count: number): boolean {
  return (a.quota_bytes > 0 && a.used_bytes + bytes > a.quota_bytes) ||
    (a.quota_messages > 0 && a.used_messages + count > a.quota_messages);
}

export function uniqueSorted(uids: readonly number[]): number[] {
  const out = Array.from(new Set(uids.filter((u) => Number.isSafeInteger(u) && u > 0)));
  return out.sort((a, b) => a - b);
}

export function mailboxByName(ctx: StoreDb, accountId: number, name: string): MailboxRow | undefined {
  return ctx.get<MailboxRow>('SELECT * FROM mailboxes WHERE account_id = ? AND name = ?', accountId, name);
}

export function mailboxById(ctx: StoreDb, id: number): MailboxRow {
  const r = ctx.get<MailboxRow>('SELECT * FROM mailboxes WHERE id = ?', id);
  if (!r) throw new StoreError('nonexistent-mailbox', 'no such mailbox');
  return r;
}
