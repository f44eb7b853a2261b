// A labelled corpus in the layout of shared/corpora/spamassassin: labels.tsv with
// relative_path, label (ham|spam), origin folder and split (train|test), header line first.
// The header names the columns, so a corpus that orders them otherwise or leaves out the origin
// is read by name; a header without known names falls back to that order.
import fs from 'node:fs';
import path from 'node:path';

export interface CorpusEntry {
  file: string;
  label: 'ham' | 'spam';
  origin: string;
  split: string;
}

const NAMES: Record<keyof CorpusEntry, string[]> = {
  file: ['relative_path', 'path', 'file', 'filename'],
  label: ['label', 'class'],
  origin: ['origin_folder', 'origin', 'folder', 'source'],
  split: ['split', 'set'],
};

/** Column index of each field, from the header line. */
function columns(header: string): Record<keyof CorpusEntry, number> {
  const cells = header.split('\t').map((c) => c.trim().toLowerCase());
  const at = (k: keyof CorpusEntry) => cells.findIndex((c) => NAMES[k].includes(c));
  const named = { file: at('file'), label: at('label'), origin: at('origin'), split: at('split') };
  return named.file >= 0 && named.label >= 0 ? named : { file: 0, label: 1, origin: 2, split: 3 };
}

export function readCorpus(dir: string): CorpusEntry[] {
  const labels = path.join(dir, 'labels.tsv');
  if (!fs.existsSync(labels)) throw new Error(`${labels} not found (expected a labels.tsv corpus)`);
  const out: CorpusEntry[] = [];
  const lines = fs.readFileSync(labels, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
  const col = columns(lines[0] ?? '');
  const cell = (cells: string[], i: number) => (i < 0 ? '' : (cells[i] ?? '').trim());
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = lines[i].split('\t');
    const label = cell(cells, col.label).toLowerCase();
    if (label !== 'ham' && label !== 'spam') throw new Error(`${labels}:${i + 1}: label must be ham or spam`);
    out.push({ file: path.join(dir, cell(cells, col.file)), label, origin: cell(cells, col.origin), split: cell(cells, col.split).toLowerCase() });
  }
  return out;
}
