// Message bodies of the outbound queue, one file per message in <data>/queue/outbound/.
// A body is written and fsynced, then its directory is fsynced, before the queue row that
// names it commits: a committed row therefore always has its whole body on disk. A crash in
// between leaves an orphan file with no row, removed later by sweepOrphans() (never a row
// without its body, never a half-written body behind a row).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { dirSync } from '../../fs/dir-sync.js';

export class BodyFiles {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  path(id: string): string {
    if (!/^[0-9A-Za-z]+$/.test(id)) throw new Error(`not a queue id: ${id}`);
    return path.join(this.dir, id);
  }

  /** Writes and fsyncs the body and its directory entry. On any error the partial file is
   * removed before the error is rethrown. */
  async write(id: string, body: Buffer): Promise<void> {
    const file = this.path(id);
    const fh = await fsp.open(file, 'wx', 0o600);
    try {
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await dirSync(this.dir).sync();
    } catch (e) {
      await fsp.rm(file, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  read(id: string): Promise<Buffer> {
    return fsp.readFile(this.path(id));
  }

  /** Opens the body for streaming; rejects (ENOENT) at once if it is gone. */
  async open(id: string): Promise<Readable> {
    const fh = await fsp.open(this.path(id), 'r');
    return fh.createReadStream();
  }

  /** Removal needs no fsync: a file that comes back after a crash is an orphan and swept. */
  remove(id: string): void {
    try {
      fs.rmSync(this.path(id), { force: true });
    } catch {
      /* swept later */
    }
  }

  /** Removes body files that no row names and that are older than minAgeMs (a younger one may
   * belong to an enqueue whose row is about to commit in another process). */
  sweepOrphans(known: (id: string) => boolean, minAgeMs: number): number {
    let removed = 0;
    const cutoff = Date.now() - minAgeMs;
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^[0-9A-Za-z]+$/.test(name) || known(name)) continue;
      try {
        const st = fs.statSync(path.join(this.dir, name));
        if (st.mtimeMs > cutoff || known(name)) continue;
        fs.rmSync(path.join(this.dir, name), { force: true });
        removed++;
      } catch {
        /* gone meanwhile */
      }
    }
    return removed;
  }
}
