// EXPUNGE and UID EXPUNGE (UIDPLUS): the EXPUNGE/VANISHED responses come from the change feed,
// like everyone else's expunges, so numbering stays consistent.
import type { Command } from '../parser/types.js';
import { tokenSequenceSet } from '../parser/tokens.js';
import type { Session } from '../session.js';

export async function expunge(s: Session, cmd: Command): Promise<void> {
  const view = s.view!;
  const byUid = cmd.name === 'UID EXPUNGE';
  if (byUid ? cmd.args.length !== 1 : cmd.args.length !== 0) return s.bad(cmd.tag, `Invalid ${cmd.name} arguments`);
  if (view.readOnly) return s.no(cmd.tag, '[READ-ONLY] Mailbox is read-only');
  if (byUid) {
    const set = tokenSequenceSet(cmd.args[0]);
    if (!set) return s.bad(cmd.tag, 'Invalid sequence set');
    const seqs = view.resolve(set, true, s.saved)!;
    const uids = seqs.map((q) => view.uidAt(q));
    if (uids.length > 0) {
      const entries = await s.ctx.store.listMessages(view.id, { uidFrom: uids[0], uidTo: uids[uids.length - 1] });
      const want = new Set(uids);
      const deleted = entries.filter((e) => want.has(e.uid) && e.flags.includes('\\Deleted')).map((e) => e.uid);
      if (deleted.length > 0) await s.ctx.store.expunge(view.id, deleted);
    }
  } else {
    await s.ctx.store.expunge(view.id);
  }
  view.dirty = true; // the feed holds our own expunges even if no notification came yet
  await s.announce(true);
  s.ok(cmd.tag, `${cmd.name} completed`);
}
