// The real evaluation on the SpamAssassin development corpus: train on the train split, judge
// the test split. The targets (false positives ≤ 0.2 %, false negatives ≤ 2 %) are NOT
// met yet (measured 0.40 % / 1.74 %, see bench/results/spam-*.json); this test holds what is
// achieved, so that a change that makes the filter worse fails, and no ham is ever refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SPAM_CORPUS } from '../helpers/paths.js';
import { runEval, formatEval } from '../../src/filter/eval/evaluate.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli, tempDir } from '../helpers/system.js';

const have = fs.existsSync(path.join(SPAM_CORPUS, 'labels.tsv'));
const skip = have ? false : `corpus not found at ${SPAM_CORPUS} (needs ../shared beside the repo)`;

test('content filter (rules + Bayes) on the test split: no ham refused, errors no worse than measured', { skip, timeout: 180_000 }, async () => {
  const r = await runEval({ corpus: SPAM_CORPUS, split: 'test', bayes: true, threads: 2 });
  console.log(formatEval(r));
  for (const m of r.mistakes) console.log(`  ${m.label} judged ${m.verdict} score ${m.score} p=${m.p?.toFixed(4)} ${path.basename(m.file)}`);
  assert.equal(r.messages, 1819);
  assert.equal(r.rejectedHam, 0, 'no ham may be refused');
  // Measured 2/1245 and 11/574 (2026-11-30, with RCVD_HELO_FAKE_PROVIDER no longer firing
  // between two servers of one organisation or for a client that logged in; neutral in CV on the
  // train split). Before: 3/1245 and 11/574 (with the logistic model's points reaching to -4 on
  // the ham side, chosen by CV on the train split with folds by the sender's domain too). Before:
  // 5/1245 and 10/574 (with Received fields in qmail's spellings read and the
  // logistic offset 3, both chosen by CV on the train split; the same before them). Before:
  // 5/1245 and 10/574 (with tokens of the relay the mail came in from, its
  // organisation and network, and of VERP envelope senders, chosen by CV on the train split; 6
  // and 9 without its organisation and network). Before: 6 and 11 (with the logistic
  // model averaged over 4 training orders, its offset 3.125, and the text rules at half weight
  // once the classifier is trained, chosen together by CV on the train split, with folds by
  // sender and at random; 5 and 11 at offset 3, chosen first on half the partitions). Earlier:
  // 6/1245 and 9/574 (with the logistic model reading messages as vectors
  // of unit length and Bayes at 2 points per decade of odds: 6 and 11 with the first alone, and
  // before either, with tiled Bayes clues and header-consistency tokens, both chosen by CV on the
  // train split, where both junk fewer ham and miss fewer spam;
  // here 5 and 10 with tiling alone, 4 and 12 before either; 7 and 17 with the logistic model
  // beside rules and Bayes rather than learning what they miss, 7 and 24 without it; 8 and 32
  // before the clue caps and offset, 38 missed before the header-forgery rules).
  // Targets: 2/1245 and 11/574.
  assert.ok(r.fp <= 2, `false positives ${r.fp} (${(r.fpRate * 100).toFixed(2)}%): worse than the 2 measured`);
  assert.ok(r.fn <= 11, `false negatives ${r.fn} (${(r.fnRate * 100).toFixed(2)}%): worse than the 11 measured`);
  // Throughput is measured on a shared machine: only a gross regression fails here; the
  // 500 msg/s target is measured by bench/spam.ts.
  assert.ok(r.msgPerSec >= 100, `${r.msgPerSec} msg/s`);
});

// The rules alone are what a new installation has before its Bayes database is trained.
test('content rules alone on the test split: errors no worse than measured', { skip, timeout: 180_000 }, async () => {
  const r = await runEval({ corpus: SPAM_CORPUS, split: 'test', bayes: false, threads: 2 });
  console.log(formatEval(r));
  assert.equal(r.rejectedHam, 0, 'no ham may be refused');
  // Measured 3/1245 and 238/574 (2026-11-30; 237 before RCVD_HELO_FAKE_PROVIDER stopped firing
  // on mail sent through Netscape's webmail, which AOL's servers hand on under the Netscape name;
  // 400/574 before the header-forgery rules; 235 before rules that misfired on today's mail were
  // narrowed, see rules/modern-mail.test.ts).
  assert.ok(r.fp <= 3, `false positives ${r.fp}: worse than the 3 measured`);
  assert.ok(r.fn <= 238, `false negatives ${r.fn}: worse than the 238 measured`);
});

// Mail of another time, never seen in training: the filter trained on the 2002 corpus judges
// today's messages (test/filter/fixtures/modern) through `fjord spam eval --train-corpus`.
test('spam eval --train-corpus: trained on one corpus, judging another', { skip, timeout: 120_000 }, async () => {
  const dir = tempDir('fjord-modern-corpus-');
  try {
    const lines = ['relative_path\tlabel\torigin_folder\tsplit'];
    for (const label of ['ham', 'spam']) {
      const from = path.join(REPO_ROOT, 'test/filter/fixtures/modern', label);
      fs.mkdirSync(path.join(dir, label));
      for (const f of fs.readdirSync(from)) {
        fs.copyFileSync(path.join(from, f), path.join(dir, label, f));
        lines.push(`${label}/${f}\t${label}\tmodern\ttest`);
      }
    }
    fs.writeFileSync(path.join(dir, 'labels.tsv'), lines.join('\n') + '\n');
    const r = await runCli(['spam', 'eval', '--corpus', dir, '--train-corpus', SPAM_CORPUS, '--json', '--data', path.join(dir, 'data')]);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout) as { messages: number; ham: number; spam: number; fp: number; fn: number; rejectedHam: number; trained: { ham: number; spam: number }; mistakes: { file: string }[] };
    console.log(`modern mail judged by the 2002-trained filter: FP ${e.fp}/${e.ham}, FN ${e.fn}/${e.spam}: ${e.mistakes.map((m) => m.file).join(' ')}`);
    assert.deepEqual(e.trained, { ...e.trained, ham: 2904, spam: 1322 });
    assert.equal(e.messages, 18);
    assert.equal(e.rejectedHam, 0);
    // Measured 2026-11-29: every spam caught; 1 of 12 ham junked (an order confirmation,
    // HTML-only as 2002's spam was); 2 before the entry-relay tokens (a bank notice too), 8 of 12
    // before the clue caps.
    assert.ok(e.fn === 0 && e.fp <= 1, `FP ${e.fp} FN ${e.fn}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
