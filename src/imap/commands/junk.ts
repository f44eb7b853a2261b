// Turning mailbox moves and keywords into "user says spam / not spam" reports.
import type { Session } from '../session.js';
import type { Mailbox } from '../../store/types.js';
import type { JunkReport } from '../junk-events.js';

/** Verdict implied by moving or copying a message from one mailbox to another, if any:
 * into Junk = spam; out of Junk into anything but Trash = not spam. */
export function moveVerdict(from: Mailbox, to: Mailbox): JunkReport['verdict'] | null {
  const fromJunk = from.specialUse === '\\Junk';
  const toJunk = to.specialUse === '\\Junk';
  if (toJunk && !fromJunk) return 'spam';
  if (fromJunk && !toJunk && to.specialUse !== '\\Trash') return 'ham';
  return null;
}

/** Reports the messages (as they now live in `mailboxId`) to the junk listener. */
export async function reportJunk(s: Session, verdict: JunkReport['verdict'], via: JunkReport['via'], mailboxId: number, uids: number[]): Promise<void> {
  if (uids.length === 0) return;
  const sorted = [...uids].sort((a, b) => a - b);
  const want = new Set(sorted);
  const entries = await s.ctx.store.listMessages(mailboxId, { uidFrom: sorted[0], uidTo: sorted[sorted.length - 1] });
  for (const e of entries) {
    if (!want.has(e.uid)) continue;
    try {
      s.ctx.junk({ accountId: s.account!.id, verdict, via, mailboxId, uid: e.uid, emailId: e.emailId });
    } catch (err) {
      s.log.error({ err: (err as Error).message }, 'junk report listener failed');
    }
  }
}
