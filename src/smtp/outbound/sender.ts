// The outbound delivery loop: every second (and on kick()) it picks the queue's due recipients,
// groups them by destination domain and runs up to outbound.concurrency destinations at once
// (deliver.ts). Outcomes are committed per transaction the moment the remote has answered;
// deferrals are rescheduled by the retry schedule until giveUpAfter; permanent failures (and
// give-ups) owe the sender a DSN, sent by the separate pass in notices.ts. Polling the
// database (not just in-process calls) is what makes `fjord queue retry/hold/delete` from
// another process take effect while the server runs.
import type { Readable } from 'node:stream';
import type { Config } from '../../config/config.js';
import type { Resolver } from '../../dns/resolver.js';
import type { Logger } from '../../log/logger.js';
import type { DueRecipient, OutboundQueue, RecipientUpdate } from './queue.js';
import type { Notify, QueuedMessage, QueuedRecipient } from './types.js';
import { Notices } from './notices.js';
import { deliverDestination, type DeliveryMessage, type DestinationContext, type RecipientResult } from './deliver.js';
import { MtaSts } from './mta-sts.js';
import { loadTrustedCas } from './tls-policy.js';
import { nextAttempt } from './retry.js';
import { enhancedStatus, localReply } from './reply.js';
import { wants } from './envelope.js';
import type { SmtpSession } from './smtp-session.js';

export interface OutboundResult {
  id: string;
  accountId: number | null;
  rcpt: string;
  status: 'delivered' | 'deferred' | 'failed';
  reply: string;
}

export interface OutboundSenderDeps {
  queue: OutboundQueue;
  config: Config;
  resolver: Resolver;
  logger: Logger;
  /** How a DSN reaches the local sender's mailbox. */
  deliverLocal: (to: string, raw: Buffer) => Promise<void>;
  /** Is this sender address ours (DSNs go only to local senders). */
  isLocal: (address: string) => Promise<boolean>;
  /** Every recipient outcome (feeds bounce-rate limits). */
  onResult?: (r: OutboundResult) => void;
}

const POLL_MS = 1000;
const DUE_BATCH = 5000;
const STOP_GRACE_MS = 10_000;
const PAUSE_ON_ERROR_MS = 30_000;

interface JobMessage {
  message: QueuedMessage;
  byIndex: Map<number, QueuedRecipient>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class OutboundSender {
  private readonly queue: OutboundQueue;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly ca: string[];
  private readonly sts: MtaSts;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private kickPending = false;
  /** Destination domain → its running job. */
  private readonly active = new Map<string, Promise<void>>();
  /** "messageId/index" of recipients in a running job. */
  private readonly inFlight = new Set<string>();
  /** Message id → recipients of it in running jobs (its DSN waits until they are done). */
  private readonly messagesInFlight = new Map<string, number>();
  private readonly sessions = new Set<SmtpSession>();
  private readonly notices: Notices;
  private reserveCheckedAt = 0;
  /** After the queue failed to record results (disk trouble): no new attempts before this time,
   * so a 250 that could not be recorded is not followed by more of the same. */
  private pausedUntil = 0;

  constructor(private readonly deps: OutboundSenderDeps) {
    this.queue = deps.queue;
    this.config = deps.config;
    this.log = deps.logger;
    this.ca = loadTrustedCas(deps.config.outbound.caFile, deps.logger);
    this.notices = new Notices({
      queue: deps.queue,
      config: deps.config,
      logger: deps.logger,
      deliverLocal: deps.deliverLocal,
      isLocal: deps.isLocal,
      busy: (id) => this.messagesInFlight.has(id),
      stopping: () => this.stopping,
    });
    this.sts = new MtaSts({ cache: deps.queue, resolver: deps.resolver, port: deps.config.outbound.mtaStsPort, ca: this.ca, timeoutMs: Math.min(60_000, deps.config.outbound.commandTimeout), logger: deps.logger });
  }

  start(): void {
    if (this.timer || this.stopping) return;
    try {
      const swept = this.queue.sweepOrphans();
      if (swept) this.log.info({ removed: swept }, 'outbound queue: orphan body files removed');
      for (const id of this.queue.completeMessages()) this.queue.removeIfComplete(id);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'outbound queue cleanup failed');
    }
    this.timer = setInterval(() => this.pump(), POLL_MS);
    this.timer.unref();
    this.kick();
  }

  /** Look at the queue now (a message was just queued, or an admin changed something). */
  kick(): void {
    if (this.kickPending || this.stopping) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      this.pump();
    });
  }

  /** Stops picking up work, lets running transactions finish (bounded), then drops connections.
   * Recipients whose attempt did not complete stay pending and are tried after the restart. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const busy = () => [...this.active.values(), ...(this.notices.running ? [this.notices.running] : [])];
    await Promise.race([Promise.allSettled(busy()), sleep(STOP_GRACE_MS)]);
    for (const s of this.sessions) s.destroy();
    await Promise.allSettled(busy());
  }

  /** Resolves once nothing is running and nothing is due (a deferred recipient waiting for its
   * next attempt is not due). */
  async idle(): Promise<void> {
    for (;;) {
      if (!this.stopping) this.pump();
      const busy = [...this.active.values(), ...(this.notices.running ? [this.notices.running] : [])];
      if (busy.length === 0) {
        if (this.stopping || !this.hasDueWork(Date.now())) return;
        await sleep(20);
        continue;
      }
      await Promise.race([Promise.allSettled(busy), sleep(200)]);
    }
  }

  private hasDueWork(now: number): boolean {
    if (now < this.pausedUntil) return false;
    try {
      if (this.queue.due(now, this.inFlight.size + 1).some((r) => !this.inFlight.has(`${r.messageId}/${r.index}`))) return true;
      return this.notices.due(now);
    } catch {
      return false; // queue closed
    }
  }

  private pump(): void {
    if (this.stopping) return;
    const now = Date.now();
    try {
      if (now - this.reserveCheckedAt > 60_000) {
        this.reserveCheckedAt = now;
        this.queue.keepReserve(); // the disk-full reserve, made again once there is room
      }
      if (now < this.pausedUntil) return;
      this.notices.start(now);
      if (this.active.size >= this.config.outbound.concurrency) return;
      const groups = new Map<string, DueRecipient[]>();
      for (const r of this.queue.due(now, DUE_BATCH)) {
        if (this.active.has(r.domain) || this.inFlight.has(`${r.messageId}/${r.index}`)) continue;
        let g = groups.get(r.domain);
        if (!g) groups.set(r.domain, (g = []));
        g.push(r);
      }
      for (const [domain, rcpts] of groups) {
        if (this.active.size >= this.config.outbound.concurrency) break;
        this.startDestination(domain, rcpts);
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'outbound queue scan failed');
    }
  }

  private startDestination(domain: string, rcpts: DueRecipient[]): void {
    const keys = rcpts.map((r) => `${r.messageId}/${r.index}`);
    const mine = new Set(keys);
    for (const k of keys) this.inFlight.add(k);
    for (const r of rcpts) this.messagesInFlight.set(r.messageId, (this.messagesInFlight.get(r.messageId) ?? 0) + 1);
    const jobs = new Map<string, JobMessage>();
    const recorded = new Set<string>();
    const run = async () => {
      const messages: DeliveryMessage[] = [];
      const wanted = new Map<string, DueRecipient[]>();
      for (const r of rcpts) {
        let l = wanted.get(r.messageId);
        if (!l) wanted.set(r.messageId, (l = []));
        l.push(r);
      }
      for (const [id, list] of wanted) {
        const m = this.queue.show(id);
        if (!m) continue;
        const byIndex = new Map(m.recipients.map((x) => [x.index, x]));
        const due = list.filter((r) => byIndex.get(r.index)?.state === 'pending');
        if (!due.length) continue;
        jobs.set(id, { message: m, byIndex });
        messages.push({
          id, mailFrom: m.mailFrom, size: m.size, eightBit: m.eightBit, ret: m.ret, envid: m.envid,
          recipients: due.map((r) => { const q = byIndex.get(r.index); return { index: r.index, address: r.address, notify: q?.notify ?? null, orcpt: q?.orcpt ?? null }; }),
        });
      }
      if (!messages.length) return;
      const ctx: DestinationContext = {
        config: this.config,
        resolver: this.deps.resolver,
        logger: this.log,
        sts: this.sts,
        ca: this.ca,
        openBody: (id) => this.openBody(id, mine, ctx),
        record: (id, results) => {
          const fresh = results.filter((r) => !recorded.has(`${id}/${r.index}`));
          for (const r of fresh) recorded.add(`${id}/${r.index}`);
          return this.record(jobs.get(id), fresh);
        },
        stopping: () => this.stopping,
        track: (s) => {
          this.sessions.add(s);
          return () => this.sessions.delete(s);
        },
      };
      try {
        await deliverDestination(ctx, domain, messages);
      } catch (e) {
        // never leave recipients spinning on a bug: defer whatever got no outcome
        this.log.error({ domain, err: (e as Error).stack ?? String(e) }, 'outbound delivery failed unexpectedly');
        if (!this.stopping) {
          const reply = localReply('451', '4.3.0', `internal error: ${(e as Error).message}`);
          for (const m of messages) {
            const left = m.recipients.filter((r) => !recorded.has(`${m.id}/${r.index}`));
            if (left.length) await this.record(jobs.get(m.id), left.map((r) => ({ index: r.index, address: r.address, outcome: 'deferred', reply, remoteMta: null })));
          }
        }
      }
    };
    const job = run()
      .catch((e: unknown) => {
        this.pausedUntil = Date.now() + PAUSE_ON_ERROR_MS;
        this.log.error({ domain, err: (e as Error).message }, 'outbound queue could not record delivery results; deliveries paused');
      })
      .finally(() => {
        for (const k of keys) this.inFlight.delete(k);
        for (const r of rcpts) {
          const n = (this.messagesInFlight.get(r.messageId) ?? 1) - 1;
          if (n <= 0) this.messagesInFlight.delete(r.messageId);
          else this.messagesInFlight.set(r.messageId, n);
        }
        this.active.delete(domain);
        for (const id of jobs.keys()) {
          try {
            this.queue.removeIfComplete(id);
          } catch {
            /* queue closed */
          }
        }
        this.kick();
      });
    this.active.set(domain, job);
  }

  /** The body of a message for a job; null when the message was deleted meanwhile. A body that
   * is gone while its row is not (damage outside our control) defers the job's recipients. */
  private async openBody(id: string, mine: Set<string>, ctx: DestinationContext): Promise<Readable | null> {
    try {
      return await this.queue.openBody(id);
    } catch (e) {
      const m = this.queue.show(id);
      if (m === null) return null;
      const reply = localReply('451', '4.3.0', `queue file unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      await ctx.record(id, m.recipients.filter((r) => r.state === 'pending' && mine.has(`${id}/${r.index}`)).map((r) => ({ index: r.index, address: r.address, outcome: 'deferred', reply, remoteMta: null })));
      return null;
    }
  }

  /** Commits the outcomes of one transaction (fsynced) before anything else happens, then logs
   * and reports them. */
  private async record(job: JobMessage | undefined, results: RecipientResult[]): Promise<void> {
    if (!job || !results.length) return;
    const m = job.message;
    const now = Date.now();
    const o = this.config.outbound;
    const final: { r: RecipientResult; status: OutboundResult['status']; attempts: number; next?: number }[] = [];
    const updates: RecipientUpdate[] = results.map((r) => {
      const rcpt = job.byIndex.get(r.index);
      const attempts = (rcpt?.attempts ?? 0) + 1;
      if (rcpt) rcpt.attempts = attempts;
      const notify: Notify[] | null = rcpt?.notify ?? null;
      const base = { index: r.index, attempts, attemptAt: now, reply: r.reply, remoteMta: r.remoteMta, status: enhancedStatus(r.reply) };
      if (r.outcome === 'delivered') {
        final.push({ r, status: 'delivered', attempts });
        // RFC 3461 §6.2.1: a "relayed" report only when the next hop could not take the request on
        return { ...base, state: 'delivered', dsnDue: m.mailFrom !== '' && wants(notify, 'SUCCESS') && r.dsnRelayed !== true };
      }
      if (r.outcome === 'failed') {
        final.push({ r, status: 'failed', attempts });
        return { ...base, state: 'failed', dsnDue: m.mailFrom !== '' && wants(notify, 'FAILURE') };
      }
      const next = nextAttempt(o, m.createdAt.getTime(), attempts, now);
      if (next.giveUp) {
        final.push({ r, status: 'failed', attempts });
        // RFC 3463 X.4.7: delivery time expired
        return { ...base, state: 'failed', status: '5.4.7', dsnDue: m.mailFrom !== '' && wants(notify, 'FAILURE') };
      }
      final.push({ r, status: 'deferred', attempts, next: next.at });
      return { ...base, state: 'pending', nextAttemptAt: next.at, dsnDue: false };
    });
    await this.queue.applyResults(m.id, updates);
    for (const f of final) {
      this.log.info(
        { id: m.id, from: m.mailFrom, rcpt: f.r.address, status: f.status, relay: f.r.remoteMta, reply: f.r.reply, attempts: f.attempts, delaySec: Math.round((now - m.createdAt.getTime()) / 1000), ...(f.next ? { nextAttempt: new Date(f.next).toISOString() } : {}) },
        'outbound delivery',
      );
      try {
        this.deps.onResult?.({ id: m.id, accountId: m.accountId, rcpt: f.r.address, status: f.status, reply: f.r.reply });
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'onResult listener failed');
      }
    }
    if (final.some((f) => f.status !== 'deferred')) this.kick(); // a DSN may be owed
  }
}
