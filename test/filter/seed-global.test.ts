// Seeding an empty global database from a corpus (`fjord spam train`'s first run): the store
// must end up with the model the evaluation measures (trainDb over the same messages, its
// logistic model averaged over SEED_ORDERS orders), and later training must step it online.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/system.js';
import { msg } from './helpers-msg.js';
import { seededRandom } from '../../src/filter/eval/random.js';
import { ContentFilter } from '../../src/filter/verdict.js';
import { parseMessage } from '../../src/mime/index.js';
import { globalModelEmpty, seedGlobal } from '../../src/filter/seed-global.js';
import { trainDb, SEED_ORDERS } from '../../src/filter/eval/evaluate.js';
import { DEFAULT_BAYES } from '../../src/filter/bayes/classifier.js';

test('seeding the global database: the store holds the averaged model trainDb makes in memory; later training steps it', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  try {
    // 80 messages of random words: spam draws more from the first part of the vocabulary.
    const rnd = seededRandom(11);
    const messages = Array.from({ length: 80 }, (_, i) => {
      const verdict: 'spam' | 'ham' = i % 3 === 0 ? 'spam' : 'ham';
      const words = Array.from({ length: 40 }, () => `word${Math.floor((rnd() * 0.7 + (verdict === 'spam' ? 0 : 0.3)) * 300)}`);
      const file = path.join(dir, `m${i}.eml`);
      fs.writeFileSync(file, msg({ From: `sender${i % 7}@example.org`, To: 'you@example.net', Subject: words.slice(0, 3).join(' '), 'Message-ID': `<m${i}@example.org>` }, words.join(' ') + '\n'));
      return { file, verdict };
    });
    const filter = new ContentFilter(store);
    assert.equal(await globalModelEmpty(store), true);
    assert.equal(await seedGlobal(store, filter, messages), 80);
    assert.equal(await globalModelEmpty(store), false);

    // The same messages' features, trained in memory as spam eval trains them.
    const feats = messages.map(({ file }) => {
      const raw = fs.readFileSync(file);
      const a = filter.analyse(raw, parseMessage(raw));
      return { tokens: a.tokens, rules: a.rules, ruleScore: a.rules.reduce((s, r) => s + r.score, 0), refuse: a.refuse };
    });
    const mem = trainDb(feats, messages.map((m) => m.verdict), DEFAULT_BAYES, filter.points, SEED_ORDERS);
    const one = trainDb(feats, messages.map((m) => m.verdict), DEFAULT_BAYES, filter.points, 1);
    const tokens = [...new Set(feats.flatMap((f) => f.tokens))];
    const stored = await store.getTokens(0, tokens);
    assert.equal(stored.size, tokens.length, 'every token counted');
    let differs = 0;
    for (const t of tokens) {
      const s = stored.get(t)!, m = mem.countsSync(0).get(t)!;
      assert.deepEqual([s.ham, s.spam], [m.ham, m.spam], t);
      assert.ok(Math.abs((s.w ?? 0) - (m.w ?? 0)) < 1e-9, `${t}: stored weight ${s.w}, in memory ${m.w}`);
      if (Math.abs((m.w ?? 0) - (one.countsSync(0).get(t)!.w ?? 0)) > 1e-6) differs++;
    }
    assert.ok(differs > tokens.length / 2, 'the averaged model is not the single one');
    const totals = await store.getTotals(0);
    const mt = mem.totalsSync(0);
    assert.deepEqual([totals.ham, totals.spam, totals.lrHam, totals.lrSpam], [mt.ham, mt.spam, mt.lrHam, mt.lrSpam]);
    assert.ok(Math.abs((totals.bias ?? 0) - (mt.bias ?? 0)) < 1e-9);

    // A user's report afterwards is one online step from the seeded model.
    const raw = msg({ From: 'new@example.com', To: 'you@example.net', Subject: 'word1 word2', 'Message-ID': '<new@example.com>' }, 'word1 word5 word9 fresh\n');
    await filter.learn(1, 'report-1', raw, parseMessage(raw), 'spam');
    const later = await store.getTotals(0);
    assert.equal(later.lrSpam, (mt.lrSpam ?? 0) + 1);
    assert.notEqual(later.bias, totals.bias);
    assert.ok(stored.has('word200'));
    assert.equal((await store.getTokens(0, ['word200'])).get('word200')?.w, stored.get('word200')?.w, 'a token the report lacks keeps its weight');
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('seeding: a message given twice counts once, with the label it is given last', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  try {
    const write = (name: string, body: string) => { const f = path.join(dir, name); fs.writeFileSync(f, msg({ From: 'a@example.org', Subject: 'hi', 'Message-ID': `<${body}@example.org>` }, body + '\n')); return f; };
    const one = write('one.eml', 'cheap pills now');
    const two = write('two.eml', 'lunch at noon');
    fs.copyFileSync(one, path.join(dir, 'one-again.eml'));
    const changed = await seedGlobal(store, new ContentFilter(store), [
      { file: one, verdict: 'spam' }, { file: two, verdict: 'ham' }, { file: path.join(dir, 'one-again.eml'), verdict: 'ham' },
    ]);
    assert.equal(changed, 2);
    const t = await store.getTotals(0);
    assert.deepEqual([t.ham, t.spam, t.lrHam, t.lrSpam], [2, 0, 2, 0]);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
