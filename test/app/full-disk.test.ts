// A full disk: the MX answers 452 4.3.1 instead of accepting what it cannot store, keeps
// serving, leaves nothing half-written, and delivers everything it acknowledged once space
// returns. Needs root to mount a small tmpfs (CI runs as root); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runCli, tempDir, spawnServer } from '../helpers/system.js';
import { SmtpTalk, makeMessage } from '../helpers/smtp-client.js';

function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('a full disk gets 452 4.3.1, loses nothing acknowledged, and recovers', { timeout: 120_000 }, async (t) => {
  const mnt = tempDir('fjord-fulldisk-');
  if (!tryMount(mnt, '4m')) {
    t.skip('cannot mount a tmpfs here (needs root)');
    fs.rmSync(mnt, { recursive: true, force: true });
    return;
  }
  const data = path.join(mnt, 'data');
  try {
    assert.equal((await runCli(['domain', 'add', 'full.test', '--data', data])).code, 0);
    assert.equal((await runCli(['account', 'add', 'f@full.test', '--password', 'x', '--data', data])).code, 0);
    const server = await spawnServer(data);
    const c = await SmtpTalk.connect(server.smtpPort);
    await c.read();
    await c.cmd('EHLO client.example.net');
    const acked: string[] = [];
    let refusal = null;
    for (let i = 0; i < 200 && !refusal; i++) {
      assert.equal((await c.cmd('MAIL FROM:<s@example.net>')).code, 250);
      assert.equal((await c.cmd('RCPT TO:<f@full.test>')).code, 250);
      const id = `full-${i}@example.net`;
      const r = await c.data(makeMessage({ to: 'f@full.test', subject: `fill ${i}`, size: 150_000, messageId: id }));
      if (r.code === 250) acked.push(id);
      else refusal = r;
    }
    assert.ok(refusal, 'the disk filled up');
    assert.equal(refusal.code, 452, refusal.text);
    assert.match(refusal.text, /^4\.3\.1 /);
    assert.equal((await c.cmd('NOOP')).code, 250, 'the server keeps serving');
    // Space comes back: everything acknowledged is delivered, exactly once.
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const spool = path.join(data, 'queue', 'inbound');
    for (let i = 0; i < 900 && fs.readdirSync(spool).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(fs.readdirSync(spool), [], 'queue drained after space returned');
    await c.quit();
    const list = await runCli(['mail', 'list', 'f@full.test', '--json', '--data', data]);
    const ids = list.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).messageId as string);
    for (const id of acked) assert.equal(ids.filter((x) => x === id).length, 1, `${id} delivered once`);
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  } finally {
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* already gone */
    }
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});
