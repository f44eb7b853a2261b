// The logistic model beside the Bayes counts: its training step, that the store and the
// in-memory database (evaluation) train it alike, that only the global database has one, and
// that it reaches the verdict as the LOGREG signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { logisticStep, logisticPoints, DEFAULT_LOGISTIC_POINTS } from '../../../src/filter/bayes/logistic.js';
import { MemoryTokenDb } from '../../../src/filter/bayes/token-db.js';
import { BayesClassifier, classify, DEFAULT_BAYES } from '../../../src/filter/bayes/classifier.js';
import { bayesSignal } from '../../../src/filter/verdict.js';
import { openStore } from '../../../src/store/index.js';
import { tempDir } from '../../helpers/system.js';

const margin = (w: Float64Array, n: number, b: number) => w.subarray(0, n).reduce((a, x) => a + x, b);

test('logisticStep: moves the margin toward the label', () => {
  const w = new Float64Array(3), g2 = new Float64Array(3);
  let b = 0;
  for (let i = 0; i < 20; i++) b = logisticStep(w, g2, 3, b, true);
  assert.ok(margin(w, 3, b) > 1.5, `spam margin ${margin(w, 3, b)}`);
  const before = margin(w, 3, b);
  b = logisticStep(w, g2, 3, b, false);
  assert.ok(margin(w, 3, b) < before, 'one ham step pulls it back');
  assert.ok(w.every(Number.isFinite) && g2.every((x) => x > 0));
});

test('logisticPoints: scaled, clamped, offset', () => {
  const { scale, cap, offset } = DEFAULT_LOGISTIC_POINTS;
  assert.equal(logisticPoints(0), Math.round(offset * 100) / 100);
  assert.equal(logisticPoints(1e9), Math.round((scale * cap + offset) * 100) / 100);
  assert.equal(logisticPoints(-1e9), Math.round((-scale * cap + offset) * 100) / 100);
  assert.ok(logisticPoints(1) > logisticPoints(0.5));
});

/** Spam and ham messages of a toy vocabulary, interleaved. */
function messages(n: number): { key: string; tokens: string[]; verdict: 'spam' | 'ham' }[] {
  return Array.from({ length: n }, (_, i) => i % 2 === 0
    ? { key: `s${i}`, tokens: ['cheap', 'pills', `x${i % 7}`, 'common'], verdict: 'spam' as const }
    : { key: `h${i}`, tokens: ['meeting', 'agenda', `x${i % 5}`, 'common'], verdict: 'ham' as const });
}

test('the store and the in-memory database train the same model, in the global database only', async () => {
  const dir = tempDir();
  const store = await openStore({ dataDir: dir });
  try {
    const mem = new MemoryTokenDb();
    const msgs = messages(60);
    // The store one message at a time and in batches; memory one at a time.
    for (const m of msgs.slice(0, 30)) { await store.markTrained(0, m.key, m.verdict); await store.addTokens(0, m.tokens, m.verdict, 1); }
    await store.trainMessages(0, msgs.slice(30));
    for (const m of msgs) mem.addSync(0, m.tokens, m.verdict, 1);
    const vocab = ['cheap', 'pills', 'meeting', 'agenda', 'common', ...Array.from({ length: 7 }, (_, i) => `x${i}`)];
    const s = await store.getTokens(0, vocab), m = await mem.getTokens(0, vocab);
    for (const t of vocab) assert.ok(Math.abs((s.get(t)!.w ?? NaN) - (m.get(t)!.w ?? NaN)) < 1e-9, `${t}: ${s.get(t)!.w} vs ${m.get(t)!.w}`);
    assert.ok(Math.abs((await store.getTotals(0)).bias! - (await mem.getTotals(0)).bias!) < 1e-9);
    assert.ok(s.get('cheap')!.w! > 0.3 && s.get('meeting')!.w! < -0.3, 'spam words weigh up, ham words down');
    // A token untrained to zero is gone (the store deletes its row); trained again, it starts over.
    for (const db of [store, mem]) {
      await db.addTokens(0, ['solo', 'cheap'], 'spam', 1);
      await db.addTokens(0, ['solo', 'cheap'], 'spam', -1);
      await db.addTokens(0, ['solo', 'agenda'], 'ham', 1);
    }
    const solo = [(await store.getTokens(0, ['solo'])).get('solo')!.w!, (await mem.getTokens(0, ['solo'])).get('solo')!.w!];
    assert.ok(Math.abs(solo[0] - solo[1]) < 1e-9 && solo[0] < 0, `solo ${solo}`);

    // An account's database counts but has no model; untraining leaves the model as it was.
    await store.addTokens(7, ['cheap', 'pills'], 'spam', 1);
    assert.equal((await store.getTokens(7, ['cheap'])).get('cheap')!.w, 0);
    assert.equal((await store.getTotals(7)).bias, 0);
    const w = (await store.getTokens(0, ['cheap'])).get('cheap')!.w;
    await store.addTokens(0, ['cheap', 'pills'], 'spam', -1);
    assert.equal((await store.getTokens(0, ['cheap'])).get('cheap')!.w, w);

    // A model that learnt from fewer than logisticMinTrained ham and spam has no say.
    assert.deepEqual([(await store.getTotals(0)).lrHam, (await store.getTotals(0)).lrSpam], [31, 31]);
    const young = (await new BayesClassifier(store).score(['cheap', 'pills', 'x1'], null))!;
    assert.equal(young.margin, null);
    assert.deepEqual(bayesSignal(young).map((x) => x.name), ['BAYES']);

    // Grown enough (for this test, 30 of each): LOGREG beside BAYES, spam up, ham down.
    const o = { ...DEFAULT_BAYES, logisticMinTrained: 30 };
    const c = new BayesClassifier(store, o);
    const spam = (await c.score(['cheap', 'pills', 'x1'], null))!, ham = (await c.score(['meeting', 'agenda', 'x2'], null))!;
    assert.ok(spam.margin !== null && ham.margin !== null && spam.margin > 1 && ham.margin < -1, `${spam.margin} ${ham.margin}`);
    const sig = bayesSignal(spam);
    assert.deepEqual(sig.map((x) => x.name), ['BAYES', 'LOGREG']);
    assert.ok(sig[1].score > 0 && sig[1].score <= 2.25 && /^z=/.test(sig[1].detail!));
    assert.ok(bayesSignal(ham)[1].score < 0);
    // spam.bayes.logisticScale 0 leaves the model out of the verdict.
    assert.deepEqual(bayesSignal(spam, undefined, { ...DEFAULT_LOGISTIC_POINTS, scale: 0 }).map((x) => x.name), ['BAYES']);
    // The in-memory path (evaluation) gives the same margin.
    const r = classify(['cheap', 'pills', 'x1'], { counts: mem.countsSync(0), totals: mem.totalsSync(0) }, null, o)!;
    assert.ok(Math.abs(r.margin! - spam.margin) < 1e-9, 'the same model (untraining moved no weight)');
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
