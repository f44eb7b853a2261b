// Code that may never return (a runaway regex cannot be interrupted in the thread running it)
// run on a worker thread with a deadline: past it, the worker is terminated.
import { Worker } from 'node:worker_threads';

/** The first message `code` posts (as CommonJS, `workerData` = `data`), or 'timeout' after `ms`.
 * Messages of the form { note } are progress, handed to `onNote` instead. */
export function runWithDeadline<T>(code: string, data: unknown, ms: number, onNote?: (note: unknown) => void): Promise<T | 'timeout'> {
  const w = new Worker(code, { eval: true, workerData: data });
  return new Promise<T | 'timeout'>((resolve, reject) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    w.on('message', (m: unknown) => {
      if (onNote !== undefined && typeof m === 'object' && m !== null && 'note' in m) { onNote((m as { note: unknown }).note); return; }
      clearTimeout(timer);
      resolve(m as T);
    });
    w.once('error', (e) => { clearTimeout(timer); reject(e); });
  }).finally(() => void w.terminate());
}

/** A module of the build, as a string literal for `import()` in worker code. */
export function moduleLiteral(relative: string, base: string): string {
  return JSON.stringify(new URL(relative, base).href);
}
