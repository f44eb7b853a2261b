import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Spool, SpoolError } from '../../src/queue/spool.js';
import { DirSync } from '../../src/fs/dir-sync.js';
import { tempDir } from '../helpers/system.js';

test('put/read/remove round-trip keeps meta and bytes; ids sort by time', async () => {
  const dir = tempDir();
  const spool = new Spool<{ n: number }>(path.join(dir, 'q'));
  const body = Buffer.from([0, 1, 2, 255, 13, 10]);
  const a = await spool.put({ n: 1 }, body);
  const b = await spool.put({ n: 2 }, [Buffer.from('x'), Buffer.from('yz')]);
  assert.ok(a < b);
  const ra = await spool.read(a);
  assert.deepEqual(ra.meta, { n: 1 });
  assert.ok(ra.body.equals(body));
  assert.equal((await spool.read(b)).body.toString(), 'xyz');
  assert.deepEqual(spool.recover(), [a, b]);
  await spool.remove(a);
  await spool.remove(a); // idempotent
  assert.deepEqual(spool.recover(), [b]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('recover() removes interrupted writes and a corrupt entry is reported, not trusted', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const spool = new Spool(q);
  fs.writeFileSync(path.join(q, '000000000aaaa.tmp'), 'half');
  fs.writeFileSync(path.join(q, '000000000bbbb.msg'), 'garbage');
  assert.deepEqual(spool.recover(), ['000000000bbbb']);
  assert.ok(!fs.existsSync(path.join(q, '000000000aaaa.tmp')));
  await assert.rejects(spool.read('000000000bbbb'), (e: unknown) => e instanceof SpoolError && e.code === 'corrupt');
  await spool.park('000000000bbbb', 'failed');
  assert.ok(fs.existsSync(path.join(dir, 'failed', '000000000bbbb.msg')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('concurrent directory syncs are coalesced', async () => {
  const dir = tempDir();
  const s = new DirSync(dir);
  let opened = 0;
  const fsp = fs.promises;
  const realOpen = fsp.open;
  fsp.open = (async (...args: Parameters<typeof realOpen>) => {
    opened++;
    return realOpen(...args);
  }) as typeof realOpen;
  try {
    await Promise.all(Array.from({ length: 50 }, () => s.sync()));
  } finally {
    fsp.open = realOpen;
  }
  assert.ok(opened <= 2, `50 concurrent requests used ${opened} fsyncs`);
  fs.rmSync(dir, { recursive: true, force: true });
});
