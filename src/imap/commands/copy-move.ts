// COPY, MOVE (RFC 6851) and their UID forms, with UIDPLUS's COPYUID and quota errors.
import type { Command } from '../parser/types.js';
import { tokenSequenceSet } from '../parser/tokens.js';
import type { Session } from '../session.js';
import { StoreError } from '../../store/types.js';
import { compressSet } from '../number-set.js';
import { mailboxArg } from './args.js';
import { storeErrorReply } from './mailboxes.js';
import { moveVerdict, reportJunk } from './junk.js';

export async function copy(s: Session, cmd: Command): Promise<void> {
  await transfer(s, cmd, false);
}
export async function move(s: Session, cmd: Command): Promise<void> {
  await transfer(s, cmd, true);
}

async function transfer(s: Session, cmd: Command, isMove: boolean): Promise<void> {
  const byUid = cmd.name.startsWith('UID ');
  const view = s.view!;
  const set = tokenSequenceSet(cmd.args[0]);
  const target = mailboxArg(s, cmd.args[1]);
  if (!set || target === null || cmd.args.length !== 2) return s.bad(cmd.tag, `${cmd.name} expects a sequence set and a mailbox`);
  if (isMove && view.readOnly) return s.no(cmd.tag, '[READ-ONLY] Mailbox is read-only');
  const dest = await s.ctx.store.getMailbox(s.account!.id, target);
  if (!dest) return s.no(cmd.tag, '[TRYCREATE] No such mailbox');
  const seqs = view.resolve(set, byUid, s.saved);
  if (seqs === null) return s.bad(cmd.tag, 'Invalid message sequence number');
  const uids = seqs.map((q) => view.uidAt(q));
  if (uids.length === 0) {
    await s.announce(true);
    return s.ok(cmd.tag, `${cmd.name} completed (no messages)`);
  }
  if (isMove && dest.id === view.id) return s.no(cmd.tag, '[CANNOT] Source and destination are the same mailbox');
  let result;
  try {
    result = isMove
      ? await s.ctx.store.moveMessages(view.id, uids, dest.id)
      : await s.ctx.store.copyMessages(view.id, uids, dest.id);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'overquota') return s.no(cmd.tag, '[OVERQUOTA] Quota exceeded');
    return storeErrorReply(s, cmd.tag, err);
  }
  view.dirty = true; // moved-away messages (or copies into this mailbox) show up in the feed
  const verdict = moveVerdict(view.mailbox, dest);
  if (verdict) await reportJunk(s, verdict, isMove ? 'move' : 'copy', dest.id, result.pairs.map((p) => p[1]));
  const code = result.pairs.length > 0
    ? `[COPYUID ${result.uidValidity} ${compressSet(result.pairs.map((p) => p[0]))} ${compressSet(result.pairs.map((p) => p[1]))}] `
    : '';
  if (isMove) {
    // RFC 6851: COPYUID goes in an untagged OK, before the expunges.
    if (code) s.send(`* OK ${code.trim()} Moved`);
    await s.announce(true);
    return s.ok(cmd.tag, `${cmd.name} completed`);
  }
  await s.announce(true);
  s.ok(cmd.tag, `${code}${cmd.name} completed`);
}
