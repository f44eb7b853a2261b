// Sender-authentication signals for the spam score, SpamAssassin-style points (positive: more
// likely spam). Modest on purpose: authentication says who sent a message, not whether it is
// wanted; the content signals decide most. Scores:
//   SPF_PASS −0.1, SPF_FAIL +1.0, SPF_SOFTFAIL +0.7, SPF_NEUTRAL +0.2, SPF_PERMERROR +0.3,
//   SPF_NONE 0, SPF_TEMPERROR 0, SPF_HELO_PASS −0.05, SPF_HELO_FAIL +0.5, SPF_HELO_SOFTFAIL +0.3,
//   DKIM_VALID_AU −0.5 (valid and aligned with From), DKIM_VALID −0.1 (valid, other domain),
//   DKIM_INVALID +0.3 (signed, but no signature verifies), DKIM_NONE 0,
//   DMARC_PASS −0.2, DMARC_FAIL_REJECT +3.0, DMARC_FAIL_QUARANTINE +2.0, DMARC_FAIL_NONE +0.5,
//   DMARC_NONE 0, DMARC_TEMPERROR 0, ARC_PASS −0.1, ARC_PASS_TRUSTED −1.0 (sealer we trust),
//   ARC_FAIL +0.3, AUTH_TEMPERROR 0 (a DNS timeout or error stopped a check).
import type { SpfCheck } from './spf/index.js';
import type { DkimSignatureResult } from './dkim.js';
import type { DmarcOutcome } from './dmarc.js';
import type { ArcOutcome } from './arc.js';

export interface AuthSignal {
  name: string;
  score: number;
  detail: string;
}

const SPF_SCORES: Record<string, number> = { pass: -0.1, fail: 1.0, softfail: 0.7, neutral: 0.2, permerror: 0.3, none: 0, temperror: 0 };
const HELO_SCORES: Record<string, number> = { pass: -0.05, fail: 0.5, softfail: 0.3 };

export function authSignals(spf: SpfCheck, dkim: DkimSignatureResult[], dmarc: DmarcOutcome, arc: ArcOutcome, trustedSealer: boolean): AuthSignal[] {
  const out: AuthSignal[] = [];
  const m = spf.mailFrom;
  out.push({ name: `SPF_${m.result.toUpperCase()}`, score: SPF_SCORES[m.result] ?? 0, detail: `${m.domain}: ${m.problem ?? m.mechanism ?? m.result}` });
  const h = spf.helo;
  if (h.result in HELO_SCORES) out.push({ name: `SPF_HELO_${h.result.toUpperCase()}`, score: HELO_SCORES[h.result], detail: `${h.domain}: ${h.mechanism ?? h.result}` });

  const valid = dkim.filter((s) => s.result === 'pass');
  const aligned = valid.filter((s) => s.aligned);
  if (aligned.length) out.push({ name: 'DKIM_VALID_AU', score: -0.5, detail: aligned.map((s) => s.domain).join(', ') });
  else if (valid.length) out.push({ name: 'DKIM_VALID', score: -0.1, detail: valid.map((s) => s.domain).join(', ') });
  else if (dkim.length) out.push({ name: 'DKIM_INVALID', score: 0.3, detail: dkim.map((s) => `${s.domain}: ${s.result}`).join(', ') });
  else out.push({ name: 'DKIM_NONE', score: 0, detail: 'no DKIM signature' });

  if (dmarc.result === 'pass') out.push({ name: 'DMARC_PASS', score: -0.2, detail: dmarc.fromDomain });
  else if (dmarc.result === 'fail') {
    const p = dmarc.policy ?? 'none';
    const score = p === 'reject' ? 3.0 : p === 'quarantine' ? 2.0 : 0.5;
    out.push({ name: `DMARC_FAIL_${p.toUpperCase()}`, score, detail: `${dmarc.fromDomain} p=${p} disposition=${dmarc.disposition}` });
  } else out.push({ name: `DMARC_${dmarc.result.toUpperCase()}`, score: 0, detail: dmarc.fromDomain || dmarc.comment || '' });

  if (arc.result === 'pass') out.push(trustedSealer ? { name: 'ARC_PASS_TRUSTED', score: -1.0, detail: `sealed by ${arc.sealer}` } : { name: 'ARC_PASS', score: -0.1, detail: `i=${arc.instance}` });
  else if (arc.result === 'fail') out.push({ name: 'ARC_FAIL', score: 0.3, detail: arc.comment ?? `i=${arc.instance}` });

  const temp = [m.result, h.result, dmarc.result, ...dkim.map((s) => s.result)].includes('temperror');
  if (temp) out.push({ name: 'AUTH_TEMPERROR', score: 0, detail: 'a DNS lookup failed or timed out; results may change on retry' });
  return out;
}
