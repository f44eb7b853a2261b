// Loading what SEARCH/SORT/THREAD need beyond the index: the stored record (envelope, decoded
// subject, Date) and, for HEADER search and threading, the raw top-level header bytes. Records
// are fetched in chunks and reduced to small digests, so a search over a large mailbox holds
// neither all trees nor all headers in memory at once.
import type { Envelope } from '../../mime/types.js';
import { StoreError, type MessageRecord, type Store } from '../../store/types.js';
import type { ContentCache } from '../content-cache.js';

export interface MessageDigest {
  uid: number;
  modseq: number;
  size: number;
  internalDate: Date;
  blobId: string;
  /** Byte range of the top-level header block in the blob. */
  headerStart: number;
  headerEnd: number;
  envelope: Envelope;
  /** Decoded Subject ("" when none). */
  subject: string;
  /** Parsed Date header, null when missing or unparsable. */
  date: Date | null;
  /** Message-ID without angle brackets. */
  messageId: string | null;
  /** Search forms computed once per content (shared through the content cache). */
  folded?: Map<string, string>;
}

/** What a loader may use to skip the store: the index entry of a uid and the shared cache. */
export interface SharedContent {
  cache: ContentCache;
  entryOf(uid: number): { uid: number; modseq: number; size: number; internalDate: Date; emailId: string } | undefined;
}

const CHUNK = 250;
const HEADER_CONCURRENCY = 16;
const CACHE_LIMIT = 20000;

export class MessageLoader {
  private readonly cache = new Map<number, MessageDigest>();

  constructor(readonly store: Store, readonly mailboxId: number, private readonly shared?: SharedContent) {}

  /**
   * Calls `fn` for the digest of every uid the store still has (in chunks; expunged ones are
   * skipped). Digests are cached up to a bound so several keys of one search share them.
   */
  async forEach(uids: ArrayLike<number>, fn: (chunk: MessageDigest[]) => void | Promise<void>): Promise<void> {
    let pending: number[] = [];
    let cached: MessageDigest[] = [];
    const flush = async () => {
      const out = cached;
      cached = [];
      if (pending.length > 0) {
        const records = await this.store.getMessages(this.mailboxId, pending);
        pending = [];
        for (const r of records) {
          const d = digest(r);
          if (this.cache.size < CACHE_LIMIT) this.cache.set(d.uid, d);
          this.shared?.cache.set(r.emailId, r);
          out.push(d);
        }
      }
      if (out.length > 0) await fn(out);
    };
    for (let i = 0; i < uids.length; i++) {
      const uid = uids[i]!;
      const hit = this.cache.get(uid) ?? this.fromShared(uid);
      if (hit !== undefined) cached.push(hit);
      else pending.push(uid);
      if (pending.length + cached.length >= CHUNK) await flush();
    }
    await flush();
  }

  private fromShared(uid: number): MessageDigest | undefined {
    const e = this.shared?.entryOf(uid);
    const c = e && this.shared!.cache.get(e.emailId);
    if (!e || !c) return undefined;
    return {
      uid, modseq: e.modseq, size: e.size, internalDate: e.internalDate, blobId: c.blobId, headerStart: c.tree.headerStart,
      headerEnd: c.tree.bodyStart, envelope: c.envelope, subject: c.subject, date: c.date, messageId: c.messageId,
      folded: (c.folded ??= new Map()),
    };
  }

  /** Raw top-level header block of a message; empty when its blob is gone (expunged meanwhile). */
  async header(d: MessageDigest): Promise<Buffer> {
    if (d.headerEnd <= d.headerStart) return Buffer.alloc(0);
    try {
      return await this.store.readBlobRange(d.blobId, d.headerStart, d.headerEnd);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'not-found') return Buffer.alloc(0);
      throw err;
    }
  }

  /** Headers of a chunk, in the chunk's order, read with bounded concurrency. */
  async headers(chunk: MessageDigest[]): Promise<Buffer[]> {
    const out: Buffer[] = new Array<Buffer>(chunk.length);
    for (let i = 0; i < chunk.length; i += HEADER_CONCURRENCY) {
      const part = chunk.slice(i, i + HEADER_CONCURRENCY);
      const bufs = await Promise.all(part.map((d) => this.header(d)));
      bufs.forEach((b, j) => { out[i + j] = b; });
    }
    return out;
  }
}

function digest(r: MessageRecord): MessageDigest {
  return {
    uid: r.uid,
    modseq: r.modseq,
    size: r.size,
    internalDate: r.internalDate,
    blobId: r.blobId,
    headerStart: r.tree.headerStart,
    headerEnd: r.tree.bodyStart,
    envelope: r.envelope,
    subject: r.subject,
    date: r.date,
    messageId: r.messageId,
  };
}
