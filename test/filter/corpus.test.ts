// The real evaluation on the SpamAssassin development corpus: train on the train split, judge
// the test split. The targets (false positives ≤ 0.2 %, false negatives ≤ 2 %) are NOT
// met yet (measured 0.64 % / 5.57 %, see bench/results/spam-*.json); this test holds what is
// achieved, so that a change that makes the filter worse fails, and no ham is ever refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SPAM_CORPUS } from '../helpers/paths.js';
import { runEval, formatEval } from '../../src/filter/eval/evaluate.js';

const have = fs.existsSync(path.join(SPAM_CORPUS, 'labels.tsv'));
const skip = have ? false : `corpus not found at ${SPAM_CORPUS} (needs ../shared beside the repo)`;

test('content filter (rules + Bayes) on the test split: no ham refused, errors no worse than measured', { skip, timeout: 180_000 }, async () => {
  const r = await runEval({ corpus: SPAM_CORPUS, split: 'test', bayes: true, threads: 2 });
  console.log(formatEval(r));
  for (const m of r.mistakes) console.log(`  ${m.label} judged ${m.verdict} score ${m.score} p=${m.p?.toFixed(4)} ${path.basename(m.file)}`);
  assert.equal(r.messages, 1819);
  assert.equal(r.rejectedHam, 0, 'no ham may be refused');
  // Measured 7/1245 and 24/574 (2026-11-28: Bayes on its 40 strongest clues with at most one
  // markup clue and no part-type clues, the points offset, and the header-forgery rules; 8 and
  // 32 before the caps and offset, 38 missed before those rules). Targets: 2/1245 and 11/574.
  assert.ok(r.fp <= 7, `false positives ${r.fp} (${(r.fpRate * 100).toFixed(2)}%): worse than the 7 measured`);
  assert.ok(r.fn <= 24, `false negatives ${r.fn} (${(r.fnRate * 100).toFixed(2)}%): worse than the 24 measured`);
  // Throughput is measured on a shared machine: only a gross regression fails here; the
  // 500 msg/s target is measured by bench/spam.ts.
  assert.ok(r.msgPerSec >= 100, `${r.msgPerSec} msg/s`);
});

// The rules alone are what a new installation has before its Bayes database is trained.
test('content rules alone on the test split: errors no worse than measured', { skip, timeout: 180_000 }, async () => {
  const r = await runEval({ corpus: SPAM_CORPUS, split: 'test', bayes: false, threads: 2 });
  console.log(formatEval(r));
  assert.equal(r.rejectedHam, 0, 'no ham may be refused');
  // Measured 3/1245 and 237/574 (2026-11-28; 400/574 before the header-forgery rules; 235 before
  // rules that misfired on today's mail were narrowed, see rules/modern-mail.test.ts).
  assert.ok(r.fp <= 3, `false positives ${r.fp}: worse than the 3 measured`);
  assert.ok(r.fn <= 237, `false negatives ${r.fn}: worse than the 237 measured`);
});
