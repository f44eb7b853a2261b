import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BlobStore, blobIdOf } from '../../src/store/blobs.js';
import { tempDir } from '../helpers/system.js';

test('a file already under the blob name (torn by a crash) is replaced whole, never truncated in place', async () => {
  const dir = tempDir();
  const bs = new BlobStore(path.join(dir, 'blobs'));
  const data = Buffer.from('the complete message bytes\r\n'.repeat(100));
  const id = blobIdOf(data);
  const file = bs.pathOf(id);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data.subarray(0, 100)); // what a crash mid-write leaves
  const held = fs.openSync(file, 'r'); // a reader that opened the old file keeps a consistent view
  const r = await bs.put(data);
  assert.equal(r.id, id);
  assert.ok(fs.readFileSync(file).equals(data), 'complete bytes under the name');
  assert.equal(fs.fstatSync(held).size, 100, 'the old inode was not rewritten under its reader');
  fs.closeSync(held);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), [id], 'no temporary file left behind');
  fs.rmSync(dir, { recursive: true, force: true });
});
