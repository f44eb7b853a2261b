// The spam filter's admin commands as an operator uses them (real processes): reputation
// block / allow / unblock with reasons, bad input refused; quarantine purge of expired entries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runCli, tempDir } from '../helpers/system.js';
import { openStore } from '../../src/store/index.js';

let data: string;
before(() => {
  data = tempDir();
});
after(() => fs.rmSync(data, { recursive: true, force: true }));

const fjord = (...args: string[]) => runCli([...args, '--data', data]);

test('reputation: block, allow and unblock an IP or a domain, each explained', async () => {
  const block = await fjord('reputation', 'block', '198.51.100.7', '--reason', 'phishing wave');
  assert.equal(block.code, 0, block.stderr);
  assert.match(block.stdout, /^ip\t198\.51\.100\.7\tBLOCKED\t.*blocked by the administrator: phishing wave/);
  assert.equal((await fjord('reputation', 'allow', 'News.Example.')).code, 0);
  const list = await fjord('reputation', 'list', '--json');
  const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; value: string; blocked: boolean; override: { action: string } | null });
  assert.deepEqual(rows.map((r) => [r.kind, r.value, r.blocked, r.override?.action]), [['ip', '198.51.100.7', true, 'block'], ['domain', 'news.example', false, 'allow']]);
  const blocked = await fjord('reputation', 'list', '--blocked');
  assert.equal(blocked.stdout.trim().split('\n').length, 1);
  assert.equal((await fjord('reputation', 'unblock', '198.51.100.7')).code, 0);
  const show = await fjord('reputation', 'show', '198.51.100.7', '--json');
  assert.equal((JSON.parse(show.stdout) as { blocked: boolean }).blocked, false);
  for (const bad of [['reputation', 'block', 'not a domain!'], ['reputation', 'frobnicate'], ['reputation', 'show']]) {
    const r = await fjord(...bad);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one-line reason');
  }
});

test('quarantine: purge removes expired entries only (or all with --all); release of a missing id fails', async () => {
  const store = await openStore({ dataDir: data, sweepAtOpen: false });
  await store.addDomain('q.test');
  const a = await store.addAccount({ address: 'q@q.test', passwordHash: 'x' });
  const now = Date.now();
  const entry = (expiresIn: number, subject: string) => ({ accountId: a.id, at: new Date(now), expiresAt: new Date(now + expiresIn), mailFrom: 's@x.test', rcpt: 'q@q.test', subject, from: 's@x.test', score: 20, reasons: 'X=20', origin: null });
  await store.quarantine(entry(-1000, 'expired'), Buffer.from('Subject: expired\r\n\r\nx\r\n'));
  await store.quarantine(entry(86_400_000, 'fresh'), Buffer.from('Subject: fresh\r\n\r\nx\r\n'));
  await store.close();
  const purge = await fjord('quarantine', 'purge');
  assert.match(purge.stdout, /^1 quarantined messages removed/);
  const list = await fjord('quarantine', 'list');
  assert.match(list.stdout, /\tfresh$/m);
  assert.doesNotMatch(list.stdout, /expired/);
  assert.notEqual((await fjord('quarantine', 'release', '999')).code, 0);
  assert.match((await fjord('quarantine', 'purge', '--all')).stdout, /^1 quarantined/);
  assert.equal((await fjord('quarantine', 'list')).stdout, '');
});
