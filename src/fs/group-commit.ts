// Group commit for synchronous SQLite writes (better-sqlite3). With synchronous=FULL every
// commit is an fsync, and a synchronous commit blocks the event loop for that long: under load,
// one commit per message means the process spends its time waiting on the disk one message at
// a time. Writes asked for in the same turn of the event loop (and those that arrive while a
// commit blocks) are run in one transaction instead, and each caller's promise resolves once that
// transaction is committed. If the shared transaction fails, each write is retried alone, so one
// bad write fails only its own caller.
export class GroupCommit {
  private jobs: { run: () => void; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  /** Transactions committed (tests, measurements). */
  commits = 0;

  /** `commit(fn)` must run fn inside one transaction and commit it (throwing on failure). */
  constructor(private readonly commit: (fn: () => void) => void) {}

  /** Resolves once `run` is committed (durably, as far as the database's settings make it). */
  add(run: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.jobs.push({ run, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is waiting now (also called before the database is closed). */
  flush(): void {
    this.scheduled = false;
    const jobs = this.jobs;
    if (jobs.length === 0) return;
    this.jobs = [];
    try {
      this.commit(() => {
        for (const j of jobs) j.run();
      });
      this.commits++;
      for (const j of jobs) j.resolve();
    } catch (e) {
      if (jobs.length === 1) return jobs[0].reject(e);
      for (const j of jobs) {
        try {
          this.commit(j.run);
          this.commits++;
          j.resolve();
        } catch (e2) {
          j.reject(e2);
        }
      }
    }
  }
}
