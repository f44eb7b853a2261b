// Statistical content classifier: Robinson's per-token estimate f(w) combined with Fisher's
// chi-square method over the most significant tokens (the SpamBayes design). Chosen over naive
// Bayes because the chi-square combination does not assume token independence to produce its
// output: it tests "these token probabilities look uniformly random" separately for spam and ham
// evidence, so correlated tokens (word pairs, repeated header shapes) make it confident only when
// evidence really piles up on one side, and mixed evidence lands near 0.5 ("unsure") instead of
// at an extreme, which is what keeps false positives down.
//
// Global and per-user databases: a token's per-message rate in the user's spam (and ham) is
// estimated with the global rate as a prior worth `userPrior` messages:
//     rate_user = (count_user + m · rate_global) / (messages_user + m)
// With no user training this is exactly the global estimate; as the user trains, their own
// rates take over (after a few dozen messages on a side, mostly theirs). A side the user never
// trained (only "this is junk" clicks, say) keeps the global rate, so one-sided training does not
// make every common word look spammy. Confidence in f(w) grows with the token's total count
// in both databases.
import type { TokenDb, TokenCounts, TokenLookup } from './token-db.js';

export interface BayesOptions {
  /** Robinson's s: weight of the prior x against the observed counts. */
  strength: number;
  /** Robinson's x: f(w) of a token never seen. */
  unknown: number;
  /** Only tokens with |f(w) - 0.5| at least this much are used. */
  minDev: number;
  /** At most this many most significant tokens are combined. */
  maxClues: number;
  /** Weight (in messages) of the global rates as prior for a user's rates. */
  userPrior: number;
  /** No verdict until at least this many spam and this many ham messages are trained. */
  minTrained: number;
  /** Per token family (the prefix before the first ":", "" for body words): at most this many
   * clues. Families of correlated tokens (HTML markup, say) otherwise pile up dozens of clues
   * that all say the same thing. Absent family: no limit beyond maxClues. */
  familyCaps?: Readonly<Record<string, number>>;
}

/** maxClues 40 (was 150), chosen for the false-positive target by 5-fold CV on the train split
 * (three random partitions): with 150 clues, newsletters' many mildly spammy tokens pile up
 * into certainty, and at the junk threshold 10-11 of 2,904 ham were junked (0.36%) with 40-49
 * spam missed; with 40, 4-5 ham (0.14-0.17%) with 73-86 missed. At any false-positive count
 * up to 6 it misses fewer spam (e.g. 47-56 against 65-186 at 6).
 * familyCaps (e.g. { html: 5, bi: 30 }) is off by default: in 5-fold CV on the train split it
 * moved FP 9 → 6-7 at a cost of 4-5 FN, not a clear win on its own (see bench/spam-exp.ts). */
export const DEFAULT_BAYES: BayesOptions = { strength: 0.45, unknown: 0.5, minDev: 0.1, maxClues: 40, userPrior: 10, minTrained: 20 };

export interface BayesResult {
  /** 0 = certainly ham, 1 = certainly spam, about 0.5 = unsure. */
  probability: number;
  /** Spam and ham evidence of the chi-square test (each 0..1). */
  spamminess: number;
  hamminess: number;
  /** The tokens used, most significant first. */
  clues: { token: string; f: number }[];
}

interface Side { counts: TokenLookup; totals: TokenCounts }

/** ln of the chi-square survival function for an even number of degrees of freedom, in log
 * space so a thousand strong clues do not underflow to exactly 0 or 1. */
export function chi2Q(x2: number, dof: number): number {
  const m = x2 / 2;
  if (m <= 0) return 1;
  const lnM = Math.log(m);
  let lnTerm = -m;
  let lnSum = lnTerm;
  for (let i = 1; i < dof / 2; i++) {
    lnTerm += lnM - Math.log(i);
    lnSum = lnSum > lnTerm ? lnSum + Math.log1p(Math.exp(lnTerm - lnSum)) : lnTerm + Math.log1p(Math.exp(lnSum - lnTerm));
  }
  return Math.min(1, Math.exp(lnSum));
}

/** f(w) for one token, or null when neither database has seen it. */
export function tokenProbability(t: string, g: Side, u: Side | null, o: BayesOptions): number | null {
  const gc = g.counts.get(t);
  const uc = u === null ? undefined : u.counts.get(t);
  if (gc === undefined && uc === undefined) return null;
  const gs = gc === undefined || g.totals.spam === 0 ? 0 : gc.spam / g.totals.spam;
  const gh = gc === undefined || g.totals.ham === 0 ? 0 : gc.ham / g.totals.ham;
  let rs = gs, rh = gh;
  if (u !== null) {
    const m = o.userPrior;
    rs = ((uc?.spam ?? 0) + m * gs) / (u.totals.spam + m);
    rh = ((uc?.ham ?? 0) + m * gh) / (u.totals.ham + m);
  }
  if (rs + rh === 0) return null;
  const p = rs / (rs + rh);
  const n = (gc === undefined ? 0 : gc.spam + gc.ham) + (uc === undefined ? 0 : uc.spam + uc.ham);
  return (o.strength * o.unknown + n * p) / (o.strength + n);
}

/** The combination itself, on plain maps (used directly by evaluation runs). */
export function classify(tokens: string[], g: Side, u: Side | null, o: BayesOptions = DEFAULT_BAYES): BayesResult | null {
  const spamTrained = g.totals.spam + (u?.totals.spam ?? 0);
  const hamTrained = g.totals.ham + (u?.totals.ham ?? 0);
  if (spamTrained < o.minTrained || hamTrained < o.minTrained) return null;
  const clues: { token: string; f: number; d: number }[] = [];
  for (const t of new Set(tokens)) {
    const f = tokenProbability(t, g, u, o);
    if (f === null) continue;
    const d = Math.abs(f - 0.5);
    if (d >= o.minDev) clues.push({ token: t, f, d });
  }
  clues.sort((a, b) => b.d - a.d || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
  const caps = o.familyCaps;
  if (caps !== undefined) {
    const used = new Map<string, number>();
    let n = 0;
    for (const c of clues) {
      const colon = c.token.indexOf(':');
      const fam = colon < 0 ? '' : c.token.slice(0, colon);
      const cap = caps[fam];
      if (cap !== undefined) {
        const u = used.get(fam) ?? 0;
        if (u >= cap) continue;
        used.set(fam, u + 1);
      }
      clues[n++] = c;
      if (n >= o.maxClues) break;
    }
    clues.length = n;
  }
  if (clues.length > o.maxClues) clues.length = o.maxClues;
  if (clues.length === 0) return { probability: 0.5, spamminess: 0, hamminess: 0, clues: [] };
  let lnF = 0, ln1F = 0;
  for (const c of clues) {
    const f = Math.min(1 - 1e-9, Math.max(1e-9, c.f));
    lnF += Math.log(f);
    ln1F += Math.log(1 - f);
  }
  const dof = 2 * clues.length;
  const spamminess = 1 - chi2Q(-2 * ln1F, dof);
  const hamminess = 1 - chi2Q(-2 * lnF, dof);
  return {
    probability: (1 + spamminess - hamminess) / 2,
    spamminess, hamminess,
    clues: clues.map((c) => ({ token: c.token, f: c.f })),
  };
}

export class BayesClassifier {
  constructor(private readonly db: TokenDb, readonly options: BayesOptions = DEFAULT_BAYES) {}

  /** Probability from the global database, sharpened by the account's own when given. */
  async score(tokens: string[], accountId: number | null): Promise<BayesResult | null> {
    const uniq = [...new Set(tokens)];
    const [gCounts, gTotals] = await Promise.all([this.db.getTokens(0, uniq), this.db.getTotals(0)]);
    let user: Side | null = null;
    if (accountId !== null && accountId !== 0) {
      const [uCounts, uTotals] = await Promise.all([this.db.getTokens(accountId, uniq), this.db.getTotals(accountId)]);
      if (uTotals.ham + uTotals.spam > 0) user = { counts: uCounts, totals: uTotals };
    }
    return classify(uniq, { counts: gCounts, totals: gTotals }, user, this.options);
  }

  /**
   * Train message `key` once per scope. The same verdict again is a no-op; the opposite verdict
   * first removes the earlier training; null forgets the message. Returns the scopes changed.
   */
  async learn(key: string, tokens: string[], verdict: 'spam' | 'ham' | null, scopes: number[]): Promise<number[]> {
    const changed: number[] = [];
    const uniq = [...new Set(tokens)];
    for (const scope of scopes) {
      const prev = await this.db.markTrained(scope, key, verdict);
      if (prev === verdict) continue;
      if (prev !== null) await this.db.addTokens(scope, uniq, prev, -1);
      if (verdict !== null) await this.db.addTokens(scope, uniq, verdict, 1);
      changed.push(scope);
    }
    return changed;
  }
}
