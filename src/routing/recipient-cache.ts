// RCPT lookups hit the store several times (domain, account, aliases, catch-all); under load the
// same few recipients repeat constantly. Results are kept for a short time: a new account or
// alias is reachable within ttlMs. (Quota usage is not cached: it changes with every delivery.)
import type { Store } from '../store/types.js';
import { resolveRecipient, type Resolution } from './resolve.js';

export class RecipientCache {
  private readonly resolutions = new Map<string, { at: number; value: Promise<Resolution> }>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 2000,
    private readonly maxEntries = 10_000,
  ) {}

  resolve(address: string): Promise<Resolution> {
    return this.cached(this.resolutions, address.toLowerCase(), (a) => resolveRecipient(this.store, a));
  }

  private cached<T>(map: Map<string, { at: number; value: Promise<T> }>, key: string, load: (k: string) => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    if (map.size >= this.maxEntries) map.clear(); // crude but bounded; refills within one TTL
    const value = load(key);
    map.set(key, { at: now, value });
    value.catch(() => map.delete(key)); // never cache a failure
    return value;
  }
}
