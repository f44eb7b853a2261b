// The server's upkeep of the spam filter's state, run at start and then hourly: reports past
// their weight are deleted, token databases over their limit shrink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import { spawnServer, tempDir } from '../helpers/system.js';

const DAY = 86_400_000;

test('a starting server deletes reports past their weight and shrinks an oversized token database', async () => {
  const data = tempDir();
  try {
    const store = await openStore({ dataDir: data });
    const report = { accountId: 1, verdict: 'spam' as const, ip: '192.0.2.7', mailFromDomain: 'spam.test', fromDomain: 'spam.test', dkimDomain: null };
    await store.putSpamReport({ ...report, emailKey: 'old', at: new Date(Date.now() - 400 * DAY) });
    await store.putSpamReport({ ...report, emailKey: 'recent', at: new Date(Date.now() - 2 * DAY) });
    await store.addTokens(9, Array.from({ length: 1500 }, (_, i) => `old${i}`), 'spam', 1, 0, new Date(Date.now() - 20 * DAY));
    await store.addTokens(9, Array.from({ length: 500 }, (_, i) => `new${i}`), 'ham', 1);
    await store.close();
    fs.writeFileSync(path.join(data, 'config.json'), JSON.stringify({ spam: { bayes: { maxAccountTokens: 1000 } } }));

    const server = await spawnServer(data);
    const deadline = Date.now() + 20_000;
    while (!/tokens not trained for longest dropped/.test(server.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.output());
    assert.match(server.output(), /spam reports past their weight removed/);

    const after = await openStore({ dataDir: data });
    try {
      assert.deepEqual((await after.listSpamReports({ ip: '192.0.2.7' })).map((r) => r.emailKey), ['recent']);
      const left = await after.getTokens(9, [...Array.from({ length: 1500 }, (_, i) => `old${i}`), ...Array.from({ length: 500 }, (_, i) => `new${i}`)]);
      assert.equal(left.size, 750, 'three quarters of the limit remain');
      assert.equal([...left.keys()].filter((t) => t.startsWith('new')).length, 500, 'the tokens trained today stay');
    } finally {
      await after.close();
    }
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
