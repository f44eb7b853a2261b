import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTokenDb } from '../../../src/filter/bayes/token-db.js';
import { counts, countsOf } from '../../helpers/counts.js';

test('memory token db: counts per side, untraining to zero forgets the token', async () => {
  const db = new MemoryTokenDb();
  await db.addTokens(0, ['cheap', 'pills', 'cheap'], 'spam', 1);
  await db.addTokens(0, ['cheap', 'meeting'], 'ham', 1);
  assert.deepEqual(counts(await db.getTotals(0)), { ham: 1, spam: 1 });
  const got = await db.getTokens(0, ['cheap', 'pills', 'meeting', 'never']);
  assert.deepEqual(countsOf(got), { cheap: { ham: 1, spam: 1 }, pills: { ham: 0, spam: 1 }, meeting: { ham: 1, spam: 0 } });
  assert.equal(db.countsSync(0).size, 3);
  await db.addTokens(0, ['cheap', 'pills'], 'spam', -1);
  assert.equal(db.countsSync(0).get('pills'), undefined);
  assert.deepEqual(counts(db.countsSync(0).get('cheap')), { ham: 1, spam: 0 });
  assert.equal(db.countsSync(0).size, 2);
  // The allocation-free form answers the same.
  const out = { ham: -1, spam: -1 };
  assert.equal(db.countsSync(0).getInto!('cheap', out), true);
  assert.deepEqual(counts(out), { ham: 1, spam: 0 });
  assert.equal(db.countsSync(0).getInto!('pills', out), false);
  // Removing what was never added does nothing (no negative counts).
  await db.addTokens(0, ['ghost'], 'ham', -1);
  assert.equal(db.countsSync(0).get('ghost'), undefined);
  // Scopes are separate.
  assert.equal((await db.getTokens(7, ['cheap'])).size, 0);
});

test('memory token db: growth keeps every token distinct; export/import round trip', async () => {
  const db = new MemoryTokenDb();
  const tokens = Array.from({ length: 50000 }, (_, i) => `t${i}`);
  db.addSync(0, tokens, 'ham', 1);
  db.addSync(0, tokens.filter((_, i) => i % 3 === 0), 'spam', 1);
  db.addSync(0, tokens.filter((_, i) => i % 3 === 0), 'spam', 1);
  const c = db.countsSync(0);
  assert.equal(c.size, 50000);
  for (let i = 0; i < 50000; i += 997) assert.deepEqual(counts(c.get(`t${i}`)), { ham: 1, spam: i % 3 === 0 ? 2 : 0 });
  assert.equal(c.get('t50000'), undefined);
  const copy = new MemoryTokenDb();
  copy.importScope(0, db.exportScope(0));
  assert.equal(copy.countsSync(0).size, 50000);
  assert.deepEqual(counts(copy.totalsSync(0)), { ham: 1, spam: 2 });
  for (let i = 1; i < 50000; i += 1013) assert.deepEqual(copy.countsSync(0).get(`t${i}`), c.get(`t${i}`));
});
