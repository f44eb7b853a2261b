import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../src/mime/index.js';
import { decide, bayesPoints, bayesSignal, contentSignals, withClassifier, ContentFilter, DEFAULT_BAYES_POINTS, DEFAULT_THRESHOLDS, TEXT_RULE_SCALE } from '../../src/filter/verdict.js';
import { MemoryTokenDb } from '../../src/filter/bayes/token-db.js';
import { DEFAULT_BAYES } from '../../src/filter/bayes/classifier.js';
import { msg } from './helpers-msg.js';

test('decide: sums points against the thresholds', () => {
  const t = { junk: 5, reject: 12 };
  assert.equal(decide([{ name: 'A', score: 2 }, { name: 'B', score: 2.5 }], t).verdict, 'ham');
  const s = decide([{ name: 'A', score: 2 }, { name: 'B', score: 3 }], t);
  assert.equal(s.verdict, 'spam');
  assert.equal(s.score, 5);
  assert.equal(decide([{ name: 'A', score: 12.5 }], t).verdict, 'reject');
  assert.equal(decide([{ name: 'A', score: -3 }, { name: 'X', score: 0.1, refuse: true }], t).verdict, 'reject');
  assert.equal(decide([{ name: 'A', score: 0 }], t, true).verdict, 'reject');
  assert.deepEqual(DEFAULT_THRESHOLDS, { junk: 5, reject: 15 });
});

test('bayesPoints: monotonic, clamped, never reaches reject alone', () => {
  // An unsure classifier adds the offset; a sure ham gets the full minimum.
  assert.equal(bayesPoints(0.5), DEFAULT_BAYES_POINTS.offset);
  assert.equal(bayesPoints(0.5, { scale: 3, min: -3, max: 5 }), 0);
  assert.ok(bayesPoints(0.99) > bayesPoints(0.9) && bayesPoints(0.9) > bayesPoints(0.5));
  assert.ok(bayesPoints(0.1) < 0 && bayesPoints(0.1) > bayesPoints(0.01));
  assert.equal(bayesPoints(0.005), DEFAULT_BAYES_POINTS.min);
  assert.ok(bayesPoints(1) <= DEFAULT_THRESHOLDS.reject - 1);
  assert.ok(bayesPoints(0) >= -10);
});

// Bayes judges from its 40 strongest clues; a newsletter from a company training never met can
// fill them with footer phrases ("remove yourself", "this mailing") that training saw in spam,
// while the logistic model, which weighs every token, is sure it is ham. Bayes at its maximum is
// then not enough to junk it on its own.
test('bayesSignal: a sure ham correction of the logistic model outweighs Bayes at its maximum', () => {
  const r = { probability: 0.9994, spamminess: 1, hamminess: 0.001, clues: [], margin: -5.5 };
  const signals = bayesSignal(r);
  assert.deepEqual(signals.map((s) => s.name), ['BAYES', 'LOGREG']);
  assert.equal(signals[0].score, DEFAULT_BAYES_POINTS.max);
  assert.equal(decide(signals).verdict, 'ham');
  // A mild ham correction does not overrule it.
  assert.equal(decide(bayesSignal({ ...r, margin: -1 })).verdict, 'spam');
});

test('contentSignals: rules alone without a database, rules + BAYES with one', async () => {
  const spam = msg({ From: 'a@b.test', Subject: 'CHEAP VIAGRA ONLINE NOW' }, 'Buy viagra, no prescription needed. Click here!!!');
  const noDb = await contentSignals(spam, parseMessage(spam));
  assert.ok(noDb.some((s) => s.name === 'PHARMA'));
  assert.ok(!noDb.some((s) => s.name === 'BAYES'));
  const db = new MemoryTokenDb();
  const f = new ContentFilter(db, { bayes: { ...DEFAULT_BAYES, minTrained: 2 } });
  for (let i = 0; i < 3; i++) {
    const s = msg({ From: `x${i}@spam.test`, Subject: `cheap viagra ${i}` }, `viagra pills cheap offer ${i}`);
    const h = msg({ From: `y${i}@ham.test`, Subject: `meeting notes ${i}` }, `agenda for the project meeting ${i}`);
    await f.learn(0, `s${i}`, s, parseMessage(s), 'spam');
    await f.learn(0, `h${i}`, h, parseMessage(h), 'ham');
  }
  const withDb = await contentSignals(spam, parseMessage(spam), { filter: f });
  const bayes = withDb.find((s) => s.name === 'BAYES');
  assert.ok(bayes !== undefined && bayes.score > 0, JSON.stringify(bayes));
  assert.equal(decide(withDb).verdict !== 'ham', true);
});

test('withClassifier: the rules that read the words count at TEXT_RULE_SCALE only once a classifier speaks', () => {
  const rules = [{ name: 'CLICK_HERE', score: 0.5, text: true }, { name: 'FORGED_HOTMAIL', score: 1.5 }, { name: 'IS_REPLY', score: -0.5 }];
  assert.deepEqual(withClassifier(rules, []), rules, 'untrained: the rules in full');
  const bayes = [{ name: 'BAYES', score: 3 }];
  const judged = withClassifier(rules, bayes);
  assert.equal(TEXT_RULE_SCALE, 0.5);
  assert.deepEqual(judged.map((s) => [s.name, s.score]), [['CLICK_HERE', 0.25], ['FORGED_HOTMAIL', 1.5], ['IS_REPLY', -0.5], ['BAYES', 3]]);
  assert.equal(rules[0].score, 0.5, 'the rules themselves are left as they were');
  assert.deepEqual(withClassifier(rules, bayes, 1).map((s) => s.score), [0.5, 1.5, -0.5, 3]);
});

test('ContentFilter.signals: a trained database halves the text rules of the same message', async () => {
  const db = new MemoryTokenDb();
  const m = msg({ From: 'a@b.test', Subject: 'hello', 'Message-ID': '<1@b.test>', Date: 'Mon, 1 Jul 2024 10:00:00 +0000' }, 'Click here to get it, risk free.');
  const f = new ContentFilter(db);
  const cold = await f.signals(m, parseMessage(m));
  const click = cold.find((s) => s.name === 'CLICK_HERE');
  assert.ok(click !== undefined && click.text === true && click.score === 0.5, JSON.stringify(cold));
  for (let i = 0; i < 200; i++) {
    await db.addTokens(0, [`ham${i % 17}`, 'common'], 'ham', 1);
    await db.addTokens(0, [`spam${i % 13}`, 'common'], 'spam', 1);
  }
  const warm = await f.signals(m, parseMessage(m));
  assert.ok(warm.some((s) => s.name === 'BAYES'), 'trained: Bayes speaks');
  assert.equal(warm.find((s) => s.name === 'CLICK_HERE')?.score, 0.25);
});
