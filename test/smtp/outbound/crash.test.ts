// Crash safety of the outbound queue: a process killed with SIGKILL while enqueueing loses no
// acknowledged message and leaves no half-written one; killed right after a remote's 250, the
// delivered recipient is recorded and never sent to again after the restart.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loopbackDns } from '../../helpers/dns-server.js';
import { tempDir } from '../../helpers/system.js';
import { OutboundQueue } from '../../../src/smtp/outbound/queue.js';
import { crashBody } from './crash-child.js';
import { TestRemote, freeSharedPort, harness, message } from './fixtures.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.js');
const t = loopbackDns();
let port: number;
before(async () => {
  port = await freeSharedPort();
});

/** Runs the child until `until` returns true for a line of its output, then SIGKILLs it. */
function runAndKill(args: string[], until: (line: string, lines: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let err = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child never reached the kill point: ${err}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (killed) continue; // printed after the kill point: not acknowledged to us
        lines.push(line);
        if (until(line, lines)) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(lines);
      else reject(new Error(`child exited on its own (${code}): ${err}`));
    });
  });
}

test('SIGKILL during enqueue: every acknowledged message is intact, nothing is half-written', { timeout: 120_000 }, async () => {
  const dir = tempDir('fjord-outbound-crash-');
  try {
    const acked = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      const want = 10 + Math.floor(Math.random() * 20);
      const lines = await runAndKill(['enqueue', dir], (_l, all) => all.length >= want);
      for (const l of lines) {
        const [, id, n] = l.split(' ');
        acked.set(id, Number(n));
      }
      const q = OutboundQueue.open(dir);
      try {
        const listed = new Map(q.list().map((m) => [m.id, m]));
        for (const [id, n] of acked) {
          const m = listed.get(id);
          assert.ok(m, `acknowledged message ${id} survived`);
          assert.deepEqual(m.recipients.map((r) => [r.address, r.state, r.attempts]), [[`a${n}@example.test`, 'pending', 0], [`b${n}@example.test`, 'pending', 0]]);
          assert.ok((await q.readBody(id)).equals(crashBody(n)), `body of ${id} byte for byte`);
        }
        // at most the one enqueue in flight at the kill committed without being acknowledged
        assert.ok(listed.size <= acked.size + round + 1, `${listed.size} listed, ${acked.size} acknowledged`);
        for (const m of listed.values()) assert.equal((await q.readBody(m.id)).length, m.size, 'every row has its whole body');
        const files = () => fs.readdirSync(path.join(dir, 'queue', 'outbound'));
        assert.ok(files().length <= listed.size + 1, 'at most one orphan body');
        q.sweepOrphans(0);
        assert.deepEqual(files().sort(), [...listed.keys()].sort(), 'orphans swept, every queued body kept');
      } finally {
        q.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGKILL right after a 250: the delivered recipient is kept delivered and not sent again', { timeout: 60_000 }, async () => {
  t.dns.add('crash-a.test', { type: 'MX', data: { preference: 10, exchange: 'mx.crash-a.test' } });
  t.dns.add('mx.crash-a.test', { type: 'A', data: '127.0.0.2' });
  t.dns.add('crash-b.test', { type: 'MX', data: { preference: 10, exchange: 'mx.crash-b.test' } });
  t.dns.add('mx.crash-b.test', { type: 'A', data: '127.0.0.3' });
  const a = await TestRemote.start('127.0.0.2', port);
  const b = await TestRemote.start('127.0.0.3', port);
  let bAccepts = false;
  b.rcpt = () => (bAccepts ? null : { code: 451, text: '4.3.0 Not yet' });
  const dir = tempDir('fjord-outbound-crash-');
  try {
    const q = OutboundQueue.open(dir);
    const body = message('crash-deliver');
    const id = await q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'x@crash-a.test' }, { address: 'y@crash-b.test' }], accountId: 1 }, body);
    q.close();
    await runAndKill(['deliver', dir, t.dns.address, String(port)], (l) => l === 'result x@crash-a.test delivered');

    const h = harness(t.resolver, port, {}, { dataDir: dir, start: false });
    try {
      const m = h.queue.show(id)!;
      assert.deepEqual(m.recipients.map((r) => [r.address, r.state]), [['x@crash-a.test', 'delivered'], ['y@crash-b.test', 'pending']]);
      assert.match(m.recipients[0].lastReply!, /^250 /);
      assert.equal(a.received.length, 1);
      bAccepts = true;
      h.queue.retry(id);
      h.sender.start();
      await h.sender.idle();
      assert.deepEqual(h.results.map((r) => `${r.rcpt} ${r.status}`), ['y@crash-b.test delivered']);
      assert.equal(a.received.length, 1, 'x was not sent again');
      assert.deepEqual(b.received.map((r) => r.rcpts), [['y@crash-b.test']]);
      assert.ok(b.received[0].raw.equals(body));
      assert.equal(h.queue.list().length, 0);
    } finally {
      await h.close();
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
