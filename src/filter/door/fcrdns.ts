// Forward-confirmed reverse DNS: the client's PTR names are looked up forward (A for IPv4
// clients, AAAA for IPv6) and one of them must lead back to the client address.
//   pass       a PTR name resolves back to the address (`name` is that name)
//   fail       PTR names exist but none resolves back
//   none       no PTR record (NXDOMAIN / NODATA)
//   temperror  a lookup timed out or failed, and nothing confirmed
// At most maxNames PTR names are checked (default 5; a long PTR set is either a shared host or
// an attempt to make us do work). Each lookup is bounded by timeoutMs, and the forward lookups
// run in parallel, so the whole check takes at most about two timeouts.
import type { Resolver } from '../../dns/resolver.js';
import { parseIp, reverseName, sameIp } from '../../net/ip.js';
import { errorCode, isNegative, withTimeout } from './lookup.js';

export type FcrdnsStatus = 'pass' | 'fail' | 'none' | 'temperror';

export interface FcrdnsResult {
  status: FcrdnsStatus;
  /** The forward-confirmed name (pass). */
  name?: string;
  /** The PTR names seen (lower case, no trailing dot), at most maxNames. */
  ptr: string[];
  /** What failed (temperror). */
  error?: string;
}

export interface FcrdnsOptions {
  timeoutMs: number;
  maxNames?: number;
  /** A reverse name the caller already has (smtp-server's); tried first, saving the PTR query. */
  hint?: string;
}

function clean(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export async function checkFcrdns(resolver: Resolver, address: string, opts: FcrdnsOptions): Promise<FcrdnsResult> {
  const ip = parseIp(address);
  if (!ip) return { status: 'none', ptr: [], error: 'not an IP address' };
  const maxNames = Math.max(1, opts.maxNames ?? 5);

  // Does this name resolve to the client? true / false / an error code.
  const confirms = async (name: string): Promise<boolean | string> => {
    try {
      const addrs = await withTimeout(ip.family === 4 ? resolver.resolve4(name) : resolver.resolve6(name), opts.timeoutMs, `fcrdns ${name}`);
      return addrs.some((a) => {
        const p = parseIp(a);
        return p !== null && sameIp(p, ip);
      });
    } catch (e) {
      return isNegative(e) ? false : errorCode(e);
    }
  };

  const hint = opts.hint ? clean(opts.hint) : '';
  const hinted = hint && !hint.startsWith('[') ? await confirms(hint) : null;
  if (hinted === true) return { status: 'pass', name: hint, ptr: [hint] };

  let ptr: string[];
  try {
    // resolvePtr on the arpa name, not resolver.reverse(): the latter (c-ares getHostByAddr)
    // reports SERVFAIL and timeouts as ENOTFOUND, and consults /etc/hosts.
    const arpa = reverseName(ip);
    ptr = (await withTimeout(resolver.resolvePtr(arpa), opts.timeoutMs, `fcrdns PTR ${arpa}`)).map(clean).filter(Boolean);
  } catch (e) {
    if (isNegative(e)) return { status: 'none', ptr: [] };
    return { status: 'temperror', ptr: [], error: `PTR: ${errorCode(e)}` };
  }
  ptr = [...new Set(ptr)].slice(0, maxNames);
  if (ptr.length === 0) return { status: 'none', ptr };
  const results = await Promise.all(ptr.map((n) => (hinted !== null && n === hint ? Promise.resolve(hinted) : confirms(n))));
  const i = results.indexOf(true);
  if (i !== -1) return { status: 'pass', name: ptr[i], ptr };
  const err = results.findIndex((r) => typeof r === 'string');
  if (err !== -1) return { status: 'temperror', ptr, error: `${ptr[err]}: ${results[err] as string}` };
  return { status: 'fail', ptr };
}
