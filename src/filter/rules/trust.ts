// How far each rule is trusted on the provider's own mail, learnt from the trained counts.
//
// The rules' scores are set by hand for mail in general. On one provider's mail a rule may fire
// on ham as often as on spam: a corpus or a gateway that strips the Date and Message-ID fields
// makes MISSING_DATE and MISSING_MSGID fire on every message, and a rule written against 2002
// spam may match a kind of newsletter a provider's users want. Every trained message records
// which rules fired (the "rule:NAME" tokens of the global database), so the counts say how much
// more often a rule fires on spam than on ham; a rule that tells them apart no better than chance
// loses its points, one that does keeps them. SpamAssassin re-scores its rules from a corpus
// offline (mass-check); this does the same online, from what the server is trained on.
//
// The measure is a rule's spam share of its hit rates, pS / (pS + pH), with pS and pH the
// fractions of trained spam and ham it fired on (so the ratio of trained spam to ham does not
// matter). It is smoothed toward full trust by `strength` hits, so that a rule seen a few times
// keeps its hand-set score, and mapped linearly from `low` (no evidence: trust 0) to `high`
// (full trust). A rule that speaks for ham (a negative score) is measured by its ham share.
import type { TokenCounts } from '../bayes/token-db.js';

export interface RuleTrustOptions {
  /** Pseudo-hits at full trust added to a rule's observed hits. */
  strength: number;
  /** Share at or below which a rule counts nothing. */
  low: number;
  /** Share at or above which a rule counts in full. */
  high: number;
}

/** Set from first principles, not fitted: a share of 0.5 is no evidence, 0.95 is a rule that
 * fires at 19 times its ham rate on spam, and 5 pseudo-hits keep a rule's hand-set score until
 * its own hits outnumber them. On the development corpus, whose mail the rules were written for,
 * it changed little (bench spam-choice trust, bench/results/2026-11-29T20-02-06-185Z.json, 5-fold
 * cross-validation on the train split, 4 × 12 partitions): ham junked at the threshold −0.17 in
 * three sets and 0 in the fourth, spam missed −0.17 in each; spam missed at 2 of 2,904 ham
 * junked −0.4, −2.3 by sender, −0.9, +0.2 at random; mail of a kind never trained as before.
 * On the same corpus with only its Subject and MIME fields (bench spam-headerless) the test
 * split's junked ham fell from 13 to 5, and spam missed at 2 junked ham from 52 to 25. */
export const DEFAULT_RULE_TRUST: RuleTrustOptions = { strength: 5, low: 0.5, high: 0.95 };

/** What the trained global database says of the rules that fired on one message. */
export interface RuleEvidence {
  /** Messages trained as ham and as spam. */
  totals: { ham: number; spam: number };
  /** Per rule name: the trained ham and spam it fired on. */
  hits: Record<string, { ham: number; spam: number }>;
}

/** The factor (0 to 1) by which a rule's `score` counts, given the evidence; 1 without any. */
export function ruleTrust(e: RuleEvidence | undefined, name: string, score: number, o: RuleTrustOptions = DEFAULT_RULE_TRUST): number {
  if (e === undefined || score === 0 || e.totals.ham === 0 || e.totals.spam === 0) return 1;
  const h = e.hits[name];
  if (h === undefined) return 1;
  const pSpam = h.spam / e.totals.spam, pHam = h.ham / e.totals.ham;
  if (pSpam + pHam === 0) return 1;
  const share = (score > 0 ? pSpam : pHam) / (pSpam + pHam);
  const n = h.ham + h.spam;
  const smoothed = (o.strength + n * share) / (o.strength + n);
  return Math.max(0, Math.min(1, (smoothed - o.low) / (o.high - o.low)));
}

/** The evidence of the rule tokens among `tokens` ("rule:NAME"), from the global counts. */
export function ruleEvidence(tokens: readonly string[], prefix: string, counts: { get(t: string): TokenCounts | undefined }, totals: TokenCounts): RuleEvidence {
  const hits: RuleEvidence['hits'] = {};
  for (const t of tokens) {
    if (!t.startsWith(prefix)) continue;
    const c = counts.get(t);
    if (c !== undefined) hits[t.slice(prefix.length)] = { ham: c.ham, spam: c.spam };
  }
  return { totals: { ham: totals.ham, spam: totals.spam }, hits };
}

/** The rules' points as trusted: what the logistic model's training prior counts. */
export function trustedRuleScore(rules: readonly { name: string; score: number }[], e: RuleEvidence | undefined): number {
  let s = 0;
  for (const r of rules) s += r.score * ruleTrust(e, r.name, r.score);
  return s;
}
