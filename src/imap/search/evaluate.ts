// SEARCH evaluation against the store.
//
// Cost model: keys that need only the index (flags, sizes, INTERNALDATE, MODSEQ, UID and
// sequence sets, EMAILID/THREADID) are evaluated from one listMessages call; TEXT/BODY use the
// full-text index (one query per key); SUBJECT/FROM/TO/CC/BCC/SENT* need the stored record and
// HEADER also the raw header bytes. Each key only looks at the candidates still alive, and the
// keys of an AND list run cheapest first, so records are fetched only for messages that
// passed every cheaper key.
//
// Semantics chosen:
//  - TEXT and BODY match words, as the full-text index does: every word of the string must
//    start a word of the message (case- and diacritics-insensitive). A string without letters
//    or digits matches every message.
//  - SUBJECT/FROM/TO/CC/BCC/HEADER are substring matches (NFC + Unicode lower case) on decoded
//    text. The full-text index is used as a prefilter only with words that any containing
//    text must hold as indexed words (see prefilterWords), and never for messages large
//    enough that their header text may have been cut when indexed.
//  - BEFORE/ON/SINCE compare the INTERNALDATE's UTC calendar date; SENT* compare the date as
//    written in the Date header (time and zone disregarded); no usable Date header: no SENT*
//    key matches.
//  - RECENT and NEW match nothing (no \Recent here); OLD matches everything.
import type { MessageIndexEntry, Store } from '../../store/types.js';
import type { SequenceSet } from '../parser/types.js';
import type { EnvelopeAddress } from '../../mime/types.js';
import { decodeHeaderValue } from '../../mime/index.js';
import { MessageLoader, type MessageDigest } from './messages.js';
import { decodedHeaderValues, foldForSearch, prefilterWords } from './text.js';
import { utcDay, writtenDay } from './dates.js';
import type { SearchKey } from './types.js';

export interface SearchContext {
  store: Store;
  mailboxId: number;
  /** UIDs of the session's view in sequence order (index i = sequence number i+1). */
  uids: ArrayLike<number>;
  /** RFC 5182 saved result (UIDs) or null when none ($ then matches nothing). */
  saved: number[] | null;
  /** Optional shared record cache (e.g. between the SEARCH and SORT phases of one command). */
  loader?: MessageLoader;
  /** The mailbox's index entries, when a cache has them (default: read from the store). */
  index?: () => Promise<MessageIndexEntry[]>;
}

export interface SearchResult {
  /** Matching UIDs, ascending. */
  uids: number[];
  /** uid → modseq of every match when the key uses MODSEQ (RFC 7162 §3.1.5), else null. */
  modseqs: Map<number, number> | null;
}

/** Messages bigger than this may have had their header text cut when indexed (the MIME
 * parser indexes at most 256 KiB of decoded header text, which is at most 4/3 of the header
 * bytes), so the full-text prefilter never excludes them. */
const PREFILTER_MAX_SIZE = 192 * 1024;

export async function evaluateSearch(key: SearchKey, ctx: SearchContext): Promise<number[]> {
  return (await evaluateSearchDetailed(key, ctx)).uids;
}

export async function evaluateSearchDetailed(key: SearchKey, ctx: SearchContext): Promise<SearchResult> {
  const entries = viewEntries(ctx.index ? await ctx.index() : await ctx.store.listMessages(ctx.mailboxId), ctx.uids);
  const ev = new Evaluator(ctx, entries);
  const all = new Uint8Array(entries.length).fill(1);
  const hits = await ev.eval(key, all);
  const uids: number[] = [];
  const modseqs = usesModseq(key) ? new Map<number, number>() : null;
  for (let i = 0; i < hits.length; i++) {
    if (hits[i]) {
      uids.push(entries[i]!.uid);
      modseqs?.set(entries[i]!.uid, entries[i]!.modseq);
    }
  }
  return { uids, modseqs };
}

/** True when the key contains a MODSEQ criterion anywhere (responses then carry MODSEQ). */
export function usesModseq(key: SearchKey): boolean {
  switch (key.type) {
    case 'modseq': return true;
    case 'and':
    case 'or': return key.keys.some(usesModseq);
    case 'not': return usesModseq(key.key);
    default: return false;
  }
}

/** The store's index restricted to the view's UIDs (both ascending). */
function viewEntries(list: MessageIndexEntry[], view: ArrayLike<number>): MessageIndexEntry[] {
  let ascending = true;
  for (let i = 1; i < view.length && ascending; i++) if (view[i]! <= view[i - 1]!) ascending = false;
  if (!ascending) {
    const set = new Set<number>();
    for (let i = 0; i < view.length; i++) set.add(view[i]!);
    return list.filter((e) => set.has(e.uid));
  }
  const out: MessageIndexEntry[] = [];
  let j = 0;
  for (const e of list) {
    while (j < view.length && view[j]! < e.uid) j++;
    if (j >= view.length) break;
    if (view[j] === e.uid) out.push(e);
  }
  return out;
}

type Bitmap = Uint8Array;

/** The search form of a digest's field, computed once per message content. */
function folded(d: MessageDigest, field: string, text: () => string): string {
  let v = d.folded?.get(field);
  if (v === undefined) {
    v = foldForSearch(text());
    d.folded?.set(field, v);
  }
  return v;
}

function cost(key: SearchKey): number {
  switch (key.type) {
    case 'text': return 1;
    case 'subject':
    case 'address': return 2;
    case 'date': return key.field === 'sent' ? 2 : 0;
    case 'header': return 3;
    case 'and':
    case 'or': return Math.max(...key.keys.map(cost));
    case 'not': return cost(key.key);
    default: return 0;
  }
}

function isEmpty(b: Bitmap): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]) return false;
  return true;
}

class Evaluator {
  private readonly n: number;
  private readonly loader: MessageLoader;
  private readonly fts = new Map<string, Set<number>>();

  constructor(private readonly ctx: SearchContext, private readonly entries: MessageIndexEntry[]) {
    this.n = entries.length;
    this.loader = ctx.loader ?? new MessageLoader(ctx.store, ctx.mailboxId);
  }

  /** The subset of `cand` matching `key`. */
  async eval(key: SearchKey, cand: Bitmap): Promise<Bitmap> {
    switch (key.type) {
      case 'and': {
        const keys = key.keys.map((k, i) => ({ k, i, c: cost(k) })).sort((a, b) => a.c - b.c || a.i - b.i);
        let cur = cand;
        for (const { k } of keys) {
          if (isEmpty(cur)) break;
          cur = await this.eval(k, cur);
        }
        return cur;
      }
      case 'or': {
        // Cheaper side first; the other side only looks at what the first did not match.
        const [a, b] = cost(key.keys[1]) < cost(key.keys[0]) ? [key.keys[1], key.keys[0]] : key.keys;
        const first = await this.eval(a, cand);
        const rest = cand.map((v, i) => (v && !first[i] ? 1 : 0));
        const second = isEmpty(rest) ? rest : await this.eval(b, rest);
        return first.map((v, i) => (v || second[i] ? 1 : 0));
      }
      case 'not': {
        const inner = await this.eval(key.key, cand);
        return cand.map((v, i) => (v && !inner[i] ? 1 : 0));
      }
      case 'all':
        return cand.slice();
      case 'recent':
        return new Uint8Array(this.n);
      case 'flag': {
        const flag = key.flag;
        const want = flag.toLowerCase();
        return this.filter(cand, (e) => e.flags.some((f) => f === flag || f.toLowerCase() === want) === key.set);
      }
      case 'size':
        return this.filter(cand, (e) => (key.op === 'larger' ? e.size > key.size : e.size < key.size));
      case 'date':
        if (key.field === 'internal') return this.filter(cand, (e) => compareDay(utcDay(e.internalDate), key.op, key.day));
        return this.byRecord(cand, [], (d) => {
          const day = d.date === null ? null : writtenDay(d.envelope.date);
          return day !== null && compareDay(day, key.op, key.day);
        });
      case 'modseq': {
        if (key.modseq > BigInt(Number.MAX_SAFE_INTEGER)) return new Uint8Array(this.n);
        const min = Number(key.modseq);
        return this.filter(cand, (e) => e.modseq >= min);
      }
      case 'emailid':
        return this.filter(cand, (e) => e.emailId === key.id);
      case 'threadid':
        return this.filter(cand, (e) => e.threadId === key.id);
      case 'uid':
        return and(cand, key.set.kind === 'saved' ? this.saved() : this.uidSet(key.set));
      case 'seq':
        return and(cand, key.set.kind === 'saved' ? this.saved() : this.seqSet(key.set));
      case 'text': {
        const set = await this.ftsSearch(key.value, key.where);
        return this.filter(cand, (e) => set.has(e.uid));
      }
      case 'subject': {
        const needle = foldForSearch(key.value);
        return this.byRecord(cand, prefilterWords(key.value), (d) => folded(d, 'subject', () => d.subject).includes(needle));
      }
      case 'address': {
        const needle = foldForSearch(key.value);
        const field = key.field;
        return this.byRecord(cand, prefilterWords(key.value), (d) => folded(d, field, () => addressText(d.envelope[field])).includes(needle));
      }
      case 'header':
        return this.byHeader(cand, key.field, key.value);
    }
  }

  private filter(cand: Bitmap, pred: (e: MessageIndexEntry, i: number) => boolean): Bitmap {
    const out = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) if (cand[i] && pred(this.entries[i]!, i)) out[i] = 1;
    return out;
  }

  private async ftsSearch(query: string, where: 'text' | 'body' | 'header'): Promise<Set<number>> {
    const k = `${where}\0${query}`;
    let set = this.fts.get(k);
    if (set === undefined) {
      set = new Set(await this.ctx.store.searchText(this.ctx.mailboxId, query, where));
      this.fts.set(k, set);
    }
    return set;
  }

  /** Candidates that survive the header full-text prefilter by `words` (all must occur). */
  private async prefilter(cand: Bitmap, words: string[]): Promise<Bitmap> {
    if (words.length === 0) return cand;
    const set = await this.ftsSearch(words.join(' '), 'header');
    return this.filter(cand, (e) => e.size > PREFILTER_MAX_SIZE || set.has(e.uid));
  }

  private candidateUids(cand: Bitmap): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (cand[i]) out.push(this.entries[i]!.uid);
    return out;
  }

  private async byRecord(cand: Bitmap, words: string[], pred: (d: MessageDigest) => boolean): Promise<Bitmap> {
    const pre = await this.prefilter(cand, words);
    const out = new Uint8Array(this.n);
    await this.loader.forEach(this.candidateUids(pre), (chunk) => {
      for (const d of chunk) {
        if (pred(d)) {
          const i = this.indexOfUid(d.uid);
          if (i >= 0) out[i] = 1;
        }
      }
    });
    return out;
  }

  private async byHeader(cand: Bitmap, field: string, value: string): Promise<Bitmap> {
    // The field name starts a line of the indexed header text, so all its words are whole
    // indexed words; the value contributes its safe words.
    const words = [...(field.match(/[a-z0-9]+/g) ?? []), ...prefilterWords(value)];
    const pre = await this.prefilter(cand, words);
    const needle = foldForSearch(value);
    const out = new Uint8Array(this.n);
    await this.loader.forEach(this.candidateUids(pre), async (chunk) => {
      const headers = await this.loader.headers(chunk);
      chunk.forEach((d, j) => {
        const values = decodedHeaderValues(headers[j]!, field);
        if (values.some((v) => needle === '' || foldForSearch(v).includes(needle))) {
          const i = this.indexOfUid(d.uid);
          if (i >= 0) out[i] = 1;
        }
      });
    });
    return out;
  }

  /** Index of a uid in the entries (ascending), or -1. */
  private indexOfUid(uid: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const u = this.entries[mid]!.uid;
      if (u === uid) return mid;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** First index with uid >= `uid`. */
  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.uid < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private saved(): Bitmap {
    const out = new Uint8Array(this.n);
    for (const uid of this.ctx.saved ?? []) {
      const i = this.indexOfUid(uid);
      if (i >= 0) out[i] = 1;
    }
    return out;
  }

  private uidSet(set: SequenceSet): Bitmap {
    const out = new Uint8Array(this.n);
    const view = this.ctx.uids;
    if (view.length === 0) return out;
    const star = view[view.length - 1]!;
    for (const [lo, hi] of intervals(set, star)) {
      for (let i = this.lowerBound(lo); i < this.n && this.entries[i]!.uid <= hi; i++) out[i] = 1;
    }
    return out;
  }

  private seqSet(set: SequenceSet): Bitmap {
    const out = new Uint8Array(this.n);
    const view = this.ctx.uids;
    const count = view.length;
    if (count === 0) return out;
    for (const [lo, hi] of intervals(set, count)) {
      for (let s = Math.max(1, lo); s <= Math.min(count, hi); s++) {
        const i = this.indexOfUid(view[s - 1]!);
        if (i >= 0) out[i] = 1;
      }
    }
    return out;
  }
}

/** A sequence set as sorted, disjoint, inclusive intervals with `*` = star. */
function intervals(set: SequenceSet, star: number): [number, number][] {
  if (set.kind !== 'set') return [];
  const raw = set.ranges.map((r): [number, number] => {
    const a = r.from === '*' ? star : r.from;
    const b = r.to === '*' ? star : r.to;
    return a <= b ? [a, b] : [b, a];
  }).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const r of raw) {
    const last = out[out.length - 1];
    if (last !== undefined && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

function and(a: Bitmap, b: Bitmap): Bitmap {
  return a.map((v, i) => (v && b[i] ? 1 : 0));
}

function compareDay(day: number, op: 'before' | 'on' | 'since', ref: number): boolean {
  return op === 'before' ? day < ref : op === 'on' ? day === ref : day >= ref;
}

/**
 * The text FROM/TO/CC/BCC search in: every address as `Name <mailbox@host>` (or just
 * `mailbox@host`), display names RFC 2047-decoded, joined by ", "; group names as `Name:`.
 */
export function addressText(list: EnvelopeAddress[] | null): string {
  if (list === null) return '';
  const parts: string[] = [];
  for (const a of list) {
    if (a.host === null) {
      if (a.mailbox !== null) parts.push(`${decodeHeaderValue(a.mailbox)}:`); // group start
      continue; // group end
    }
    const addr = a.host === '' ? a.mailbox ?? '' : `${a.mailbox ?? ''}@${a.host}`;
    const name = a.name === null ? '' : decodeHeaderValue(a.name);
    parts.push(name === '' ? addr : `${name} <${addr}>`);
  }
  return parts.join(', ');
}
