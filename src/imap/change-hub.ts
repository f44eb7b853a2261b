// One watch on the store's change feed for the whole IMAP server, fanned out to the sessions of
// each account. A notification is only a wake-up: sessions read what changed from the feed
// itself (MailboxView.sync), so nothing depends on how or when a backend delivers it.
import type { Change, Store } from '../store/types.js';
import type { IndexCache } from './index-cache.js';

const MAX_SNAPSHOT_UIDS = 4_000_000; // 16 MB

export type AccountListener = (changes: Change[]) => void;

export class ChangeHub {
  private readonly byAccount = new Map<number, Set<AccountListener>>();
  private unwatch: (() => void) | null = null;
  /** Shared UID arrays of recently selected mailboxes (copy-on-write in the views). */
  private readonly snapshots = new Map<number, { afterChangeId: number; uids: Uint32Array }>();
  private snapshotUids = 0;

  constructor(private readonly store: Store) {}

  subscribe(accountId: number, fn: AccountListener): () => void {
    if (!this.unwatch) this.unwatch = this.store.watch(null, (changes) => this.dispatch(changes));
    let set = this.byAccount.get(accountId);
    if (!set) this.byAccount.set(accountId, (set = new Set()));
    set.add(fn);
    return () => {
      const s = this.byAccount.get(accountId);
      if (!s) return;
      s.delete(fn);
      if (s.size === 0) this.byAccount.delete(accountId);
    };
  }

  /** The UIDs of a mailbox as of change `cursor` (read before calling): shared with other
   * sessions when nothing in the store changed since the cached copy was read. */
  async uidsAt(mailboxId: number, cursor: number, index?: IndexCache): Promise<Uint32Array> {
    const cached = this.snapshots.get(mailboxId);
    if (cached && cached.afterChangeId === cursor) return cached.uids;
    // Read after the cursor, so at least as new as it: replaying later changes is idempotent.
    const uids = (await index?.uids(mailboxId)) ?? await this.store.listUids(mailboxId);
    const after = await this.store.lastChangeId();
    if (after === cursor) {
      if (cached) this.snapshotUids -= cached.uids.length;
      this.snapshots.delete(mailboxId);
      this.snapshots.set(mailboxId, { afterChangeId: after, uids });
      this.snapshotUids += uids.length;
      // Bounded by total size, oldest out first.
      for (const [id, snap] of this.snapshots) {
        if (this.snapshotUids <= MAX_SNAPSHOT_UIDS || id === mailboxId) break;
        this.snapshots.delete(id);
        this.snapshotUids -= snap.uids.length;
      }
    }
    return uids;
  }

  close(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.byAccount.clear();
    this.snapshots.clear();
    this.snapshotUids = 0;
  }

  private dispatch(changes: Change[]): void {
    for (const c of changes) {
      const snap = c.mailboxId === null ? undefined : this.snapshots.get(c.mailboxId);
      if (snap) {
        this.snapshots.delete(c.mailboxId!);
        this.snapshotUids -= snap.uids.length;
      }
    }
    const accounts = new Set(changes.map((c) => c.accountId));
    for (const id of accounts) {
      const set = this.byAccount.get(id);
      if (!set) continue;
      const mine = changes.filter((c) => c.accountId === id);
      for (const fn of Array.from(set)) fn(mine);
    }
  }
}
