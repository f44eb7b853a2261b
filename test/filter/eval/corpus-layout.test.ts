// `fjord spam eval` will also judge corpora other than the development one: their labels.tsv
// may order its columns otherwise, leave out the origin, or come with CRLF line ends and a BOM.
// And training streams chunk by chunk from the worker threads, so it must not depend on which
// worker finishes first: two threads judge exactly as one does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SPAM_CORPUS } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/system.js';
import { readCorpus } from '../../../src/filter/eval/corpus.js';
import { runEval } from '../../../src/filter/eval/evaluate.js';

const have = fs.existsSync(path.join(SPAM_CORPUS, 'labels.tsv'));
const skip = have ? false : `corpus not found at ${SPAM_CORPUS}`;

test('labels.tsv columns are read by their header names', () => {
  const dir = tempDir('fjord-layout-');
  try {
    fs.writeFileSync(path.join(dir, 'labels.tsv'), '\uFEFFsplit\tlabel\tpath\r\ntrain\tSpam\ta/1.eml\r\ntest\tham\tb/2.eml\r\n\r\n');
    assert.deepEqual(readCorpus(dir), [
      { file: path.join(dir, 'a/1.eml'), label: 'spam', origin: '', split: 'train' },
      { file: path.join(dir, 'b/2.eml'), label: 'ham', origin: '', split: 'test' },
    ]);
    // Unknown header names: the development corpus's order.
    fs.writeFileSync(path.join(dir, 'labels.tsv'), 'p\tl\to\ts\nc/3.eml\tham\tx\ttest\n');
    assert.deepEqual(readCorpus(dir), [{ file: path.join(dir, 'c/3.eml'), label: 'ham', origin: 'x', split: 'test' }]);
    fs.writeFileSync(path.join(dir, 'labels.tsv'), 'relative_path\tlabel\nd/4.eml\tmaybe\n');
    assert.throws(() => readCorpus(dir), /labels\.tsv:2: label must be ham or spam/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('spam eval on a reordered corpus: one thread and two threads give the same verdicts', { skip, timeout: 120_000 }, async () => {
  const dir = tempDir('fjord-layout-');
  try {
    // Every 8th message of the development corpus, its columns reordered and without origin.
    const picked = readCorpus(SPAM_CORPUS).filter((_, i) => i % 8 === 0);
    const lines = ['label\tsplit\tfile'];
    for (const e of picked) {
      const rel = path.relative(SPAM_CORPUS, e.file);
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.copyFileSync(e.file, path.join(dir, rel));
      lines.push(`${e.label}\t${e.split}\t${rel}`);
    }
    fs.writeFileSync(path.join(dir, 'labels.tsv'), lines.join('\r\n') + '\r\n');
    const one = await runEval({ corpus: dir, threads: 1 });
    const two = await runEval({ corpus: dir, threads: 2 });
    const trainCount = picked.filter((e) => e.split === 'train').length;
    assert.equal(one.trained.ham + one.trained.spam, trainCount);
    assert.deepEqual(two.trained, one.trained);
    assert.equal(one.messages, picked.length - trainCount);
    assert.deepEqual(two.mistakes, one.mistakes);
    assert.equal(two.fp, one.fp);
    assert.equal(two.fn, one.fn);
    // Trained on an eighth of the train split it still judges far better than chance.
    assert.ok(one.accuracy > 0.9, `accuracy ${one.accuracy}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
