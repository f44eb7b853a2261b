// A second model over the same tokens as the Bayes classifier: logistic regression, trained
// online with one AdaGrad step per trained message, in the global database only (each token's
// weight and squared-gradient sum live in its row beside the counts; the bias with the totals).
//
// Why a second model: the chi-square combination judges from the 40 strongest clues, each
// estimated on its own, so a spam made of many mildly spammy words with no strong one lands at
// "unsure". A discriminative model weighs every token of the message and learns how much each
// adds beyond the others (a token always seen with a stronger one gets little weight). Added to
// the Bayes points it settles many of those unsure messages. In 5-fold cross-validation within
// each generation of the development corpus and on all of it (bench/spam-logistic.ts) it
// lowered missed spam at every count of junked ham: e.g. on the whole corpus at 6 of 4,149 ham,
// 190 → 97 of 1,896 spam missed. One step per message did as well there as 8 epochs.
//
// Its limit, measured by training on one generation and judging the other (bench/spam-shift.ts):
// it learns what the training ham looks like, so ham of a kind never trained (2002's commercial
// newsletters, for a model trained on 2003's mailing lists alone) is junked more often than by
// Bayes alone. It is a learner of the provider's own mail, trained by its users' reports.

export interface LogisticOptions {
  /** AdaGrad's base learning rate for token weights. */
  rate: number;
  /** Plain SGD rate of the bias. */
  biasRate: number;
  /** L2 pull of each weight toward 0, per step. */
  l2: number;
}

export const DEFAULT_LOGISTIC: LogisticOptions = { rate: 0.1, biasRate: 0.01, l2: 1e-5 };

/** How the model's margin (log-odds of spam) becomes points: scale · margin clamped to ±cap,
 * plus offset. */
export interface LogisticPoints { scale: number; cap: number; offset: number }

/** At most ±2.5 points: the model informs the sum, it never decides alone (Bayes saturates at
 * +5 / -3). Scale 0.5 chosen by the same cross-validation (0.25 helped half as much); the
 * offset -0.25 as the one that missed least spam while junking under 0.2% of ham in 5-fold
 * cross-validation on the train split (3 partitions): 5.3 of 2,904 ham junked and 34.0 of
 * 1,322 spam missed, against 4.0 and 44.3 without the model (offset 0: 6.3 and 32.7;
 * -1: 4.3 and 40.3). */
export const DEFAULT_LOGISTIC_POINTS: LogisticPoints = { scale: 0.5, cap: 5, offset: -0.25 };

export function logisticPoints(margin: number, p: LogisticPoints = DEFAULT_LOGISTIC_POINTS): number {
  const v = p.scale * Math.max(-p.cap, Math.min(p.cap, margin)) + p.offset;
  return Math.round(v * 100) / 100;
}

/**
 * One training step on one message: `w` and `g2` hold the current weight and squared-gradient
 * sum of each of its n distinct tokens (0 and 0 for a token never trained) and are updated in
 * place; returns the new bias. The message's gradient is divided by √n; AdaGrad then scales each
 * token's step by that token's own gradient history, so a token's first steps are about `rate`
 * and the steps of a token trained often shrink.
 */
export function logisticStep(w: Float64Array, g2: Float64Array, n: number, bias: number, spam: boolean, o: LogisticOptions = DEFAULT_LOGISTIC): number {
  let z = bias;
  for (let i = 0; i < n; i++) z += w[i];
  const p = 1 / (1 + Math.exp(-z));
  const g = (p - (spam ? 1 : 0)) / Math.sqrt(Math.max(1, n));
  for (let i = 0; i < n; i++) {
    const gg = g + o.l2 * w[i];
    g2[i] += gg * gg;
    w[i] -= (o.rate * gg) / Math.sqrt(g2[i] + 1e-8);
  }
  return bias - o.biasRate * g;
}

/** Scratch arrays for logisticStep, grown as needed (training is synchronous per message). */
let sw = new Float64Array(1024);
let sg = new Float64Array(1024);
export function stepScratch(n: number): { w: Float64Array; g2: Float64Array } {
  if (sw.length < n) {
    let size = sw.length;
    while (size < n) size *= 2;
    sw = new Float64Array(size);
    sg = new Float64Array(size);
  }
  return { w: sw, g2: sg };
}
