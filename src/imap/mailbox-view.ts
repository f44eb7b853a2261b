// The selected mailbox as one session sees it: the sequence-number → UID map the client knows,
// brought up to date from the store's change feed only at the moments RFC 9051 §7.5.1 allows
// (never in the middle of a command that uses sequence numbers, and never expunging during a
// FETCH, STORE or SEARCH). Memory is one UID per message, shared between sessions until changed.
import type { Mailbox, Store } from '../store/types.js';
import type { SequenceSet } from './parser/types.js';
import { compressSet, sequenceNumberOf } from './number-set.js';

export interface SyncOptions {
  /** Expunges may be announced now (false while answering FETCH/STORE/SEARCH). */
  expunge: boolean;
  /** Include MODSEQ in flag updates (CONDSTORE enabled). */
  condstore: boolean;
  /** Announce expunges as VANISHED (QRESYNC enabled). */
  qresync: boolean;
}

export interface SyncOutput {
  lines: string[];
  /** The mailbox was deleted or renamed away by someone else. */
  gone: boolean;
}

const CHANGE_BATCH = 1000;

export class MailboxView {
  private uids: Uint32Array;
  private count: number;
  private shared: boolean;
  /** Messages the client has been told about (sequence numbers 1..announced are valid). */
  announced: number;
  /** Flag changes up to this modseq have been reported. */
  private flagsModseq: number;
  /** Change feed position the view reflects. */
  private cursor: number;
  private readonly deferredExpunges: number[] = [];
  /** Flag states this session already sent itself (uid → modseq), so the feed does not repeat them. */
  private readonly reported = new Map<number, number>();
  private flagsPending = false;
  /** Set by the change hub when something happened in this account: a sync must read the feed.
   * A new view starts dirty: changes made while it was being built must not wait for the next. */
  dirty = true;
  gone = false;

  constructor(
    public mailbox: Mailbox,
    public readonly readOnly: boolean,
    uids: Uint32Array,
    cursor: number,
    shared: boolean,
  ) {
    this.uids = uids;
    this.count = uids.length;
    this.shared = shared;
    this.announced = uids.length;
    this.flagsModseq = mailbox.highestModseq;
    this.cursor = cursor;
  }

  get id(): number {
    return this.mailbox.id;
  }

  /** Number of messages the client knows. */
  get exists(): number {
    return this.announced;
  }

  uidAt(seq: number): number {
    return this.uids[seq - 1]!;
  }

  /** Highest UID the client knows (0 when empty). */
  get lastUid(): number {
    return this.announced > 0 ? this.uids[this.announced - 1]! : 0;
  }

  /** Sequence number of a known UID, or 0. */
  seqOf(uid: number): number {
    return sequenceNumberOf(this.knownUids(), uid);
  }

  /** Index of the first known UID >= uid. */
  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.announced;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sequence numbers (ascending, unique) selected by a set of sequence numbers or UIDs.
   * Numbers beyond the known range are ignored, as RFC 9051 §6.4.8 asks for UID sets. Returns
   * null for a message sequence number that does not exist (the caller answers BAD). */
  resolve(set: SequenceSet, byUid: boolean, saved: readonly number[] | null): number[] | null {
    if (set.kind === 'saved') {
      const out: number[] = [];
      for (const uid of saved ?? []) {
        const s = this.seqOf(uid);
        if (s) out.push(s);
      }
      return out.sort((a, b) => a - b);
    }
    const n = this.announced;
    const picked = new Uint8Array(n + 1);
    let total = 0;
    for (const r of set.ranges) {
      if (byUid) {
        const last = this.lastUid;
        let a = r.from === '*' ? last : r.from;
        let b = r.to === '*' ? last : r.to;
        if (a > b) [a, b] = [b, a];
        for (let i = this.lowerBound(a); i < n && this.uids[i]! <= b; i++) {
          if (!picked[i + 1]) { picked[i + 1] = 1; total++; }
        }
      } else {
        if (n === 0) return null;
        let a = r.from === '*' ? n : r.from;
        let b = r.to === '*' ? n : r.to;
        if (a > b) [a, b] = [b, a];
        if (a < 1 || b > n) return null;
        for (let s = a; s <= b; s++) if (!picked[s]) { picked[s] = 1; total++; }
      }
    }
    const out = new Array<number>(total);
    let k = 0;
    for (let s = 1; s <= n; s++) if (picked[s]) out[k++] = s;
    return out;
  }

  /** A flag state this session just sent in its own FETCH response. */
  noteReported(uid: number, modseq: number): void {
    this.reported.set(uid, modseq);
  }

  /** UIDs in the client's view (all known messages), ascending. */
  knownUids(): Uint32Array {
    return this.uids.subarray(0, this.announced);
  }

  /**
   * Applies the changes the feed holds for this mailbox and returns the untagged responses to
   * send: EXPUNGE (or VANISHED), EXISTS, then FETCH for flag changes made by others.
   */
  async sync(store: Store, accountId: number, opts: SyncOptions): Promise<SyncOutput> {
    const lines: string[] = [];
    if (this.dirty) {
      this.dirty = false;
      for (;;) {
        const changes = await store.changesSince(accountId, this.cursor, CHANGE_BATCH);
        for (const c of changes) {
          if (c.mailboxId !== this.mailbox.id) continue;
          switch (c.kind) {
            case 'append':
              if (c.uid !== null && c.uid > (this.count > 0 ? this.uids[this.count - 1]! : 0)) this.push(c.uid);
              break;
            case 'expunge':
              if (c.uid !== null) this.deferredExpunges.push(c.uid);
              break;
            case 'flags':
              this.flagsPending = true;
              break;
            case 'mailbox-delete':
              this.gone = true;
              break;
            case 'mailbox-rename':
              if (c.name !== null) this.mailbox = { ...this.mailbox, name: c.name };
              break;
            default:
              break;
          }
        }
        if (changes.length > 0) this.cursor = changes[changes.length - 1]!.id;
        if (changes.length < CHANGE_BATCH) break;
      }
    }
    if (opts.expunge && this.deferredExpunges.length > 0) this.applyExpunges(lines, opts.qresync);
    const before = this.announced;
    if (this.count > this.announced) {
      this.announced = this.count;
      lines.push(`* ${this.count} EXISTS`);
    }
    if (this.flagsPending) {
      this.flagsPending = false;
      const entries = await store.listMessages(this.mailbox.id, { changedSince: this.flagsModseq });
      for (const e of entries) {
        if (e.modseq > this.flagsModseq) this.flagsModseq = e.modseq;
        const seq = this.seqOf(e.uid);
        if (seq === 0 || seq > before) continue; // unknown, or just announced by EXISTS
        const mine = this.reported.get(e.uid);
        if (mine !== undefined && mine >= e.modseq) continue;
        lines.push(`* ${seq} FETCH (UID ${e.uid} FLAGS (${e.flags.join(' ')})${opts.condstore ? ` MODSEQ (${e.modseq})` : ''})`);
      }
      this.reported.clear();
    } else if (this.reported.size > 10_000) {
      this.reported.clear();
    }
    return { lines, gone: this.gone };
  }

  private applyExpunges(lines: string[], qresync: boolean): void {
    const gone = new Set(this.deferredExpunges);
    this.deferredExpunges.length = 0;
    this.own();
    const vanished: number[] = [];
    let w = 0;
    const known = this.announced;
    for (let r = 0; r < this.count; r++) {
      const uid = this.uids[r]!;
      if (!gone.has(uid)) {
        this.uids[w++] = uid;
        continue;
      }
      if (r < known) {
        // Each EXPUNGE renumbers the messages after it: the sequence number is the position
        // among the messages still present, i.e. the write index.
        if (qresync) vanished.push(uid);
        else lines.push(`* ${w + 1} EXPUNGE`);
        this.announced--;
      }
    }
    this.count = w;
    if (vanished.length > 0) lines.push(`* VANISHED ${compressSet(vanished)}`);
  }

  private push(uid: number): void {
    this.own();
    if (this.count === this.uids.length) {
      const grown = new Uint32Array(Math.max(16, this.uids.length * 2));
      grown.set(this.uids);
      this.uids = grown;
    }
    this.uids[this.count++] = uid;
  }

  /** Copy-on-write of a UID array shared with other sessions. */
  private own(): void {
    if (!this.shared) return;
    this.uids = this.uids.slice(0, Math.max(this.count, 16));
    this.shared = false;
  }
}
