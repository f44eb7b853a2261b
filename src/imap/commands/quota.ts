// QUOTA (RFC 9208): one quota root ("") per account with STORAGE (KiB) and MESSAGE limits.
// Limits are set by the provider (fjord account), so SETQUOTA is refused.
import type { Command } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import type { Session } from '../session.js';
import { mailboxArg, mailboxOut } from './args.js';

async function quotaLine(s: Session): Promise<string> {
  const q = await s.ctx.store.getQuotaUsage(s.account!.id);
  const res: string[] = [];
  if (q.quotaBytes > 0) res.push(`STORAGE ${Math.ceil(q.usedBytes / 1024)} ${Math.floor(q.quotaBytes / 1024)}`);
  if (q.quotaMessages > 0) res.push(`MESSAGE ${q.usedMessages} ${q.quotaMessages}`);
  return `* QUOTA "" (${res.join(' ')})`;
}

export async function getQuotaRoot(s: Session, cmd: Command): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  if (name === null || cmd.args.length !== 1) return s.bad(cmd.tag, 'GETQUOTAROOT expects a mailbox name');
  const mb = await s.ctx.store.getMailbox(s.account!.id, name);
  if (!mb) return s.no(cmd.tag, '[NONEXISTENT] No such mailbox');
  s.send(`* QUOTAROOT ${mailboxOut(s, mb.name)} ""`);
  s.send(await quotaLine(s));
  s.ok(cmd.tag, 'GETQUOTAROOT completed');
}

export async function getQuota(s: Session, cmd: Command): Promise<void> {
  const root = tokenString(cmd.args[0]);
  if (root === null || cmd.args.length !== 1) return s.bad(cmd.tag, 'GETQUOTA expects a quota root');
  if (root !== '') return s.no(cmd.tag, '[NONEXISTENT] No such quota root');
  s.send(await quotaLine(s));
  s.ok(cmd.tag, 'GETQUOTA completed');
}

export async function setQuota(s: Session, cmd: Command): Promise<void> {
  s.no(cmd.tag, '[NOPERM] Quotas are set by the mail provider');
}
