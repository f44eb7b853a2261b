// One server per data folder: two would share the spool (and delete each other's segments) and
// deliver each other's mail. A lock file holding the owner's pid, created atomically; a lock
// left by a process that no longer exists is taken over.
import fs from 'node:fs';
import path from 'node:path';

export class DataLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataLock {
    const file = path.join(dataDir, 'server.lock');
    for (let attempt = 0; attempt < 3; attempt++) {
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, String(process.pid));
      try {
        fs.linkSync(tmp, file); // atomic: fails if a lock exists
        fs.unlinkSync(tmp);
        return new DataLock(file);
      } catch (e) {
        fs.unlinkSync(tmp);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (owner && owner !== process.pid && alive(owner)) {
        throw new Error(`data folder ${dataDir} is in use by another fjord server (pid ${owner})`);
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
    throw new Error(`cannot lock data folder ${dataDir}`);
  }

  release(): void {
    try {
      if (Number(fs.readFileSync(this.file, 'utf8').trim()) === process.pid) fs.unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
