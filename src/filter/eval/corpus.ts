// A labelled corpus in the layout of shared/corpora/spamassassin: labels.tsv with
// relative_path, label (ham|spam), origin folder and split (train|test), header line first.
import fs from 'node:fs';
import path from 'node:path';

export interface CorpusEntry {
  file: string;
  label: 'ham' | 'spam';
  origin: string;
  split: string;
}

export function readCorpus(dir: string): CorpusEntry[] {
  const labels = path.join(dir, 'labels.tsv');
  if (!fs.existsSync(labels)) throw new Error(`${labels} not found (expected a labels.tsv corpus)`);
  const out: CorpusEntry[] = [];
  const lines = fs.readFileSync(labels, 'utf8').split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const [rel, label, origin = '', split = ''] = lines[i].split('\t');
    if (label !== 'ham' && label !== 'spam') throw new Error(`${labels}:${i + 1}: label must be ham or spam`);
    out.push({ file: path.join(dir, rel), label, origin, split });
  }
  return out;
}
