// Trains a store's global token database on the first `perClass` ham and spam messages of the
// corpus train split, so benchmarks run the Bayes classifier as a trained server would.
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../src/store/types.js';
import { parseMessage } from '../src/mime/index.js';
import { ContentFilter } from '../src/filter/verdict.js';
import { REPO_ROOT } from '../test/helpers/paths.js';

export const CORPUS = path.resolve(REPO_ROOT, '..', 'shared', 'corpora', 'spamassassin');

/** Returns how many messages were trained (0 when the corpus is not there). */
export async function trainFromCorpus(store: Store, perClass: number): Promise<number> {
  const labels = path.join(CORPUS, 'labels.tsv');
  if (!fs.existsSync(labels)) return 0;
  const content = new ContentFilter(store);
  const taken = { ham: 0, spam: 0 };
  for (const line of fs.readFileSync(labels, 'utf8').split('\n').slice(1)) {
    const [file, label, , split] = line.split('\t');
    if (split !== 'train' || (label !== 'ham' && label !== 'spam') || taken[label] >= perClass) continue;
    const raw = fs.readFileSync(path.join(CORPUS, file!));
    await content.learn(0, `bench:${file}`, raw, parseMessage(raw), label);
    taken[label]++;
  }
  return taken.ham + taken.spam;
}
