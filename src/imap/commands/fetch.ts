// FETCH and UID FETCH (RFC 9051 §6.4.5) with CONDSTORE's CHANGEDSINCE and QRESYNC's VANISHED.
// Every item comes from the stored index, the stored MIME tree and the blob: nothing is
// re-parsed. Work goes in batches so a FETCH 1:* holds a bounded amount of memory.
import type { Command } from '../parser/types.js';
import { parseFetchItems, type FetchItem } from '../parser/fetch-items.js';
import { tokenSequenceSet } from '../parser/tokens.js';
import type { Session } from '../session.js';
import type { MessageIndexEntry } from '../../store/types.js';
import type { MessageContent } from '../content-cache.js';
import type { MimePart } from '../../mime/types.js';
import { decodeBody } from '../../mime/index.js';
import { type Chunk, literal, push } from '../fetch/serialize.js';
import { writeEnvelope } from '../fetch/envelope.js';
import { bodyStructure } from '../fetch/bodystructure.js';
import { findPart, sectionBytes } from '../fetch/section.js';
import { compressSet } from '../number-set.js';
import { atomUpper } from './args.js';

const BATCH = 2000;
const FLAGS_BATCH = 20_000;
const BODY_BATCH = 50;
const KNOWN_CTE = new Set([null, '7bit', '8bit', 'binary', 'base64', 'quoted-printable']);

interface Plan {
  items: FetchItem[];
  byUid: boolean;
  /** Index entries are enough (no tree, no blob). */
  needRecord: boolean;
  needBlob: boolean;
  /** Only the top-level header is needed from the blob. */
  headerOnly: boolean;
  /** Fetching sets \Seen (BODY[...] without PEEK, RFC822, RFC822.TEXT). */
  setsSeen: boolean;
  modseq: boolean;
  changedSince: number | null;
}

class UnknownCte extends Error {}

export async function fetch(s: Session, cmd: Command): Promise<void> {
  const byUid = cmd.name === 'UID FETCH';
  const view = s.view!;
  const set = tokenSequenceSet(cmd.args[0]);
  if (!set) return s.bad(cmd.tag, 'Invalid sequence set');
  const items = parseFetchItems(cmd.args[1]);
  if ('error' in items) return s.bad(cmd.tag, items.error);
  let changedSince: number | null = null;
  let vanished = false;
  const mods = cmd.args[2];
  if (mods) {
    if (mods.type !== 'list' || cmd.args.length > 3) return s.bad(cmd.tag, 'Invalid FETCH modifiers');
    for (let i = 0; i < mods.items.length; i++) {
      const m = atomUpper(mods.items[i]);
      const v = mods.items[i + 1];
      if (m === 'CHANGEDSINCE' && v?.type === 'number') {
        changedSince = Number(v.value);
        i++;
      } else if (m === 'VANISHED' && byUid && s.qresync) vanished = true;
      else return s.bad(cmd.tag, 'Invalid FETCH modifier');
    }
    if (vanished && changedSince === null) return s.bad(cmd.tag, 'VANISHED needs CHANGEDSINCE');
    s.enabled.add('CONDSTORE');
  } else if (cmd.args.length > 2) return s.bad(cmd.tag, 'Too many FETCH arguments');

  const names = new Set(items.map((i) => (i.kind === 'simple' ? i.name : i.name)));
  if (names.has('MODSEQ')) s.enabled.add('CONDSTORE');
  const plan: Plan = {
    items,
    byUid,
    needRecord: items.some((i) => i.kind === 'section' || ['ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].includes(i.name)),
    needBlob: items.some((i) => i.kind === 'section' || ['RFC822', 'RFC822.HEADER', 'RFC822.TEXT'].includes(i.name)),
    headerOnly: items.every((i) =>
      i.kind === 'simple' ? !['RFC822', 'RFC822.TEXT'].includes(i.name)
        : i.section.parts.length === 0 && (i.section.text === 'HEADER' || i.section.text === 'HEADER.FIELDS' || i.section.text === 'HEADER.FIELDS.NOT')),
    setsSeen: !view.readOnly && items.some((i) => (i.kind === 'section' && (i.name === 'BODY' || i.name === 'BINARY')) || (i.kind === 'simple' && (i.name === 'RFC822' || i.name === 'RFC822.TEXT'))),
    modseq: changedSince !== null || names.has('MODSEQ'),
    changedSince,
  };

  const seqs = view.resolve(set, byUid, s.saved);
  if (seqs === null) return s.bad(cmd.tag, 'Invalid message sequence number');
  if (vanished && changedSince !== null && set.kind === 'set') {
    // RFC 7162 §3.2.6: the messages of the requested UID set expunged since CHANGEDSINCE.
    const gone = (await s.ctx.store.expungedSince(view.id, changedSince)).filter((u) => inUidSet(set, u, view.lastUid));
    if (gone.length > 0) s.send(`* VANISHED (EARLIER) ${compressSet(gone)}`);
  }
  if (!plan.setsSeen && [...names].every((n) => n === 'UID' || n === 'FLAGS' || n === 'MODSEQ')) {
    // The flag sync of a mail program (UID FETCH 1:* (FLAGS)): columns straight from the index.
    for (let i = 0; i < seqs.length; i += FLAGS_BATCH) {
      await flagsOnly(s, seqs.slice(i, i + FLAGS_BATCH), plan);
      await s.drained();
    }
    await s.announce(byUid);
    return s.ok(cmd.tag, `${cmd.name} completed`);
  }
  try {
    for (let i = 0; i < seqs.length; i += plan.needBlob ? BODY_BATCH : BATCH) {
      await fetchBatch(s, seqs.slice(i, i + (plan.needBlob ? BODY_BATCH : BATCH)), plan);
      await s.drained();
    }
  } catch (err) {
    if (err instanceof UnknownCte) {
      await s.announce(byUid);
      return s.no(cmd.tag, '[UNKNOWN-CTE] Cannot decode this part\'s content transfer encoding');
    }
    throw err;
  }
  await s.announce(byUid);
  s.ok(cmd.tag, `${cmd.name} completed`);
}

function inUidSet(set: { kind: 'set'; ranges: { from: number | '*'; to: number | '*' }[] }, uid: number, last: number): boolean {
  for (const r of set.ranges) {
    const a = r.from === '*' ? last : r.from;
    const b = r.to === '*' ? last : r.to;
    if (uid >= Math.min(a, b) && uid <= Math.max(a, b)) return true;
  }
  return false;
}

async function fetchBatch(s: Session, seqs: number[], plan: Plan): Promise<void> {
  if (seqs.length === 0) return;
  const view = s.view!;
  const store = s.ctx.store;
  const uids = seqs.map((q) => view.uidAt(q));
  const entries = await store.listMessages(view.id, {
    uidFrom: uids[0], uidTo: uids[uids.length - 1],
    ...(plan.changedSince !== null ? { changedSince: plan.changedSince } : {}),
  });
  const byUid = new Map<number, MessageIndexEntry>();
  for (const e of entries) byUid.set(e.uid, e);
  const wanted = uids.filter((u) => byUid.has(u));
  const records = new Map<number, MessageContent>();
  if (plan.needRecord && wanted.length > 0) {
    const cache = s.ctx.contentCache;
    const missing: number[] = [];
    for (const uid of wanted) {
      const c = cache.get(byUid.get(uid)!.emailId);
      if (c) records.set(uid, c);
      else missing.push(uid);
    }
    if (missing.length > 0) for (const r of await store.getMessages(view.id, missing)) records.set(r.uid, cache.set(r.emailId, r));
  }
  // Implicit \Seen first, so the FETCH shows the new flags.
  const seenSet = new Set<number>();
  if (plan.setsSeen) {
    const unseen = wanted.filter((u) => !byUid.get(u)!.flags.includes('\\Seen'));
    if (unseen.length > 0) {
      const res = await store.setFlags(view.id, unseen, 'add', ['\\Seen']);
      for (const u of res.updated) {
        const e = byUid.get(u.uid)!;
        byUid.set(u.uid, { ...e, flags: u.flags, modseq: u.modseq });
        seenSet.add(u.uid);
        view.noteReported(u.uid, u.modseq); // shown in this FETCH: the feed need not repeat it
      }
    }
  }
  if (!plan.needRecord) return indexOnly(s, seqs, uids, byUid, plan);
  const opts = { utf8: s.utf8 };
  for (let k = 0; k < seqs.length; k++) {
    const uid = uids[k]!;
    const entry = byUid.get(uid);
    if (!entry) continue; // expunged meanwhile, or unchanged since CHANGEDSINCE
    const rec = records.get(uid);
    if (plan.needRecord && !rec) continue;
    let raw: Buffer | null = null;
    if (plan.needBlob && rec) {
      raw = plan.headerOnly
        ? await store.readBlobRange(rec.blobId, 0, rec.tree.bodyStart)
        : await store.readBlob(rec.blobId);
    }
    const out: Chunk[] = [`* ${seqs[k]} FETCH (`];
    let first = true;
    const sep = () => {
      if (first) first = false;
      else push(out, ' ');
    };
    let flagsShown = false;
    let modseqShown = false;
    if (plan.byUid && !plan.items.some((i) => i.kind === 'simple' && i.name === 'UID')) {
      sep();
      push(out, `UID ${uid}`);
    }
    for (const item of plan.items) {
      sep();
      if (item.kind === 'simple') {
        switch (item.name) {
          case 'UID': push(out, `UID ${uid}`); break;
          case 'FLAGS': push(out, `FLAGS (${entry.flags.join(' ')})`); flagsShown = true; break;
          case 'INTERNALDATE': push(out, `INTERNALDATE "${imapDate(entry.internalDate)}"`); break;
          case 'RFC822.SIZE': push(out, `RFC822.SIZE ${entry.size}`); break;
          case 'MODSEQ': push(out, `MODSEQ (${entry.modseq})`); modseqShown = true; break;
          case 'EMAILID': push(out, `EMAILID (${entry.emailId})`); break;
          case 'THREADID': push(out, `THREADID (${entry.threadId})`); break;
          case 'ENVELOPE': push(out, 'ENVELOPE '); writeEnvelope(out, rec!.envelope, opts); break;
          case 'BODY': push(out, 'BODY ', ...bodyStructure(rec!.tree, entry.size, false, opts)); break;
          case 'BODYSTRUCTURE': push(out, 'BODYSTRUCTURE ', ...bodyStructure(rec!.tree, entry.size, true, opts)); break;
          case 'RFC822': push(out, 'RFC822 ', ...literal(withoutNul(raw!))); break;
          case 'RFC822.HEADER': push(out, 'RFC822.HEADER ', ...literal(withoutNul(raw!.subarray(0, Math.min(rec!.tree.bodyStart, raw!.length))))); break;
          case 'RFC822.TEXT': push(out, 'RFC822.TEXT ', ...literal(withoutNul(raw!.subarray(Math.min(rec!.tree.bodyStart, raw!.length))))); break;
          default: push(out, `${item.name} NIL`); break;
        }
      } else {
        section(out, item, raw!, rec!.tree);
      }
    }
    if ((plan.setsSeen && seenSet.has(uid) && !flagsShown)) {
      sep();
      push(out, `FLAGS (${entry.flags.join(' ')})`);
      flagsShown = true;
    }
    if (!modseqShown && (plan.modseq || (flagsShown && s.condstore))) {
      sep();
      push(out, `MODSEQ (${entry.modseq})`);
    }
    push(out, ')');
    s.sendChunks(out);
  }
}

async function flagsOnly(s: Session, seqs: number[], plan: Plan): Promise<void> {
  if (seqs.length === 0) return;
  const view = s.view!;
  const cols = await s.ctx.store.listFlags(view.id, {
    uidFrom: view.uidAt(seqs[0]!), uidTo: view.uidAt(seqs[seqs.length - 1]!),
    ...(plan.changedSince !== null ? { changedSince: plan.changedSince } : {}),
  });
  const names = plan.items.map((i) => i.name);
  const addUid = plan.byUid && !names.includes('UID');
  const addModseq = !names.includes('MODSEQ') && (plan.modseq || (names.includes('FLAGS') && s.condstore));
  // Both lists ascend by UID: walk them together.
  let j = 0;
  for (const seq of seqs) {
    const uid = view.uidAt(seq);
    while (j < cols.uids.length && cols.uids[j]! < uid) j++;
    if (j === cols.uids.length) break;
    if (cols.uids[j] !== uid) continue;
    let line = `* ${seq} FETCH (`;
    let sep = '';
    if (addUid) {
      line += `UID ${uid}`;
      sep = ' ';
    }
    for (const name of names) {
      line += sep + (name === 'UID' ? `UID ${uid}` : name === 'FLAGS' ? `FLAGS (${cols.flags[j]})` : `MODSEQ (${cols.modseqs[j]})`);
      sep = ' ';
    }
    if (addModseq) line += `${sep}MODSEQ (${cols.modseqs[j]})`;
    s.send(line + ')');
  }
}

/** FLAGS, UID, sizes, dates, MODSEQ and object ids: one string per message, nothing else read. */
function indexOnly(s: Session, seqs: number[], uids: number[], entries: Map<number, MessageIndexEntry>, plan: Plan): void {
  const addUid = plan.byUid && !plan.items.some((i) => i.kind === 'simple' && i.name === 'UID');
  const names = plan.items.map((i) => i.name);
  const flagsShown = names.includes('FLAGS');
  const addModseq = !names.includes('MODSEQ') && (plan.modseq || (flagsShown && s.condstore));
  for (let k = 0; k < seqs.length; k++) {
    const e = entries.get(uids[k]!);
    if (!e) continue;
    let line = `* ${seqs[k]} FETCH (`;
    let sep = '';
    if (addUid) {
      line += `UID ${e.uid}`;
      sep = ' ';
    }
    for (const name of names) {
      line += sep;
      sep = ' ';
      switch (name) {
        case 'UID': line += `UID ${e.uid}`; break;
        case 'FLAGS': line += `FLAGS (${e.flags.join(' ')})`; break;
        case 'INTERNALDATE': line += `INTERNALDATE "${imapDate(e.internalDate)}"`; break;
        case 'RFC822.SIZE': line += `RFC822.SIZE ${e.size}`; break;
        case 'MODSEQ': line += `MODSEQ (${e.modseq})`; break;
        case 'EMAILID': line += `EMAILID (${e.emailId})`; break;
        case 'THREADID': line += `THREADID (${e.threadId})`; break;
        default: line += `${name} NIL`; break;
      }
    }
    if (addModseq) line += `${sep}MODSEQ (${e.modseq})`;
    s.send(line + ')');
  }
}

function section(out: Chunk[], item: Extract<FetchItem, { kind: 'section' }>, raw: Buffer, tree: MimePart): void {
  const spec = item.section;
  const label = spec.parts.join('.') + (spec.text ? (spec.parts.length ? '.' : '') + spec.text : '') +
    (spec.fields ? ` (${spec.fields.join(' ')})` : '');
  const origin = item.partial ? `<${item.partial.offset}>` : '';
  if (item.name === 'BODY' || item.name === 'BODY.PEEK') {
    const bytes = sectionBytes(raw, tree, spec, item.partial);
    push(out, `BODY[${label}]${origin} `);
    if (bytes === null) push(out, 'NIL');
    else push(out, ...literal(withoutNul(bytes)));
    return;
  }
  // BINARY (RFC 3516): the part's content with its transfer encoding removed.
  const decoded = binaryContent(raw, tree, spec.parts);
  if (item.name === 'BINARY.SIZE') {
    push(out, `BINARY.SIZE[${label}] ${decoded === null ? 0 : decoded.length}`);
    return;
  }
  push(out, `BINARY[${label}]${origin} `);
  if (decoded === null) {
    push(out, 'NIL');
    return;
  }
  let bytes = decoded;
  if (item.partial) {
    const start = Math.min(item.partial.offset, bytes.length);
    bytes = bytes.subarray(start, Math.min(bytes.length, start + item.partial.length));
  }
  // literal8 when the content holds NUL (RFC 3516 §4.2); a plain literal otherwise.
  if (bytes.includes(0)) push(out, `~{${bytes.length}}\r\n`, bytes);
  else push(out, ...literal(bytes));
}

/** A plain literal cannot carry NUL (RFC 9051 §4.3.1; only BINARY's literal8 can): NUL bytes
 * become 0x80 there, as Dovecot does. The stored message keeps them. */
function withoutNul(b: Buffer): Buffer {
  if (!b.includes(0)) return b;
  const copy = Buffer.from(b);
  for (let i = copy.indexOf(0); i !== -1; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
  return copy;
}

function binaryContent(raw: Buffer, tree: MimePart, parts: number[]): Buffer | null {
  if (parts.length === 0) return raw;
  const part = findPart(tree, parts);
  if (part === null) return null;
  if (part.type === 'multipart' || (part.type === 'message' && part.message)) {
    return raw.subarray(part.bodyStart, part.bodyEnd);
  }
  if (!KNOWN_CTE.has(part.encoding)) throw new UnknownCte();
  return decodeBody(raw, part);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** INTERNALDATE as date-time: "dd-Mon-yyyy hh:mm:ss +0000" (UTC). */
export function imapDate(d: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}
