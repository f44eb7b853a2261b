import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Spool, SpoolError, type SpoolIo } from '../../src/queue/spool.js';
import { tempDir } from '../helpers/system.js';

const segFiles = (q: string) => fs.readdirSync(q).filter((n) => /^seg-\d+\.log$/.test(n)).sort();
const errno = (code: string) => Object.assign(new Error(code), { code });
const isSpoolError = (code: string) => (e: unknown) => e instanceof SpoolError && e.code === code;
const isEnoent = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** Real I/O that counts calls, for asserting how the log writes. */
function countingIo(over: Partial<SpoolIo> = {}) {
  const calls = { writev: 0, fdatasync: 0, ftruncate: 0 };
  const io: SpoolIo = {
    writev: async (fd, bufs, pos) => {
      calls.writev++;
      return over.writev ? over.writev(fd, bufs, pos) : fs.writevSync(fd, bufs, pos);
    },
    fdatasync: async (fd) => {
      calls.fdatasync++;
      return over.fdatasync ? over.fdatasync(fd) : fs.fdatasyncSync(fd);
    },
    ftruncate: async (fd, len) => {
      calls.ftruncate++;
      return over.ftruncate ? over.ftruncate(fd, len) : fs.ftruncateSync(fd, len);
    },
  };
  return { io, calls };
}

/** A record in the previous single-file format. */
function legacyFile(meta: unknown, body: Buffer): Buffer {
  const m = Buffer.from(JSON.stringify(meta));
  const head = Buffer.alloc(8);
  head.write('FJQ1');
  head.writeUInt32BE(m.length, 4);
  return Buffer.concat([head, m, body]);
}

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
  await assert.rejects(spool.read(a), isEnoent);
  await assert.rejects(spool.read('no-such-id'), isEnoent);
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a new Spool on the same folder recovers every entry, in order, with its content', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const first = new Spool<{ n: number }>(q);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await first.put({ n: i }, Buffer.alloc(1000 + i, i)));
  await first.remove(ids[3]); // not persisted: comes back (at-least-once)
  await first.close();

  const second = new Spool<{ n: number }>(q);
  // Puts before recover() go to a new segment and never disturb the old ones.
  const extra = await second.put({ n: 99 }, Buffer.from('late'));
  assert.deepEqual(second.recover(), [...ids, extra].sort());
  for (let i = 0; i < 20; i++) {
    const e = await second.read(ids[i]);
    assert.deepEqual(e.meta, { n: i });
    assert.ok(e.body.equals(Buffer.alloc(1000 + i, i)));
  }
  // Draining the old segment unlinks it.
  for (const id of ids) await second.remove(id);
  assert.equal(segFiles(q).length, 1, 'only the active segment is left');
  assert.equal((await second.read(extra)).body.toString(), 'late');
  await second.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('concurrent puts share one write and one fdatasync (group commit)', async () => {
  const dir = tempDir();
  const { io, calls } = countingIo();
  const spool = new Spool<{ n: number }>(path.join(dir, 'q'), { io });
  const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => spool.put({ n: i }, Buffer.alloc(20_000, i))));
  assert.equal(new Set(ids).size, 100);
  assert.ok(calls.fdatasync <= 2, `100 concurrent puts used ${calls.fdatasync} fdatasyncs`);
  assert.ok(calls.writev <= 2, `100 concurrent puts used ${calls.writev} writes`);

  // Puts arriving one by one while a (slow) sync runs ride on the next group.
  const slow = countingIo({ fdatasync: async (fd) => (await sleep(20), fs.fdatasyncSync(fd)) });
  const s2 = new Spool<{ n: number }>(path.join(dir, 'q2'), { io: slow.io });
  const puts: Promise<string>[] = [];
  for (let i = 0; i < 100; i++) {
    puts.push(s2.put({ n: i }, Buffer.alloc(2000, i)));
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(puts);
  assert.ok(slow.calls.fdatasync < 20, `100 staggered puts used ${slow.calls.fdatasync} fdatasyncs`);
  assert.equal((await s2.read((await Promise.all(puts))[57])).meta.n, 57);
  await spool.close();
  await s2.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a torn tail is ignored and appends never follow it', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const s1 = new Spool<{ n: number }>(q);
  const a = await s1.put({ n: 1 }, Buffer.alloc(500, 1));
  const b = await s1.put({ n: 2 }, Buffer.alloc(500, 2));
  await s1.put({ n: 3 }, Buffer.alloc(500, 3));
  await s1.close();
  const [seg] = segFiles(q);
  const file = path.join(q, seg);
  const whole = fs.readFileSync(file);
  const third = whole.length / 3;
  // A crash mid-append: the record is cut short.
  fs.truncateSync(file, whole.length - 100);
  const s2 = new Spool<{ n: number }>(q);
  assert.deepEqual(s2.recover(), [a, b]);
  // Garbage after a cut record (e.g. zero-filled blocks of a grown file) changes nothing.
  fs.appendFileSync(file, Buffer.alloc(4096));
  const s3 = new Spool<{ n: number }>(q);
  assert.deepEqual(s3.recover(), [a, b]);
  const d = await s3.put({ n: 4 }, Buffer.from('after the crash'));
  await s3.close();
  assert.ok(segFiles(q).length === 2, 'new entries go to a new segment');
  // A tail that is only part of a header.
  fs.writeFileSync(file, whole.subarray(0, third + 10));
  const s4 = new Spool<{ n: number }>(q);
  assert.deepEqual(s4.recover(), [a, d].sort());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a damaged record is reported as corrupt and not recovered', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const s1 = new Spool<{ n: number }>(q);
  const a = await s1.put({ n: 1 }, Buffer.alloc(300, 1));
  const b = await s1.put({ n: 2 }, Buffer.alloc(300, 2));
  const file = path.join(q, segFiles(q)[0]);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 5] ^= 0x40; // one bit of b's body
  fs.writeFileSync(file, bytes);
  await assert.rejects(s1.read(b), isSpoolError('corrupt'));
  assert.deepEqual((await s1.read(a)).meta, { n: 1 });
  // Parking keeps the damaged bytes aside under a name nothing takes for an entry.
  await s1.park(b, 'failed');
  assert.ok(fs.readFileSync(path.join(dir, 'failed', b + '.bad')).length > 300);
  await s1.close();
  const s2 = new Spool(q);
  assert.deepEqual(s2.recover(), [a]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('drained segments are unlinked; steady put/remove keeps disk use bounded', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const spool = new Spool<{ n: number }>(q, { segmentBytes: 4096, idleRetireMs: 30 });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push(await spool.put({ n: i }, Buffer.alloc(1500, i)));
  assert.ok(segFiles(q).length >= 6, `rotated by size: ${segFiles(q)}`);
  for (const id of ids.slice(0, 10)) await spool.remove(id);
  assert.ok(segFiles(q).length <= 6, `drained sealed segments unlinked: ${segFiles(q)}`);
  for (const id of ids.slice(10)) await spool.remove(id);
  assert.ok(segFiles(q).length <= 1);
  await sleep(100);
  assert.deepEqual(fs.readdirSync(q), [], 'an idle, drained spool leaves nothing on disk');

  // A backlog of a few entries under a steady stream: disk use stays bounded.
  const backlog: string[] = [];
  for (let i = 0; i < 200; i++) {
    backlog.push(await spool.put({ n: i }, Buffer.alloc(1000, i)));
    if (backlog.length > 5) await spool.remove(backlog.shift()!);
  }
  const bytes = segFiles(q).reduce((n, f) => n + fs.statSync(path.join(q, f)).size, 0);
  assert.ok(bytes < 16 * 1024, `${bytes} bytes on disk for 5 live entries`);
  assert.deepEqual(spool.recover(), [...backlog].sort());
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a drained active segment is replaced once big enough, even without idle time', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const spool = new Spool<{ n: number }>(q, { drainedRotateBytes: 8192, idleRetireMs: -1 });
  for (let i = 0; i < 100; i++) await spool.remove(await spool.put({ n: i }, Buffer.alloc(1000, i)));
  const files = segFiles(q);
  assert.equal(files.length, 1);
  assert.ok(fs.statSync(path.join(q, files[0])).size <= 8192 + 1100);
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('park moves an entry aside in the single-file format, durably, and out of the queue', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const spool = new Spool<{ n: number }>(q);
  const id = await spool.put({ n: 7 }, Buffer.from('undeliverable\r\n'));
  const keep = await spool.put({ n: 8 }, Buffer.from('fine'));
  await spool.park(id, 'failed');
  const parked = fs.readFileSync(path.join(dir, 'failed', id + '.msg'));
  assert.ok(parked.equals(legacyFile({ n: 7 }, Buffer.from('undeliverable\r\n'))));
  assert.deepEqual(spool.recover(), [keep]);
  await assert.rejects(spool.read(id), isEnoent);
  await spool.remove(id);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'failed')), [id + '.msg']);
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('entries of the previous single-file format are recovered, read and removed', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  fs.mkdirSync(q);
  fs.writeFileSync(path.join(q, '000000000legacy1.msg'), legacyFile({ n: 1 }, Buffer.from('old one')));
  fs.writeFileSync(path.join(q, '000000000legacy2.msg'), legacyFile({ n: 2 }, Buffer.from('old two')));
  const spool = new Spool<{ n: number }>(q);
  const fresh = await spool.put({ n: 3 }, Buffer.from('new'));
  assert.deepEqual(spool.recover(), ['000000000legacy1', '000000000legacy2', fresh]);
  const e = await spool.read('000000000legacy1');
  assert.deepEqual(e.meta, { n: 1 });
  assert.equal(e.body.toString(), 'old one');
  await spool.remove('000000000legacy1');
  assert.ok(!fs.existsSync(path.join(q, '000000000legacy1.msg')));
  await spool.park('000000000legacy2', 'failed');
  assert.ok(fs.existsSync(path.join(dir, 'failed', '000000000legacy2.msg')));
  assert.deepEqual(spool.recover(), [fresh]);
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('recover() removes interrupted legacy writes and a corrupt legacy entry is reported, not trusted', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  const spool = new Spool(q);
  fs.writeFileSync(path.join(q, '000000000aaaa.tmp'), 'half');
  fs.writeFileSync(path.join(q, '000000000bbbb.msg'), 'garbage');
  assert.deepEqual(spool.recover(), ['000000000bbbb']);
  assert.ok(!fs.existsSync(path.join(q, '000000000aaaa.tmp')));
  await assert.rejects(spool.read('000000000bbbb'), isSpoolError('corrupt'));
  await spool.park('000000000bbbb', 'failed');
  assert.ok(fs.existsSync(path.join(dir, 'failed', '000000000bbbb.msg')));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a full disk rejects the whole group with no-space, and none of it is ever recovered', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  let fail = false;
  // The disk fills mid-group: whole records of the group reach the file, then ENOSPC.
  const { io, calls } = countingIo({
    writev: async (fd, bufs, pos) => {
      if (!fail) return fs.writevSync(fd, bufs, pos);
      fail = false;
      fs.writevSync(fd, bufs.slice(0, bufs.length - 1), pos); // all but the last record's body
      throw errno('ENOSPC');
    },
  });
  const s1 = new Spool<{ n: number }>(q, { io });
  const ok1 = await s1.put({ n: 1 }, Buffer.alloc(1000, 1));
  fail = true;
  const results = await Promise.allSettled([1, 2, 3].map((n) => s1.put({ n: 10 + n }, Buffer.alloc(1000, n))));
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok(isSpoolError('no-space')((r as PromiseRejectedResult).reason));
  }
  assert.equal(calls.ftruncate, 1);
  const ok2 = await s1.put({ n: 2 }, Buffer.alloc(1000, 2));
  assert.deepEqual(s1.recover(), [ok1, ok2]);
  await s1.close();
  // Even a fresh process (no memory of the failure) finds only the acknowledged entries.
  const s2 = new Spool<{ n: number }>(q);
  assert.deepEqual(s2.recover(), [ok1, ok2]);
  assert.deepEqual((await s2.read(ok2)).meta, { n: 2 });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('when the failed tail cannot be cut off, the segment is sealed and the failed group still never recovered', async () => {
  const dir = tempDir();
  const q = path.join(dir, 'q');
  let failSync = false;
  // Complete records written, then the sync fails (EIO) and truncation fails too.
  const { io } = countingIo({
    fdatasync: async (fd) => {
      if (failSync) {
        failSync = false;
        throw errno('EIO');
      }
      fs.fdatasyncSync(fd);
    },
    ftruncate: async () => {
      throw errno('EIO');
    },
  });
  const s1 = new Spool<{ n: number }>(q, { io });
  const ok1 = await s1.put({ n: 1 }, Buffer.alloc(800, 1));
  failSync = true;
  const results = await Promise.allSettled([1, 2].map((n) => s1.put({ n: 10 + n }, Buffer.alloc(800, n))));
  for (const r of results) assert.ok(r.status === 'rejected' && isSpoolError('io')(r.reason));
  const ok2 = await s1.put({ n: 2 }, Buffer.alloc(800, 2));
  assert.equal(segFiles(q).length, 2, 'appends moved to a new segment');
  await s1.close();
  const s2 = new Spool<{ n: number }>(q);
  assert.deepEqual(s2.recover(), [ok1, ok2]);
  fs.rmSync(dir, { recursive: true, force: true });
});
