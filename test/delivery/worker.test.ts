// The delivery worker's failure handling, with a scripted deliverer: a store that is down keeps
// everything queued; a message that breaks every batch it is in is found and set aside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DeliveryWorker } from '../../src/delivery/worker.js';
import type { BatchDeliverer, EntryOutcome, QueuedMessage } from '../../src/delivery/deliver-batch.js';
import type { InboundMeta } from '../../src/delivery/inbound-meta.js';
import { Spool } from '../../src/queue/spool.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempDir } from '../helpers/system.js';

const meta = (): InboundMeta => ({ v: 1, receivedAt: Date.now(), mailFrom: 'a@b.c', recipients: [{ rcpt: 'x@y.z', account: 'x@y.z' }], client: { ip: '127.0.0.1', helo: 'h' } });

class Scripted implements BatchDeliverer {
  delivered: string[] = [];
  down = false;
  async deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]> {
    if (this.down) throw new Error('store unavailable');
    if (entries.some((e) => e.body.toString().includes('POISON'))) throw new Error('cannot parse');
    this.delivered.push(...entries.map((e) => e.id));
    return entries.map(() => 'done');
  }
  async close() {}
}

test('a poison message is isolated and parked; every other message is delivered once', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const spool = new Spool<InboundMeta>(path.join(dir, 'inbound'));
  const d = new Scripted();
  const w = new DeliveryWorker(d, spool, silentLogger(), { batchSize: 8 });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await spool.put(meta(), Buffer.from(i === 7 ? 'POISON' : `message ${i}`)));
  w.start();
  // Mail keeps arriving meanwhile: its successful delivery is what shows the store is healthy,
  // so the poison message's failures are held against it rather than against the store.
  const parked = path.join(dir, 'failed', `${ids[7]}.msg`);
  const deadline = Date.now() + 50_000;
  for (let i = 0; !fs.existsSync(parked) && Date.now() < deadline; i++) {
    const id = await spool.put(meta(), Buffer.from(`later ${i}`));
    ids.push(id);
    w.enqueue(id);
    await new Promise((r) => setTimeout(r, 300));
  }
  await w.idle();
  await w.stop();
  assert.deepEqual([...d.delivered].sort(), ids.filter((_, i) => i !== 7).sort(), 'all but the poison message delivered, each once');
  assert.ok(fs.existsSync(path.join(dir, 'failed', `${ids[7]}.msg`)), 'poison message kept aside for the operator');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('while the store is down nothing is dropped or parked; delivery resumes when it is back', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const spool = new Spool<InboundMeta>(path.join(dir, 'inbound'));
  const d = new Scripted();
  d.down = true;
  const w = new DeliveryWorker(d, spool, silentLogger(), { batchSize: 4 });
  w.start();
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const id = await spool.put(meta(), Buffer.from(`m${i}`));
    ids.push(id);
    w.enqueue(id);
  }
  await new Promise((r) => setTimeout(r, 4000)); // several failed attempts
  assert.equal(d.delivered.length, 0);
  assert.ok(!fs.existsSync(path.join(dir, 'failed')), 'nothing parked because the store is down');
  d.down = false;
  const deadline = Date.now() + 40_000;
  while (d.delivered.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await w.stop();
  assert.deepEqual([...d.delivered].sort(), [...ids].sort());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a held entry is not taken for a leftover at start; it is delivered once enqueued, never if withdrawn', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const spool = new Spool<InboundMeta>(path.join(dir, 'inbound'));
  const d = new Scripted();
  const w = new DeliveryWorker(d, spool, silentLogger(), { batchSize: 4 });
  const leftover = await spool.put(meta(), Buffer.from('left over'));
  const kept = await spool.put(meta(), Buffer.from('staged, kept'));
  const withdrawn = await spool.put(meta(), Buffer.from('staged, withdrawn'));
  w.hold(kept);
  w.hold(withdrawn);
  w.start();
  await w.idle();
  assert.deepEqual(d.delivered, [leftover], 'only the leftover at start');
  w.enqueue(kept);
  await spool.remove(withdrawn);
  w.release(withdrawn);
  await w.idle();
  await w.stop();
  assert.deepEqual(d.delivered.sort(), [leftover, kept].sort());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a submission\'s local copy is delivered only if its remote half was queued, also after a restart that forgot a withdrawal', { timeout: 30_000 }, async () => {
  const dir = tempDir();
  const spool = new Spool<InboundMeta>(path.join(dir, 'inbound'));
  const staged = (): InboundMeta => ({ ...meta(), awaitsRemote: true });
  // As a crash leaves them: both halves written; the remote half never written; a withdrawal
  // (full disk) the spool held in memory only; a plain local delivery.
  const both = await spool.put(staged(), Buffer.from('both halves'));
  const localOnly = await spool.put(staged(), Buffer.from('remote half never queued'));
  const withdrawn = await spool.put(staged(), Buffer.from('withdrawn'));
  const plain = await spool.put(meta(), Buffer.from('local recipients only'));
  const committed = new Set([both]);
  const forgotten: string[] = [];
  const d = new Scripted();
  const w = new DeliveryWorker(d, new Spool<InboundMeta>(path.join(dir, 'inbound')), silentLogger(), {
    batchSize: 4,
    localCopies: { committed: (id) => committed.has(id), delivered: async (id) => { forgotten.push(id); } },
  });
  w.start();
  await w.idle();
  await w.stop();
  assert.deepEqual(d.delivered.sort(), [both, plain].sort(), `not ${localOnly} (remote half never queued) nor ${withdrawn} (withdrawn)`);
  assert.deepEqual(forgotten, [both], 'the mark of a delivered copy is cleared');
  // A copy that must wait (a mailbox over quota) keeps its mark until it is delivered.
  // (A new Spool object: the first one's segment file is gone, its entries all removed.)
  const quota = await new Spool<InboundMeta>(path.join(dir, 'inbound')).put(staged(), Buffer.from('QUOTA first time'));
  committed.add(quota);
  const d2 = new (class extends Scripted {
    tries = 0;
    override async deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]> {
      if (this.tries++ === 0) return entries.map(() => 'retry');
      return super.deliver(entries);
    }
  })();
  const marks: string[] = [];
  const w2 = new DeliveryWorker(d2, new Spool<InboundMeta>(path.join(dir, 'inbound')), silentLogger(), {
    batchSize: 4,
    localCopies: { committed: (id) => committed.has(id), delivered: async (id) => { marks.push(id); } },
  });
  w2.start();
  await w2.idle();
  assert.deepEqual([d2.delivered, marks], [[], []], 'over quota: not delivered, mark kept');
  for (let i = 0; i < 100 && d2.delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  await w2.idle();
  await w2.stop();
  assert.deepEqual([d2.delivered, marks], [[quota], [quota]], 'delivered on the retry; then the mark goes');
  fs.rmSync(dir, { recursive: true, force: true });
});
