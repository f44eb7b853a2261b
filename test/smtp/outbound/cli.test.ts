// `fjord queue` as an operator uses it (real processes, --data): list, show, hold, release,
// retry and delete on a queue with entries, and one-line errors for bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runCli, tempDir } from '../../helpers/system.js';
import { OutboundQueue } from '../../../src/smtp/outbound/queue.js';
import { message } from './fixtures.js';

let data: string;
let q: OutboundQueue;
let id1: string;
let id2: string;
const fjord = (...args: string[]) => runCli(['queue', ...args, '--data', data]);

before(async () => {
  data = tempDir('fjord-queue-cli-');
  q = OutboundQueue.open(data);
  id1 = await q.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@example.test' }, { address: 'carol@example.net' }], accountId: 1 }, message('cli one'));
  id2 = await q.enqueue({ mailFrom: '', recipients: [{ address: 'dave@example.org' }], accountId: null }, message('cli two'));
  const now = Date.now();
  await q.applyResults(id1, [
    { index: 0, state: 'pending', attempts: 2, attemptAt: now, nextAttemptAt: now + 600_000, reply: '451 4.7.1 Try again later', remoteMta: 'mx.example.test[192.0.2.1]', status: '4.7.1', dsnDue: false },
    { index: 1, state: 'delivered', attempts: 1, attemptAt: now, reply: '250 2.0.0 Ok: queued as 1234', remoteMta: 'mx.example.net[192.0.2.2]', status: '2.0.0', dsnDue: false },
  ]);
});

after(() => {
  q.close();
  fs.rmSync(data, { recursive: true, force: true });
});

test('list: id, age, size, sender and every recipient with state, attempts, next attempt, last reply', async () => {
  const r = await fjord('list');
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, new RegExp(`^${id1}\\s+\\d+s\\s+[\\d.]+ (B|KB)\\s+<alice@fjord\\.test>$`, 'm'));
  assert.match(out, new RegExp(`^${id2}\\s+.*<>$`, 'm'));
  assert.match(out, /^\s+pending\s+bob@example\.test\s+attempts=2\s+next=\S+Z \(in \d+m\d+s\)\s+last: 451 4\.7\.1 Try again later$/m);
  assert.match(out, /^\s+delivered\s+carol@example\.net\s+attempts=1\s+last: 250 2\.0\.0 Ok: queued as 1234$/m);
  assert.match(out, /^\s+pending\s+dave@example\.org\s+attempts=0\s+next=/m);
  assert.match(out, /^-- 2 messages, 3 recipients \(2 pending, 1 delivered\)$/m);

  const json = (await fjord('list', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(json.map((m) => m.id), [id1, id2]);
  assert.equal(json[0].recipients[0].lastReply, '451 4.7.1 Try again later');
  assert.equal(json[0].recipients[0].remoteMta, 'mx.example.test[192.0.2.1]');
});

test('show: envelope, recipients in detail and the message header', async () => {
  const r = await fjord('show', id1);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Queue ID:\\s+${id1}$`, 'm'));
  assert.match(r.stdout, /^Sender:\s+<alice@fjord\.test>\s+\(account #1\)$/m);
  assert.match(r.stdout, /last attempt \S+ via mx\.example\.test\[192\.0\.2\.1\]/);
  assert.match(r.stdout, /last reply: 451 4\.7\.1 Try again later/);
  assert.match(r.stdout, /^ {2}Subject: cli one$/m);
  assert.doesNotMatch(r.stdout, /Hello Bob/, 'no body');
  const missing = await fjord('show', 'NOSUCHID');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), 'fjord queue: no such queued message: NOSUCHID');
});

test('hold, release, retry, delete', async () => {
  let r = await fjord('hold', id1);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${id1}: 1 recipient held`);
  assert.match((await fjord('list')).stdout, /^\s+held\s+bob@example\.test/m);
  assert.equal(q.show(id1)!.recipients[0].state, 'held');

  r = await fjord('release', id1);
  assert.equal(r.stdout.trim(), `${id1}: 1 recipient released`);
  assert.equal(q.show(id1)!.recipients[0].state, 'pending');
  assert.ok(q.show(id1)!.recipients[0].nextAttemptAt!.getTime() <= Date.now(), 'released recipients are due at once');

  q.applyResults(id1, [{ index: 0, state: 'pending', attempts: 3, attemptAt: Date.now(), nextAttemptAt: Date.now() + 3600_000, reply: '451 4.7.1 Later', remoteMta: null, status: '4.7.1', dsnDue: false }]);
  r = await fjord('retry', id1);
  assert.equal(r.stdout.trim(), `1 pending recipient of ${id1} due now`);
  assert.ok(q.show(id1)!.recipients[0].nextAttemptAt!.getTime() <= Date.now());
  r = await fjord('retry');
  assert.equal(r.stdout.trim(), '2 pending recipients due now');

  r = await fjord('delete', id2);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${id2} deleted`));
  assert.equal(q.show(id2), null);
  const again = await fjord('delete', id2);
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim().split('\n').length, 1);
  assert.doesNotMatch((await fjord('list')).stdout, new RegExp(id2));

  const bad = await fjord('frobnicate');
  assert.equal(bad.code, 2);
  const noId = await fjord('hold');
  assert.equal(noId.code, 2);
  assert.match(noId.stderr, /missing queue id/);
  const help = await runCli(['--help']);
  assert.match(help.stdout, /fjord queue list/);
});

test('an empty queue says so', async () => {
  const dir = tempDir('fjord-queue-cli-');
  try {
    const r = await runCli(['queue', 'list', '--data', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'outbound queue is empty');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
