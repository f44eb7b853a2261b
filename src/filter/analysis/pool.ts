// Content analysis (parsing, rules, tokens) on worker threads, with a deadline per message.
//
// Judging a message is CPU work of milliseconds (more for big modern mail); done on the main
// thread it holds every SMTP and IMAP session for that long, and a message that hits a slow path
// (a regex the rules check let through, a parser corner) would hold them all until it ends: a
// running regex cannot be interrupted. On a thread of its own it can: a message not analysed
// within the deadline has its thread terminated and replaced, and is judged without its content
// (null here; the inbound filter then adds CONTENT_UNCHECKED's points and skips Bayes).
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../log/logger.js';
import type { TokenizeOptions } from '../bayes/tokenize.js';
import type { ContentAnalysis } from '../verdict.js';

export interface AnalysisRequest { id: number; raw: Uint8Array }
/** The tokens travel as one string (joined by TOKEN_SEP): cloning a thousand strings one by one
 * cost the main thread more than a split. */
export type AnalysisReply = { id: number; ok: true; rules: ContentAnalysis['rules']; tokens: string; refuse: boolean } | { id: number; ok: false; error: string };
export const TOKEN_SEP = '\u0000';

export interface AnalysisPoolOptions {
  threads: number;
  /** Per message, from when a thread takes it. */
  timeoutMs: number;
  /** Rules file for the threads (null: the default rules). */
  rulesFile?: string | null;
  tokenize?: TokenizeOptions;
  logger?: Logger;
}

/** Messages waiting for a thread at most; beyond, a message is judged without its content. The
 * SMTP server's session limit keeps the queue far below it. */
const MAX_WAITING = 10_000;

interface Job { raw: Buffer; resolve: (a: ContentAnalysis | null) => void }
interface Slot { worker: Worker; job: Job | null; id: number; timer: NodeJS.Timeout | null }

export class AnalysisPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: AnalysisPoolOptions) {
    for (let i = 0; i < Math.max(1, o.threads); i++) this.slots.push(this.spawn());
  }

  /** The content's analysis, or null when it could not be had in time (or the thread failed). */
  analyse(raw: Buffer): Promise<ContentAnalysis | null> {
    if (this.closed || this.waiting.length >= MAX_WAITING) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.push({ raw, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.waiting.splice(0)) j.resolve(null);
    await Promise.all(this.slots.map((s) => this.stop(s)));
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./thread.js', import.meta.url), {
      workerData: { rulesFile: this.o.rulesFile ?? null, tokenize: this.o.tokenize },
    });
    const slot: Slot = { worker, job: null, id: 0, timer: null };
    worker.on('message', (r: AnalysisReply) => {
      if (slot.job === null || r.id !== slot.id) return;
      if (!r.ok) this.o.logger?.warn({ err: r.error }, 'content analysis failed');
      this.finish(slot, r.ok ? { rules: r.rules, tokens: r.tokens === '' ? [] : r.tokens.split(TOKEN_SEP), refuse: r.refuse } : null);
    });
    worker.on('error', (e) => {
      this.o.logger?.error({ err: e.message }, 'analysis thread failed; replacing it');
      this.replace(slot);
    });
    worker.unref(); // an idle pool does not keep the process alive
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job !== null || this.waiting.length === 0) continue;
      const job = this.waiting.shift()!;
      slot.job = job;
      slot.id = this.nextId++;
      slot.timer = setTimeout(() => {
        this.o.logger?.warn({ ms: this.o.timeoutMs, bytes: job.raw.length }, 'content analysis over its deadline; thread replaced');
        this.replace(slot);
      }, this.o.timeoutMs);
      slot.worker.postMessage({ id: slot.id, raw: job.raw } satisfies AnalysisRequest);
    }
  }

  private finish(slot: Slot, a: ContentAnalysis | null): void {
    const job = slot.job;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.job = null;
    slot.timer = null;
    job?.resolve(a);
    this.dispatch();
  }

  /** Ends a slot's thread (its message judged without content) and starts a fresh one. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    void this.stop(slot);
    if (this.closed) return;
    this.slots[i] = this.spawn();
    this.finish(slot, null);
  }

  private async stop(slot: Slot): Promise<void> {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    const job = slot.job;
    slot.job = null;
    job?.resolve(null);
    slot.worker.removeAllListeners('message');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => {}); // a late error of a thread being ended
    await slot.worker.terminate();
  }
}
