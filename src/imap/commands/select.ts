// SELECT / EXAMINE (with CONDSTORE and QRESYNC parameters), CLOSE and UNSELECT.
import type { Command, Token } from '../parser/types.js';
import { tokenSequenceSet, tokenUint32 } from '../parser/tokens.js';
import { sequenceSetContains } from '../parser/sequence-set.js';
import type { Session } from '../session.js';
import { MailboxView } from '../mailbox-view.js';
import { compressSet } from '../number-set.js';
import { atomUpper, mailboxArg, mailboxOut } from './args.js';
import { mailboxIdString } from './mailboxes.js';

const FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $MDNSent $Junk $NotJunk $Phishing';

interface Qresync {
  uidValidity: number;
  modseq: number;
  knownUids: Token | null;
}

export async function select(s: Session, cmd: Command): Promise<void> {
  await open(s, cmd, false);
}
export async function examine(s: Session, cmd: Command): Promise<void> {
  await open(s, cmd, true);
}

async function open(s: Session, cmd: Command, readOnly: boolean): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  if (name === null || cmd.args.length > 2) return s.bad(cmd.tag, `${cmd.name} expects a mailbox name`);
  let qresync: Qresync | null = null;
  const params = cmd.args[1];
  if (params) {
    if (params.type !== 'list') return s.bad(cmd.tag, `Invalid ${cmd.name} parameters`);
    for (let i = 0; i < params.items.length; i++) {
      const p = atomUpper(params.items[i]);
      if (p === 'CONDSTORE') s.enabled.add('CONDSTORE');
      else if (p === 'QRESYNC') {
        if (!s.qresync) return s.bad(cmd.tag, 'QRESYNC must be enabled first');
        const q = params.items[++i];
        if (q?.type !== 'list' || q.items.length < 2 || q.items.length > 4) return s.bad(cmd.tag, 'Invalid QRESYNC parameter');
        const uidValidity = tokenUint32(q.items[0]);
        const modseq = q.items[1]?.type === 'number' ? Number(q.items[1].value) : null;
        if (!uidValidity || modseq === null || !(modseq > 0)) return s.bad(cmd.tag, 'Invalid QRESYNC parameter');
        const known = q.items[2] && q.items[2].type !== 'list' ? q.items[2] : null;
        if (known && !tokenSequenceSet(known)) return s.bad(cmd.tag, 'Invalid known UIDs');
        qresync = { uidValidity, modseq, knownUids: known };
      } else return s.bad(cmd.tag, `Unknown ${cmd.name} parameter`);
    }
  }
  // Selecting closes the current mailbox first, whether or not the new one exists.
  if (s.view) {
    s.view = null;
    s.state = 'auth';
    // RFC 9051 §6.3.2 / RFC 7162 §3.2.11: tell the client where one mailbox's responses end.
    if (s.qresync || s.rev2) s.send('* OK [CLOSED] Previous mailbox closed');
  }
  const store = s.ctx.store;
  const found = await store.getMailbox(s.account!.id, name);
  if (!found) return s.no(cmd.tag, '[NONEXISTENT] No such mailbox');
  // Other connections commit at any time, so the reads are ordered: the change cursor and the
  // flag baseline before the UIDs (what happens after them is replayed from the feed, which
  // the new view reads at once), the UIDNEXT/HIGHESTMODSEQ shown after them (so UIDNEXT is
  // above every UID counted in EXISTS).
  const cursor = await store.lastChangeId();
  const before = (await store.getMailboxById(found.id)) ?? found;
  const uids = await s.ctx.hub.uidsAt(before.id, cursor, s.ctx.indexCache);
  const mailbox = (await store.getMailboxById(found.id)) ?? before;
  const view = new MailboxView(before, readOnly, uids, cursor, true);
  s.view = view;
  s.state = 'selected';
  s.saved = null;

  s.send(`* FLAGS (${FLAGS})`);
  s.send(`* OK [PERMANENTFLAGS (${readOnly ? '' : `${FLAGS} \\*`})] Flags permitted`);
  s.send(`* ${view.exists} EXISTS`);
  if (!s.rev2) {
    s.send('* 0 RECENT');
    if (mailbox.unseen > 0) {
      const uid = await store.firstUnseenUid(mailbox.id);
      const seq = uid === null ? 0 : view.seqOf(uid);
      if (seq > 0) s.send(`* OK [UNSEEN ${seq}] First unseen message`);
    }
  }
  s.send(`* OK [UIDVALIDITY ${mailbox.uidValidity}] UIDs valid`);
  s.send(`* OK [UIDNEXT ${mailbox.uidNext}] Predicted next UID`);
  s.send(`* OK [HIGHESTMODSEQ ${mailbox.highestModseq}] Highest`);
  s.send(`* OK [MAILBOXID (${mailboxIdString(mailbox.id)})] Mailbox id`);
  if (s.rev2) s.send(`* LIST () "/" ${mailboxOut(s, mailbox.name)}`);
  if (qresync && qresync.uidValidity === mailbox.uidValidity) await resync(s, view, qresync);
  await s.announce(true);
  s.ok(cmd.tag, `[${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${cmd.name} completed`);
}

/** RFC 7162 §3.2.5: what changed since the client's modseq: VANISHED (EARLIER), then FETCH. */
async function resync(s: Session, view: MailboxView, q: Qresync): Promise<void> {
  const store = s.ctx.store;
  const known = q.knownUids ? tokenSequenceSet(q.knownUids) : null;
  const inKnown = (uid: number) => known === null || sequenceSetContains(known, uid, 0xffffffff);
  const vanished = (await store.expungedSince(view.id, q.modseq)).filter(inKnown);
  if (vanished.length > 0) s.send(`* VANISHED (EARLIER) ${compressSet(vanished)}`);
  const changed = await store.listMessages(view.id, { changedSince: q.modseq });
  for (const e of changed) {
    const seq = view.seqOf(e.uid);
    if (seq === 0) continue;
    s.send(`* ${seq} FETCH (UID ${e.uid} FLAGS (${e.flags.join(' ')}) MODSEQ (${e.modseq}))`);
    view.noteReported(e.uid, e.modseq);
  }
}

export async function close(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'CLOSE takes no arguments');
  const view = s.view!;
  s.view = null;
  s.state = 'auth';
  // CLOSE expunges silently (no EXPUNGE responses).
  if (!view.readOnly) await s.ctx.store.expunge(view.id);
  s.ok(cmd.tag, 'CLOSE completed');
}

export async function unselect(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'UNSELECT takes no arguments');
  s.view = null;
  s.state = 'auth';
  s.ok(cmd.tag, 'UNSELECT completed');
}
