// QUOTA (RFC 9208): one quota root ("") per account with STORAGE (KiB) and MESSAGE limits.
// Limits are set by the provider (fjord account), so SETQUOTA is refused.
import type { Command } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import type { Session } from '../session.js';
import { mailboxArg, mailboxOut } from './args.js';

/** The account's QUOTA response, or null when it has no limits (then there is no quota root:
 * the grammar of RFC 9208 §9 needs at least one resource). */
async function quotaLine(s: Session): Promise<string | null> {
  const q = await s.ctx.store.getQuotaUsage(s.account!.id);
  const res: string[] = [];
  if (q.quotaBytes > 0) res.push(`STORAGE ${Math.ceil(q.usedBytes / 1024)} ${Math.floor(q.quotaBytes / 1024)}`);
  if (q.quotaMessages > 0) res.push(`MESSAGE ${q.usedMessages} ${q.quotaMessages}`);
  return res.length > 0 ? `* QUOTA "" (${res.join(' ')})` : null;
}

export async function getQuotaRoot(s: Session, cmd: Command): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  if (name === null || cmd.args.length !== 1) return s.bad(cmd.tag, 'GETQUOTAROOT expects a mailbox name');
  const mb = await s.ctx.store.getMailbox(s.account!.id, name);
  if (!mb) return s.no(cmd.tag, '[NONEXISTENT] No such mailbox');
  const line = await quotaLine(s);
  s.send(`* QUOTAROOT ${mailboxOut(s, mb.name)}${line ? ' ""' : ''}`);
  if (line) s.send(line);
  s.ok(cmd.tag, 'GETQUOTAROOT completed');
}

export async function getQuota(s: Session, cmd: Command): Promise<void> {
  const root = tokenString(cmd.args[0]);
  if (root === null || cmd.args.length !== 1) return s.bad(cmd.tag, 'GETQUOTA expects a quota root');
  const line = root === '' ? await quotaLine(s) : null;
  if (!line) return s.no(cmd.tag, '[NONEXISTENT] No such quota root');
  s.send(line);
  s.ok(cmd.tag, 'GETQUOTA completed');
}

export async function setQuota(s: Session, cmd: Command): Promise<void> {
  // setquota = "SETQUOTA" SP quota-root-name SP setquota-list  (RFC 9208 §9)
  const list = cmd.args[1];
  const pairsOk = list?.type === 'list' && list.items.length % 2 === 0 &&
    list.items.every((t, i) => (i % 2 === 0 ? t.type === 'atom' : t.type === 'number'));
  if (cmd.args.length !== 2 || tokenString(cmd.args[0]) === null || !pairsOk) return s.bad(cmd.tag, 'SETQUOTA expects a quota root and a list of limits');
  s.no(cmd.tag, '[NOPERM] Quotas are set by the mail provider');
}
