// Content-addressed blob folder: raw message bytes stored once under <root>/ab/<sha256hex>
// (256 folders: few enough that they all exist after warm-up, so a new blob never pays for a
// mkdir). A blob is written, fdatasynced and its folder fsynced (concurrent folder fsyncs are
// coalesced by fs/dir-sync), so once put() resolves the bytes survive a power loss. Reference counting lives in
// the database, which is the source of truth for which files are complete.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { dirSync } from '../fs/dir-sync.js';

const BLOB_ID = /^[0-9a-f]{64}$/;
const TMP_SUFFIX = '.tmp';
/** Blobs up to this size are created and written directly (see write()). */
const SYNC_WRITE_MAX = 256 * 1024;
/** fdatasyncs of blobs in flight at once. */
const SYNC_SLOTS = 12;

class Semaphore {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiters.push(r));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

export function isBlobId(id: string): boolean {
  return typeof id === 'string' && BLOB_ID.test(id);
}

export function blobIdOf(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class BlobNotFoundError extends Error {
  constructor(id: string) {
    super(`blob ${id} not found`);
    this.name = 'BlobNotFoundError';
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function noop(): void {}

export interface PutResult {
  id: string;
  size: number;
  /** True when this call wrote the file (false: it already existed). */
  created: boolean;
}

/** Blobs up to this size are read synchronously (see read()). */
const SYNC_READ_MAX = 256 * 1024;

export class BlobStore {
  readonly root: string;
  private readonly knownDirs = new Set<string>();
  private readonly slots = new Semaphore(SYNC_SLOTS);
  private readonly inflight = new Map<string, Promise<PutResult>>();
  private tmpCounter = 0;
  private readonly tmpTag = `${process.pid}.${randomBytes(4).toString('hex')}`;

  constructor(root: string) {
    this.root = root;
  }

  pathOf(id: string): string {
    if (!isBlobId(id)) throw new BlobNotFoundError(String(id).slice(0, 80));
    return path.join(this.root, id.slice(0, 2), id);
  }

  /** Stores the bytes (once) and resolves when they are durable. */
  put(data: Buffer, known?: (id: string) => boolean): Promise<PutResult> {
    const id = blobIdOf(data);
    // A blob the database references is complete and durable: no file system work at all.
    if (known?.(id)) return Promise.resolve({ id, size: data.length, created: false });
    const pending = this.inflight.get(id);
    if (pending) return pending.then((r) => ({ ...r, created: false }));
    const p = this.write(id, data).finally(() => this.inflight.delete(id));
    this.inflight.set(id, p);
    return p;
  }

  /** Writes straight to the final name: the database is the source of truth, and only blobs it
   * references are ever read, so a file torn by a crash is never seen (the next put of the same
   * bytes rewrites it; the orphan sweep removes it otherwise). Saves a rename per message. */
  private async write(id: string, data: Buffer): Promise<PutResult> {
    const file = this.pathOf(id);
    const dir = path.dirname(file);
    await this.ensureDir(dir);
    // Creating and filling a file is cheap done directly (tens of µs) but slow through libuv's
    // shared thread pool under load, where it queues behind every other file operation. Only
    // large blobs (which would block the thread) and the fdatasync go through the pool.
    let fd: number;
    if (data.length <= SYNC_WRITE_MAX) {
      try {
        fd = fs.openSync(file, 'wx', 0o640);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
        return this.replace(id, file, data);
      }
      try {
        fs.writeFileSync(fd, data);
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
    } else {
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(file, 'wx', 0o640);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
        return this.replace(id, file, data);
      }
      try {
        await fh.writeFile(data);
      } catch (err) {
        await fh.close();
        throw err;
      }
      fd = fh.fd;
      // the FileHandle keeps ownership; close it through the handle below
      try {
        await this.datasync(fd);
      } finally {
        await fh.close();
      }
      await dirSync(dir).sync();
      return { id, size: data.length, created: true };
    }
    try {
      await this.datasync(fd);
    } finally {
      fs.closeSync(fd);
    }
    await dirSync(dir).sync();
    return { id, size: data.length, created: true };
  }

  /** The file exists: complete and possibly referenced (a row committed after our check, another
   * writer), or torn by a crash. Never truncate it in place: write the same bytes beside it and
   * rename over it, so readers only ever see a whole file. */
  private async replace(id: string, file: string, data: Buffer): Promise<PutResult> {
    const tmp = `${file}.${this.tmpTag}.${++this.tmpCounter}${TMP_SUFFIX}`;
    try {
      const fh = await fsp.open(tmp, 'wx', 0o640);
      try {
        await fh.writeFile(data);
        await this.datasync(fh.fd);
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.unlink(tmp).catch(noop);
      throw err;
    }
    await dirSync(path.dirname(file)).sync();
    return { id, size: data.length, created: false };
  }

  /** fdatasync through the pool, a bounded number at a time: a batch of blobs must not queue
   * hundreds of operations ahead of the spool's fdatasync (the pool is FIFO and shared). */
  private async datasync(fd: number): Promise<void> {
    await this.slots.acquire();
    try {
      await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
    } finally {
      this.slots.release();
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const first = await fsp.mkdir(dir, { recursive: true });
    if (first !== undefined) {
      // New folders must be made durable in their parents too.
      let d = dir;
      const parents: string[] = [];
      while (d.length >= first.length && d !== path.dirname(d)) {
        parents.push(path.dirname(d));
        d = path.dirname(d);
      }
      for (const p of parents.reverse()) await dirSync(p).sync();
    }
    this.knownDirs.add(dir);
  }

  /** Synchronous variant used inside a database transaction when a blob row is created
   * but the file turned out to be missing (removed by a concurrent cleanup). */
  ensureSync(id: string, data: Buffer): void {
    const file = this.pathOf(id);
    try {
      if (fs.statSync(file).size === data.length) return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `${id}.${this.tmpTag}.${++this.tmpCounter}${TMP_SUFFIX}`);
    const fd = fs.openSync(tmp, 'wx', 0o640);
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDirSync(dir);
    fsyncDirSync(path.dirname(dir));
    fsyncDirSync(this.root);
  }

  exists(id: string): boolean {
    return isBlobId(id) && fs.existsSync(this.pathOf(id));
  }

  async read(id: string): Promise<Buffer> {
    // Small blobs (most mail) are read directly: from the page cache that takes microseconds,
    // where the thread pool costs four round trips (open, stat, read, close) per message.
    let fd: number;
    try {
      fd = fs.openSync(this.pathOf(id), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new BlobNotFoundError(id);
      throw err;
    }
    let small: Buffer | null = null;
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= SYNC_READ_MAX) {
        const buf = Buffer.allocUnsafe(size);
        let off = 0;
        while (off < size) {
          const n = fs.readSync(fd, buf, off, size - off, off);
          if (n === 0) break;
          off += n;
        }
        small = buf.subarray(0, off);
      }
    } finally {
      fs.closeSync(fd);
    }
    if (small) return small;
    try {
      return await fsp.readFile(this.pathOf(id));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new BlobNotFoundError(id);
      throw err;
    }
  }

  /** Bytes [start, end) of the blob, clamped to its size. */
  async readRange(id: string, start: number, end: number): Promise<Buffer> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.pathOf(id), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new BlobNotFoundError(id);
      throw err;
    }
    try {
      const size = (await fh.stat()).size;
      const s = Math.max(0, Math.min(Math.floor(start), size));
      const e = Math.max(s, Math.min(Math.floor(end), size));
      const buf = Buffer.allocUnsafe(e - s);
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, s + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off === buf.length ? buf : buf.subarray(0, off);
    } finally {
      await fh.close();
    }
  }

  /** Removes a blob file (no error when already gone). Synchronous so it can run while the
   * caller holds the database write lock. */
  removeSync(id: string): void {
    try {
      fs.unlinkSync(this.pathOf(id));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  /** Walks the blob folder and reports, per leaf folder, the blob files and stale temp files
   * older than `minAgeMs`. `visit` decides (and removes); returning false stops the walk. */
  async walkOld(
    minAgeMs: number,
    visit: (ids: string[], staleTmp: string[]) => boolean | Promise<boolean>,
  ): Promise<void> {
    const cutoff = Date.now() - minAgeMs;
    const level = async (dir: string): Promise<string[]> => {
      try {
        return (await fsp.readdir(dir, { withFileTypes: true }))
          .filter((e) => e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name))
          .map((e) => e.name)
          .sort();
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return [];
        throw err;
      }
    };
    for (const a of await level(this.root)) {
      {
        const dir = path.join(this.root, a);
        let names: string[];
        try {
          names = await fsp.readdir(dir);
        } catch (err) {
          if (isErrno(err, 'ENOENT')) continue;
          throw err;
        }
        const ids: string[] = [];
        const tmps: string[] = [];
        for (const name of names) {
          const isTmp = name.endsWith(TMP_SUFFIX);
          if (!isTmp && !isBlobId(name)) continue;
          let st: fs.Stats;
          try {
            st = await fsp.stat(path.join(dir, name));
          } catch {
            continue;
          }
          if (st.mtimeMs > cutoff) continue;
          if (isTmp) tmps.push(path.join(dir, name));
          else ids.push(name);
        }
        if (ids.length || tmps.length) {
          if ((await visit(ids, tmps)) === false) return;
        }
      }
    }
  }
}
