// Local allow and deny lists (spam.allow, spam.deny). An entry is one of:
//   "192.0.2.7", "2001:db8::7"         an address (IPv4-mapped IPv6 folds to IPv4)
//   "192.0.2.0/24", "2001:db8::/32"    a network
//   "user@example.com"                 a full envelope sender address
//   "example.com", "@example.com"      a domain and all its subdomains
//   ".example.com", "*.example.com"    only the subdomains
// Domains are compared to the sender's domain, the HELO name and the reverse name, as the caller
// supplies them: which facts a list may match is the caller's (the door's) decision.
// Lookups are by hash (addresses, domains walked label by label); networks are scanned.
import { cidrContains, parseCidr, parseIp, type Cidr } from '../../net/ip.js';

export type EntryKind = 'ip' | 'cidr' | 'address' | 'domain';
export type MatchedOn = 'ip' | 'address' | 'domain' | 'helo' | 'rdns';

export interface ListMatch {
  /** The entry as written in the configuration. */
  entry: string;
  kind: EntryKind;
  /** Which fact matched it. */
  on: MatchedOn;
  /** The value of that fact. */
  value: string;
}

export interface ListFacts {
  ip?: string;
  /** The sender's domain (derived from `address` when absent). */
  domain?: string;
  /** The envelope sender address. */
  address?: string;
  helo?: string;
  /** Reverse names of the client (one or several). */
  rdns?: string | string[];
}

export interface CompiledList {
  readonly size: number;
  readonly ips: Map<string, string>;
  readonly cidrs: { net: Cidr; entry: string }[];
  readonly addresses: Map<string, string>;
  /** Domain → entry; `sub` entries match subdomains only. */
  readonly domains: Map<string, { entry: string; sub: boolean }>;
}

function normName(s: string): string {
  return s.trim().toLowerCase().replace(/\.$/, '');
}

const DOMAIN_RE = /^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$/;

/** Compiles a list; throws on an entry that is none of the forms above. */
export function compileList(entries: readonly string[], name = 'list'): CompiledList {
  const list = { size: 0, ips: new Map<string, string>(), cidrs: [] as { net: Cidr; entry: string }[], addresses: new Map<string, string>(), domains: new Map<string, { entry: string; sub: boolean }>() };
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    list.size++;
    const ip = parseIp(e);
    if (ip) {
      list.ips.set(ip.text, raw);
      continue;
    }
    if (e.includes('/')) {
      const net = parseCidr(e);
      if (!net) throw new Error(`spam.${name}: "${raw}" is not a valid network`);
      if (net.prefix === (net.family === 4 ? 32 : 128)) list.ips.set(parseIp(e.slice(0, e.indexOf('/')))!.text, raw);
      else list.cidrs.push({ net, entry: raw });
      continue;
    }
    const at = e.lastIndexOf('@');
    if (at > 0) {
      const domain = normName(e.slice(at + 1));
      if (!DOMAIN_RE.test(domain)) throw new Error(`spam.${name}: "${raw}" is not a valid address`);
      list.addresses.set(`${e.slice(0, at).toLowerCase()}@${domain}`, raw);
      continue;
    }
    let d = normName(at === 0 ? e.slice(1) : e);
    let sub = false;
    if (d.startsWith('*.')) (d = d.slice(2)), (sub = true);
    else if (d.startsWith('.')) (d = d.slice(1)), (sub = true);
    if (!DOMAIN_RE.test(d)) throw new Error(`spam.${name}: "${raw}" is not an address, network, domain or e-mail address`);
    list.domains.set(d, { entry: raw, sub });
  }
  return list;
}

/** The entry matching a domain name (itself or a parent), or null. */
function matchDomain(list: CompiledList, name: string): string | null {
  let d = normName(name);
  if (!d || d.startsWith('[')) return null; // address literals are not names
  let self = true;
  for (;;) {
    const hit = list.domains.get(d);
    if (hit && (!hit.sub || !self)) return hit.entry;
    const dot = d.indexOf('.');
    if (dot === -1) return null;
    d = d.slice(dot + 1);
    self = false;
  }
}

/** The first entry matching any of the facts (checked in the order ip, address, domain, helo,
 * rdns), or null. */
export function match(list: CompiledList, facts: ListFacts): ListMatch | null {
  if (list.size === 0) return null;
  if (facts.ip) {
    const ip = parseIp(facts.ip);
    if (ip) {
      const exact = list.ips.get(ip.text);
      if (exact) return { entry: exact, kind: 'ip', on: 'ip', value: ip.text };
      for (const c of list.cidrs) if (cidrContains(c.net, ip)) return { entry: c.entry, kind: 'cidr', on: 'ip', value: ip.text };
    }
  }
  let domain = facts.domain;
  if (facts.address) {
    const a = facts.address.trim().toLowerCase();
    const at = a.lastIndexOf('@');
    if (at > 0) {
      const norm = `${a.slice(0, at)}@${normName(a.slice(at + 1))}`;
      const hit = list.addresses.get(norm);
      if (hit) return { entry: hit, kind: 'address', on: 'address', value: norm };
      domain ??= a.slice(at + 1);
    }
  }
  const names: [MatchedOn, string | undefined][] = [['domain', domain], ['helo', facts.helo]];
  for (const r of typeof facts.rdns === 'string' ? [facts.rdns] : facts.rdns ?? []) names.push(['rdns', r]);
  for (const [on, value] of names) {
    if (!value) continue;
    const hit = matchDomain(list, value);
    if (hit) return { entry: hit, kind: 'domain', on, value: normName(value) };
  }
  return null;
}
