// DNS blocklist lookups (RFC 5782) for the client address: every configured zone is queried in
// parallel through our one resolver; the A answers are mapped through the zone's return codes
// to "refuse" or points. Decisions:
// - Only answers inside 127.0.0.0/8 are listings (RFC 5782 section 2.1). Anything else (an ISP
//   resolver's "search" hijack address) and 127.255.255.0/24 (the codes public lists such as
//   Spamhaus use for "query refused / typo / over quota") are errors: the client is not listed.
// - A code maps by its most specific key: the exact address, then the longest CIDR, then "*".
//   Per zone, any answer mapped to "reject" refuses; otherwise the points of the distinct keys
//   matched are added (two answers matching one key count once, as postscreen's weights do).
//   A listing whose codes are all unmapped has no effect (reported with action null).
// - Results are cached by TTL: a listing for the smallest answer TTL, a "not listed"
//   (NXDOMAIN/NODATA) for negativeTtlMs (node:dns does not expose the SOA minimum), both capped
//   at maxTtlMs; an error (timeout, SERVFAIL, refused, bad answer) fails open and is cached only
//   for errorTtlMs, so a dead list costs one slow lookup per address per errorTtlMs. The cache
//   holds at most maxEntries results (oldest dropped first).
// - Each lookup is bounded by timeoutMs. Our resolver is shared, so a lookup that times out here
//   is not cancelled in c-ares: it runs out on the resolver's own timeout, unobserved.
// - Concurrent lookups of the same address in the same zone share one query.
// - TXT reasons: fetched in the background only after a listing and never awaited; once they
//   arrive they sit in the cache entry (`reason()`), so a refusal at RCPT or a later connection
//   can quote them. The first refusal at connect usually goes out without one.
import type { Resolver } from '../../dns/resolver.js';
import type { DnsblAction, DnsblZone } from '../../config/spam.js';
import { cidrContains, dnsblQueryName, parseCidr, parseIp, type Cidr, type Ip } from '../../net/ip.js';
import { cleanText, errorCode, isNegative, withTimeout } from './lookup.js';

export interface DnsblOptions {
  now?: () => number;
  /** How long a "not listed" answer is kept (default 5 min). */
  negativeTtlMs?: number;
  /** How long a failed lookup is remembered as "not listed" (default 30 s). */
  errorTtlMs?: number;
  /** Upper bound on any cached result (default 1 h). */
  maxTtlMs?: number;
  /** Most results held (default 50,000). */
  maxEntries?: number;
  /** Fetch TXT reasons for listings in the background (default true). */
  txt?: boolean;
}

export type ZoneStatus = 'listed' | 'clean' | 'error' | 'skipped';

export interface ZoneResult {
  zone: string;
  status: ZoneStatus;
  /** The 127.x answers (listed). */
  codes: string[];
  /** 'reject', points, or null (not listed, error, or no code mapped). */
  action: DnsblAction | null;
  /** Error code or explanation (status 'error' or 'skipped'). */
  error?: string;
  /** TXT reason, when it has arrived. */
  reason?: string;
  /** Served from the cache. */
  cached: boolean;
}

export interface DnsblResult {
  ip: string;
  zones: ZoneResult[];
  /** The first zone (in configuration order) whose answer means "refuse". */
  reject: ZoneResult | null;
  /** Points from every zone that does not refuse. */
  points: number;
}

interface CodeRule {
  key: string;
  action: DnsblAction;
  exact?: string;
  cidr?: Cidr;
}

interface CompiledZone {
  zone: string;
  ipv6: boolean;
  exact: Map<string, CodeRule>;
  cidrs: CodeRule[]; // longest prefix first
  wildcard: CodeRule | null;
}

interface Entry {
  status: 'listed' | 'clean' | 'error';
  codes: string[];
  error?: string;
  reason?: string;
  expires: number;
}

const LOOPBACK_NET = parseCidr('127.0.0.0/8')!;
const REFUSED_NET = parseCidr('127.255.255.0/24')!;

/** Compiles a zone's return-code map; throws on a malformed key so a bad config is caught at start. */
function compileZone(z: DnsblZone): CompiledZone {
  const out: CompiledZone = { zone: z.zone.toLowerCase().replace(/\.$/, ''), ipv6: z.ipv6, exact: new Map(), cidrs: [], wildcard: null };
  for (const [key, action] of Object.entries(z.codes)) {
    const k = key.trim();
    if (k === '*') {
      out.wildcard = { key: k, action };
      continue;
    }
    if (k.includes('/')) {
      const cidr = parseCidr(k);
      if (!cidr || cidr.family !== 4) throw new Error(`dnsbl ${z.zone}: return code "${key}" is not an IPv4 network`);
      out.cidrs.push({ key: k, action, cidr });
      continue;
    }
    const ip = parseIp(k);
    if (!ip || ip.family !== 4) throw new Error(`dnsbl ${z.zone}: return code "${key}" is not an IPv4 address`);
    out.exact.set(ip.text, { key: k, action, exact: ip.text });
  }
  out.cidrs.sort((a, b) => b.cidr!.prefix - a.cidr!.prefix);
  return out;
}

function ruleFor(z: CompiledZone, code: string): CodeRule | null {
  const exact = z.exact.get(code);
  if (exact) return exact;
  const ip = parseIp(code);
  if (ip) for (const r of z.cidrs) if (cidrContains(r.cidr!, ip)) return r;
  return z.wildcard;
}

/** The action of a set of answer codes in a zone (see the decisions at the top). */
function mapCodes(z: CompiledZone, codes: string[]): DnsblAction | null {
  const rules = new Map<string, CodeRule>();
  for (const c of codes) {
    const r = ruleFor(z, c);
    if (r) rules.set(r.key, r);
  }
  if (rules.size === 0) return null;
  let points = 0;
  for (const r of rules.values()) {
    if (r.action === 'reject') return 'reject';
    points += r.action;
  }
  return points;
}

export class DnsblChecker {
  private readonly zones: CompiledZone[];
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private readonly now: () => number;
  private readonly negativeTtlMs: number;
  private readonly errorTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly maxEntries: number;
  private readonly txt: boolean;

  constructor(
    zones: DnsblZone[],
    private readonly resolver: Resolver,
    private readonly timeoutMs: number,
    opts: DnsblOptions = {},
  ) {
    this.zones = zones.map(compileZone);
    this.now = opts.now ?? Date.now;
    this.negativeTtlMs = opts.negativeTtlMs ?? 300_000;
    this.errorTtlMs = opts.errorTtlMs ?? 30_000;
    this.maxTtlMs = opts.maxTtlMs ?? 3_600_000;
    this.maxEntries = Math.max(1, opts.maxEntries ?? 50_000);
    this.txt = opts.txt ?? true;
  }

  /** Results cached right now. */
  get size(): number {
    return this.cache.size;
  }

  /** Looks the address up in every zone at once. An unparseable address is looked up nowhere. */
  async check(address: string): Promise<DnsblResult> {
    const ip = parseIp(address);
    if (!ip) return { ip: address, zones: [], reject: null, points: 0 };
    const zones = await Promise.all(this.zones.map((z) => this.lookupZone(ip, z)));
    let reject: ZoneResult | null = null;
    let points = 0;
    for (const z of zones) {
      if (z.action === 'reject') reject ??= z;
      else if (typeof z.action === 'number') points += z.action;
    }
    return { ip: ip.text, zones, reject, points };
  }

  /** The TXT reason of a cached listing, if it has arrived. */
  reason(address: string, zone: string): string | undefined {
    const ip = parseIp(address);
    if (!ip) return undefined;
    const e = this.cache.get(dnsblQueryName(ip, zone.toLowerCase()));
    return e && e.expires > this.now() ? e.reason : undefined;
  }

  private async lookupZone(ip: Ip, z: CompiledZone): Promise<ZoneResult> {
    if (ip.family === 6 && !z.ipv6) return { zone: z.zone, status: 'skipped', codes: [], action: null, error: 'IPv6 not looked up in this zone', cached: false };
    const name = dnsblQueryName(ip, z.zone);
    let entry = this.cache.get(name);
    let cached = true;
    if (entry && entry.expires <= this.now()) {
      this.cache.delete(name);
      entry = undefined;
    }
    if (!entry) {
      cached = false;
      let p = this.pending.get(name);
      if (!p) {
        p = this.query(name).finally(() => this.pending.delete(name));
        this.pending.set(name, p);
      }
      entry = await p;
    }
    return {
      zone: z.zone,
      status: entry.status,
      codes: entry.codes,
      action: entry.status === 'listed' ? mapCodes(z, entry.codes) : null,
      ...(entry.error !== undefined ? { error: entry.error } : {}),
      ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      cached,
    };
  }

  private async query(name: string): Promise<Entry> {
    const started = this.now();
    let entry: Entry;
    try {
      const answers = await withTimeout(this.resolver.resolve4(name, { ttl: true }), this.timeoutMs, `dnsbl ${name}`);
      const inLoopback = answers.filter((a) => {
        const ip = parseIp(a.address);
        return ip !== null && cidrContains(LOOPBACK_NET, ip) && !cidrContains(REFUSED_NET, ip);
      });
      if (inLoopback.length === 0) {
        const got = answers.map((a) => a.address).join(', ');
        entry = { status: 'error', codes: [], error: `answer ${got} is not a listing (outside 127.0.0.0/8 or a "query refused" code)`, expires: started + this.errorTtlMs };
      } else {
        const ttlMs = Math.min(...inLoopback.map((a) => a.ttl)) * 1000;
        const codes = [...new Set(inLoopback.map((a) => a.address))].sort();
        entry = { status: 'listed', codes, expires: started + Math.min(ttlMs, this.maxTtlMs) };
      }
    } catch (e) {
      entry = isNegative(e)
        ? { status: 'clean', codes: [], expires: started + Math.min(this.negativeTtlMs, this.maxTtlMs) }
        : { status: 'error', codes: [], error: errorCode(e), expires: started + Math.min(this.errorTtlMs, this.maxTtlMs) };
    }
    this.store(name, entry);
    if (entry.status === 'listed' && this.txt) this.fetchReason(name, entry);
    return entry;
  }

  private store(name: string, entry: Entry): void {
    if (entry.expires <= this.now()) return;
    this.cache.delete(name);
    if (this.cache.size >= this.maxEntries) {
      // Drop expired results first, then the oldest ones (Map order is insertion order).
      const now = this.now();
      for (const [k, v] of this.cache) if (v.expires <= now) this.cache.delete(k);
      for (const k of this.cache.keys()) {
        if (this.cache.size < this.maxEntries) break;
        this.cache.delete(k);
      }
    }
    this.cache.set(name, entry);
  }

  private fetchReason(name: string, entry: Entry): void {
    withTimeout(this.resolver.resolveTxt(name), this.timeoutMs, `dnsbl TXT ${name}`).then(
      (records) => {
        const text = cleanText(records.map((r) => r.join('')).join(' '));
        if (text) entry.reason = text;
      },
      () => undefined, // a reason is a courtesy: no TXT, no reason
    );
  }
}
