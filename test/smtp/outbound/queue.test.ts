// The outbound queue's own contract: what enqueue() refuses, what it keeps (envelope, DSN
// parameters, bytes), the admin operations (hold/release/retry/delete) as the sender sees them
// through the database, and a full disk (ENOSPC) refusing cleanly with nothing half-written.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loopbackDns } from '../../helpers/dns-server.js';
import { tempDir } from '../../helpers/system.js';
import { OutboundQueue } from '../../../src/smtp/outbound/queue.js';
import { OutboundQueueError } from '../../../src/smtp/outbound/types.js';
import { TestRemote, freeSharedPort, harness, message, sleep } from './fixtures.js';

const t = loopbackDns();
let port: number;
before(async () => {
  port = await freeSharedPort();
});

const isCode = (code: string) => (e: unknown) => e instanceof OutboundQueueError && e.code === code;

test('enqueue keeps the envelope and the bytes; refuses bad envelopes with nothing left behind', async () => {
  const dir = tempDir();
  const q = OutboundQueue.open(dir);
  try {
    const body = Buffer.concat([message('keep'), Buffer.from([0xff, 0x00, 0x0d, 0x0a])]);
    const id = await q.enqueue(
      { mailFrom: 'alice@fjord.test', recipients: [{ address: 'Bob@Example.TEST', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;bob@example.test' }, { address: 'bob@example.test' }, { address: 'x@bücher.test' }], accountId: 5, ret: 'HDRS', envid: 'E1' },
      body,
    );
    assert.match(id, /^[0-9A-Z]+$/);
    const m = q.show(id)!;
    assert.equal(m.mailFrom, 'alice@fjord.test');
    assert.equal(m.accountId, 5);
    assert.equal(m.ret, 'HDRS');
    assert.equal(m.envid, 'E1');
    assert.equal(m.size, body.length);
    assert.equal(m.eightBit, true);
    assert.deepEqual(m.recipients.map((r) => [r.address, r.domain, r.state, r.attempts]), [
      ['Bob@Example.TEST', 'example.test', 'pending', 0],
      ['x@bücher.test', 'xn--bcher-kva.test', 'pending', 0],
    ], 'the same address once; domains lower-case ASCII');
    assert.deepEqual(m.recipients[0].notify, ['SUCCESS', 'FAILURE']);
    assert.equal(m.recipients[0].orcpt, 'rfc822;bob@example.test');
    assert.ok((await q.readBody(id)).equals(body));
    assert.deepEqual(q.list().map((x) => x.id), [id]);

    await assert.rejects(q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [], accountId: 1 }, body), isCode('invalid'));
    await assert.rejects(q.enqueue({ mailFrom: 'not an address', recipients: [{ address: 'a@b.test' }], accountId: 1 }, body), isCode('invalid'));
    await assert.rejects(q.enqueue({ mailFrom: '', recipients: [{ address: 'a@b.test\r\nRCPT TO:<x@y>' }], accountId: 1 }, body), isCode('invalid'));
    await assert.rejects(q.enqueue({ mailFrom: '', recipients: [{ address: 'a@b.test', notify: ['NEVER', 'FAILURE'] }], accountId: 1 }, body), isCode('invalid'));
    assert.equal(q.list().length, 1);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'queue', 'outbound')), [id]);
  } finally {
    q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a local copy is marked deliverable by the commit of its remote half; marks are cleared and pruned', async () => {
  const dir = tempDir();
  const q = OutboundQueue.open(dir);
  try {
    assert.equal(q.hasLocalCopy('spool-1'), false);
    await q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@example.test' }], accountId: 5, localCopy: 'spool-1' }, message('mixed'));
    await q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'carol@example.test' }], accountId: 5, localCopy: 'spool-2' }, message('mixed 2'));
    await assert.rejects(q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'not an address' }], accountId: 5, localCopy: 'spool-3' }, message('bad')), isCode('invalid'));
    assert.deepEqual(['spool-1', 'spool-2', 'spool-3'].map((id) => q.hasLocalCopy(id)), [true, true, false], 'a refused remote half marks nothing');
    await q.forgetLocalCopy('spool-1');
    assert.equal(q.hasLocalCopy('spool-1'), false);
    assert.equal(q.pruneLocalCopies((id) => id !== 'spool-2'), 1, 'a mark whose copy left the spool goes');
    assert.equal(q.hasLocalCopy('spool-2'), false);
  } finally {
    q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hold, release, retry and delete through another connection take effect in the running sender', async () => {
  t.dns.add('admin.test', { type: 'MX', data: { preference: 10, exchange: 'mx.admin.test' } }, );
  t.dns.add('mx.admin.test', { type: 'A', data: '127.0.0.2' });
  const remote = await TestRemote.start('127.0.0.2', port);
  let refuse = true;
  remote.rcpt = () => (refuse ? { code: 451, text: '4.3.2 Not now' } : null);
  // a long retry delay: only `retry` makes the deferred recipient due again
  const h = harness(t.resolver, port, { retrySchedule: [3600] });
  const admin = OutboundQueue.open(h.dataDir); // as `fjord queue` would
  try {
    const held = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'a@admin.test' }], accountId: 1 }, message('held'));
    assert.equal(admin.hold(held), 1);
    const deferred = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'b@admin.test' }], accountId: 1 }, message('deferred'));
    const doomed = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'c@admin.test' }], accountId: 1 }, message('doomed'));
    h.sender.kick();
    await h.sender.idle();
    assert.equal(admin.show(held)!.recipients[0].state, 'held');
    assert.equal(admin.show(held)!.recipients[0].attempts, 0, 'a held recipient is not tried');
    assert.equal(admin.show(deferred)!.recipients[0].attempts, 1);
    assert.equal(admin.delete(doomed), true);
    assert.equal(admin.delete(doomed), false);

    refuse = false;
    assert.equal(admin.release(held), 1);
    assert.equal(admin.retry(), 2, 'every pending recipient made due');
    await sleep(1300); // the sender polls the database about every second
    await h.sender.idle();
    assert.deepEqual(remote.received.map((m) => m.rcpts[0]).sort(), ['a@admin.test', 'b@admin.test']);
    assert.equal(admin.list().length, 0);
    assert.equal(h.dsns.length, 0, 'deleting sends no notification');
  } finally {
    admin.close();
    await remote.close();
    await h.close();
  }
});

test('a full disk refuses enqueue with no-space and leaves nothing half-written', { timeout: 60_000 }, async (t) => {
  const mnt = tempDir('fjord-outbound-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('cannot mount a tmpfs here (needs root)');
    fs.rmSync(mnt, { recursive: true, force: true });
    return;
  }
  try {
    const q = OutboundQueue.open(mnt);
    const big = Buffer.alloc(150_000, 'a');
    const ok: string[] = [];
    let refusal: unknown = null;
    for (let i = 0; i < 100 && !refusal; i++) {
      try {
        ok.push(await q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: `r${i}@example.test` }], accountId: 1 }, big));
      } catch (e) {
        refusal = e;
      }
    }
    assert.ok(refusal, 'the disk filled up');
    assert.ok(refusal instanceof OutboundQueueError && refusal.code === 'no-space', String(refusal));
    assert.match((refusal as Error).message, /disk full/);
    assert.deepEqual(q.list().map((m) => m.id), ok, 'every acknowledged message, nothing else');
    assert.deepEqual(fs.readdirSync(path.join(mnt, 'queue', 'outbound')).sort(), [...ok].sort(), 'no partial body file');
    for (const id of ok.slice(0, 3)) assert.ok((await q.readBody(id)).equals(big));
    // a remote's 250 is still recorded on the full disk (the queue's reserve covers the commit);
    // with that the message is complete and leaves the queue in the same commit
    await q.applyResults(ok[5], [{ index: 0, state: 'delivered', attempts: 1, attemptAt: Date.now(), reply: '250 2.0.0 Ok', remoteMta: 'mx[192.0.2.1]', status: '2.0.0', dsnDue: false }]);
    assert.equal(q.show(ok[5]), null);
    ok.splice(5, 1);
    // deleting works too, and frees room
    for (const id of ok.slice(0, 4)) assert.equal(q.delete(id), true);
    const again = await q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'again@example.test' }], accountId: 1 }, big);
    assert.ok(q.show(again));
    assert.equal(q.list().length, ok.length - 4 + 1);
    q.close();
  } finally {
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* already gone */
    }
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});
