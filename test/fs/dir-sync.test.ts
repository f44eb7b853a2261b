import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { DirSync } from '../../src/fs/dir-sync.js';
import { tempDir } from '../helpers/system.js';

test('concurrent directory syncs share fsyncs; a later request gets a fresh one', async () => {
  const dir = tempDir();
  const s = new DirSync(dir);
  await Promise.all(Array.from({ length: 50 }, () => s.sync()));
  assert.ok(s.fsyncs <= 2, `50 concurrent requests used ${s.fsyncs} fsyncs`);
  const before = s.fsyncs;
  await s.sync();
  assert.equal(s.fsyncs, before + 1, 'a request after the others completed is not served by an old fsync');
  fs.rmSync(dir, { recursive: true, force: true });
});
