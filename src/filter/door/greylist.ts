// Greylisting (RFC 6647): a delivery attempt from a new triplet (client network, envelope
// sender, recipient) is deferred with 451 4.7.1; a real MTA retries, a fire-and-forget sender
// usually does not. The client network is the /24 for IPv4 and the /64 for IPv6 (RFC 6647
// section 4.1: pools of outbound servers retry from neighbouring addresses).
//   - first attempt: recorded, deferred
//   - retry before delayMs: deferred again (the first-seen time is kept)
//   - retry between delayMs and retryWindowMs after the first attempt: passes, and the client
//     network is allow-listed for every triplet for passTtlMs (RFC 6647 section 4.2, automatic
//     allow-listing); each later pass from that network extends it
//   - retry after retryWindowMs: starts over, as a first attempt
// State is in memory, per process: a restart forgets it (a pending triplet is simply deferred
// once more; an allow-listed network is greylisted once more). Both tables are bounded: when
// full, expired entries are dropped, then the oldest.
import { networkOf, parseIp } from '../../net/ip.js';

export interface GreylistSettings {
  delayMs: number;
  retryWindowMs: number;
  passTtlMs: number;
}

export interface GreylistOptions {
  now?: () => number;
  /** Most pending triplets held (default 100,000). */
  maxTriplets?: number;
  /** Most allow-listed networks held (default 100,000). */
  maxNetworks?: number;
}

export type GreylistVerdict =
  | { action: 'pass'; reason: 'allow-listed' | 'retried'; network: string }
  | { action: 'defer'; reason: 'new' | 'too-soon' | 'expired'; network: string; retryInMs: number };

/** The network greylisting keys an address by: "192.0.2.0/24", "2001:db8:1:2::/64". */
export function greylistNetwork(address: string): string {
  const ip = parseIp(address);
  if (!ip) return address.toLowerCase();
  return networkOf(ip, ip.family === 4 ? 24 : 64);
}

function normAddress(a: string): string {
  const s = a.trim().toLowerCase();
  const at = s.lastIndexOf('@');
  return at === -1 ? s : `${s.slice(0, at)}@${s.slice(at + 1).replace(/\.$/, '')}`;
}

export class Greylist {
  /** Triplet key → first attempt (ms). Insertion order is first-attempt order. */
  private readonly triplets = new Map<string, number>();
  /** Network → allow-listed until (ms). Insertion order is expiry order (refresh re-inserts). */
  private readonly networks = new Map<string, number>();
  private readonly now: () => number;
  private readonly maxTriplets: number;
  private readonly maxNetworks: number;

  constructor(
    private readonly settings: GreylistSettings,
    opts: GreylistOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.maxTriplets = Math.max(1, opts.maxTriplets ?? 100_000);
    this.maxNetworks = Math.max(1, opts.maxNetworks ?? 100_000);
  }

  get pendingCount(): number {
    return this.triplets.size;
  }

  get allowListedCount(): number {
    return this.networks.size;
  }

  /** Whether the client's network is allow-listed right now. */
  isAllowListed(address: string): boolean {
    const until = this.networks.get(greylistNetwork(address));
    return until !== undefined && until > this.now();
  }

  /** Decides one RCPT: `sender` is the envelope sender ("" for the null sender). */
  check(address: string, sender: string, recipient: string): GreylistVerdict {
    const now = this.now();
    const network = greylistNetwork(address);
    const until = this.networks.get(network);
    if (until !== undefined) {
      if (until > now) {
        this.allow(network, now);
        return { action: 'pass', reason: 'allow-listed', network };
      }
      this.networks.delete(network);
    }
    const key = `${network}\u0000${normAddress(sender)}\u0000${normAddress(recipient)}`;
    const first = this.triplets.get(key);
    const { delayMs, retryWindowMs } = this.settings;
    if (first === undefined || now - first > retryWindowMs) {
      this.triplets.delete(key);
      this.remember(key, now);
      return { action: 'defer', reason: first === undefined ? 'new' : 'expired', network, retryInMs: delayMs };
    }
    if (now - first < delayMs) return { action: 'defer', reason: 'too-soon', network, retryInMs: delayMs - (now - first) };
    this.triplets.delete(key);
    this.allow(network, now);
    return { action: 'pass', reason: 'retried', network };
  }

  private remember(key: string, now: number): void {
    if (this.triplets.size >= this.maxTriplets) {
      for (const [k, first] of this.triplets) {
        if (this.triplets.size < this.maxTriplets && now - first <= this.settings.retryWindowMs) break;
        this.triplets.delete(k); // expired, or the oldest when nothing has expired
      }
    }
    this.triplets.set(key, now);
  }

  private allow(network: string, now: number): void {
    this.networks.delete(network);
    if (this.networks.size >= this.maxNetworks) {
      for (const [k, until] of this.networks) {
        if (this.networks.size < this.maxNetworks && until > now) break;
        this.networks.delete(k);
      }
    }
    this.networks.set(network, now + this.settings.passTtlMs);
  }
}
