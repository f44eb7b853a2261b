// Parameter choice by k-fold cross-validation inside the train split (the test split is never
// looked at here). Messages are featurised once (rules + tokens, bigrams included); each fold
// trains a database on the other folds; Bayes options are varied at classification time (a
// database trained with word pairs answers exactly like one without them when asked only about
// single words), and the probability→points mapping is varied on the stored probabilities.
import { readCorpus } from '../src/filter/eval/corpus.js';
import { EvalPool, trainDb, judgeOptions } from '../src/filter/eval/evaluate.js';
import type { MessageFeatures } from '../src/filter/eval/features.js';
import { classify, DEFAULT_BAYES, type BayesOptions } from '../src/filter/bayes/classifier.js';
import { DEFAULT_TOKENIZE, type TokenizeOptions } from '../src/filter/bayes/tokenize.js';
import { bayesPoints, DEFAULT_BAYES_POINTS, DEFAULT_THRESHOLDS, type BayesPoints } from '../src/filter/verdict.js';

export interface CvFigures { accuracy: number; fpRate: number; fnRate: number; fp: number; fn: number; ham: number; spam: number }

export interface CvResult {
  folds: number;
  messages: number;
  rulesAlone: CvFigures;
  /** Figures of the shipped defaults. */
  defaults: CvFigures & { bayes: BayesOptions; bigrams: boolean; points: BayesPoints };
  /** Every combination tried, best first (by 10 × FP + FN). */
  grid: (CvFigures & { strength: number; maxClues: number; bigrams: boolean; points: BayesPoints })[];
}

function figures(labels: ('ham' | 'spam')[], scores: number[], refuse: boolean[], junk: number): CvFigures {
  let fp = 0, fn = 0, ham = 0, spam = 0;
  for (let i = 0; i < labels.length; i++) {
    const spammy = refuse[i] || scores[i] >= junk;
    if (labels[i] === 'ham') { ham++; if (spammy) fp++; } else { spam++; if (!spammy) fn++; }
  }
  return { accuracy: (labels.length - fp - fn) / labels.length, fpRate: fp / ham, fnRate: fn / spam, fp, fn, ham, spam };
}

/** Rules and tokens (bigrams included) of every file, computed on worker threads. */
export async function featurise(files: string[], threads = 2, tokenize: TokenizeOptions = DEFAULT_TOKENIZE): Promise<MessageFeatures[]> {
  const pool = new EvalPool({ rulesFile: null, tokenize, judge: judgeOptions() }, threads);
  try {
    return await pool.map<MessageFeatures>({ op: 'features', files, rules: true });
  } finally {
    await pool.close();
  }
}

export async function crossValidate(corpus: string, folds = 5, threads = 2, log: (s: string) => void = () => {}): Promise<CvResult> {
  const train = readCorpus(corpus).filter((e) => e.split === 'train');
  const feats = await featurise(train.map((e) => e.file), threads);
  const labels = train.map((e) => e.label);
  const fold = train.map((_, i) => i % folds);
  const ruleScores = feats.map((f) => f.ruleScore);
  const refuse = feats.map((f) => f.refuse);
  const junk = DEFAULT_THRESHOLDS.junk;
  const rulesAlone = figures(labels, ruleScores, refuse, junk);
  log(`cv: featurised ${train.length} train messages; rules alone FP ${rulesAlone.fp} FN ${rulesAlone.fn}`);

  const unigram = feats.map((f) => f.tokens.filter((t) => !t.includes('bi:')));
  const strengths = [0.1, 0.45, 1];
  const clueCounts = [50, 150, 300];
  // probabilities[variant][message]
  const probs = new Map<string, number[]>();
  for (let k = 0; k < folds; k++) {
    const idx = train.map((_, i) => i).filter((i) => fold[i] !== k);
    const db = trainDb(idx.map((i) => feats[i]), idx.map((i) => labels[i]));
    const side = { counts: db.countsSync(0), totals: db.totalsSync(0) };
    for (const bigrams of [true, false]) for (const s of strengths) for (const c of clueCounts) {
      const key = `${bigrams}|${s}|${c}`;
      let arr = probs.get(key);
      if (arr === undefined) { arr = new Array(train.length).fill(0.5); probs.set(key, arr); }
      const o: BayesOptions = { ...DEFAULT_BAYES, strength: s, maxClues: c };
      for (let i = 0; i < train.length; i++) {
        if (fold[i] !== k) continue;
        arr[i] = classify(bigrams ? feats[i].tokens : unigram[i], side, null, o)?.probability ?? 0.5;
      }
    }
    log(`cv: fold ${k + 1}/${folds} done`);
  }
  const mappings: BayesPoints[] = [];
  for (const scale of [1.5, 2, 2.5, 3, 4]) for (const max of [5, 6, 8]) for (const min of [-3, -5]) mappings.push({ scale, min, max });
  const grid: CvResult['grid'] = [];
  for (const [key, arr] of probs) {
    const [b, s, c] = key.split('|');
    for (const m of mappings) {
      const scores = arr.map((p, i) => ruleScores[i] + bayesPoints(p, m));
      grid.push({ ...figures(labels, scores, refuse, junk), strength: Number(s), maxClues: Number(c), bigrams: b === 'true', points: m });
    }
  }
  grid.sort((x, y) => 10 * x.fp + x.fn - (10 * y.fp + y.fn));
  const dKey = `${DEFAULT_TOKENIZE.bigrams}|${DEFAULT_BAYES.strength}|${DEFAULT_BAYES.maxClues}`;
  const dArr = probs.get(dKey) ?? probs.values().next().value!;
  const dScores = dArr.map((p, i) => ruleScores[i] + bayesPoints(p, DEFAULT_BAYES_POINTS));
  return {
    folds, messages: train.length, rulesAlone,
    defaults: { ...figures(labels, dScores, refuse, junk), bayes: DEFAULT_BAYES, bigrams: DEFAULT_TOKENIZE.bigrams, points: DEFAULT_BAYES_POINTS },
    grid,
  };
}
