// A durable spool of queued messages: one file per entry, written to a temporary name,
// fsynced, renamed into place and made durable by a (group-committed) directory fsync. When
// put() resolves the entry survives SIGKILL and power loss; a crash before that leaves only a
// *.tmp file, which init() removes, so no half-written entry is ever visible.
//
// File layout: "FJQ1" | uint32 BE meta length | meta (JSON) | message bytes.
import fs from 'node:fs/promises';
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { dirSync } from '../fs/dir-sync.js';

const MAGIC = Buffer.from('FJQ1');

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

let counter = 0;
/** Sortable by creation time, unique across processes sharing the folder. */
export function newSpoolId(): string {
  counter = (counter + 1) % 1679616;
  return Date.now().toString(36).padStart(9, '0') + counter.toString(36).padStart(4, '0') + randomBytes(4).toString('hex');
}

export class Spool<M> {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Removes leftovers of interrupted writes and returns the ids of complete entries, oldest first. */
  recover(): string[] {
    const ids: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith('.tmp')) unlinkSync(path.join(this.dir, name));
      else if (name.endsWith('.msg')) ids.push(name.slice(0, -4));
    }
    return ids.sort();
  }

  private file(id: string): string {
    return path.join(this.dir, id + '.msg');
  }

  /** Writes an entry durably; resolves with its id once it is on disk. */
  async put(meta: M, body: Buffer | Buffer[], id = newSpoolId()): Promise<string> {
    const tmp = path.join(this.dir, id + '.tmp');
    const metaBuf = Buffer.from(JSON.stringify(meta));
    const head = Buffer.alloc(8);
    MAGIC.copy(head, 0);
    head.writeUInt32BE(metaBuf.length, 4);
    let fh: fs.FileHandle | null = null;
    try {
      fh = await fs.open(tmp, 'wx', 0o600);
      await fh.writev([head, metaBuf, ...(Array.isArray(body) ? body : [body])]);
      await fh.datasync();
      await fh.close();
      fh = null;
      await fs.rename(tmp, this.file(id));
      await dirSync(this.dir).sync();
      return id;
    } catch (e) {
      if (fh) await fh.close().catch(() => {});
      await fs.unlink(tmp).catch(() => {});
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new SpoolError('no-space', 'insufficient storage for the queue');
      throw new SpoolError('io', `queue write failed: ${code ?? (e as Error).message}`);
    }
  }

  async read(id: string): Promise<SpoolEntry<M>> {
    const buf = await fs.readFile(this.file(id));
    if (buf.length < 8 || !buf.subarray(0, 4).equals(MAGIC)) throw new SpoolError('corrupt', `queue entry ${id} is not a spool file`);
    const metaLen = buf.readUInt32BE(4);
    if (8 + metaLen > buf.length) throw new SpoolError('corrupt', `queue entry ${id} is truncated`);
    const meta = JSON.parse(buf.subarray(8, 8 + metaLen).toString('utf8')) as M;
    return { id, meta, body: buf.subarray(8 + metaLen) };
  }

  /** Removing needs no fsync: consumers are idempotent, so an entry reappearing after a crash is harmless. */
  async remove(id: string): Promise<void> {
    await fs.unlink(this.file(id)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** Moves an entry aside (e.g. undeliverable) into a sibling folder, keeping its bytes. */
  async park(id: string, folder: string): Promise<void> {
    const dest = path.join(path.dirname(this.dir), folder);
    await fs.mkdir(dest, { recursive: true, mode: 0o700 });
    await fs.rename(this.file(id), path.join(dest, id + '.msg'));
    await dirSync(dest).sync();
  }
}
