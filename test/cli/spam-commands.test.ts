// `fjord spam train` and `fjord spam check` as an operator runs them (real processes on one data
// folder): training counts each message once, relabels what is trained the other way, keeps an
// account's database apart from the global one, and check reports every signal with its score.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers/system.js';
import { SPAM_CORPUS } from '../helpers/paths.js';
import { readCorpus } from '../../src/filter/eval/corpus.js';

const have = fs.existsSync(path.join(SPAM_CORPUS, 'labels.tsv'));
const skip = have ? false : `corpus not found at ${SPAM_CORPUS}`;

let dir: string;
const fjord = (...args: string[]) => runCli([...args, '--data', path.join(dir, 'data')]);

before(() => { dir = tempDir('fjord-spam-cli-'); });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `n` messages of a label and split copied into a folder of their own. */
function folder(name: string, label: 'ham' | 'spam', split: string, n: number, skipFirst = 0): string[] {
  const to = path.join(dir, name);
  fs.mkdirSync(to, { recursive: true });
  const picked = readCorpus(SPAM_CORPUS).filter((e) => e.label === label && e.split === split).slice(skipFirst, skipFirst + n);
  return picked.map((e) => { const f = path.join(to, path.basename(e.file)); fs.copyFileSync(e.file, f); return f; });
}

interface Checked { file: string; verdict: string; score: number; signals: { name: string; score: number; detail?: string }[] }
const checkJson = async (...args: string[]): Promise<Checked[]> => {
  const r = await fjord('spam', 'check', '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Checked);
};

test('spam train and check: once per message, relabelling, accounts apart, every signal reported', { skip, timeout: 240_000 }, async () => {
  folder('spam', 'spam', 'train', 250);
  folder('ham', 'ham', 'train', 250);
  const probes = [...folder('probe-spam', 'spam', 'test', 20), ...folder('probe-ham', 'ham', 'test', 20)];

  // Untrained: rules only, no BAYES signal.
  const cold = await checkJson(probes[0]);
  assert.equal(cold[0].signals.some((s) => s.name === 'BAYES'), false);

  const first = await fjord('spam', 'train', '--spam', path.join(dir, 'spam'), '--ham', path.join(dir, 'ham'));
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^trained 500 of 500 messages into the global database \(now 250 spam, 250 ham, its logistic model averaged over 4 training orders\)/, 'a new database is seeded');
  const again = await fjord('spam', 'train', '--spam', path.join(dir, 'spam'), '--ham', path.join(dir, 'ham'));
  assert.match(again.stdout, /^trained 0 of 500 messages .*\(now 250 spam, 250 ham\)/, 'each message counts once');

  const judged = await checkJson(...probes);
  assert.equal(judged.length, 40);
  let right = 0;
  for (const [i, j] of judged.entries()) {
    assert.equal(j.file, probes[i]);
    assert.ok(['ham', 'spam', 'reject'].includes(j.verdict));
    const bayes = j.signals.find((s) => s.name === 'BAYES');
    assert.ok(bayes !== undefined && /^p=/.test(bayes.detail ?? ''), 'trained: Bayes speaks');
    const sum = j.signals.reduce((a, s) => a + s.score, 0);
    assert.ok(Math.abs(sum - j.score) < 0.011, `score ${j.score} is the sum of its signals ${sum}`);
    if ((i < 20) === (j.verdict !== 'ham')) right++;
  }
  // 500 training messages already judge most unseen ones right.
  assert.ok(right >= 34, `${right} of 40 right`);

  const text = await fjord('spam', 'check', probes[0]);
  assert.match(text.stdout, new RegExp(`^${probes[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\t(ham|spam|reject)\t-?\\d+\\.\\d\t.*BAYES=`));

  // For scripts: the message on standard input, and the verdict as the exit status (as spamc -c).
  const spamProbe = judged.findIndex((j) => j.verdict !== 'ham');
  const hamProbe = judged.findIndex((j) => j.verdict === 'ham');
  const piped = await runCli(['spam', 'check', '-', '--exit-code', '--data', path.join(dir, 'data')], { input: fs.readFileSync(probes[spamProbe]) });
  assert.equal(piped.code, 1, piped.stderr);
  assert.match(piped.stdout, /^-\t(spam|reject)\t/);
  assert.equal((await fjord('spam', 'check', '--exit-code', probes[hamProbe])).code, 0);
  assert.equal((await fjord('spam', 'check', '--exit-code', probes[hamProbe], probes[spamProbe])).code, 1, 'any spam among them');
  assert.equal((await fjord('spam', 'check', probes[spamProbe])).code, 0, 'without --exit-code the status says only that it ran');
  assert.equal((await fjord('spam', 'check', '-', '-')).code, 2);

  // The same ham folder told as spam: relabelled, not counted twice.
  const flip = await fjord('spam', 'train', '--spam', path.join(dir, 'ham'));
  assert.match(flip.stdout, /^trained 250 of 250 messages .*\(now 500 spam, 0 ham\)/);

  // An account's own database leaves the global one as it is.
  assert.equal((await fjord('domain', 'add', 'example.org')).code, 0);
  const add = await runCli(['account', 'add', 'ann@example.org', '--data', path.join(dir, 'data')], { input: 'a long enough passphrase\n' });
  assert.equal(add.code, 0, add.stderr + add.stdout);
  const mine = await fjord('spam', 'train', '--ham', path.join(dir, 'ham'), '--account', 'ann@example.org');
  assert.match(mine.stdout, /^trained 250 of 250 messages into the ann@example\.org database \(now 0 spam, 250 ham\)/);
  const unknown = await fjord('spam', 'train', '--ham', path.join(dir, 'ham'), '--account', 'nobody@example.org');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown account/);

  // With no ham left in the global database Bayes keeps quiet, except for ann, who has her own.
  assert.equal((await checkJson(probes[0]))[0].signals.some((s) => s.name === 'BAYES'), false);
  assert.equal((await checkJson(probes[0], '--account', 'ann@example.org'))[0].signals.some((s) => s.name === 'BAYES'), true);
  const missing = await fjord('spam', 'check', path.join(dir, 'absent.eml'));
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /cannot read .*absent\.eml: ENOENT/);
  // Nothing larger than the server would accept is read (smtp.maxMessageSize).
  const cfg = path.join(dir, 'small.json');
  fs.writeFileSync(cfg, JSON.stringify({ smtp: { maxMessageSize: 4096 } }));
  const big = await runCli(['spam', 'check', '-', '--config', cfg, '--data', path.join(dir, 'data')], { input: Buffer.alloc(100_000, 'a') });
  assert.equal(big.code, 2);
  assert.match(big.stderr, /standard input is larger than smtp\.maxMessageSize \(4096 bytes\)/);
  // With --exit-code a failed check has a status of its own, never 1 ("spam").
  assert.equal((await fjord('spam', 'check', '--exit-code', path.join(dir, 'absent.eml'))).code, 75);
});

test('spam train follows symbolic links to messages and folders, once each, past loops and dangling links', { skip, timeout: 60_000 }, async () => {
  const real = folder('linked-real', 'spam', 'test', 3, 100);
  const links = path.join(dir, 'links');
  fs.mkdirSync(path.join(links, 'sub'), { recursive: true });
  fs.symlinkSync(real[0], path.join(links, 'a.eml'));
  fs.symlinkSync(real[1], path.join(links, 'sub', 'b.eml'));
  fs.symlinkSync(path.dirname(real[2]), path.join(links, 'folder')); // all three again, through a linked folder
  fs.symlinkSync(links, path.join(links, 'sub', 'loop'));
  fs.symlinkSync(path.join(dir, 'nowhere.eml'), path.join(links, 'dangling.eml'));
  const r = await runCli(['spam', 'train', '--spam', links, '--data', path.join(dir, 'links-data')]);
  assert.equal(r.code, 0, r.stderr);
  // 2 links + 3 files in the linked folder; the loop adds nothing, the dangling link is skipped.
  assert.match(r.stdout, /^trained 3 of 5 messages into the global database \(now 3 spam, 0 ham, its logistic model averaged over 4 training orders\)/);
});
