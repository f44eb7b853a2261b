// STORE and UID STORE (RFC 9051 §6.4.6) with CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3).
// Setting $Junk or $NotJunk reports the messages as spam / not spam.
import type { Command } from '../parser/types.js';
import { tokenSequenceSet } from '../parser/tokens.js';
import type { Session } from '../session.js';
import type { FlagOperation } from '../../store/types.js';
import { compressSet } from '../number-set.js';
import { atomUpper, flagList } from './args.js';
import { reportJunk } from './junk.js';

export async function store(s: Session, cmd: Command): Promise<void> {
  const byUid = cmd.name === 'UID STORE';
  const view = s.view!;
  const set = tokenSequenceSet(cmd.args[0]);
  if (!set) return s.bad(cmd.tag, 'Invalid sequence set');
  let i = 1;
  let unchangedSince: number | undefined;
  const mod = cmd.args[1];
  if (mod?.type === 'list') {
    if (mod.items.length !== 2 || atomUpper(mod.items[0]) !== 'UNCHANGEDSINCE' || mod.items[1]?.type !== 'number') {
      return s.bad(cmd.tag, 'Invalid STORE modifier');
    }
    unchangedSince = Number(mod.items[1].value);
    s.enabled.add('CONDSTORE');
    i = 2;
  }
  const action = atomUpper(cmd.args[i]);
  const m = action ? /^([+-]?)FLAGS(\.SILENT)?$/.exec(action) : null;
  if (!m) return s.bad(cmd.tag, 'STORE expects FLAGS, +FLAGS or -FLAGS');
  // The grammar needs a flag list or at least one flag: "STORE 1 FLAGS" must not clear flags.
  const flags = cmd.args[i + 1] === undefined ? null : flagList(cmd.args[i + 1], cmd.args.slice(i + 2));
  if (flags === null) return s.bad(cmd.tag, 'Invalid flag list');
  const op: FlagOperation = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace';
  const silent = m[2] !== undefined;
  if (view.readOnly) return s.no(cmd.tag, '[READ-ONLY] Mailbox is read-only');

  const seqs = view.resolve(set, byUid, s.saved);
  if (seqs === null) return s.bad(cmd.tag, 'Invalid message sequence number');
  const uids = seqs.map((q) => view.uidAt(q));
  const res = uids.length > 0 ? await s.ctx.store.setFlags(view.id, uids, op, flags, unchangedSince) : { updated: [], modified: [] };

  // Every message named gets a FETCH with its flags (changed or not), unless .SILENT; with
  // UNCHANGEDSINCE, the new MODSEQ goes out even when silent (RFC 7162 §3.1.3).
  const updated = new Map(res.updated.map((u) => [u.uid, u]));
  const modified = new Set(res.modified);
  const needCurrent = !silent ? uids.filter((u) => !updated.has(u) && !modified.has(u)) : [];
  const current = new Map<number, { flags: string[]; modseq: number }>();
  if (needCurrent.length > 0) {
    for (const e of await s.ctx.store.listMessages(view.id, { uidFrom: needCurrent[0], uidTo: needCurrent[needCurrent.length - 1] })) {
      current.set(e.uid, e);
    }
  }
  for (let k = 0; k < uids.length; k++) {
    if (k > 0 && k % 1000 === 0) await s.drained(); // a STORE 1:* on a big mailbox, slow reader
    const uid = uids[k]!;
    const u = updated.get(uid);
    if (u) {
      view.noteReported(uid, u.modseq);
      if (silent && unchangedSince === undefined) continue;
      const parts = [byUid ? `UID ${uid}` : '', silent ? '' : `FLAGS (${u.flags.join(' ')})`, s.condstore ? `MODSEQ (${u.modseq})` : '']
        .filter(Boolean);
      s.send(`* ${seqs[k]} FETCH (${parts.join(' ')})`);
    } else if (!silent && !modified.has(uid)) {
      const c = current.get(uid);
      if (!c) continue;
      const parts = [byUid ? `UID ${uid}` : '', `FLAGS (${c.flags.join(' ')})`, s.condstore ? `MODSEQ (${c.modseq})` : ''].filter(Boolean);
      s.send(`* ${seqs[k]} FETCH (${parts.join(' ')})`);
    }
  }
  await reportJunkKeywords(s, op, flags, res.updated);
  await s.announce(byUid);
  if (res.modified.length > 0) {
    const ids = byUid ? res.modified : res.modified.map((u) => view.seqOf(u)).filter((q) => q > 0).sort((a, b) => a - b);
    return s.ok(cmd.tag, `[MODIFIED ${compressSet(ids)}] Conditional STORE failed for some messages`);
  }
  s.ok(cmd.tag, `${cmd.name} completed`);
}

async function reportJunkKeywords(s: Session, op: FlagOperation, flags: string[], updated: { uid: number }[]): Promise<void> {
  if (op === 'remove') return;
  const lower = flags.map((f) => f.toLowerCase());
  const verdict = lower.includes('$junk') ? 'spam' : lower.includes('$notjunk') ? 'ham' : null;
  if (verdict) await reportJunk(s, verdict, 'keyword', s.view!.id, updated.map((u) => u.uid));
}
