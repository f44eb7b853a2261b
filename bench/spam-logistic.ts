// What the logistic model adds, by 5-fold cross-validation inside each generation of the
// development corpus and inside all of it (train and test splits alike: no parameter is chosen
// here, the figures size the model's effect). For each, missed spam at a given number of junked
// ham: without the model; with it trained as a model of its own beside rules and Bayes (no
// prior, no rule tokens, 0.5 points per log-odds, the design before 2026-11-29); and as
// shipped, learning a correction to their points. A comparison of whole trade-off curves, not
// of one threshold.
import { readCorpus } from '../src/filter/eval/corpus.js';
import { trainDb, trainingOrder } from '../src/filter/eval/evaluate.js';
import { MemoryTokenDb } from '../src/filter/bayes/token-db.js';
import { prng } from '../test/helpers/prng.js';
import { classify, isRuleToken } from '../src/filter/bayes/classifier.js';
import { bayesPoints } from '../src/filter/verdict.js';
import { logisticPoints } from '../src/filter/bayes/logistic.js';
import { featurise } from './spam-cv.js';

export interface LogisticCvRow { set: string; ham: number; spam: number; atFp: number[]; without: number[]; beside: number[]; withModel: number[] }

/** The earlier design's points: half a point per log-odds, at most ±2.5, offset -0.25. */
const BESIDE_POINTS = { scale: 0.5, cap: 5, offset: -0.25 };
const notRule = (t: string) => !isRuleToken(t);

const AT_FP = [0, 2, 4, 6, 10];

/** Missed spam when the threshold sits just above the k-th highest-scoring ham, for each k. */
function missedAt(scores: number[], spam: boolean[]): number[] {
  const hams = scores.filter((_, i) => !spam[i]).sort((a, b) => b - a);
  const spams = scores.filter((_, i) => spam[i]);
  return AT_FP.map((k) => spams.filter((v) => v <= hams[Math.min(k, hams.length - 1)] + 1e-9).length);
}

export async function logisticCv(corpus: string, threads = 2): Promise<LogisticCvRow[]> {
  const all = readCorpus(corpus);
  const feats = await featurise(all.map((e) => e.file), threads);
  const older = new Set(['easy_ham', 'hard_ham', 'spam']);
  const sets: [string, number[]][] = [
    ['2002 generation (easy_ham, hard_ham, spam)', all.map((_, i) => i).filter((i) => older.has(all[i].origin))],
    ['2003 generation (easy_ham_2, spam_2)', all.map((_, i) => i).filter((i) => !older.has(all[i].origin))],
    ['whole corpus', all.map((_, i) => i)],
  ];
  const rows: LogisticCvRow[] = [];
  for (const [set, idx] of sets) {
    const rnd = prng(3);
    const fold = idx.map(() => Math.floor(rnd() * 5));
    const base: number[] = new Array(idx.length), lr: number[] = new Array(idx.length), beside: number[] = new Array(idx.length);
    for (let k = 0; k < 5; k++) {
      const tr = idx.filter((_, j) => fold[j] !== k);
      const db = trainDb(tr.map((i) => feats[i]), tr.map((i) => all[i].label));
      const side = { counts: db.countsSync(0), totals: db.totalsSync(0) };
      const own = new MemoryTokenDb();
      for (const o of trainingOrder(tr.length)) own.addSync(0, feats[tr[o]].tokens.filter(notRule), all[tr[o]].label, 1);
      const ownSide = { counts: own.countsSync(0), totals: own.totalsSync(0) };
      idx.forEach((i, j) => {
        if (fold[j] !== k) return;
        const r = classify(feats[i].tokens, side, null);
        base[j] = feats[i].ruleScore + bayesPoints(r?.probability ?? 0.5);
        lr[j] = r === null || r.margin === null ? 0 : logisticPoints(r.margin);
        const b = classify(feats[i].tokens.filter(notRule), ownSide, null);
        beside[j] = b === null || b.margin === null ? 0 : logisticPoints(b.margin, BESIDE_POINTS);
      });
    }
    const spam = idx.map((i) => all[i].label === 'spam');
    rows.push({
      set, ham: spam.filter((s) => !s).length, spam: spam.filter((s) => s).length, atFp: AT_FP,
      without: missedAt(base, spam), beside: missedAt(base.map((b, j) => b + beside[j]), spam),
      withModel: missedAt(base.map((b, j) => b + lr[j]), spam),
    });
  }
  return rows;
}
