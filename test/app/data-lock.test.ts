// One server per data folder: a second one refuses to start (it would share the spool), and a
// lock left by a killed server does not keep the next one out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { tempDir, spawnServer, FJORD_BIN, freePort } from '../helpers/system.js';

test('a second server on the same data folder refuses; a stale lock is taken over', async () => {
  const data = tempDir();
  try {
    const first = await spawnServer(data);
    const port = await freePort();
    const second = spawn(process.execPath, [FJORD_BIN, 'serve', '--data', data, '--smtp', `127.0.0.1:${port}`, '--no-demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    second.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => second.on('exit', r));
    assert.notEqual(code, 0);
    assert.match(err, /in use by another fjord server \(pid \d+\)/);
    assert.equal(err.trim().split('\n').length, 1, 'one-line reason');
    first.proc.kill('SIGKILL');
    await first.exited;
    const third = await spawnServer(data); // the dead server's lock does not block
    third.proc.kill('SIGTERM');
    assert.equal(await third.exited, 0);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
