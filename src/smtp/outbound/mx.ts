// Where mail for a domain goes (RFC 5321 §5.1): its MX hosts sorted by preference (random
// order among equal preferences, to spread load), else the domain itself as an implicit MX
// when it has no MX records; a null MX (RFC 7505, "MX 0 .") means the domain takes no mail.
// Every host's IPv4 and IPv6 addresses are looked up through our Resolver (never the system's),
// so `--dns` and the tests' loopback DNS server decide.
import net from 'node:net';
import { withTimeout, type Resolver } from '../../dns/resolver.js';
import { localReply } from './reply.js';

export interface MxHost {
  /** Host name (lower case, no trailing dot), or the address literal. */
  name: string;
  preference: number;
  /** IPv4 addresses first, then IPv6. */
  addresses: string[];
}

export type Route =
  | { kind: 'hosts'; hosts: MxHost[]; implicit: boolean }
  | { kind: 'null-mx' }
  /** No route: the reply (our own, "550 5.1.2 …" or "451 4.4.3 …") says whether to retry. */
  | { kind: 'error'; reply: string };

const DNS_TIMEOUT_MS = 20_000;
/** Addresses tried per destination at most (Postfix's smtp_mx_address_limit is 5). */
const MAX_ADDRESSES = 10;

const NO_SUCH = new Set(['ENOTFOUND', 'ENODATA']);

function code(e: unknown): string {
  return (e as { code?: string }).code ?? String(e);
}

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function lookup<T>(p: Promise<T>, what: string): Promise<T> {
  return withTimeout(p, DNS_TIMEOUT_MS, () => Object.assign(new Error(`${what}: timeout`), { code: 'ETIMEOUT' }));
}

/** A and AAAA of a host; `definite` when both lookups said the name has none (not a DNS failure). */
async function addressesOf(resolver: Resolver, host: string): Promise<{ addresses: string[]; definite: boolean; error: string | null }> {
  const [v4, v6] = await Promise.allSettled([lookup(resolver.resolve4(host), host), lookup(resolver.resolve6(host), host)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  const errors = [v4, v6].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => code(r.reason));
  return { addresses, definite: errors.every((c) => NO_SUCH.has(c)), error: errors.find((c) => !NO_SUCH.has(c)) ?? null };
}

export async function resolveRoute(resolver: Resolver, domain: string): Promise<Route> {
  // An address literal (user@[192.0.2.1]) is its own host (RFC 5321 §4.1.3).
  const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) {
    const ip = literal[1];
    if (!net.isIP(ip)) return { kind: 'error', reply: localReply('550', '5.1.2', `bad address literal ${domain}`) };
    return { kind: 'hosts', hosts: [{ name: domain, preference: 0, addresses: [ip] }], implicit: true };
  }

  let mx: { exchange: string; priority: number }[] | null;
  try {
    mx = await lookup(resolver.resolveMx(domain), domain);
  } catch (e) {
    const c = code(e);
    if (c === 'ENOTFOUND') return { kind: 'error', reply: localReply('550', '5.1.2', `Host or domain name not found. Name service error for name=${domain} type=MX: Host not found`) };
    if (c !== 'ENODATA') return { kind: 'error', reply: localReply('451', '4.4.3', `Name service error for name=${domain} type=MX: ${c}`) };
    mx = null;
  }

  if (mx && mx.length) {
    const named = mx.filter((r) => norm(r.exchange) !== '');
    if (named.length === 0) return { kind: 'null-mx' };
    // equal preferences in random order, then by preference (sort is stable)
    const sorted = shuffle(named.map((r) => ({ name: norm(r.exchange), preference: r.priority }))).sort((a, b) => a.preference - b.preference);
    const looked = await Promise.all(sorted.map(async (h) => ({ ...h, ...(await addressesOf(resolver, h.name)) })));
    const hosts = capAddresses(looked.filter((h) => h.addresses.length > 0).map((h) => ({ name: h.name, preference: h.preference, addresses: h.addresses })));
    if (hosts.length === 0) {
      const err = looked.find((h) => h.error)?.error;
      return { kind: 'error', reply: localReply('451', '4.4.3', `no address for any MX host of ${domain}${err ? ` (${err})` : ''}`) };
    }
    return { kind: 'hosts', hosts, implicit: false };
  }

  // No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
  const self = await addressesOf(resolver, domain);
  if (self.addresses.length === 0) {
    return self.definite
      ? { kind: 'error', reply: localReply('550', '5.1.2', `Host or domain name not found: ${domain} has no MX, A or AAAA record`) }
      : { kind: 'error', reply: localReply('451', '4.4.3', `Name service error for name=${domain} type=A: ${self.error}`) };
  }
  return { kind: 'hosts', hosts: capAddresses([{ name: domain, preference: 0, addresses: self.addresses }]), implicit: true };
}

function capAddresses(hosts: MxHost[]): MxHost[] {
  let left = MAX_ADDRESSES;
  const out: MxHost[] = [];
  for (const h of hosts) {
    if (left <= 0) break;
    const addresses = h.addresses.slice(0, left);
    left -= addresses.length;
    out.push({ ...h, addresses });
  }
  return out;
}
