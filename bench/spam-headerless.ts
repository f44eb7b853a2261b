// Mail the rules were not written for: the corpus as some public corpora ship it (Enron-Spam
// keeps only the Subject and the body), here the Subject, the MIME fields and the body of each
// message. Without a Date, From or Message-ID every message trips MISSING_DATE, MISSING_FROM and
// MISSING_MSGID (3.3 points), ham and spam alike. Trained and judged on its own train and test
// splits, with the rules trusted by the trained counts (rules/trust.ts) and without, and the
// same for the corpus as it is.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCorpus, type CorpusEntry } from '../src/filter/eval/corpus.js';
import { trainDb, judgeOptions, SEED_ORDERS } from '../src/filter/eval/evaluate.js';
import { judge, type MessageFeatures } from '../src/filter/eval/features.js';
import { DEFAULT_BAYES } from '../src/filter/bayes/classifier.js';
import { featurise } from './spam-cv.js';
import { figures } from './spam-choice.js';

export interface HeaderlessRow {
  corpus: 'as it is' | 'headerless';
  ruleTrust: boolean;
  ham: number; spam: number;
  /** At the junk threshold. */
  fp: number; fn: number;
  /** Spam missed when the 0, 1, 2, 4 and 8 highest-scoring ham are junked. */
  missedAt: number[];
}

export const JUNKED_HAM = [0, 1, 2, 4, 8];

/** The Subject, MIME fields and body of a message (its other header fields dropped). */
function headerless(raw: Buffer): Buffer {
  const s = raw.toString('latin1');
  const end = s.search(/\r?\n\r?\n/);
  const head = end < 0 ? s : s.slice(0, end);
  const body = end < 0 ? '' : s.slice(end);
  const keep = head.split(/\r?\n(?![ \t])/).filter((f) => /^(subject|mime-version|content-type|content-transfer-encoding):/i.test(f));
  return Buffer.from(keep.join('\n') + body, 'latin1');
}

function measure(all: CorpusEntry[], feats: MessageFeatures[], ruleTrust: boolean): Omit<HeaderlessRow, 'corpus'> {
  const bayes = { ...DEFAULT_BAYES, ruleTrust };
  const train = all.map((_, i) => i).filter((i) => all[i].split === 'train');
  const test = all.map((_, i) => i).filter((i) => all[i].split === 'test');
  const db = trainDb(train.map((i) => feats[i]), train.map((i) => all[i].label), bayes, undefined, SEED_ORDERS);
  const o = judgeOptions({ bayes });
  const spam = test.map((i) => all[i].label === 'spam');
  const f = figures(test.map((i) => judge(feats[i], db, o).score), test.map((i) => feats[i].refuse), spam, JUNKED_HAM);
  return { ruleTrust, ham: spam.filter((s) => !s).length, spam: spam.filter((s) => s).length, ...f };
}

export async function headerlessCorpus(corpus: string, threads = 2): Promise<HeaderlessRow[]> {
  const all = readCorpus(corpus);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fjord-headerless-'));
  try {
    const files = all.map((e, i) => {
      const f = path.join(dir, `${i}.eml`);
      fs.writeFileSync(f, headerless(fs.readFileSync(e.file)));
      return f;
    });
    const rows: HeaderlessRow[] = [];
    for (const [name, list] of [['as it is', all.map((e) => e.file)], ['headerless', files]] as const) {
      const feats = await featurise(list, threads);
      for (const trust of [false, true]) rows.push({ corpus: name, ...measure(all, feats, trust) });
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
