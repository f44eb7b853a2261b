import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openStore } from '../../../src/store/index.js';
import { CachedTokenDb } from '../../../src/filter/bayes/token-cache.js';
import { BayesClassifier, DEFAULT_BAYES } from '../../../src/filter/bayes/classifier.js';
import { tempDir } from '../../helpers/system.js';
import { counts, countsOf } from '../../helpers/counts.js';

test('token cache: answers as the store does, follows its own training, reloads after another process trains', async () => {
  const dir = tempDir();
  const store = await openStore({ dataDir: dir });
  // A second Store object on the same data: another process, as `fjord spam train` is.
  const other = await openStore({ dataDir: dir });
  try {
    for (let i = 0; i < 30; i++) {
      await store.addTokens(0, ['cheap', 'pills', `s${i}`], 'spam', 1);
      await store.addTokens(0, ['meeting', 'agenda', `h${i}`], 'ham', 1);
    }
    await store.addTokens(5, ['cheap'], 'ham', 1);
    const cache = new CachedTokenDb(store);
    const ask = ['cheap', 'pills', 'meeting', 's3', 'h4', 'unknown'];
    assert.deepEqual(await cache.getTokens(0, ask), await store.getTokens(0, ask));
    assert.deepEqual(counts(await cache.getTotals(0)), { ham: 30, spam: 30 });
    assert.deepEqual(await cache.getTokens(5, ['cheap']), await store.getTokens(5, ['cheap']), 'account scopes come from the store');
    assert.equal(cache.loads, 1);
    // Repeated lookups do not read the database again.
    await cache.getTokens(0, ask);
    assert.equal(cache.loads, 1);

    // Training through the cache reaches the store and the copy, without a reload.
    const c = new BayesClassifier(cache, DEFAULT_BAYES);
    await c.learn('m1', ['cheap', 'newword'], 'ham', [0]);
    assert.deepEqual(counts((await cache.getTokens(0, ['cheap', 'newword'])).get('newword')), { ham: 1, spam: 0 });
    assert.deepEqual(await cache.getTokens(0, ['cheap', 'newword']), await store.getTokens(0, ['cheap', 'newword']));
    assert.deepEqual(await cache.getTotals(0), await store.getTotals(0));
    // Moving it back and forth: untrained from ham, trained as spam.
    await c.learn('m1', ['cheap', 'newword'], 'spam', [0]);
    assert.deepEqual(await cache.getTokens(0, ['cheap', 'newword']), await store.getTokens(0, ['cheap', 'newword']));
    assert.equal(cache.loads, 1);

    // Another process trains: the next lookup sees it.
    await other.addTokens(0, ['elsewhere', 'cheap'], 'ham', 1);
    assert.deepEqual(await cache.getTokens(0, ['elsewhere', 'cheap']), await store.getTokens(0, ['elsewhere', 'cheap']));
    assert.deepEqual(await cache.getTotals(0), await store.getTotals(0));
    assert.equal(cache.loads, 2);
    // Scores from the cache equal scores from the store.
    const direct = new BayesClassifier(store, DEFAULT_BAYES);
    const toks = ['cheap', 'pills', 'agenda', 'elsewhere', 'newword'];
    assert.deepEqual(await c.score(toks, null), await direct.score(toks, null));
  } finally {
    await other.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('token cache: a global database above the bound is not copied; the store answers', async () => {
  const dir = tempDir();
  const store = await openStore({ dataDir: dir });
  try {
    await store.addTokens(0, ['a1', 'a2', 'a3', 'a4'], 'spam', 1);
    const cache = new CachedTokenDb(store, { maxTokens: 3 });
    assert.deepEqual(await cache.getTokens(0, ['a1', 'zz']), await store.getTokens(0, ['a1', 'zz']));
    await cache.addTokens(0, ['a5'], 'ham', 1);
    assert.deepEqual(countsOf(await cache.getTokens(0, ['a5'])), { a5: { ham: 1, spam: 0 } });
    assert.deepEqual(counts(await cache.getTotals(0)), { ham: 1, spam: 1 });
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
