// Generalisation check: train on one generation of the corpus and judge the other (both splits),
// in both directions. The corpus's two generations (easy_ham + spam, then easy_ham_2 + spam_2,
// months apart; hard_ham always judged) stand in for the mail of a later year the filter will
// meet: a filter that learned what its training year looked like rather than what spam is
// junks the other year's ham.
import { readCorpus } from '../src/filter/eval/corpus.js';
import { trainDb, judgeOptions } from '../src/filter/eval/evaluate.js';
import { judge } from '../src/filter/eval/features.js';
import { featurise } from './spam-cv.js';

export interface ShiftFigures { train: string[]; judged: string[]; ham: number; spam: number; fp: number; fn: number; rulesFp: number; rulesFn: number }

const GENERATIONS: [string[], string[]][] = [
  [['easy_ham', 'spam'], ['easy_ham_2', 'spam_2', 'hard_ham']],
  [['easy_ham_2', 'spam_2'], ['easy_ham', 'spam', 'hard_ham']],
];

export async function generationShift(corpus: string, threads = 2): Promise<ShiftFigures[]> {
  const all = readCorpus(corpus);
  const feats = await featurise(all.map((e) => e.file), threads);
  const o = judgeOptions();
  return GENERATIONS.map(([trainO, judgedO]) => {
    const tr = all.map((_, i) => i).filter((i) => trainO.includes(all[i].origin));
    const db = trainDb(tr.map((i) => feats[i]), tr.map((i) => all[i].label));
    const f: ShiftFigures = { train: trainO, judged: judgedO, ham: 0, spam: 0, fp: 0, fn: 0, rulesFp: 0, rulesFn: 0 };
    all.forEach((e, i) => {
      if (!judgedO.includes(e.origin)) return;
      const spammy = judge(feats[i], db, o).verdict !== 'ham';
      const rulesSpammy = feats[i].refuse || feats[i].ruleScore >= o.thresholds.junk;
      if (e.label === 'ham') { f.ham++; if (spammy) f.fp++; if (rulesSpammy) f.rulesFp++; }
      else { f.spam++; if (!spammy) f.fn++; if (!rulesSpammy) f.rulesFn++; }
    });
    return f;
  });
}
