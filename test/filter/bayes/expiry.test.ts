// Token databases held to a size: what was not trained for longest goes first, the rarest first
// within a day; the job checks only databases trained since their last check; the in-memory copy of
// the global database follows an expiry, and comes back once an oversized database shrank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../../src/store/index.js';
import { migrate, MIGRATIONS } from '../../../src/store/sqlite/schema.js';
import type { Store } from '../../../src/store/types.js';
import { TokenExpiry } from '../../../src/filter/bayes/expiry.js';
import { CachedTokenDb } from '../../../src/filter/bayes/token-cache.js';
import { tempDir } from '../../helpers/system.js';

const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const store = await openStore({ dataDir: dir });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function count(store: Store, scope: number, tokens: string[]): Promise<number> {
  return (await store.getTokens(scope, tokens)).size;
}

test('expireTokens: oldest days first, the rarest first within the day where it stops, across batches', () =>
  withStore(async (store) => {
    const old = Array.from({ length: 9000 }, (_, i) => `old${i}`); // last trained 100 days ago, once
    const oldCommon = Array.from({ length: 1000 }, (_, i) => `oc${i}`); // 100 days ago, three times
    const mid = Array.from({ length: 6000 }, (_, i) => `mid${i}`); // 30 days ago
    const recent = Array.from({ length: 3000 }, (_, i) => `new${i}`); // today
    for (let i = 0; i < 3; i++) await store.addTokens(5, [...oldCommon, 'again'], 'spam', 1, 0, daysAgo(100));
    await store.addTokens(5, old, 'ham', 1, 0, daysAgo(100));
    await store.addTokens(5, mid, 'spam', 1, 0, daysAgo(30));
    await store.addTokens(5, [...recent, 'again'], 'ham', 1); // 'again' is seen today, so it stays
    await store.addTokens(6, ['elsewhere'], 'spam', 1, 0, daysAgo(400));
    const total = old.length + oldCommon.length + mid.length + recent.length + 1;
    const totals = await store.getTotals(5);
    const v0 = await store.tokenVersion(5);

    // At or under the limit: nothing happens.
    assert.deepEqual(await store.expireTokens(5, total, 1000), { tokens: total, removed: 0 });
    assert.equal(await store.tokenVersion(5), v0);

    // Down to 12,501: of the 10,000 tokens of the oldest day 6,500 go, the hapaxes first, so
    // all of the 1,000 seen in three messages stay.
    const r = await store.expireTokens(5, total - 1, 12_501);
    assert.deepEqual(r, { tokens: 12_501, removed: 6500 });
    assert.equal(await count(store, 5, oldCommon), 1000, 'tokens seen in three messages outlive hapaxes of the same day');
    assert.equal(await count(store, 5, old), 2500);
    assert.equal(await count(store, 5, mid), mid.length);
    assert.equal(await count(store, 5, [...recent, 'again']), recent.length + 1);
    assert.deepEqual(await store.getTotals(5), totals, 'the message counts are not touched');
    assert.ok((await store.tokenVersion(5)) > v0, 'copies held in memory must reload');
    assert.equal(await count(store, 6, ['elsewhere']), 1, 'other databases are untouched');

    // Further down, whole days go oldest first: then 30 days ago, rarest first.
    const r2 = await store.expireTokens(5, 12_000, 5000);
    assert.deepEqual(r2, { tokens: 5000, removed: 7501 });
    assert.equal(await count(store, 5, [...old, ...oldCommon]), 0);
    assert.equal(await count(store, 5, mid), 1999);
    assert.equal(await count(store, 5, [...recent, 'again']), recent.length + 1);
  }));

test('TokenExpiry: holds the global and account databases to their limits, and rechecks only those trained since, across restarts', () =>
  withStore(async (store) => {
    const t = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    await store.addTokens(0, t('g', 3000), 'spam', 1, 0, daysAgo(10));
    await store.addTokens(0, t('G', 1000), 'ham', 1);
    await store.addTokens(7, t('a', 1500), 'ham', 1);
    await store.addTokens(8, t('b', 500), 'ham', 1);
    const calls: number[] = [];
    const spy: Pick<Store, 'tokenScopesToCheck' | 'expireTokens'> = {
      tokenScopesToCheck: () => store.tokenScopesToCheck(),
      expireTokens: (scope, max, target, signal) => { calls.push(scope); return store.expireTokens(scope, max, target, signal); },
    };
    const limits = { global: 2000, account: 1000 };
    const first = await new TokenExpiry(spy, limits).run();
    assert.deepEqual(first.map((r) => [r.scope, r.tokens, r.removed]), [[0, 1500, 2500], [7, 750, 750]]);
    assert.deepEqual(calls, [0, 7, 8]);
    assert.equal(await count(store, 0, t('G', 1000)), 1000, "today's tokens stay");

    // Nothing trained since: no database is counted again, not even by a new process.
    calls.length = 0;
    assert.deepEqual(await new TokenExpiry(spy, limits).run(), []);
    assert.deepEqual(calls, []);
    // Account 8 trains past its limit: only it is checked, and shrunk.
    await store.addTokens(8, t('c', 800), 'spam', 1);
    const third = await new TokenExpiry(spy, limits).run();
    assert.deepEqual(calls, [8]);
    assert.deepEqual(third.map((r) => [r.scope, r.tokens]), [[8, 750]]);
  }));

test('expireTokens: stopped midway it keeps what it dropped dropped, tells copies to reload, and finishes on the next run; training meanwhile is kept', () =>
  withStore(async (store) => {
    const t = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    await store.addTokens(0, t('old', 20_000), 'spam', 1, 0, daysAgo(5));
    const v0 = await store.tokenVersion(0);
    const stop = new AbortController();
    const run = store.expireTokens(0, 10_000, 4000, stop.signal);
    // Let it count and drop a batch or two, then stop it.
    while ((await store.getTokens(0, t('old', 20_000))).size === 20_000) await new Promise((r) => setImmediate(r));
    stop.abort();
    await assert.rejects(run, (e: Error) => e.name === 'AbortError');
    const left = (await store.getTokens(0, t('old', 20_000))).size;
    assert.ok(left < 20_000 && left > 4000, `stopped midway (${left} left)`);
    assert.ok((await store.tokenVersion(0)) > v0, 'copies in memory reload');
    assert.deepEqual(await store.tokenScopesToCheck(), [0], 'still to be checked');

    // Training while an expiry runs: the new tokens stay, and the database is checked again.
    const [r] = await Promise.all([store.expireTokens(0, 10_000, 4000), store.addTokens(0, t('fresh', 100), 'ham', 1)]);
    assert.equal(r.tokens, 4000);
    assert.equal(await count(store, 0, t('fresh', 100)), 100, 'the old go first');
    const old = await count(store, 0, t('old', 20_000));
    assert.ok(old === 3900 || old === 4000, `${old} old tokens: the new ones were counted, or came after the count`);
    assert.deepEqual(await store.tokenScopesToCheck(), [0], 'trained during the check: checked again next time');
    const again = await store.expireTokens(0, 10_000, 4000);
    assert.equal(again.removed, 0);
    assert.deepEqual(await store.tokenScopesToCheck(), []);
  }));

test('token cache: follows an expiry, and copies a database again once it shrank below the bound', () =>
  withStore(async (store) => {
    const t = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    await store.addTokens(0, t('old', 3000), 'spam', 1, 0, daysAgo(50));
    await store.addTokens(0, t('new', 500), 'ham', 1);
    const cache = new CachedTokenDb(store, { maxTokens: 2000, retryMs: 0 });
    assert.equal((await cache.getTokens(0, ['old1', 'new1'])).size, 2, 'too big: answered by the store');
    assert.equal(cache.loads, 1);
    await new TokenExpiry(store, { global: 2000, account: 1000 }).run();
    // Shrunk to 1,500: copied again, and it answers as the store does.
    const ask = [...t('old', 3000), 'new1'];
    assert.deepEqual(await cache.getTokens(0, ask), await store.getTokens(0, ask));
    assert.equal((await cache.getTokens(0, ask)).size, 1001);
    assert.equal(cache.loads, 2);
    // A held copy sees a later expiry (the version moved) and reads the database again.
    await store.addTokens(0, t('more', 300), 'ham', 1, 0, daysAgo(1));
    await cache.getTokens(0, ['more1']);
    assert.equal(cache.loads, 3);
    const [r] = await new TokenExpiry(store, { global: 1700, account: 1000 }).run();
    assert.deepEqual(r, { scope: 0, tokens: 1275, removed: 525 });
    assert.deepEqual(await cache.getTokens(0, ask), await store.getTokens(0, ask));
    assert.equal((await cache.getTokens(0, ask)).size, 476);
    assert.equal(cache.loads, 4);
  }));

test('upgrade: tokens of a database from before expiry count as trained on the day of the upgrade', async () => {
  const dir = tempDir();
  try {
    const db = new Database(path.join(dir, 'fjord.db'));
    db.pragma('journal_mode = WAL');
    migrate(db, MIGRATIONS.slice(0, 7));
    db.prepare('INSERT INTO spam_tokens (scope, token, ham, spam) VALUES (0, ?, 1, 0)').run('kept');
    db.prepare('INSERT INTO spam_totals (scope, ham, spam) VALUES (0, 1, 0)').run();
    db.close();
    const store = await openStore({ dataDir: dir });
    try {
      await store.addTokens(0, ['older'], 'spam', 1, 0, daysAgo(3));
      // Limit 1: the token trained three days ago goes, the one from before the upgrade stays.
      assert.deepEqual(await store.expireTokens(0, 1, 1), { tokens: 1, removed: 1 });
      assert.deepEqual([...(await store.getTokens(0, ['kept', 'older'])).keys()], ['kept']);
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
