// Sender authentication for one inbound message: SPF for MAIL FROM and HELO (our RFC 7208
// check_host), DKIM, ARC and DMARC (mailauth, corrected where it falls short), every DNS
// lookup through our resolver and bounded by one deadline. Gives the structured results,
// the Authentication-Results field, spam-score signals and the DMARC reject decision.
import type { Resolver } from '../../dns/resolver.js';
import { boundedLookup } from './dns.js';
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

export async function authenticateMessage(input: AuthInput): Promise<AuthVerdict> {
  const opts = input.options ?? {};
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const lookup = boundedLookup(input.resolver, { perLookupMs: opts.perLookupMs ?? 4000, deadline: Date.now() + timeoutMs });
  const [spf, dkimOut] = await Promise.all([
    checkSpf({ ip: input.ip, helo: input.helo, mailFrom: input.mailFrom, lookup, receiver: input.hostname, now: input.now }),
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
