// `fjord dns check`: looks up each record `dns records` prints and says whether the world sees it
// as we need it. SPF is judged by evaluating it (our own RFC 7208 check_host()) for every sending
// address, so includes and redirects count; DKIM keys must be the stored ones byte for byte.
import type { DnsLookup } from '../filter/auth/dns.js';
import { checkSpfMailFrom } from '../filter/auth/spf/index.js';
import { parseTagList } from '../filter/auth/tag-list.js';
import { ipFromBytes, parseIp } from '../net/ip.js';
import { recordValue, sendingNetworks, type DnsRecord, type DnsRecordSet } from './records.js';
import { parseStsPolicy, policyAllowsMx, type StsPolicy } from '../smtp/outbound/mta-sts-policy.js';

export type CheckStatus = 'OK' | 'MISSING' | 'WRONG' | 'ERROR';

export interface RecordCheck {
  name: string;
  type: DnsRecord['type'];
  kind: DnsRecord['kind'];
  optional: boolean;
  status: CheckStatus;
  expected: string;
  /** What DNS holds for the name and type (TXT: only the records of the same kind). */
  found: string[];
  detail?: string;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);

class LookupError extends Error {}

async function query<T>(lookup: DnsLookup, name: string, type: string): Promise<T[]> {
  try {
    const r = await lookup(name, type);
    return Array.isArray(r) ? (r as T[]) : [];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (NOT_FOUND.has(code)) return [];
    throw new LookupError(`DNS ${code} looking up ${type} ${name}`);
  }
}

const bare = (n: string) => n.toLowerCase().replace(/\.$/, '');

/** "4.3.2.1.in-addr.arpa" → "1.2.3.4" (and the 32 nibbles of ip6.arpa); null for other names. */
function ipOfReverseName(name: string): string | null {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
  if (v4) return `${v4[4]}.${v4[3]}.${v4[2]}.${v4[1]}`;
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(name);
  if (!v6) return null;
  const hex = v6[1].split('.').filter(Boolean).reverse().join('');
  return hex.match(/.{4}/g)!.join(':');
}

function sameIp(a: string, b: string): boolean {
  const x = parseIp(a), y = parseIp(b);
  return x !== null && y !== null && x.text === y.text;
}
const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** TXT records of a name whose text starts with `prefix` (the record's version tag). */
async function txtOf(lookup: DnsLookup, name: string, prefix: RegExp): Promise<string[]> {
  return (await query<string[]>(lookup, name, 'TXT')).map((strings) => strings.join('')).filter((t) => prefix.test(t));
}

type Verdict = { status: CheckStatus; found: string[]; detail?: string };

/** One record of a kind, or MISSING / WRONG for none or several. */
function single(found: string[], what: string): Verdict | null {
  if (found.length === 0) return { status: 'MISSING', found, detail: `no ${what} record` };
  if (found.length > 1) return { status: 'WRONG', found, detail: `${found.length} ${what} records: there must be exactly one` };
  return null;
}

export interface CheckOptions {
  lookup: DnsLookup;
  /** config.outbound.sendingIps: each must pass SPF. */
  sendingIps: readonly string[];
  /** Fetches the domain's MTA-STS policy file over HTTPS; without it only the TXT record is checked. */
  fetchStsPolicy?: (domain: string) => Promise<string>;
}

/** Every record of the set, looked up concurrently (a silent DNS server costs one timeout, not
 * one per record); results in the order of the set. */
export async function checkDnsRecords(set: DnsRecordSet, opts: CheckOptions): Promise<RecordCheck[]> {
  return Promise.all(set.records.map(async (r): Promise<RecordCheck> => {
    let v: Verdict;
    try {
      v = await checkOne(r, set, opts);
    } catch (e) {
      if (!(e instanceof LookupError)) throw e;
      v = { status: 'ERROR', found: [], detail: e.message };
    }
    const expected = r.type === 'TXT' ? r.text : recordValue(r);
    return { name: r.name, type: r.type, kind: r.kind, optional: r.optional, status: v.status, expected, found: v.found, ...(v.detail ? { detail: v.detail } : {}) };
  }));
}

/** Whether a required record is missing, wrong or could not be looked up. */
export function checksFailed(checks: RecordCheck[]): boolean {
  return checks.some((c) => !c.optional && c.status !== 'OK');
}

async function checkOne(r: DnsRecord, set: DnsRecordSet, opts: CheckOptions): Promise<Verdict> {
  const { lookup } = opts;
  const host = set.hostname;
  switch (r.kind) {
    case 'mx': {
      const mx = await query<{ exchange: string; priority: number }>(lookup, r.name, 'MX');
      const found = mx.map((m) => `${m.priority} ${bare(m.exchange)}`);
      if (mx.length === 0) return { status: 'MISSING', found, detail: 'no MX record' };
      if (!mx.some((m) => bare(m.exchange) === host)) return { status: 'WRONG', found, detail: `no MX points at ${host}` };
      return { status: 'OK', found };
    }
    case 'spf':
    case 'helo-spf':
      return checkSpf(r.name, host, opts);
    case 'dkim': {
      const found = await txtOf(lookup, r.name, /^\s*v\s*=\s*DKIM1\s*(;|$)|\bp\s*=/i);
      const problem = single(found, 'DKIM key');
      if (problem) return problem;
      const tags = parseTagList(found[0]!);
      const p = (tags?.get('p') ?? '').replace(/\s+/g, '');
      const k = (tags?.get('k') ?? 'rsa').toLowerCase();
      const want = r.dkim!;
      const wantK = want.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
      if (k !== wantK) return { status: 'WRONG', found: found.map(short), detail: `k=${k}, expected k=${wantK}` };
      if (p !== want.publicKey) return { status: 'WRONG', found: found.map(short), detail: `p= is not the stored ${want.algorithm} key ${want.selector} (found ${short(p) || 'empty'})` };
      return { status: 'OK', found: found.map(short) };
    }
    case 'dmarc': {
      const found = await txtOf(lookup, r.name, /^\s*v\s*=\s*DMARC1\s*(;|$)/i);
      const problem = single(found, 'DMARC');
      if (problem) return problem;
      const p = (parseTagList(found[0]!)?.get('p') ?? '').toLowerCase();
      if (p !== 'quarantine' && p !== 'reject') return { status: 'WRONG', found, detail: `p=${p || '(none)'}: must be quarantine or reject` };
      return { status: 'OK', found };
    }
    case 'mta-sts': {
      const found = await txtOf(lookup, r.name, /^\s*v\s*=\s*STSv1\s*(;|$)/);
      const problem = single(found, 'MTA-STS');
      if (problem) return problem;
      const id = parseTagList(found[0]!)?.get('id') ?? '';
      if (!/^[A-Za-z0-9]{1,32}$/.test(id)) return { status: 'WRONG', found, detail: 'id= must be 1 to 32 letters and digits' };
      if (!opts.fetchStsPolicy) return { status: 'OK', found };
      // The record makes senders fetch the policy; one they cannot use, or one that leaves out our
      // MX, makes senders that enforce it refuse to deliver to us at all (RFC 8461 §5).
      let policy: StsPolicy;
      try {
        policy = parseStsPolicy(await opts.fetchStsPolicy(set.domain));
      } catch (e) {
        return { status: 'WRONG', found, detail: `the policy at ${set.mtaSts.url} cannot be used: ${(e as Error).message}` };
      }
      if (!policyAllowsMx(policy, host)) {
        return { status: 'WRONG', found, detail: `the policy at ${set.mtaSts.url} lists mx ${policy.mx.join(', ')}, not ${host}: senders that enforce it will not deliver to us` };
      }
      return { status: 'OK', found, detail: `policy mode ${policy.mode}, mx ${policy.mx.join(', ')}` };
    }
    case 'tls-rpt': {
      const found = await txtOf(lookup, r.name, /^\s*v\s*=\s*TLSRPTv1\s*(;|$)/);
      const problem = single(found, 'TLS-RPT');
      if (problem) return problem;
      if (!/\brua\s*=\s*(mailto|https):/i.test(found[0]!)) return { status: 'WRONG', found, detail: 'no rua= address' };
      return { status: 'OK', found };
    }
    case 'srv': {
      if (r.type !== 'SRV') break;
      const srv = await query<{ name: string; port: number; priority: number; weight: number }>(lookup, r.name, 'SRV');
      const found = srv.map((s) => `${s.priority} ${s.weight} ${s.port} ${bare(s.name)}`);
      if (srv.length === 0) return { status: 'MISSING', found };
      if (!srv.some((s) => bare(s.name) === r.target && s.port === r.port)) return { status: 'WRONG', found, detail: `expected ${r.target} port ${r.port}` };
      return { status: 'OK', found };
    }
    case 'ptr': {
      if (r.type !== 'PTR') break;
      const names = (await query<string>(lookup, r.name, 'PTR')).map(bare);
      if (names.length === 0) return { status: 'MISSING', found: names, detail: 'no reverse DNS for the sending address' };
      if (!names.includes(r.target)) return { status: 'WRONG', found: names, detail: `names ${names.join(', ')}, expected ${r.target}` };
      // Forward-confirmed: the name must lead back to the address (FCrDNS).
      const ip = ipOfReverseName(r.name);
      const forward = [...(await query<string>(lookup, r.target, 'A')), ...(await query<string>(lookup, r.target, 'AAAA'))];
      if (ip !== null && !forward.some((a) => sameIp(a, ip))) {
        return { status: 'WRONG', found: names, detail: `${r.target} does not resolve back to ${ip} (it has ${forward.join(', ') || 'no address'})` };
      }
      return { status: 'OK', found: names };
    }
    case 'mta-sts-host':
    case 'autoconfig': {
      if (r.type !== 'CNAME') break;
      const cname = (await query<string>(lookup, r.name, 'CNAME')).map(bare);
      if (cname.includes(r.target)) return { status: 'OK', found: cname };
      if (cname.length) return { status: 'WRONG', found: cname, detail: `a CNAME to ${cname.join(', ')}, expected ${r.target}` };
      // Addresses of its own are fine too: the name may be served by another web server.
      const addrs = [...(await query<string>(lookup, r.name, 'A')), ...(await query<string>(lookup, r.name, 'AAAA'))];
      if (addrs.length) return { status: 'OK', found: addrs, detail: 'has addresses of its own (not a CNAME)' };
      return { status: 'MISSING', found: [] };
    }
  }
  return { status: 'ERROR', found: [], detail: `cannot check a ${r.type} record of kind ${r.kind}` };
}

/** One SPF record that ends in -all and passes for every sending address. */
async function checkSpf(name: string, host: string, opts: CheckOptions): Promise<Verdict> {
  const found = await txtOf(opts.lookup, name, /^v=spf1(\s|$)/i);
  const problem = single(found, 'SPF');
  if (problem) return problem;
  const terms = found[0]!.trim().split(/\s+/);
  if (terms[terms.length - 1]!.toLowerCase() !== '-all') {
    return { status: 'WRONG', found, detail: `ends with "${terms[terms.length - 1]}": must end with -all` };
  }
  const { networks } = sendingNetworks(opts.sendingIps);
  let ips = networks.map((c) => ipFromBytes(c.bytes).text);
  if (ips.length === 0) {
    ips = [...(await query<string>(opts.lookup, host, 'A')), ...(await query<string>(opts.lookup, host, 'AAAA'))];
    if (ips.length === 0) return { status: 'WRONG', found, detail: `outbound.sendingIps is empty and ${host} has no address: nothing to authorise` };
  }
  const results = await Promise.all(ips.map((ip) => checkSpfMailFrom({ ip, helo: host, mailFrom: `postmaster@${name}`, lookup: opts.lookup, receiver: host })));
  const failed = results.flatMap((res, i) => (res.result === 'pass' ? [] : [`${ips[i]}: ${res.result}${res.problem ? ` (${res.problem})` : ''}`]));
  if (failed.length) return { status: 'WRONG', found, detail: `sending addresses not authorised: ${failed.join('; ')}` };
  return { status: 'OK', found };
}
