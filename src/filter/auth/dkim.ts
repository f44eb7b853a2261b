// DKIM verification (RFC 6376; ed25519 RFC 8463; RFC 8301 algorithm and key-size rules) through
// mailauth's verifier with our DNS function, then checked and mapped to RFC 8601 results:
// mailauth reports most unusable signatures as "neutral" and accepts rsa-sha1, a d= that is not
// a domain name, and signatures whose h= lacks From; those become permerror here.
import { dkimVerify } from 'mailauth';
import type { DnsLookup } from './dns.js';
import { headerValue, isDomainName, parseTagList } from './tag-list.js';
import { keyProblem, spkiKeyRecords } from './dkim-key.js';

export type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'temperror' | 'permerror';

export interface DkimSignatureResult {
  result: DkimResult;
  /** d= (signing domain), s= (selector), a= (algorithm), i= (identity, when given). */
  domain: string;
  selector: string;
  algorithm: string;
  identity?: string;
  /** First characters of b=, to tell signatures apart in the AR header (RFC 6008). */
  b: string;
  /** d= is the From domain's organisational domain or below it (relaxed DMARC alignment). */
  aligned: boolean;
  comment?: string;
}

export interface DkimOptions {
  lookup: DnsLookup;
  now?: Date;
  /** RSA keys shorter than this are a "policy" result (default 1024, RFC 8301). */
  minBitLength?: number;
  /** Accept rsa-sha1 and signatures without v=1 (old corpora only; RFC 8301 forbids sha1). */
  legacy?: boolean;
}

export interface DkimOutcome {
  signatures: DkimSignatureResult[];
  /** Addresses of the From header field(s), as parsed by mailauth. */
  headerFrom: string[];
  /** mailauth's ARC chain data (input to the ARC check). */
  arcData: unknown;
}

interface MailauthSig {
  signingDomain?: string;
  selector?: string;
  signature?: string;
  algo?: string;
  /** The key record used (whitespace removed). */
  rr?: string;
  status: { result: string; comment?: string; aligned?: string | false };
}

const PERMANENT_NEUTRAL = /no key|unknown key|invalid public key|expired|invalid expiration/i;

export async function verifyDkim(raw: Buffer, opts: DkimOptions): Promise<DkimOutcome> {
  const lookup = spkiKeyRecords(opts.lookup);
  const res = await dkimVerify(raw, {
    resolver: lookup as never,
    minBitLength: opts.minBitLength ?? 1024,
    ...(opts.now ? { curTime: opts.now } : {}),
  });
  const found = (res.results as unknown as MailauthSig[]).filter((r) => r.signingDomain !== undefined);
  const lines = (res.headers?.parsed ?? []).filter((h) => h.key === 'dkim-signature').map((h) => h.line.toString());
  const signatures = lines.map((line) => judge(line, found, opts));
  for (const sig of signatures) {
    // mailauth compares the body hash before fetching the key: a key problem comes first (§6.1.2).
    if (sig.result !== 'fail' || !/body hash/i.test(sig.comment ?? '')) continue;
    const problem = await keyProblem(lookup, sig.selector, sig.domain);
    if (problem) Object.assign(sig, problem);
  }
  return { signatures, headerFrom: res.headerFrom ?? [], arcData: res.arc };
}

function judge(line: string, found: MailauthSig[], opts: DkimOptions): DkimSignatureResult {
  const tags = parseTagList(headerValue(line));
  const b = (tags?.get('b') ?? '').replace(/\s+/g, '');
  const out: DkimSignatureResult = {
    result: 'permerror',
    domain: tags?.get('d') ?? '',
    selector: tags?.get('s') ?? '',
    algorithm: (tags?.get('a') ?? '').toLowerCase(),
    b: b.slice(0, 12),
    aligned: false,
  };
  if (tags?.get('i')) out.identity = tags.get('i');
  const index = found.findIndex((r) => (r.signature ?? '').replace(/\s+/g, '') === b);
  const theirs = index >= 0 ? found.splice(index, 1)[0] : undefined;
  const problem = tags ? structuralProblem(tags, opts) : 'malformed tag list';
  if (problem) return { ...out, comment: problem };
  if (!theirs) return { ...out, comment: 'unsupported algorithm or canonicalization' };
  out.aligned = Boolean(theirs.status.aligned);
  const comment = theirs.status.comment;
  if (comment) out.comment = comment;
  const keyProblem = theirs.rr && theirs.status.result === 'pass' ? keyRecordProblem(theirs.rr, tags!) : null;
  if (keyProblem) return { ...out, comment: keyProblem };
  switch (theirs.status.result) {
    case 'pass':
    case 'fail':
    case 'policy':
    case 'temperror':
      out.result = theirs.status.result;
      break;
    case 'neutral':
      // mailauth's "neutral" carries the reason: a body hash mismatch is a verification
      // failure; no key, a bad key record, an expired signature are permanent errors.
      if (/body hash/i.test(comment ?? '')) out.result = 'fail';
      else out.result = PERMANENT_NEUTRAL.test(comment ?? '') ? 'permerror' : 'neutral';
      break;
    default:
      out.result = 'permerror';
  }
  return out;
}

/** RFC 6376 §6.1.1 checks mailauth does not make (and RFC 8301's ban on rsa-sha1). */
function structuralProblem(tags: Map<string, string>, opts: DkimOptions): string | null {
  const v = tags.get('v');
  if (v !== '1' && !opts.legacy) return `unsupported version v=${v ?? '(missing)'}`;
  for (const t of ['a', 'b', 'bh', 'd', 'h', 's']) if (!tags.get(t)) return `missing ${t}= tag`;
  const d = tags.get('d')!;
  if (!isDomainName(d)) return `invalid signing domain d=${d}`;
  if (!isDomainName(tags.get('s')!)) return `invalid selector s=${tags.get('s')}`;
  const h = tags.get('h')!.split(':').map((x) => x.trim().toLowerCase());
  if (!h.includes('from')) return 'From header field not signed';
  const i = identityDomain(tags);
  if (i !== null && i !== d.toLowerCase() && !i.endsWith(`.${d.toLowerCase()}`)) return 'i= domain is not d= or below it';
  const q = tags.get('q');
  if (q !== undefined && !q.split(':').some((m) => m.trim().toLowerCase() === 'dns/txt')) return `unsupported query method q=${q}`;
  const a = tags.get('a')!.toLowerCase();
  if (a === 'rsa-sha1' && !opts.legacy) return 'rsa-sha1 is not accepted (RFC 8301)';
  const t = tags.get('t');
  const x = tags.get('x');
  if (t && x && Number(x) < Number(t)) return 'x= is before t=';
  return null;
}

/** The domain of i= (dkim-quoted-printable decoded), or null when there is no i=. */
function identityDomain(tags: Map<string, string>): string | null {
  const raw = tags.get('i');
  if (raw === undefined) return null;
  const i = raw.replace(/\s+/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return i.slice(i.lastIndexOf('@') + 1).toLowerCase();
}

/** RFC 6376 §3.6.1 key-record tags mailauth does not apply: h=, s=, t=s. */
function keyRecordProblem(rr: string, sig: Map<string, string>): string | null {
  const key = parseTagList(rr);
  if (!key) return 'malformed key record';
  const hash = (sig.get('a') ?? '').toLowerCase().split('-').pop() ?? '';
  if ((key.get('k') ?? '').toLowerCase() === 'ed25519' && Buffer.from(key.get('p') ?? '', 'base64').length !== 32) return 'ed25519 key is not the raw 32-octet key (RFC 8463)';
  const h = key.get('h');
  if (h !== undefined && !h.toLowerCase().split(':').includes(hash)) return `key record does not allow ${hash} (h=${h})`;
  const s = key.get('s');
  if (s !== undefined && !s.toLowerCase().split(':').some((x) => x === '*' || x === 'email')) return `key record is not for email (s=${s})`;
  const flags = (key.get('t') ?? '').toLowerCase().split(':');
  const i = identityDomain(sig);
  if (flags.includes('s') && i !== null && i !== (sig.get('d') ?? '').toLowerCase()) return 'key record t=s: i= domain must equal d=';
  return null;
}
