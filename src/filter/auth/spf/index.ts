// The SPF entry point the MX uses: checks the MAIL FROM identity (RFC 7208 §2.4; a null
// reverse-path is checked as postmaster@HELO) and the HELO identity (§2.3) with our own
// check_host(). mailauth's SPF was measured against the RFC 7208 suite first and failed 16 of
// 203 tests plus every explanation check (it has no exp= support), so SPF is ours.
import type { DnsLookup } from '../dns.js';
import { checkHost } from './check-host.js';
import { SpfDns } from './lookups.js';
import { parseIp } from '../../../net/ip.js';
import type { SpfResult } from './result.js';

export type { SpfResult } from './result.js';

export interface SpfIdentityResult {
  result: SpfResult;
  /** The domain whose policy was checked. */
  domain: string;
  /** The <sender> check_host() saw (postmaster@… when there was no local-part). */
  sender: string;
  explanation?: string;
  mechanism?: string;
  problem?: string;
  /** DNS-querying terms and void lookups used. */
  lookups: number;
  voidLookups: number;
}

export interface SpfInput {
  ip: string;
  helo: string;
  /** MAIL FROM address without brackets; "" for the null reverse-path. */
  mailFrom: string;
  lookup: DnsLookup;
  /** Our host name (%{r} in explanations). */
  receiver?: string;
  now?: Date;
}

/** check_host() for the MAIL FROM identity. */
export async function checkSpfMailFrom(input: SpfInput): Promise<SpfIdentityResult> {
  let sender = input.mailFrom.trim();
  if (sender === '') sender = `postmaster@${input.helo}`;
  const at = sender.lastIndexOf('@');
  if (at < 0) sender = `postmaster@${sender}`;
  else if (at === 0) sender = `postmaster${sender}`; // §4.3: no local-part
  return run(input, sender);
}

/** check_host() for the HELO identity (sender postmaster@HELO). */
export async function checkSpfHelo(input: SpfInput): Promise<SpfIdentityResult> {
  return run(input, `postmaster@${input.helo}`);
}

export interface SpfCheck {
  /** The MAIL FROM result (what DMARC uses); same as mailFrom.result. */
  result: SpfResult;
  mailFrom: SpfIdentityResult;
  helo: SpfIdentityResult;
}

/** Both identities, concurrently (each with its own DNS limits); one check for a null sender. */
export async function checkSpf(input: SpfInput): Promise<SpfCheck> {
  if (input.mailFrom.trim() === '') {
    const helo = await checkSpfHelo(input);
    return { result: helo.result, mailFrom: helo, helo };
  }
  const [mailFrom, helo] = await Promise.all([checkSpfMailFrom(input), checkSpfHelo(input)]);
  return { result: mailFrom.result, mailFrom, helo };
}

async function run(input: SpfInput, sender: string): Promise<SpfIdentityResult> {
  const domain = sender.slice(sender.lastIndexOf('@') + 1);
  const ip = parseIp(input.ip);
  const dns = new SpfDns(input.lookup);
  const base = { domain, sender, lookups: 0, voidLookups: 0 };
  if (!ip) return { ...base, result: 'none', problem: `no usable client address "${input.ip}"` };
  const out = await checkHost({ ip, domain, sender, helo: input.helo, receiver: input.receiver, now: input.now }, dns);
  return { ...base, ...out, lookups: dns.terms, voidLookups: dns.voids };
}
