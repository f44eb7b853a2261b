// A durable spool of queued messages: an append-only log of segment files with group commit.
//
// Why: a file per message costs ~6 syscalls and an fsync each, which caps throughput where
// syscalls are expensive (gVisor). Here every put() joins a group; one writer appends the whole
// group with one positioned writev and one fdatasync, then resolves every put of that group.
// Puts made while a group is being synced wait for the next one, so under load each sync
// covers many messages.
//
// Durability: put() resolves only after its record is fdatasynced, in a segment whose directory
// entry was fsynced when the segment was created. A record is trusted only if its magic,
// lengths and CRC32 check out; recovery stops at the first record that does not (a torn tail
// from a crash). A failed group is cut off again (ftruncate + fdatasync) before its puts are
// rejected, so a rejected put is never recovered; if even that fails, the failed group's first
// header is zeroed, which stops recovery there, and the segment is sealed.
//
// Removal is kept in memory only: a segment is unlinked once all its records are removed
// (no fsync: the delivery worker is idempotent, so an entry that reappears after a crash is
// harmless). recover() therefore returns every valid record of every segment left on disk.
//
// Record: "FJS1" | crc32 (over everything after it) | total length | id length (u16) |
// reserved (u16) | meta length | body length | id | meta (JSON) | body; integers big-endian.
// Files of the previous format (<id>.msg: "FJQ1" | u32 meta length | meta | body) found in the
// folder are still recovered, read, removed and parked, so data folders upgrade in place.
//
// One process owns a spool folder at a time.
import fs from 'node:fs';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { dirSync } from '../fs/dir-sync.js';

const LEGACY_MAGIC = Buffer.from('FJQ1');
const MAGIC = 0x464a5331; // "FJS1"
const HEAD = 24;
const SEGMENT_RE = /^seg-(\d+)\.log$/;

export class SpoolError extends Error {
  constructor(public readonly code: 'no-space' | 'io' | 'corrupt', message: string) {
    super(message);
  }
}

export interface SpoolEntry<M> {
  id: string;
  meta: M;
  body: Buffer;
}

/** The file operations of the log's write path, replaceable to simulate failures in tests. */
export interface SpoolIo {
  /** Positioned writev; may write less than asked (the caller writes the rest). */
  writev(fd: number, buffers: Buffer[], position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
}

export interface SpoolOptions {
  /** Start a new segment once the active one reaches this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Start a new segment (unlinking the old) when the active one is fully removed and at least this big. Default 4 MiB. */
  drainedRotateBytes?: number;
  /** Unlink the active segment after it has been fully removed and idle this long; negative: never. Default 1000 ms. */
  idleRetireMs?: number;
  io?: Partial<SpoolIo>;
}

let counter = 0;
// Random bytes are drawn 4 KiB at a time: each randomBytes() call costs a getpid syscall
// (OpenSSL's fork check), i.e. one syscall per message otherwise.
let randomPool = Buffer.alloc(0);
let randomAt = 0;
/** Sortable by creation time, unique across processes. */
export function newSpoolId(): string {
  counter = (counter + 1) % 1679616;
  if (randomAt + 4 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomAt = 0;
  }
  const rnd = randomPool.toString('hex', randomAt, (randomAt += 4));
  return Date.now().toString(36).padStart(9, '0') + counter.toString(36).padStart(4, '0') + rnd;
}

// zlib.crc32 exists from Node 20.15; the table version keeps older 20.x working.
const nativeCrc = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let crcTable: Int32Array | null = null;
function crc32(data: Uint8Array, value = 0): number {
  if (nativeCrc) return nativeCrc(data, value);
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

interface Segment {
  n: number;
  file: string;
  /** -1 once closed. */
  fd: number;
  /** End of the good (durable) records; appends go here. */
  end: number;
  /** Ids whose current record is in this segment and not removed. */
  live: Set<string>;
  /** No more appends; unlinked as soon as `live` is empty. */
  sealed: boolean;
  dead: boolean;
  /** Reads in flight: the fd is closed only after they finish (a reused fd number would read another file). */
  readers: number;
}

/** Where an entry is: a record in a segment, or (seg null) a legacy <id>.msg file. */
type Loc = { seg: Segment; off: number; len: number } | { seg: null };

interface Pending {
  id: string;
  bufs: Buffer[];
  len: number;
  resolve(id: string): void;
  reject(e: Error): void;
}

interface Parsed {
  id: string;
  len: number;
  metaStart: number;
  metaLen: number;
  bodyStart: number;
  bodyLen: number;
}

/** The record at `off` if it is complete and intact, else null. */
function parseRecord(buf: Buffer, off: number): Parsed | null {
  if (buf.length - off < HEAD || buf.readUInt32BE(off) !== MAGIC) return null;
  const len = buf.readUInt32BE(off + 8);
  const idLen = buf.readUInt16BE(off + 12);
  const metaLen = buf.readUInt32BE(off + 16);
  const bodyLen = buf.readUInt32BE(off + 20);
  if (len !== HEAD + idLen + metaLen + bodyLen || off + len > buf.length) return null;
  if (crc32(buf.subarray(off + 8, off + len)) !== buf.readUInt32BE(off + 4)) return null;
  const idStart = off + HEAD;
  return {
    id: buf.toString('utf8', idStart, idStart + idLen),
    len,
    metaStart: idStart + idLen,
    metaLen,
    bodyStart: idStart + idLen + metaLen,
    bodyLen,
  };
}

function spoolError(e: unknown): SpoolError {
  if (e instanceof SpoolError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SpoolError('no-space', 'insufficient storage for the queue');
  return new SpoolError('io', `queue write failed: ${code ?? (e as Error).message}`);
}

/** The buffers left after dropping the first `n` bytes. */
function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
  const rest = bufs.slice(i);
  if (n > 0 && rest.length) rest[0] = rest[0].subarray(n);
  return rest;
}

const defaultIo: SpoolIo = {
  writev: (fd, buffers, position) => new Promise((resolve, reject) => fs.writev(fd, buffers, position, (e, n) => (e ? reject(e) : resolve(n)))),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
  ftruncate: (fd, length) => new Promise((resolve, reject) => fs.ftruncate(fd, length, (e) => (e ? reject(e) : resolve()))),
};

export class Spool<M> {
  private readonly io: SpoolIo;
  private readonly segmentBytes: number;
  private readonly drainedRotateBytes: number;
  private readonly idleRetireMs: number;
  private readonly index = new Map<string, Loc>();
  private readonly segments = new Map<number, Segment>();
  /** Segments numbered below this existed before this object and are scanned by recover(); ours never append to them. */
  private readonly firstOwn: number;
  private nextSeg: number;
  private active: Segment | null = null;
  private loaded = false;
  private pending: Pending[] = [];
  private writer: Promise<void> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(readonly dir: string, options: SpoolOptions = {}) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.io = { ...defaultIo, ...options.io };
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.drainedRotateBytes = Math.min(options.drainedRotateBytes ?? 4 * 1024 * 1024, this.segmentBytes);
    this.idleRetireMs = options.idleRetireMs ?? 1000;
    let max = 0;
    for (const name of readdirSync(dir)) {
      const m = SEGMENT_RE.exec(name);
      if (m) max = Math.max(max, Number(m[1]));
    }
    this.firstOwn = this.nextSeg = max + 1;
  }

  /** Removes leftovers of interrupted legacy writes and returns the ids of complete entries, oldest first. */
  recover(): string[] {
    this.load();
    return [...this.index.keys()].sort();
  }

  /** Writes an entry durably; resolves with its id once it is on disk. */
  put(meta: M, body: Buffer | Buffer[], id = newSpoolId()): Promise<string> {
    if (this.closed) return Promise.reject(new SpoolError('io', 'queue is closed'));
    const chunks = Array.isArray(body) ? body : [body];
    const json = JSON.stringify(meta);
    const idLen = Buffer.byteLength(id);
    const metaLen = Buffer.byteLength(json);
    let bodyLen = 0;
    for (const c of chunks) bodyLen += c.length;
    const len = HEAD + idLen + metaLen + bodyLen;
    if (idLen > 0xffff || len > 0xffffffff) return Promise.reject(new SpoolError('io', 'queue entry too large'));
    const head = Buffer.allocUnsafe(HEAD + idLen + metaLen);
    head.writeUInt32BE(MAGIC, 0);
    head.writeUInt32BE(len, 8);
    head.writeUInt16BE(idLen, 12);
    head.writeUInt16BE(0, 14);
    head.writeUInt32BE(metaLen, 16);
    head.writeUInt32BE(bodyLen, 20);
    head.write(id, HEAD, 'utf8');
    head.write(json, HEAD + idLen, 'utf8');
    let crc = crc32(head.subarray(8));
    for (const c of chunks) crc = crc32(c, crc);
    head.writeUInt32BE(crc, 4);
    return new Promise((resolve, reject) => {
      this.pending.push({ id, bufs: [head, ...chunks], len, resolve, reject });
      // Deferred to a microtask so that puts made in the same tick share the first group.
      if (!this.writer) this.writer = Promise.resolve().then(() => this.writeLoop());
    });
  }

  async read(id: string): Promise<SpoolEntry<M>> {
    this.load();
    const loc = this.index.get(id);
    if (!loc?.seg) return this.readLegacy(id); // unknown ids end in ENOENT there
    const raw = await this.readRecord(loc);
    const rec = parseRecord(raw, 0);
    if (!rec || rec.id !== id || rec.len !== raw.length) throw new SpoolError('corrupt', `queue entry ${id} is damaged`);
    let meta: M;
    try {
      meta = JSON.parse(raw.toString('utf8', rec.metaStart, rec.metaStart + rec.metaLen)) as M;
    } catch {
      throw new SpoolError('corrupt', `queue entry ${id} has unreadable metadata`);
    }
    return { id, meta, body: raw.subarray(rec.bodyStart, rec.bodyStart + rec.bodyLen) };
  }

  /** Removing needs no fsync: consumers are idempotent, so an entry reappearing after a crash is harmless. */
  async remove(id: string): Promise<void> {
    this.load();
    const loc = this.index.get(id);
    this.index.delete(id);
    if (loc?.seg) {
      const seg = loc.seg;
      seg.live.delete(id);
      if (seg.live.size === 0) {
        if (seg === this.active) this.armIdleRetire();
        else await this.drop(seg);
      }
      return;
    }
    await fs.promises.unlink(this.legacyFile(id)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** Moves an entry aside (e.g. undeliverable) into a sibling folder as <id>.msg (legacy format), durably, then removes it. */
  async park(id: string, folder: string): Promise<void> {
    this.load();
    const dest = path.join(path.dirname(this.dir), folder);
    await fs.promises.mkdir(dest, { recursive: true, mode: 0o700 });
    const loc = this.index.get(id);
    if (!loc?.seg) {
      await fs.promises.rename(this.legacyFile(id), path.join(dest, id + '.msg'));
      this.index.delete(id);
      await dirSync(dest).sync();
      return;
    }
    const raw = await this.readRecord(loc);
    const rec = parseRecord(raw, 0);
    let bufs: Buffer[];
    let name: string;
    if (rec && rec.id === id && rec.len === raw.length) {
      const head = Buffer.alloc(8);
      LEGACY_MAGIC.copy(head, 0);
      head.writeUInt32BE(rec.metaLen, 4);
      bufs = [head, raw.subarray(rec.metaStart)];
      name = id + '.msg';
    } else {
      bufs = [raw]; // damaged: keep the bytes as they were, under a name nothing mistakes for an entry
      name = id + '.bad';
    }
    const target = path.join(dest, name);
    const tmp = target + '.tmp';
    const fd = await new Promise<number>((resolve, reject) => fs.open(tmp, 'w', 0o600, (e, fd) => (e ? reject(e) : resolve(fd))));
    try {
      await this.writeAll(fd, bufs, 0, bufs.reduce((n, b) => n + b.length, 0));
      await this.io.fdatasync(fd);
    } finally {
      await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    }
    await fs.promises.rename(tmp, target);
    await dirSync(dest).sync();
    await this.remove(id);
  }

  /** Whether park(id, folder) set this entry aside (an operator may put it back). */
  isParked(id: string, folder: string): boolean {
    return fs.existsSync(path.join(path.dirname(this.dir), folder, id + '.msg'));
  }

  /** Waits for pending puts, then closes the files. Optional: the process may simply exit. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    while (this.writer) await this.writer;
    for (const seg of this.segments.values()) this.closeIfUnused(seg);
    this.active = null;
  }

  private legacyFile(id: string): string {
    return path.join(this.dir, id + '.msg');
  }

  private segFile(n: number): string {
    return path.join(this.dir, `seg-${String(n).padStart(8, '0')}.log`);
  }

  /** Scans what earlier processes left: legacy files and the segments present at construction. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const old: number[] = [];
    for (const name of readdirSync(this.dir)) {
      const m = SEGMENT_RE.exec(name);
      if (m && Number(m[1]) < this.firstOwn) old.push(Number(m[1]));
      else if (name.endsWith('.tmp')) unlinkSync(path.join(this.dir, name));
      else if (name.endsWith('.msg') && !this.index.has(name.slice(0, -4))) this.index.set(name.slice(0, -4), { seg: null });
    }
    const scanned: Segment[] = [];
    for (const n of old.sort((a, b) => a - b)) scanned.push(this.scan(n));
    for (const seg of scanned) {
      if (seg.live.size === 0) {
        seg.dead = true;
        closeSync(seg.fd);
        seg.fd = -1;
        unlinkSync(seg.file);
      } else this.segments.set(seg.n, seg);
    }
  }

  /** Indexes the valid records of a segment, up to the first one that is not (a torn tail). */
  private scan(n: number): Segment {
    const file = this.segFile(n);
    const fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(fstatSync(fd).size);
    let got = 0;
    while (got < buf.length) {
      const r = readSync(fd, buf, got, buf.length - got, got);
      if (r === 0) break;
      got += r;
    }
    const data = buf.subarray(0, got);
    const seg: Segment = { n, file, fd, end: 0, live: new Set(), sealed: true, dead: false, readers: 0 };
    let off = 0;
    for (let rec = parseRecord(data, 0); rec; rec = parseRecord(data, off)) {
      this.place(rec.id, seg, off, rec.len);
      off += rec.len;
    }
    seg.end = off;
    return seg;
  }

  /** Records that `id` is at (seg, off); the later of two records with the same id wins. */
  private place(id: string, seg: Segment, off: number, len: number): void {
    const prev = this.index.get(id);
    if (prev?.seg) {
      if (prev.seg.n > seg.n || (prev.seg === seg && prev.off > off)) return;
      if (prev.seg !== seg) {
        prev.seg.live.delete(id);
        if (prev.seg.live.size === 0 && prev.seg !== this.active && this.segments.has(prev.seg.n)) void this.drop(prev.seg);
      }
    }
    this.index.set(id, { seg, off, len });
    seg.live.add(id);
  }

  private async writeLoop(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    try {
      while (this.pending.length) {
        const group = this.pending;
        this.pending = [];
        try {
          await this.commit(group);
        } catch (e) {
          for (const p of group) p.reject(spoolError(e)); // a no-op for puts already resolved
        }
      }
    } finally {
      this.writer = null;
      if (this.active && this.active.live.size === 0) this.armIdleRetire();
    }
  }

  /** Appends one group with one writev and one fdatasync; settles every put of the group. */
  private async commit(group: Pending[]): Promise<void> {
    let seg: Segment;
    try {
      seg = await this.writable();
    } catch (e) {
      for (const p of group) p.reject(spoolError(e));
      return;
    }
    const start = seg.end;
    const bufs: Buffer[] = [];
    let total = 0;
    for (const p of group) {
      for (const b of p.bufs) bufs.push(b);
      total += p.len;
    }
    try {
      await this.writeAll(seg.fd, bufs, start, total);
      await this.io.fdatasync(seg.fd);
    } catch (e) {
      await this.cutBack(seg, start);
      for (const p of group) p.reject(spoolError(e));
      return;
    }
    seg.end = start + total;
    let off = start;
    for (const p of group) {
      this.place(p.id, seg, off, p.len);
      off += p.len;
    }
    if (seg.end >= this.segmentBytes) this.seal(seg);
    for (const p of group) p.resolve(p.id);
  }

  /** The segment to append to, starting a new one when the active one is full or drained and big enough. */
  private async writable(): Promise<Segment> {
    const a = this.active;
    if (a && !a.sealed) {
      if (a.end < this.segmentBytes && !(a.live.size === 0 && a.end >= this.drainedRotateBytes)) return a;
      this.seal(a);
    }
    const n = this.nextSeg++;
    const file = this.segFile(n);
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600, (e, fd) => (e ? reject(e) : resolve(fd))),
    );
    try {
      await dirSync(this.dir).sync(); // the new name must survive a crash before any put in it resolves
    } catch (e) {
      fs.close(fd, () => fs.unlink(file, () => {}));
      throw e;
    }
    const seg: Segment = { n, file, fd, end: 0, live: new Set(), sealed: false, dead: false, readers: 0 };
    this.segments.set(n, seg);
    return (this.active = seg);
  }

  /** Removes a failed group's bytes (durably) so none of its records can be recovered. */
  private async cutBack(seg: Segment, goodEnd: number): Promise<void> {
    try {
      await this.io.ftruncate(seg.fd, goodEnd);
      await this.io.fdatasync(seg.fd);
      return;
    } catch {
      // Cannot cut: zero the group's first header so recovery stops before it, and never append here again.
    }
    try {
      await this.writeAll(seg.fd, [Buffer.alloc(HEAD)], goodEnd, HEAD);
      await this.io.fdatasync(seg.fd);
    } catch {
      // Nothing more to try; the rejected entries may come back after a crash (a duplicate, never a loss).
    }
    this.seal(seg);
  }

  private async writeAll(fd: number, bufs: Buffer[], position: number, total: number): Promise<void> {
    let done = 0;
    for (;;) {
      const n = await this.io.writev(fd, bufs, position + done);
      done += n;
      if (done >= total) return;
      if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      bufs = skipBytes(bufs, n); // a short write (e.g. the disk just filled): the rest reports the error
    }
  }

  private seal(seg: Segment): void {
    seg.sealed = true;
    if (this.active === seg) this.active = null;
    if (seg.live.size === 0) void this.drop(seg);
  }

  /** Unlinks a sealed segment nothing lives in any more. */
  private async drop(seg: Segment): Promise<void> {
    if (seg.dead) return;
    if (!seg.sealed) return this.seal(seg);
    seg.dead = true;
    this.segments.delete(seg.n);
    this.closeIfUnused(seg);
    await new Promise<void>((resolve) => fs.unlink(seg.file, () => resolve())); // a leftover is only redelivered, idempotently
  }

  private closeIfUnused(seg: Segment): void {
    if ((seg.dead || this.closed) && seg.readers === 0 && seg.fd >= 0) {
      fs.close(seg.fd, () => {});
      seg.fd = -1;
    }
  }

  /** Without this a drained active segment would stay on disk while the queue is idle. */
  private armIdleRetire(): void {
    if (this.idleTimer || this.idleRetireMs < 0 || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const a = this.active;
      if (a && !this.writer && a.live.size === 0) this.seal(a);
    }, this.idleRetireMs);
    this.idleTimer.unref();
  }

  /** One positioned read of a record's bytes. */
  private async readRecord(loc: { seg: Segment; off: number; len: number }): Promise<Buffer> {
    const seg = loc.seg;
    if (seg.fd < 0) throw new SpoolError('io', 'queue is closed');
    seg.readers++;
    try {
      const buf = Buffer.allocUnsafe(loc.len);
      let got = 0;
      while (got < loc.len) {
        const n = await new Promise<number>((resolve, reject) =>
          fs.read(seg.fd, buf, got, loc.len - got, loc.off + got, (e, n) => (e ? reject(e) : resolve(n))),
        );
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      seg.readers--;
      this.closeIfUnused(seg);
    }
  }

  private async readLegacy(id: string): Promise<SpoolEntry<M>> {
    const buf = await fs.promises.readFile(this.legacyFile(id));
    if (buf.length < 8 || !buf.subarray(0, 4).equals(LEGACY_MAGIC)) throw new SpoolError('corrupt', `queue entry ${id} is not a spool file`);
    const metaLen = buf.readUInt32BE(4);
    if (8 + metaLen > buf.length) throw new SpoolError('corrupt', `queue entry ${id} is truncated`);
    let meta: M;
    try {
      meta = JSON.parse(buf.subarray(8, 8 + metaLen).toString('utf8')) as M;
    } catch {
      throw new SpoolError('corrupt', `queue entry ${id} has unreadable metadata`);
    }
    return { id, meta, body: buf.subarray(8 + metaLen) };
  }
}
