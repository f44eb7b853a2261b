// A choice between two settings of the content filter (Bayes and logistic-model options,
// tokenizer options, points), made the way the shipped ones were: 5-fold cross-validation on the
// train split only, repeated over several random partitions, each message judged with the whole
// production score (rules, Bayes points and the logistic model's, the model trained with its
// prior from the same Bayes settings). Because both settings see the same partitions, their
// figures are compared partition by partition: the mean difference and its standard error say
// whether a gain is more than the partitions' noise. compareShift judges mail of a kind never
// trained: one generation of the corpus by a database trained on the other.
// Folds are random, by sender (every message of one From address in one fold, so a newsletter
// is judged by a database that never saw that sender, as the test split's junked ham were), or
// by the sender's domain (every message of one organisation in one fold: mail from an
// organisation training never met, as every message of another corpus is). Senders and domains
// with many training messages are split by message (GROUP_MAX).
//   npm run bench -- spam-choice [NAME]   (the choices of 2026-11-29: tiling, consistency
//   tokens, logistic (unit-length messages), points (Bayes points per decade), ensemble (the
//   logistic model averaged over training orders), textrules (text rules at half weight with
//   the classifier), entry (entry-relay and VERP tokens), offset (the logistic offset once
//   Received fields in qmail's spellings were read), trust (rules trusted by the trained
//   counts), hamcap (how far the logistic model may lower the score); see run.ts)
import fs from 'node:fs';
import { readCorpus } from '../src/filter/eval/corpus.js';
import { trainDb } from '../src/filter/eval/evaluate.js';
import { judge, type JudgeOptions, type MessageFeatures } from '../src/filter/eval/features.js';
import { seededRandom } from '../src/filter/eval/random.js';
import { DEFAULT_BAYES, type BayesOptions } from '../src/filter/bayes/classifier.js';
import { DEFAULT_TOKENIZE, type TokenizeOptions } from '../src/filter/bayes/tokenize.js';
import { DEFAULT_BAYES_POINTS, DEFAULT_THRESHOLDS, type BayesPoints } from '../src/filter/verdict.js';
import type { LogisticPoints } from '../src/filter/bayes/logistic.js';
import { featurise } from './spam-cv.js';
import { parseMessage } from '../src/mime/index.js';
import { registrableDomain } from '../src/filter/urls.js';
import type { MemoryTokenDb } from '../src/filter/bayes/token-db.js';

/** Junked-ham counts at which missed spam is read off the trade-off curve. */
const AT_FP = [2, 4, 6, 8];

export interface ChoiceFigures { missedAt: number[]; fp: number; fn: number }
export interface ChoiceRow { name: string; mean: ChoiceFigures; perPartition: ChoiceFigures[] }
export interface ChoiceResult {
  ham: number; spam: number; partitions: number; firstSeed: number; folds: FoldKind; atFp: number[];
  rows: ChoiceRow[];
  /** Second setting minus first: mean and standard error over partitions. */
  difference: { missedAt: { mean: number; se: number }[]; fp: { mean: number; se: number }; fn: { mean: number; se: number } };
}

/** Spam missed when the `atFp` highest-scoring ham are junked, and both errors at the junk
 * threshold (a refused message is junked whatever its score). */
export function figures(scores: number[], refuse: boolean[], spam: boolean[], atFp: readonly number[] = AT_FP): ChoiceFigures {
  const hams = scores.filter((_, i) => !spam[i]).sort((a, b) => b - a);
  const spams = scores.filter((_, i) => spam[i]);
  let fp = 0, fn = 0;
  scores.forEach((s, i) => {
    const junk = refuse[i] || s >= DEFAULT_THRESHOLDS.junk;
    if (spam[i] && !junk) fn++;
    if (!spam[i] && junk) fp++;
  });
  return { missedAt: atFp.map((k) => spams.filter((v) => v <= hams[k]).length), fp, fn };
}

/** What a setting trains with. Settings that differ only in how they judge (the logistic
 * model's points, the text rules' scale) train the same databases, so they share them. */
const trainingKey = (s: Setting): string => JSON.stringify([s.tokenize ?? DEFAULT_TOKENIZE, s.bayes ?? DEFAULT_BAYES, s.points ?? DEFAULT_BAYES_POINTS, s.orders ?? 1]);

/** Scores of every message, each judged by a database trained on the other four folds (taken
 * from `trained` when a setting that trains alike has trained it in this partition). */
function crossScores(feats: MessageFeatures[], labels: ('ham' | 'spam')[], fold: number[], s: Setting, trained: Map<string, MemoryTokenDb>): number[] {
  const scores = new Array<number>(feats.length);
  const o = judgeOptionsOf(s);
  for (let k = 0; k < 5; k++) {
    const key = `${trainingKey(s)} fold ${k}`;
    let db = trained.get(key);
    if (db === undefined) {
      const idx = feats.map((_, i) => i).filter((i) => fold[i] !== k);
      db = trainDb(idx.map((i) => feats[i]), idx.map((i) => labels[i]), o.bayes, o.points, s.orders);
      trained.set(key, db);
    }
    feats.forEach((f, i) => { if (fold[i] === k) scores[i] = judge(f, db, o).score; });
  }
  return scores;
}

const meanSe = (d: number[]) => {
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const v = d.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, d.length - 1);
  return { mean: Math.round(m * 100) / 100, se: Math.round(Math.sqrt(v / d.length) * 100) / 100 };
};

/** What may differ: the Bayes options (with the logistic model's, bayes.logistic), the tokenizer,
 * and the points of Bayes and of the logistic model (Bayes's also make the model's priors). */
export interface Setting {
  bayes?: BayesOptions; tokenize?: TokenizeOptions; points?: BayesPoints; logisticPoints?: LogisticPoints;
  /** Logistic models trained in this many orders and averaged (trainDb; default 1). */
  orders?: number;
  /** What text rules count with a trained classifier (default TEXT_RULE_SCALE). */
  textRuleScale?: number;
}

/** How the train split is cut into folds. */
export type FoldKind = 'random' | 'sender' | 'domain';

/** Groups with more training messages than this are split by message: a sender over 20 is a
 * mailing list's feed (455 RSS items come from one address); a domain over 60 is free mail or
 * the lists' own host (hotmail.com, yahoo.com, taint.org), whose senders are unrelated people,
 * while a company's newsletters and notices stay together. */
const GROUP_MAX: Record<Exclude<FoldKind, 'random'>, number> = { sender: 20, domain: 60 };

/** 5 folds for n messages at random, or by group when given each one's group key. */
function foldsOf(n: number, rnd: () => number, groups: string[] | null, max = 0): number[] {
  if (groups === null) return Array.from({ length: n }, () => Math.floor(rnd() * 5));
  const size = new Map<string, number>();
  for (const a of groups) size.set(a, (size.get(a) ?? 0) + 1);
  const foldOf = new Map<string, number>();
  return groups.map((a) => {
    if (a === '' || (size.get(a) ?? 0) > max) return Math.floor(rnd() * 5);
    let f = foldOf.get(a);
    if (f === undefined) foldOf.set(a, (f = Math.floor(rnd() * 5)));
    return f;
  });
}

/** The group key of a message for folds of this kind: its From address, or that address's
 * registrable domain. */
function groupOf(file: string, kind: Exclude<FoldKind, 'random'>): string {
  const address = parseMessage(fs.readFileSync(file)).from[0]?.address.toLowerCase() ?? '';
  if (kind === 'sender') return address;
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : registrableDomain(address.slice(at + 1));
}

/** How a setting judges (and trains: trainDb with its Bayes options and points). */
function judgeOptionsOf(s: Setting): JudgeOptions & { bayes: BayesOptions } {
  return { bayes: s.bayes ?? DEFAULT_BAYES, points: s.points ?? DEFAULT_BAYES_POINTS, thresholds: DEFAULT_THRESHOLDS, logistic: s.logisticPoints, textRuleScale: s.textRuleScale };
}

/** Each setting's features of the train split, featurised once per tokenizer (settings that
 * tokenize alike share them). */
async function featuresOf(train: { file: string }[], settings: [string, Setting][]): Promise<MessageFeatures[][]> {
  const byTokenizer = new Map<string, MessageFeatures[]>();
  const out: MessageFeatures[][] = [];
  for (const [, s] of settings) {
    const key = JSON.stringify(s.tokenize ?? DEFAULT_TOKENIZE);
    let f = byTokenizer.get(key);
    if (f === undefined) { f = await featurise(train.map((e) => e.file), 2, s.tokenize ?? DEFAULT_TOKENIZE); byTokenizer.set(key, f); }
    out.push(f);
  }
  return out;
}

export async function compareSettings(corpus: string, settings: [string, Setting][], partitions = 12, log: (s: string) => void = () => {}, firstSeed = 100, folds: FoldKind = 'random'): Promise<ChoiceResult> {
  const train = readCorpus(corpus).filter((e) => e.split === 'train');
  const featsOf = await featuresOf(train, settings);
  const feats = featsOf[0];
  const labels = train.map((e) => e.label);
  const spam = labels.map((l) => l === 'spam');
  const refuse = feats.map((f) => f.refuse);
  const rows: ChoiceRow[] = settings.map(([name]) => ({ name, mean: { missedAt: [], fp: 0, fn: 0 }, perPartition: [] }));
  const groups = folds === 'random' ? null : train.map((e) => groupOf(e.file, folds));
  for (let p = 0; p < partitions; p++) {
    const fold = foldsOf(train.length, seededRandom(firstSeed + p), groups, folds === 'random' ? 0 : GROUP_MAX[folds]);
    const trained = new Map<string, MemoryTokenDb>();
    settings.forEach(([, o], s) => rows[s].perPartition.push(figures(crossScores(featsOf[s], labels, fold, o, trained), refuse, spam)));
    log(`partition ${p + 1}/${partitions}: ` + rows.map((r) => `${r.name} ${r.perPartition[p].missedAt.join('/')} (at the threshold ${r.perPartition[p].fp} junked, ${r.perPartition[p].fn} missed)`).join('; '));
  }
  const avg = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
  for (const r of rows) {
    r.mean = { missedAt: AT_FP.map((_, k) => avg(r.perPartition.map((f) => f.missedAt[k]))), fp: avg(r.perPartition.map((f) => f.fp)), fn: avg(r.perPartition.map((f) => f.fn)) };
  }
  const [a, b] = rows;
  return {
    ham: spam.filter((s) => !s).length, spam: spam.filter((s) => s).length, partitions, firstSeed, folds, atFp: AT_FP, rows,
    difference: {
      missedAt: AT_FP.map((_, k) => meanSe(b.perPartition.map((f, p) => f.missedAt[k] - a.perPartition[p].missedAt[k]))),
      fp: meanSe(b.perPartition.map((f, p) => f.fp - a.perPartition[p].fp)),
      fn: meanSe(b.perPartition.map((f, p) => f.fn - a.perPartition[p].fn)),
    },
  };
}

/** The corpus's two generations (bench/spam-shift.ts), inside the train split only: each trains
 * a database and the other is judged, hard_ham always judged and never trained. */
const GENERATIONS: [string[], string[]][] = [
  [['easy_ham', 'spam'], ['easy_ham_2', 'spam_2', 'hard_ham']],
  [['easy_ham_2', 'spam_2'], ['easy_ham', 'spam', 'hard_ham']],
];
/** Missed spam, as fractions of the spam judged, at which junked ham is read off. */
export const AT_FN = [0.03, 0.04, 0.05];

export interface ShiftChoiceRow {
  name: string; trained: string[]; hamJudged: number; spamJudged: number; junkedAt: number[]; fp: number; fn: number;
  /** Ham junked at the threshold by each training order. */
  fpByOrder: number[];
}

/** Mail of a kind never trained (the other generation, and the commercial newsletters of
 * hard_ham) judged by each setting, over several training orders (the online logistic model
 * depends on the order): ham junked when as much spam is missed (AT_FN), and at the threshold;
 * means over the orders. */
export async function compareShift(corpus: string, settings: [string, Setting][], orders = 4): Promise<ShiftChoiceRow[]> {
  const train = readCorpus(corpus).filter((e) => e.split === 'train');
  const rows: ShiftChoiceRow[] = [];
  const featsOf = await featuresOf(train, settings);
  for (const [si, [name, s]] of settings.entries()) {
    const feats = featsOf[si];
    const o = judgeOptionsOf(s);
    for (const [trainO, judgedO] of GENERATIONS) {
      const judged = train.map((_, i) => i).filter((i) => judgedO.includes(train[i].origin));
      const spam = judged.map((i) => train[i].label === 'spam');
      const sum = { junkedAt: AT_FN.map(() => 0), fp: 0, fn: 0 };
      const fpByOrder: number[] = [];
      for (let r = 0; r < orders; r++) {
        const idx = train.map((_, i) => i).filter((i) => trainO.includes(train[i].origin));
        const rnd = seededRandom(300 + r);
        for (let i = idx.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [idx[i], idx[j]] = [idx[j], idx[i]]; }
        const db = trainDb(idx.map((i) => feats[i]), idx.map((i) => train[i].label), o.bayes, o.points, s.orders);
        const scores = judged.map((i) => (feats[i].refuse ? Infinity : judge(feats[i], db, o).score));
        const spams = scores.filter((_, k) => spam[k]).sort((a, b) => a - b);
        const hams = scores.filter((_, k) => !spam[k]);
        AT_FN.forEach((f, k) => { const t = spams[Math.floor(f * spams.length)]; sum.junkedAt[k] += hams.filter((v) => v >= t).length; });
        fpByOrder.push(hams.filter((v) => v >= DEFAULT_THRESHOLDS.junk).length);
        sum.fp += fpByOrder[r];
        sum.fn += spams.filter((v) => v < DEFAULT_THRESHOLDS.junk).length;
      }
      const avg = (x: number) => Math.round((x / orders) * 10) / 10;
      rows.push({ name, trained: trainO, hamJudged: spam.filter((x) => !x).length, spamJudged: spam.filter((x) => x).length, junkedAt: sum.junkedAt.map(avg), fp: avg(sum.fp), fn: avg(sum.fn), fpByOrder });
    }
  }
  return rows;
}
