// Group commit for directory fsyncs. Creating or renaming a file is durable only once its
// directory is fsynced; under load many files land in one directory at once, so concurrent
// requests share one fsync: a request made while a sync runs waits for the next one (which
// covers it), and every request made meanwhile rides on that same next sync.
import fs from 'node:fs/promises';

export class DirSync {
  private current: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** fsync(2) calls issued (tests, measurements). */
  fsyncs = 0;

  constructor(readonly dir: string) {}

  sync(): Promise<void> {
    if (this.next) return this.next;
    if (!this.current) return (this.current = this.run());
    const after = () => {
      this.next = null;
      return (this.current = this.run());
    };
    this.next = this.current.then(after, after);
    return this.next;
  }

  private async run(): Promise<void> {
    this.fsyncs++;
    try {
      const fh = await fs.open(this.dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } finally {
      this.current = null;
    }
  }
}

/** One DirSync per directory path, shared by every writer in the process. */
const syncers = new Map<string, DirSync>();
export function dirSync(dir: string): DirSync {
  let s = syncers.get(dir);
  if (!s) syncers.set(dir, (s = new DirSync(dir)));
  return s;
}
