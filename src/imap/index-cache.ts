// Per-mailbox index entries shared by every session's SEARCH/SORT/THREAD, kept current
// incrementally: a search re-reads only what changed since the cached MODSEQ (every append,
// flag change and expunge raises the mailbox's HIGHESTMODSEQ), not the whole mailbox. Like
// Dovecot's index, it makes repeated searches of a big mailbox cost the search, not the load.
import type { MessageIndexEntry, Store } from '../store/types.js';

interface Cached {
  modseq: number;
  entries: MessageIndexEntry[];
}

export class IndexCache {
  private readonly mailboxes = new Map<number, Cached>();
  private total = 0;

  constructor(private readonly store: Store, private readonly maxEntries = 1_000_000) {}

  /** The mailbox's index in UID order, as of now. */
  async entries(mailboxId: number): Promise<MessageIndexEntry[]> {
    const mb = await this.store.getMailboxById(mailboxId);
    if (!mb) return [];
    const c = this.mailboxes.get(mailboxId);
    let entries: MessageIndexEntry[];
    if (c && c.modseq === mb.highestModseq) {
      entries = c.entries;
    } else if (c && c.modseq < mb.highestModseq) {
      const gone = new Set(await this.store.expungedSince(mailboxId, c.modseq));
      const changed = await this.store.listMessages(mailboxId, { changedSince: c.modseq });
      for (const e of changed) gone.add(e.uid);
      entries = c.entries.filter((e) => !gone.has(e.uid));
      if (changed.length > 0) {
        const lastOld = entries.length > 0 ? entries[entries.length - 1]!.uid : 0;
        entries.push(...changed);
        if (changed[0]!.uid < lastOld) entries.sort((a, b) => a.uid - b.uid);
      }
    } else {
      entries = await this.store.listMessages(mailboxId);
    }
    this.remember(mailboxId, { modseq: mb.highestModseq, entries });
    return entries;
  }

  /** UIDs of a mailbox the cache already holds (brought up to date), else null. */
  async uids(mailboxId: number): Promise<Uint32Array | null> {
    if (!this.mailboxes.has(mailboxId)) return null;
    const entries = await this.entries(mailboxId);
    const out = new Uint32Array(entries.length);
    for (let i = 0; i < entries.length; i++) out[i] = entries[i]!.uid;
    return out;
  }

  private remember(mailboxId: number, c: Cached): void {
    const old = this.mailboxes.get(mailboxId);
    if (old) {
      this.total -= old.entries.length;
      this.mailboxes.delete(mailboxId); // re-insert: most recently used last
    }
    this.mailboxes.set(mailboxId, c);
    this.total += c.entries.length;
    for (const [id, v] of this.mailboxes) {
      if (this.total <= this.maxEntries || id === mailboxId) break;
      this.mailboxes.delete(id);
      this.total -= v.entries.length;
    }
  }
}
