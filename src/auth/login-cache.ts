// Remembers recent successful password checks, so a mail program that reconnects every few
// minutes does not cost an Argon2id hash each time (Dovecot's auth_cache does the same). Only
// an HMAC of the password under a per-process random key is kept, together with the stored
// hash it was verified against: changing the password invalidates the entry.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

interface Entry {
  passwordHash: string;
  mac: Buffer;
  expires: number;
}

export class LoginCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<number, Entry>();

  constructor(private readonly ttlMs = 10 * 60_000, private readonly maxEntries = 100_000) {}

  private mac(accountId: number, password: string): Buffer {
    return createHmac('sha256', this.key).update(`${accountId}\0${password}`).digest();
  }

  /** True when this password was verified against this stored hash within the TTL. */
  check(accountId: number, passwordHash: string, password: string, now = Date.now()): boolean {
    const e = this.entries.get(accountId);
    if (!e) return false;
    if (e.expires < now || e.passwordHash !== passwordHash) {
      this.entries.delete(accountId);
      return false;
    }
    return timingSafeEqual(e.mac, this.mac(accountId, password));
  }

  remember(accountId: number, passwordHash: string, password: string, now = Date.now()): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.delete(accountId);
    this.entries.set(accountId, { passwordHash, mac: this.mac(accountId, password), expires: now + this.ttlMs });
  }
}
