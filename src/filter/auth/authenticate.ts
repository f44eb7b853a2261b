// Sender authentication for one inbound message: SPF for MAIL FROM and HELO (our RFC 7208
// check_host), DKIM, ARC and DMARC (mailauth, corrected where it falls short), every DNS
// lookup through our resolver and bounded by one deadline. Gives the structured results,
// the Authentication-Results field, spam-score signals and the DMARC reject decision.
import type { Resolver } from '../../dns/resolver.js';
import { boundedLookup, memoLookup, type DnsLookup } from './dns.js';
import { orgDomain } from './org-domain.js';
import { checkSpf, type SpfCheck } from './spf/index.js';
import { verifyDkim, type DkimSignatureResult } from './dkim.js';
import { verifyArc, type ArcOutcome } from './arc.js';
import { checkDmarc, type DmarcOutcome } from './dmarc.js';
import { authenticationResults } from './results-header.js';
import { authSignals, type AuthSignal } from './signals.js';

export interface AuthOptions {
  /** Reject at DATA when the sender's DMARC policy says reject and the message fails (default true). */
  honorDmarcReject?: boolean;
  /** ARC sealers (ARC-Seal d=) whose passing chain overrides a DMARC reject (RFC 7489 §6.7 local policy). */
  trustedArcSealers?: string[];
  /** Bound for the whole check (default 10 s); each lookup also stops at perLookupMs (default 4 s). */
  timeoutMs?: number;
  perLookupMs?: number;
  /** Shortest RSA key accepted for DKIM/ARC (default 1024, RFC 8301). */
  minBitLength?: number;
  /** For DMARC pct= sampling (default Math.random). */
  random?: () => number;
}

export interface AuthInput {
  raw: Buffer;
  ip: string;
  helo: string;
  /** MAIL FROM address, "" for the null reverse-path. */
  mailFrom: string;
  /** Our host name: the authserv-id of the Authentication-Results field. */
  hostname: string;
  resolver: Resolver;
  now?: Date;
  options?: AuthOptions;
  /** SPF already started (startSpf with the same ip, helo and mailFrom). */
  spf?: Promise<SpfCheck>;
  /** Domains of the From field, when the caller has parsed it: DMARC's records are then asked
   * for at once, beside SPF and DKIM, instead of after them. */
  fromDomains?: string[];
}

export interface AuthVerdict {
  spf: SpfCheck;
  dkim: DkimSignatureResult[];
  dmarc: DmarcOutcome;
  arc: ArcOutcome;
  /** "Authentication-Results: <hostname>; …\r\n", to prepend to the message. */
  header: string;
  signals: AuthSignal[];
  /** The sender's DMARC policy asks to reject this message and local policy honours it. */
  dmarcReject: boolean;
  /** The policy asks for quarantine (or reject, outside pct, or reject overridden locally). */
  dmarcQuarantine: boolean;
}

function lookupFor(input: Pick<AuthInput, 'resolver' | 'options'>) {
  const opts = input.options ?? {};
  return boundedLookup(input.resolver, { perLookupMs: opts.perLookupMs ?? 4000, deadline: Date.now() + (opts.timeoutMs ?? 10_000) });
}

/** SPF of MAIL FROM and HELO, which need nothing of the message: the SMTP server starts it when
 * the first recipient is accepted, so its DNS lookups overlap the transfer of the data instead
 * of delaying the reply to it. Never rejects (errors are SPF results). */
export function startSpf(input: Omit<AuthInput, 'raw' | 'spf' | 'fromDomains'>): Promise<SpfCheck> {
  return checkSpf({ ip: input.ip, helo: input.helo, mailFrom: input.mailFrom, lookup: lookupFor(input), receiver: input.hostname, now: input.now });
}

/** Starts the lookups DMARC will make for a single From domain: its _dmarc record and, should
 * that be missing, the organizational domain's (RFC 7489 §6.6.3). */
function prefetchDmarc(lookup: DnsLookup, fromDomains: string[]): void {
  const domains = [...new Set(fromDomains.map((d) => d.toLowerCase()).filter(Boolean))];
  if (domains.length !== 1) return;
  const org = orgDomain(domains[0]);
  for (const d of org !== '' && org !== domains[0] ? [domains[0], org] : [domains[0]]) lookup(`_dmarc.${d}`, 'TXT').catch(() => undefined);
}

export async function authenticateMessage(input: AuthInput): Promise<AuthVerdict> {
  const opts = input.options ?? {};
  const lookup = memoLookup(lookupFor(input));
  if (input.fromDomains !== undefined) prefetchDmarc(lookup, input.fromDomains);
  const [spf, dkimOut] = await Promise.all([
    input.spf ?? startSpf(input),
    verifyDkim(input.raw, { lookup, now: input.now, minBitLength: opts.minBitLength }),
  ]);
  const dkim = dkimOut.signatures;
  const spfPass = spf.mailFrom.result === 'pass' ? spf.mailFrom.domain : undefined;
  const [arc, dmarc] = await Promise.all([
    verifyArc(dkimOut.arcData, { lookup, minBitLength: opts.minBitLength }),
    checkDmarc({ headerFrom: dkimOut.headerFrom, spfDomain: spfPass, dkimDomains: dkim.filter((s) => s.result === 'pass').map((s) => s.domain), lookup, random: opts.random }),
  ]);
  // DKIM alignment as DMARC judged it (strict when adkim=s).
  if (dmarc.alignment.strictDkim) for (const s of dkim) s.aligned = s.aligned && s.domain.toLowerCase() === dmarc.fromDomain;
  const trusted = arc.result === 'pass' && !!arc.sealer && (opts.trustedArcSealers ?? []).map((d) => d.toLowerCase()).includes(arc.sealer);
  const wantsReject = dmarc.result === 'fail' && dmarc.disposition === 'reject';
  const dmarcReject = wantsReject && (opts.honorDmarcReject ?? true) && !trusted;
  const dmarcQuarantine = dmarc.result === 'fail' && !dmarcReject && dmarc.disposition !== 'none';
  const header = authenticationResults({ authservId: input.hostname, spfMailFrom: spf.mailFrom, spfHelo: spf.helo, mailFrom: input.mailFrom, helo: input.helo, dkim, dmarc, arc });
  return { spf, dkim, dmarc, arc, header, signals: authSignals(spf, dkim, dmarc, arc, trusted), dmarcReject, dmarcQuarantine };
}
