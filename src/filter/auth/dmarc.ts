// DMARC (RFC 7489): mailauth finds the policy record (From domain, then organisational domain
// by the Public Suffix List) and does relaxed alignment; we redo strict alignment (mailauth
// 4.13.3 passes an object where a boolean is expected, so adkim=s/aspf=s fall back to relaxed),
// normalise p/sp (§6.6.3) and apply pct= (§6.6.4).
import { dmarc as mailauthDmarc } from 'mailauth';
import type { DnsLookup } from './dns.js';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface DmarcOutcome {
  result: 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
  /** RFC5322.From domain (lower case), '' when there is no single one. */
  fromDomain: string;
  /** The domain whose policy this is, for messages ("rejected by the DMARC policy of …"): the From domain. */
  domain: string;
  /** The policy that applies to this domain (sp for a subdomain covered by its org record). */
  policy?: DmarcPolicy;
  p?: DmarcPolicy;
  sp?: DmarcPolicy;
  pct: number;
  /** What the policy asks for this message after pct sampling (§6.6.4); none unless fail. */
  disposition: DmarcPolicy;
  alignment: { spf: boolean; dkim: boolean; strictSpf: boolean; strictDkim: boolean };
  record?: string;
  comment?: string;
}

export interface DmarcInput {
  headerFrom: string[];
  /** Domain of the SPF-authenticated identity (MAIL FROM, or HELO for a null sender), if SPF passed. */
  spfDomain?: string;
  /** Domains of the DKIM signatures that passed. */
  dkimDomains: string[];
  lookup: DnsLookup;
  /** 0 ≤ x < 1, for pct sampling (default Math.random). */
  random?: () => number;
}

interface MailauthDmarc {
  status: { result: string; comment?: string };
  policy?: string;
  p?: string;
  sp?: string;
  pct?: number;
  rr?: string;
  error?: string;
  alignment?: { spf?: { result?: string | false }; dkim?: { result?: string | false } };
}

const POLICIES = new Set(['none', 'quarantine', 'reject']);

export async function checkDmarc(input: DmarcInput): Promise<DmarcOutcome> {
  const domains = [...new Set(input.headerFrom.map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase()).filter(Boolean))];
  const base: DmarcOutcome = { result: 'none', fromDomain: '', domain: '', pct: 100, disposition: 'none', alignment: { spf: false, dkim: false, strictSpf: false, strictDkim: false } };
  // §6.6.1: DMARC needs exactly one author domain.
  if (domains.length !== 1) return { ...base, result: domains.length ? 'permerror' : 'none', comment: domains.length ? 'several From domains' : 'no From domain' };
  const fromDomain = domains[0];
  base.domain = fromDomain;
  const res = (await mailauthDmarc({
    headerFrom: `postmaster@${fromDomain}`,
    spfDomains: input.spfDomain ? [input.spfDomain] : [],
    dkimDomains: input.dkimDomains.map((domain) => ({ domain })),
    resolver: input.lookup as never,
  })) as unknown as MailauthDmarc | false;
  if (!res || res.status.result === 'none') return { ...base, fromDomain };
  if (res.status.result === 'temperror') return { ...base, fromDomain, result: 'temperror', comment: res.error };
  const tags = recordTags(res.rr ?? '');
  const strictSpf = tags.get('aspf') === 's';
  const strictDkim = tags.get('adkim') === 's';
  const spf = strictSpf ? input.spfDomain?.toLowerCase() === fromDomain : Boolean(res.alignment?.spf?.result);
  const dkim = strictDkim ? input.dkimDomains.some((d) => d.toLowerCase() === fromDomain) : Boolean(res.alignment?.dkim?.result);
  const p = policyOf(res.p);
  const sp = policyOf(res.sp) ?? p;
  const policy = policyOf(res.policy) ?? 'none'; // §6.6.3: an unknown p= acts as none
  const pctTag = Number(tags.get('pct') ?? 100);
  const pct = Number.isInteger(pctTag) && pctTag >= 0 && pctTag <= 100 ? pctTag : 100;
  const result = spf || dkim ? 'pass' : 'fail';
  let disposition: DmarcPolicy = 'none';
  if (result === 'fail' && policy !== 'none') {
    // §6.6.4: outside the pct sample, the next lower policy applies.
    const sampled = (input.random ?? Math.random)() * 100 < pct;
    disposition = sampled ? policy : policy === 'reject' ? 'quarantine' : 'none';
  }
  const out: DmarcOutcome = { result, fromDomain, domain: fromDomain, policy, pct, disposition, alignment: { spf, dkim, strictSpf, strictDkim } };
  if (p) out.p = p;
  if (sp) out.sp = sp;
  if (res.rr) out.record = res.rr;
  return out;
}

function policyOf(v: string | undefined): DmarcPolicy | undefined {
  const x = (v ?? '').trim().toLowerCase();
  return POLICIES.has(x) ? (x as DmarcPolicy) : undefined;
}

function recordTags(rr: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of rr.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().toLowerCase());
  }
  return tags;
}
