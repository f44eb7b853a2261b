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

/** Messages handed to a thread before its answers come back: the thread works through them while
 * the main thread is busy with its sessions, instead of idling until the main thread gets round
 * to its last answer and hands it the next message. */
const PIPELINE = 8;

interface Job { raw: Buffer; resolve: (a: ContentAnalysis | null) => void; id: number }
/** A thread and the messages it holds, in the order it works on them (the first is the one it is
 * on, and the deadline is its). */
interface Slot { worker: Worker; held: Job[]; timer: NodeJS.Timeout | null }

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
      this.waiting.push({ raw, resolve, id: this.nextId++ });
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
    const slot: Slot = { worker, held: [], timer: null };
    worker.on('message', (r: AnalysisReply) => {
      const job = slot.held[0];
      if (job === undefined || r.id !== job.id) return;
      if (!r.ok) this.o.logger?.warn({ err: r.error }, 'content analysis failed');
      slot.held.shift();
      this.clearDeadline(slot);
      job.resolve(r.ok ? { rules: r.rules, tokens: r.tokens === '' ? [] : r.tokens.split(TOKEN_SEP), refuse: r.refuse } : null);
      this.startDeadline(slot);
      this.dispatch();
    });
    worker.on('error', (e) => {
      this.o.logger?.error({ err: e.message }, 'analysis thread failed; replacing it');
      this.replace(slot);
    });
    worker.unref(); // an idle pool does not keep the process alive
    return slot;
  }

  /** Hands waiting messages to the threads holding fewest, up to PIPELINE each. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      let best: Slot | null = null;
      for (const slot of this.slots) if (slot.held.length < PIPELINE && (best === null || slot.held.length < best.held.length)) best = slot;
      if (best === null) return;
      const job = this.waiting.shift()!;
      best.held.push(job);
      best.worker.postMessage({ id: job.id, raw: job.raw } satisfies AnalysisRequest);
      if (best.held.length === 1) this.startDeadline(best);
    }
  }

  /** The deadline of the message a thread is on (counted from when its previous answer came). */
  private startDeadline(slot: Slot): void {
    const job = slot.held[0];
    if (job === undefined || slot.timer !== null) return;
    slot.timer = setTimeout(() => {
      this.o.logger?.warn({ ms: this.o.timeoutMs, bytes: job.raw.length }, 'content analysis over its deadline; thread replaced');
      this.replace(slot);
    }, this.o.timeoutMs);
  }

  private clearDeadline(slot: Slot): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
  }

  /** Ends a slot's thread and starts a fresh one: the message it was on is judged without its
   * content; those it held behind it go back to the front of the queue. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    const behind = slot.held.slice(1);
    slot.held.length = Math.min(slot.held.length, 1);
    void this.stop(slot);
    if (this.closed) { for (const j of behind) j.resolve(null); return; }
    this.slots[i] = this.spawn();
    this.waiting.unshift(...behind);
    this.dispatch();
  }

  /** Stops a thread; the messages it still holds are judged without their content. */
  private async stop(slot: Slot): Promise<void> {
    this.clearDeadline(slot);
    for (const j of slot.held.splice(0)) j.resolve(null);
    slot.worker.removeAllListeners('message');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => {}); // a late error of a thread being ended
    await slot.worker.terminate();
  }
}
