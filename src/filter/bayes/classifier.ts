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
import type { TrainItem } from '../../store/types.js';
import { DEFAULT_LOGISTIC, featureScale, type LogisticOptions } from './logistic.js';
import { ruleEvidence, type RuleEvidence } from '../rules/trust.js';

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
  /** The global logistic model has no say until it has learnt from this many ham and this many
   * spam messages: AdaGrad's first steps move each token by a full step, so a young model's
   * margins say more about the few messages it saw than about the one judged. */
  logisticMinTrained: number;
  /** Tiling: a word pair and the words in it are never clues together (nor two pairs sharing a
   * word); the strongest of them is kept and the next candidate taken instead. */
  tile?: boolean;
  /** How the global logistic model reads a message (as it was trained: trainDb takes them from
   * here); the defaults when absent. */
  logistic?: LogisticOptions;
  /** false: the rules count as scored, whatever the trained counts say of them (rules/trust.ts). */
  ruleTrust?: boolean;
}

/** maxClues 40 (was 150), chosen for the false-positive target by 5-fold CV on the train split
 * (three random partitions): with 150 clues, newsletters' many mildly spammy tokens pile up
 * into certainty, and at the junk threshold 10-11 of 2,904 ham were junked (0.36%) with 40-49
 * spam missed; with 40, 4-5 ham (0.14-0.17%) with 73-86 missed.
 * familyCaps: the form of a message (HTML markup and attributes, part types and encodings,
 * Content-Type, MIME shape, structure facts, which headers exist) is one piece of evidence
 * spread over dozens of correlated tokens, and it is the evidence that ages worst: in 2002
 * HTML meant spam, today every newsletter, receipt and Outlook message is HTML. So at most one
 * markup clue, one fact and two header-presence clues are combined, and part/type/shape tokens
 * none. 5-fold CV on the train split, 5 partitions, missed spam at 2/4/6 false positives of
 * 2,904: 101/72/51 without caps, 71/44/38 with. Trained on one generation of the corpus and
 * judging the other (bench/spam-shift.ts), with these caps and the points offset of verdict.ts
 * false positives fell from 149 and 180 to 16 and 116, and missed spam from 171 and 41 to 164
 * and 30. The rules' hits ("rule:NAME", ruleTokens in verdict.ts) are tokens for the logistic
 * model only: the rules already score them.
 * tile: a pair like "claim your" and its words "claim" and "your" are one piece of evidence; as
 * three clues the chi-square combination, which takes clues as independent, counts it three
 * times. Tiled, the strongest of them stands for all (selectTiled). 5-fold CV on the train split
 * (bench spam-choice, 12 partitions, nothing from the test split), missed spam of 1,322 when 2,
 * 4 and 6 of 2,904 ham are junked: 55.0/29.4/21.8 untiled, 47.9/26.8/20.6 tiled (paired
 * difference at 2 junked -7.1, standard error 2.1); at the junk threshold 4.6 ham junked and
 * 29.1 spam missed, against 4.4 and 27.8. On 12 other partitions 56.9/31.5/23.6 against
 * 49.4/27.8/20.3. */
export const DEFAULT_BAYES: BayesOptions = {
  strength: 0.45, unknown: 0.5, minDev: 0.1, maxClues: 40, userPrior: 10, minTrained: 20, logisticMinTrained: 200,
  familyCaps: { html: 1, fact: 1, has: 2, part: 0, ct: 0, mime: 0, rule: 0 }, tile: true,
};

export interface BayesResult {
  /** 0 = certainly ham, 1 = certainly spam, about 0.5 = unsure. */
  probability: number;
  /** Spam and ham evidence of the chi-square test (each 0..1). */
  spamminess: number;
  hamminess: number;
  /** The tokens used, most significant first. */
  clues: { token: string; f: number }[];
  /** The global logistic model's margin for the message: its correction, in log-odds, to the
   * rules' and Bayes's points (logistic.ts); null while the model is too young
   * (logisticMinTrained). */
  margin: number | null;
  /** What the global counts say of the rules that fired (their "rule:NAME" tokens), for how far
   * each is trusted (rules/trust.ts); absent with `ruleTrust: false`. */
  rules?: RuleEvidence;
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

/** Counts of `t` into `out`; false when the lookup has none. Uses the lookup's allocation-free
 * getInto where it has one (TokenTable), get otherwise (a Map from the store). */
function readCounts(c: TokenLookup, t: string, out: TokenCounts): boolean {
  if (c.getInto !== undefined) return c.getInto(t, out);
  const r = c.get(t);
  if (r === undefined) return false;
  out.ham = r.ham;
  out.spam = r.spam;
  out.w = r.w ?? 0;
  return true;
}

/** The global logistic model's margin over a message's distinct tokens: its bias plus their
 * weights, each token counting featureScale(n) of the n (a token the database lacks weighs 0
 * but still counts in n, as every token of a message counted when it was trained: a message
 * mostly of tokens never seen gets a margin near the bias, the model's "no opinion"). */
export function logisticMargin(tokens: readonly string[], g: Side, o: LogisticOptions = DEFAULT_LOGISTIC): number {
  let sum = 0;
  for (const t of tokens) {
    if (readCounts(g.counts, t, gc)) sum += gc.w ?? 0;
  }
  return (g.totals.bias ?? 0) + sum * featureScale(tokens.length, o.unitLength);
}

// Counts of the token being estimated (classify is synchronous, so one pair serves every call).
const gc: TokenCounts = { ham: 0, spam: 0 };
const uc: TokenCounts = { ham: 0, spam: 0 };

/** f(w) into out[i], returning false (and writing nothing) when neither database has seen the
 * token. Written to a Float64Array rather than returned: a returned double, when not inlined,
 * is a boxed number per token. */
function estimate(t: string, g: Side, u: Side | null, o: BayesOptions, out: Float64Array, i: number): boolean {
  const gFound = readCounts(g.counts, t, gc);
  const uFound = u !== null && readCounts(u.counts, t, uc);
  if (!gFound && !uFound) return false;
  const gs = !gFound || g.totals.spam === 0 ? 0 : gc.spam / g.totals.spam;
  const gh = !gFound || g.totals.ham === 0 ? 0 : gc.ham / g.totals.ham;
  let rs = gs, rh = gh;
  if (u !== null) {
    const m = o.userPrior;
    rs = ((uFound ? uc.spam : 0) + m * gs) / (u.totals.spam + m);
    rh = ((uFound ? uc.ham : 0) + m * gh) / (u.totals.ham + m);
  }
  if (rs + rh === 0) return false;
  const p = rs / (rs + rh);
  const n = (gFound ? gc.spam + gc.ham : 0) + (uFound ? uc.spam + uc.ham : 0);
  out[i] = (o.strength * o.unknown + n * p) / (o.strength + n);
  return true;
}

const one = new Float64Array(1);

/** f(w) for one token, or null when neither database has seen it. */
export function tokenProbability(t: string, g: Side, u: Side | null, o: BayesOptions): number | null {
  return estimate(t, g, u, o, one, 0) ? one[0] : null;
}

// Scratch of classify, grown as needed and reused (classify is synchronous): the candidate clues
// as the index of their token and their f and |f - 0.5|, and the chosen ones as indexes into
// those. Typed arrays instead of an object per candidate, a Set and a sort over all of them:
// judging allocated some 90 KB a message for what ends as 40 clues.
let candTok = new Int32Array(1024);
let candF = new Float64Array(1024);
let candD = new Float64Array(1024);
let chosen = new Int32Array(64);

/** Clue order: deviation descending, then token ascending (so ties are deterministic). */
function ranksBefore(da: number, ta: string, db: number, tb: string): boolean {
  return da > db || (da === db && ta < tb);
}

/** The most significant candidates, at most `max`, in clue order, into `chosen`; returns how
 * many. A bounded insertion: no sort of all candidates. A token passed twice is taken once.
 * Considers candidates 0..n-1, or those listed in `list[0..n-1]`. */
function selectTop(tokens: string[], n: number, max: number, list: Int32Array | null = null): number {
  if (chosen.length < max) chosen = new Int32Array(max);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = list === null ? i : list[i];
    const d = candD[c], t = tokens[candTok[c]];
    // Position after every chosen candidate that ranks before this one.
    let pos = k;
    while (pos > 0) {
      const p = chosen[pos - 1];
      if (!ranksBefore(d, t, candD[p], tokens[candTok[p]])) break;
      pos--;
    }
    if (pos >= max) continue;
    if (pos > 0) {
      const p = chosen[pos - 1];
      if (candD[p] === d && tokens[candTok[p]] === t) continue; // the same token again
    }
    if (k < max) k++;
    chosen.copyWithin(pos + 1, pos, k - 1);
    chosen[pos] = c;
  }
  return k;
}

/** The families with a cap above 0, as "fam:" prefixes ("" for body words: no colon, or one first). */
interface CapPlan { prefixes: string[]; limits: number[]; tops: Int32Array[] }
let lastCaps: Readonly<Record<string, number>> | null = null;
let lastPlan: CapPlan = { prefixes: [], limits: [], tops: [] };
let lastExcluded: string[] = [];
function planFor(caps: Readonly<Record<string, number>>): CapPlan {
  if (caps !== lastCaps) {
    lastCaps = caps;
    const kept = Object.entries(caps).filter(([, n]) => n > 0);
    lastPlan = { prefixes: kept.map(([f]) => (f === '' ? '' : `${f}:`)), limits: kept.map(([, n]) => n), tops: kept.map(([, n]) => new Int32Array(n)) };
    lastExcluded = Object.entries(caps).filter(([, n]) => n <= 0).map(([f]) => (f === '' ? '' : `${f}:`));
  }
  return lastPlan;
}

/** "fam:" for every family capped at 0: those tokens never become clues, so they are not even
 * looked up. */
function excludedPrefixes(caps: Readonly<Record<string, number>>): string[] {
  planFor(caps);
  return lastExcluded;
}

function familyOf(token: string, prefixes: string[]): number {
  for (let j = 0; j < prefixes.length; j++) {
    const p = prefixes[j];
    if (p === '' ? token.indexOf(':') <= 0 : token.startsWith(p)) return j;
  }
  return -1;
}

let pool = new Int32Array(1024);

/** Like selectTop, but with at most caps[family] clues per token family, the same as taking
 * clues in clue order and skipping those whose family is full: only a capped family's own best
 * `cap` tokens can be among the clues, so those (kept by a tiny bounded insertion each) join
 * the uncapped candidates and selectTop picks from them. */
function selectCapped(tokens: string[], count: number, max: number, caps: Readonly<Record<string, number>>): number {
  const plan = planFor(caps);
  const filled = plan.limits.map(() => 0);
  if (pool.length < count) pool = new Int32Array(candTok.length);
  let np = 0;
  for (let c = 0; c < count; c++) {
    const t = tokens[candTok[c]];
    const f = familyOf(t, plan.prefixes);
    if (f < 0) { pool[np++] = c; continue; }
    const top = plan.tops[f], lim = plan.limits[f];
    const d = candD[c];
    let pos = filled[f];
    while (pos > 0 && ranksBefore(d, t, candD[top[pos - 1]], tokens[candTok[top[pos - 1]]])) pos--;
    if (pos >= lim) continue;
    if (pos > 0 && candD[top[pos - 1]] === d && tokens[candTok[top[pos - 1]]] === t) continue; // the same token again
    if (filled[f] < lim) filled[f]++;
    top.copyWithin(pos + 1, pos, filled[f] - 1);
    top[pos] = c;
  }
  for (let f = 0; f < filled.length; f++) for (let j = 0; j < filled[f]; j++) pool[np++] = plan.tops[f][j];
  return selectTop(tokens, np, max, pool);
}

const NONE: string[] = [];

function select(tokens: string[], count: number, max: number, caps: Readonly<Record<string, number>> | undefined): number {
  return caps === undefined ? selectTop(tokens, count, max) : selectCapped(tokens, count, max, caps);
}

/** The words a clue covers, for tiling: a body word itself, a pair its two words (subject words
 * and pairs likewise, apart from the body's); other tokens cover none. Written into `out`. */
function coveredWords(t: string, out: string[]): number {
  const colon = t.indexOf(':');
  if (colon <= 0) { out[0] = t; return 1; }
  let ns = '';
  let rest = t;
  if (t.startsWith('subj:')) { ns = 'subj:'; rest = t.slice(5); }
  if (rest.startsWith('bi:')) {
    const space = rest.indexOf(' ', 3);
    if (space < 0) return 0;
    out[0] = ns + rest.slice(3, space);
    out[1] = ns + rest.slice(space + 1);
    return 2;
  }
  if (ns !== '') { out[0] = t; return 1; }
  return 0;
}

/** The families tiling walks through (body words, pairs, subject words and pairs). */
const TILED_FAMILIES = ['', 'bi', 'subj'];
/** A token's family as familyCaps names it: the prefix before its first colon, '' for body words. */
const familyName = (t: string): string => { const c = t.indexOf(':'); return c <= 0 ? '' : t.slice(0, c); };

/** `caps` without the tiled families' caps: those count clues taken, so they apply during the walk. */
const poolCapsOf = new WeakMap<Readonly<Record<string, number>>, Readonly<Record<string, number>>>();
function poolCaps(caps: Readonly<Record<string, number>>): Readonly<Record<string, number>> {
  let p = poolCapsOf.get(caps);
  if (p === undefined) {
    p = Object.fromEntries(Object.entries(caps).filter(([f, n]) => n <= 0 || !TILED_FAMILIES.includes(f)));
    poolCapsOf.set(caps, p);
  }
  return p;
}

const taken = new Set<string>();
const covered: string[] = ['', ''];
const takenPerFamily = new Map<string, number>();

/** Clue selection with tiling (SpamBayes's answer to a pair and its words counting the same
 * evidence twice in the chi-square test, which assumes independent clues): candidates in clue
 * order, each skipped when a word it covers is covered by a stronger clue already taken, or when
 * its family is full. The top 3·max candidates nearly always suffice (3 messages in 30,000 of
 * the corpus needed more); when they do not, every candidate is sorted and walked. */
function selectTiled(tokens: string[], count: number, max: number, caps: Readonly<Record<string, number>> | undefined): number {
  const depth = Math.min(count, 3 * max);
  const k = select(tokens, count, depth, caps === undefined ? undefined : poolCaps(caps));
  const n = walkTiled(tokens, chosen.subarray(0, k), max, caps, false);
  return n === max || depth >= count ? n : walkAll(tokens, count, max, caps);
}

/** Takes clues from `order` (candidate indexes in clue order) into `chosen`, tiling and applying
 * the caps of the tiled families (`all`: every family's, for a walk over every candidate). */
function walkTiled(tokens: string[], order: Int32Array, max: number, caps: Readonly<Record<string, number>> | undefined, all: boolean): number {
  taken.clear();
  takenPerFamily.clear();
  let n = 0;
  for (let j = 0; j < order.length && n < max; j++) {
    const c = order[j];
    const t = tokens[candTok[c]];
    const fam = familyName(t);
    const cap = caps === undefined || (!all && !TILED_FAMILIES.includes(fam)) ? undefined : caps[fam];
    if (cap !== undefined && (takenPerFamily.get(fam) ?? 0) >= cap) continue;
    const w = coveredWords(t, covered);
    let overlap = false;
    for (let i = 0; i < w; i++) if (taken.has(covered[i])) overlap = true;
    if (overlap) continue;
    for (let i = 0; i < w; i++) taken.add(covered[i]);
    if (cap !== undefined) takenPerFamily.set(fam, (takenPerFamily.get(fam) ?? 0) + 1);
    chosen[n++] = c; // n <= j: overwrites only entries already read
  }
  return n;
}

/** Every candidate sorted into clue order (n log n, where a bounded insertion of all would be
 * quadratic), then walked. */
function walkAll(tokens: string[], count: number, max: number, caps: Readonly<Record<string, number>> | undefined): number {
  const order = Int32Array.from({ length: count }, (_, i) => i).sort((a, b) => {
    const ta = tokens[candTok[a]], tb = tokens[candTok[b]];
    return ranksBefore(candD[a], ta, candD[b], tb) ? -1 : ranksBefore(candD[b], tb, candD[a], ta) ? 1 : 0;
  });
  if (chosen.length < max) chosen = new Int32Array(max);
  return walkTiled(tokens, order, max, caps, true);
}

/** The combination itself, on plain maps (used directly by evaluation runs), with the logistic
 * model's margin. Tokens must be distinct (as the tokenizer gives them): the margin counts each
 * one it is given. */
export function classify(tokens: string[], g: Side, u: Side | null, o: BayesOptions = DEFAULT_BAYES): BayesResult | null {
  const spamTrained = g.totals.spam + (u?.totals.spam ?? 0);
  const hamTrained = g.totals.ham + (u?.totals.ham ?? 0);
  if (spamTrained < o.minTrained || hamTrained < o.minTrained) return null;
  if (candTok.length < tokens.length) {
    let size = candTok.length;
    while (size < tokens.length) size *= 2;
    candTok = new Int32Array(size); candF = new Float64Array(size); candD = new Float64Array(size);
  }
  const excluded = o.familyCaps === undefined ? NONE : excludedPrefixes(o.familyCaps);
  let count = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (excluded.length > 0 && familyOf(tokens[i], excluded) >= 0) continue;
    if (!estimate(tokens[i], g, u, o, candF, count)) continue;
    const d = Math.abs(candF[count] - 0.5);
    if (d >= o.minDev) { candTok[count] = i; candD[count] = d; count++; }
  }
  const max = Math.max(0, Math.min(count, o.maxClues));
  const n = o.tile === true ? selectTiled(tokens, count, max, o.familyCaps) : select(tokens, count, max, o.familyCaps);
  // After the clues are chosen: `gc` is shared scratch.
  const grown = (g.totals.lrHam ?? 0) >= o.logisticMinTrained && (g.totals.lrSpam ?? 0) >= o.logisticMinTrained;
  const margin = grown ? logisticMargin(tokens, g, o.logistic) : null;
  const rules = o.ruleTrust === false ? undefined : ruleEvidence(tokens, RULE_TOKEN_PREFIX, g.counts, g.totals);
  if (n === 0) return { probability: 0.5, spamminess: 0, hamminess: 0, clues: [], margin, rules };
  let lnF = 0, ln1F = 0;
  const clues: { token: string; f: number }[] = [];
  for (let j = 0; j < n; j++) {
    const c = chosen[j];
    clues.push({ token: tokens[candTok[c]], f: candF[c] });
    const f = Math.min(1 - 1e-9, Math.max(1e-9, candF[c]));
    lnF += Math.log(f);
    ln1F += Math.log(1 - f);
  }
  const dof = 2 * n;
  const spamminess = 1 - chi2Q(-2 * ln1F, dof);
  const hamminess = 1 - chi2Q(-2 * lnF, dof);
  return { probability: (1 + spamminess - hamminess) / 2, spamminess, hamminess, clues, margin, rules };
}

/** The family of the rules' hits as tokens ("rule:NAME"): read by the logistic model only. */
export const RULE_TOKEN_PREFIX = 'rule:';
export const isRuleToken = (t: string): boolean => t.startsWith(RULE_TOKEN_PREFIX);

/** An account's database has no logistic model, so the rules' tokens (which only the model
 * reads) would take rows of its token budget for nothing. */
function forAccount(tokens: string[]): string[] {
  return tokens.filter((t) => !isRuleToken(t));
}

export class BayesClassifier {
  constructor(private readonly db: TokenDb, readonly options: BayesOptions = DEFAULT_BAYES) {}

  /** Probability from the global database, sharpened by the account's own when given. */
  async score(tokens: string[], accountId: number | null): Promise<BayesResult | null> {
    const uniq = [...new Set(tokens)];
    const [gCounts, gTotals] = await Promise.all([this.db.getTokens(0, uniq), this.db.getTotals(0)]);
    let user: Side | null = null;
    if (accountId !== null && accountId !== 0) {
      // Most accounts never train: their totals (one row) say so without a query over every
      // token of the message (0.15 ms per recipient for some 370 tokens on SQLite).
      const uTotals = await this.db.getTotals(accountId);
      if (uTotals.ham + uTotals.spam > 0) user = { counts: await this.db.getTokens(accountId, uniq), totals: uTotals };
    }
    return classify(uniq, { counts: gCounts, totals: gTotals }, user, this.options);
  }

  /**
   * Train message `key` once per scope. The same verdict again is a no-op; the opposite verdict
   * first removes the earlier training; null forgets the message. `prior`: the log-odds the
   * other signals give the message, for the global logistic model (trainingPrior in verdict.ts).
   * Returns the scopes changed.
   */
  async learn(key: string, tokens: string[], verdict: 'spam' | 'ham' | null, scopes: number[], prior = 0): Promise<number[]> {
    const changed: number[] = [];
    const uniq = [...new Set(tokens)];
    for (const scope of scopes) {
      const prev = await this.db.markTrained(scope, key, verdict);
      if (prev === verdict) continue;
      const own = scope === 0 ? uniq : forAccount(uniq);
      if (prev !== null) await this.db.addTokens(scope, own, prev, -1);
      if (verdict !== null) await this.db.addTokens(scope, own, verdict, 1, prior);
      changed.push(scope);
    }
    return changed;
  }

  /** learn for many messages in one scope, committed together where the database can (a corpus
   * of thousands trained one transaction each waits on thousands of fsyncs). Returns how many
   * changed. */
  async learnMany(items: readonly TrainItem[], scope: number): Promise<number> {
    const uniq = items.map((it) => ({ ...it, tokens: scope === 0 ? [...new Set(it.tokens)] : forAccount([...new Set(it.tokens)]) }));
    if (this.db.trainMessages !== undefined) return this.db.trainMessages(scope, uniq);
    let changed = 0;
    for (const it of uniq) if ((await this.learn(it.key, it.tokens, it.verdict, [scope], it.prior ?? 0)).length > 0) changed++;
    return changed;
  }
}
