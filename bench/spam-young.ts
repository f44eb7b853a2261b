// A server's global database is trained by its users' reports, which are few at first and
// lopsided (mostly "this is spam"). This judges the test split with databases trained on such
// samples of the train split, with and without the logistic model's points (LOGREG), to see
// whether a young or one-sided model does harm that rules and Bayes alone would not.
import { readCorpus } from '../src/filter/eval/corpus.js';
import { trainDb, judgeOptions } from '../src/filter/eval/evaluate.js';
import { judge } from '../src/filter/eval/features.js';
import { seededRandom } from '../src/filter/eval/random.js';
import { featurise } from './spam-cv.js';

export interface YoungRow { ham: number; spam: number; withModel: { fp: number; fn: number }; without: { fp: number; fn: number }; judgedHam: number; judgedSpam: number }

/** Trained ham and spam counts (each at most what the train split has). */
const SAMPLES: [number, number][] = [[200, 200], [400, 400], [800, 800], [200, 1322], [500, 1322], [2904, 300]];

export async function youngModels(corpus: string, threads = 2): Promise<YoungRow[]> {
  const all = readCorpus(corpus);
  const feats = await featurise(all.map((e) => e.file), threads);
  const train = all.map((_, i) => i).filter((i) => all[i].split === 'train');
  const test = all.map((_, i) => i).filter((i) => all[i].split === 'test');
  const withModel = judgeOptions();
  const without = { ...withModel, bayes: withModel.bayes === null ? null : { ...withModel.bayes, logisticMinTrained: Number.POSITIVE_INFINITY } };
  const rows: YoungRow[] = [];
  for (const [h, s] of SAMPLES) {
    const rnd = seededRandom(7);
    const pick = (label: string, n: number) => {
      const idx = train.filter((i) => all[i].label === label);
      for (let i = idx.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [idx[i], idx[j]] = [idx[j], idx[i]]; }
      return idx.slice(0, n);
    };
    const idx = [...pick('ham', h), ...pick('spam', s)];
    const db = trainDb(idx.map((i) => feats[i]), idx.map((i) => all[i].label));
    const count = (o: typeof withModel) => {
      let fp = 0, fn = 0;
      for (const i of test) {
        const spammy = judge(feats[i], db, o).verdict !== 'ham';
        if (all[i].label === 'ham' && spammy) fp++;
        if (all[i].label === 'spam' && !spammy) fn++;
      }
      return { fp, fn };
    };
    rows.push({ ham: idx.length - s, spam: s, withModel: count(withModel), without: count(without), judgedHam: test.filter((i) => all[i].label === 'ham').length, judgedSpam: test.filter((i) => all[i].label === 'spam').length });
  }
  return rows;
}
