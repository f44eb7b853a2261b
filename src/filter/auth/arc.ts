// ARC chain validation (RFC 8617 §5.2) through mailauth, with our DNS function. The chain data
// comes from the DKIM pass over the message (mailauth collects the ARC sets while verifying).
import { arc as mailauthArc, dkimVerify } from 'mailauth';
import type { DnsLookup } from './dns.js';
import { spkiKeyRecords } from './dkim-key.js';
import { formatProblem, sealProblem, type ArcSet } from './arc-seal.js';

export type ArcResult = 'none' | 'pass' | 'fail';

export interface ArcOutcome {
  /** The chain validation status (RFC 8617 cv): none, pass or fail. */
  result: ArcResult;
  /** Highest instance (i=) of the chain, 0 without one. */
  instance: number;
  /** The sealer of the newest set (its ARC-Seal d=), when the chain passed. */
  sealer?: string;
  comment?: string;
}

interface ChainEntry {
  i: number;
  'arc-seal'?: { original?: Buffer };
  'arc-message-signature'?: { original?: Buffer };
  'arc-authentication-results'?: { original?: Buffer };
  messageSignature?: { status?: { result?: string } };
}

interface MailauthArcResult {
  i?: number | false;
  status: { result: string; comment?: string };
}

export async function verifyArc(arcData: unknown, opts: { lookup: DnsLookup; minBitLength?: number }): Promise<ArcOutcome> {
  const data = (arcData ?? { chain: false }) as {
    chain: ChainEntry[] | false;
    error?: unknown;
    lastEntry?: ChainEntry & { 'arc-seal'?: { parsed?: { d?: { value?: string } } } };
  };
  const lookup = spkiKeyRecords(opts.lookup);
  const res = (await mailauthArc(data as never, { resolver: lookup as never, minBitLength: opts.minBitLength ?? 1024 })) as unknown as MailauthArcResult;
  let result: ArcResult = res.status.result === 'pass' ? 'pass' : res.status.result === 'fail' ? 'fail' : 'none';
  let comment = res.status.comment;
  const sets = arcSets(data.chain);
  if (result !== 'none' && sets) {
    const format = formatProblem(sets);
    if (format) [result, comment] = ['fail', format];
    else if (result === 'fail' && /seal signature validation failed/.test(comment ?? '') && !data.error) {
      // mailauth cannot verify ed25519 seals (see arc-seal.ts): verify the seals ourselves;
      // the newest ARC-Message-Signature was verified by mailauth's DKIM pass.
      const seals = await sealProblem(sets, lookup, opts.minBitLength ?? 1024);
      const ams = data.lastEntry?.messageSignature?.status?.result;
      if (seals) comment = seals;
      else if (ams !== 'pass') comment = `i=${sets.length} arc-message-signature: ${ams ?? 'not verified'}`;
      else [result, comment] = ['pass', `i=${sets.length} seals verified`];
    }
  }
  const out: ArcOutcome = { result, instance: typeof res.i === 'number' ? res.i : sets?.length ?? 0 };
  if (comment) out.comment = comment;
  const sealer = data.lastEntry?.['arc-seal']?.parsed?.d?.value;
  if (result === 'pass' && sealer) out.sealer = String(sealer).toLowerCase();
  return out;
}

function arcSets(chain: ChainEntry[] | false): ArcSet[] | null {
  if (!Array.isArray(chain) || !chain.length) return null;
  const sets: ArcSet[] = [];
  for (const e of chain) {
    const seal = e['arc-seal']?.original;
    const ams = e['arc-message-signature']?.original;
    const aar = e['arc-authentication-results']?.original;
    if (!seal || !ams || !aar) return null;
    sets.push({ i: Number(e.i), seal: seal.toString('latin1'), messageSignature: ams.toString('latin1'), authResults: aar.toString('latin1') });
  }
  return sets;
}

/** ARC validation of a whole message (collects the chain with a DKIM pass first). */
export async function verifyArcMessage(raw: Buffer, opts: { lookup: DnsLookup; now?: Date; minBitLength?: number }): Promise<ArcOutcome> {
  const lookup = spkiKeyRecords(opts.lookup);
  const res = await dkimVerify(raw, { resolver: lookup as never, minBitLength: opts.minBitLength ?? 1024, ...(opts.now ? { curTime: opts.now } : {}) });
  return verifyArc(res.arc, { lookup, minBitLength: opts.minBitLength });
}
