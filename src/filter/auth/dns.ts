// The DNS function the authentication checks use: our one resolver (`createResolver(config.dns)`),
// called the way mailauth expects (it mimics `dns.promises.resolve(name, rrtype)`), with every
// lookup bounded in time and a shared deadline for the whole check, so that a silent DNS server
// turns into temperror instead of holding the SMTP transaction.
import { withTimeout, type Resolver } from '../../dns/resolver.js';
import { wireResolve } from './dns-wire.js';

export type DnsLookup = (name: string, rrtype: string) => Promise<unknown>;

export interface DnsBounds {
  /** Longest time one lookup may take (default 4 s). */
  perLookupMs?: number;
  /** Absolute time (ms since epoch) after which every lookup fails at once. */
  deadline?: number;
}

/** An error shaped like node:dns's, so mailauth and our SPF code classify it as a timeout. */
export function dnsTimeout(name: string, rrtype: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`query${rrtype} ETIMEOUT ${name}`);
  err.code = 'ETIMEOUT';
  return err;
}

// c-ares refuses to send names outside host-name syntax and rejects answers it cannot parse
// (a TXT record with no strings); those lookups are retried with our stub client against the
// same servers.
const RETRY_ON_WIRE = new Set(['EBADNAME', 'EBADRESP']);

export function boundedLookup(resolver: Resolver, bounds: DnsBounds = {}): DnsLookup {
  const perLookup = bounds.perLookupMs ?? 4000;
  const budget = () => (bounds.deadline === undefined ? perLookup : Math.min(perLookup, bounds.deadline - Date.now()));
  const viaResolver = (name: string, rrtype: string): Promise<unknown> =>
    (resolver.resolve as (n: string, t: string) => Promise<unknown>)(name, rrtype).catch((e: NodeJS.ErrnoException) => {
      if (!RETRY_ON_WIRE.has(e.code ?? '')) throw e;
      const left = budget();
      if (left <= 0) throw dnsTimeout(name, rrtype);
      return wireResolve(resolver.getServers(), name, rrtype, left);
    });
  return (name, rrtype) => {
    const left = budget();
    if (left <= 0) return Promise.reject(dnsTimeout(name, rrtype));
    return withTimeout(viaResolver(name, rrtype), left, () => dnsTimeout(name, rrtype));
  };
}

/** Each name and type asked once per message: a lookup started early (DMARC's record, beside
 * SPF and DKIM) answers the check that asks for it later from the same promise. */
export function memoLookup(lookup: DnsLookup): DnsLookup {
  const asked = new Map<string, Promise<unknown>>();
  return (name, rrtype) => {
    const key = `${name.toLowerCase()} ${rrtype}`;
    let p = asked.get(key);
    if (p === undefined) { p = lookup(name, rrtype); asked.set(key, p); }
    return p;
  };
}
