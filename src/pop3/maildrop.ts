// The maildrop of one POP3 session (RFC 1939 §8): a snapshot of the account's Inbox taken at
// login, numbered 1..n, with deletions held until QUIT. Sizes are exact: the octets RETR
// sends for the message (line ends made CRLF, a final CRLF added when missing), before
// dot-stuffing, which the client removes.
import type { Store } from '../store/types.js';

export interface DropMessage {
  uid: number;
  blobId: string;
  size: number;
  deleted: boolean;
}

/** The message as POP3 sends it: every line ending CRLF. Returns `raw` itself when it already is. */
export function crlfMessage(raw: Buffer): Buffer {
  let bare = 0;
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) if (i === 0 || raw[i - 1] !== 0x0d) bare++;
  const endsWell = raw.length >= 2 && raw[raw.length - 2] === 0x0d && raw[raw.length - 1] === 0x0a;
  if (bare === 0 && (endsWell || raw.length === 0)) return raw;
  const out = Buffer.allocUnsafe(raw.length + bare + 2);
  let w = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) out[w++] = 0x0d;
    out[w++] = c;
  }
  if (!(w >= 2 && out[w - 2] === 0x0d && out[w - 1] === 0x0a)) {
    out[w++] = 0x0d;
    out[w++] = 0x0a;
  }
  return out.subarray(0, w);
}

const TERMINATOR = Buffer.from('.\r\n');

/** Dot-stuffs a CRLF message and appends the terminating ".CRLF" (RFC 1939 §3), as pieces to
 * write in order: the message itself when no line starts with a dot (the usual case). */
export function dotStuffed(msg: Buffer): Buffer[] {
  let dots = msg[0] === 0x2e ? 1 : 0;
  for (let i = msg.indexOf('\n.'); i !== -1; i = msg.indexOf('\n.', i + 2)) dots++;
  if (dots === 0) return [msg, TERMINATOR];
  const out = Buffer.allocUnsafe(msg.length + dots + 3);
  let w = 0;
  let lineStart = true;
  for (let i = 0; i < msg.length; i++) {
    const c = msg[i]!;
    if (lineStart && c === 0x2e) out[w++] = 0x2e;
    out[w++] = c;
    lineStart = c === 0x0a;
  }
  out[w++] = 0x2e;
  out[w++] = 0x0d;
  out[w++] = 0x0a;
  return [out.subarray(0, w)];
}

/** Exact POP3 sizes by blob (content never changes): computed once per blob, bounded. */
export class SizeCache {
  private readonly map = new Map<string, number>();
  constructor(private readonly max = 200_000) {}
  async size(store: Store, blobId: string): Promise<number> {
    const hit = this.map.get(blobId);
    if (hit !== undefined) return hit;
    const size = crlfMessage(await store.readBlob(blobId)).length;
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(blobId, size);
    return size;
  }
}

export class Maildrop {
  private constructor(
    readonly mailboxId: number,
    readonly uidValidity: number,
    readonly messages: DropMessage[],
  ) {}

  static async open(store: Store, accountId: number, sizes: SizeCache): Promise<Maildrop> {
    const inbox = await store.getMailbox(accountId, 'INBOX');
    if (!inbox) throw new Error('account has no INBOX');
    const uids = Array.from(await store.listUids(inbox.id));
    const messages: DropMessage[] = [];
    for (let i = 0; i < uids.length; i += 500) {
      for (const r of await store.getMessages(inbox.id, uids.slice(i, i + 500))) {
        messages.push({ uid: r.uid, blobId: r.blobId, size: await sizes.size(store, r.blobId), deleted: false });
      }
    }
    return new Maildrop(inbox.id, inbox.uidValidity, messages);
  }

  /** Message n (1-based) unless it does not exist or is marked deleted. */
  get(n: number): DropMessage | null {
    const m = Number.isSafeInteger(n) && n >= 1 ? this.messages[n - 1] : undefined;
    return m && !m.deleted ? m : null;
  }

  /** Unique-id listing (RFC 1939 §7): stable for the message's life, never reused, since
   * UIDs are never reused within a UIDVALIDITY. */
  uidl(m: DropMessage): string {
    return `${this.uidValidity.toString(36)}.${m.uid.toString(36)}`;
  }

  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (const m of this.messages) {
      if (m.deleted) continue;
      count++;
      octets += m.size;
    }
    return { count, octets };
  }

  reset(): void {
    for (const m of this.messages) m.deleted = false;
  }

  /** UPDATE state: expunges the messages marked deleted (IMAP sessions see the expunge). */
  async commit(store: Store): Promise<number> {
    const gone = this.messages.filter((m) => m.deleted).map((m) => m.uid);
    if (gone.length > 0) await store.expunge(this.mailboxId, gone);
    return gone.length;
  }
}
