// The DSN pass of the outbound sender: failure reports (and "relayed" reports for NOTIFY=SUCCESS)
// owed for recipients, one report per message covering every recipient owed at that moment,
// and the one delay warning per message once a recipient has waited delayWarningAfter. Reports
// go only to local senders, through deliverLocal (never into the outbound queue): no DSN for a
// null sender, none to other servers, so no loops and no backscatter. A report whose local
// delivery fails is retried a few times on the retry schedule.
import type { Config } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { OutboundQueue } from './queue.js';
import type { QueuedMessage } from './types.js';
import { wants } from './envelope.js';
import { buildDsn, type DsnRecipient } from './dsn.js';

const MAX_TRIES = 5;

export interface NoticeDeps {
  queue: OutboundQueue;
  config: Config;
  logger: Logger;
  deliverLocal: (to: string, raw: Buffer) => Promise<void>;
  isLocal: (address: string) => Promise<boolean>;
  /** A message with recipients still being attempted: its report waits, to cover them all at once. */
  busy: (messageId: string) => boolean;
  stopping: () => boolean;
}

export class Notices {
  private pass: Promise<void> | null = null;
  private readonly retry = new Map<string, { tries: number; nextAt: number }>();

  constructor(private readonly d: NoticeDeps) {}

  /** The pass in progress, if any. */
  get running(): Promise<void> | null {
    return this.pass;
  }

  /** Is a report or a delay warning due now? */
  due(now: number): boolean {
    return this.d.queue.dsnDue().some((id) => this.ready(id, now)) || this.delayCandidates(now).length > 0;
  }

  /** Starts a pass unless one is running or nothing is due. */
  start(now: number): void {
    if (this.pass) return;
    const failures = this.d.queue.dsnDue().filter((id) => this.ready(id, now));
    const delays = this.delayCandidates(now);
    if (!failures.length && !delays.length) return;
    this.pass = this.run(failures, delays)
      .catch((e: unknown) => this.d.logger.error({ err: (e as Error).message }, 'DSN pass failed'))
      .finally(() => {
        this.pass = null;
      });
  }

  private ready(id: string, now: number): boolean {
    if (this.d.busy(id)) return false;
    const r = this.retry.get(id);
    return !r || r.nextAt <= now;
  }

  private delayCandidates(now: number): string[] {
    const o = this.d.config.outbound;
    if (o.delayWarningAfter >= o.giveUpAfter) return [];
    return this.d.queue.delayCandidates(now - o.delayWarningAfter * 1000).filter((id) => !this.d.busy(id));
  }

  private async run(failures: string[], delays: string[]): Promise<void> {
    const { queue, config, logger } = this.d;
    for (const id of failures) {
      if (this.d.stopping()) return;
      const m = queue.show(id);
      if (!m) continue;
      const owed = m.recipients.filter((r) => r.dsnDue);
      if (!owed.length) continue;
      try {
        await this.send(
          m,
          owed.map((r) => ({ address: r.address, orcpt: r.orcpt, action: r.state === 'delivered' ? 'relayed' : 'failed', status: r.status ?? (r.state === 'delivered' ? '2.0.0' : '5.0.0'), remoteMta: r.remoteMta, reply: r.lastReply, lastAttemptAt: r.lastAttemptAt })),
        );
      } catch (e) {
        const tries = (this.retry.get(id)?.tries ?? 0) + 1;
        if (tries < MAX_TRIES) {
          const sched = config.outbound.retrySchedule;
          this.retry.set(id, { tries, nextAt: Date.now() + sched[Math.min(tries, sched.length) - 1] * 1000 });
          logger.warn({ id, to: m.mailFrom, err: (e as Error).message, tries }, 'DSN delivery failed; will retry');
          continue;
        }
        logger.error({ id, to: m.mailFrom, err: (e as Error).message, tries }, 'DSN delivery failed; giving up on it');
      }
      this.retry.delete(id);
      queue.clearDsnDue(id, owed.map((r) => r.index));
      queue.removeIfComplete(id);
    }
    for (const id of delays) {
      if (this.d.stopping()) return;
      const m = queue.show(id);
      if (!m || m.delayWarned) continue;
      // at most once per message: marked before sending (a crash in between loses a warning, never doubles it)
      queue.markDelayWarned(id);
      const late = m.recipients.filter((r) => (r.state === 'pending' || r.state === 'held') && r.attempts > 0 && wants(r.notify, 'DELAY'));
      if (!late.length || m.mailFrom === '') continue;
      const until = new Date(m.createdAt.getTime() + config.outbound.giveUpAfter * 1000);
      try {
        await this.send(
          m,
          late.map((r) => ({ address: r.address, orcpt: r.orcpt, action: 'delayed', status: r.status && r.status.startsWith('4') ? r.status : '4.0.0', remoteMta: r.remoteMta, reply: r.lastReply, lastAttemptAt: r.lastAttemptAt, willRetryUntil: until })),
        );
      } catch (e) {
        logger.warn({ id, to: m.mailFrom, err: (e as Error).message }, 'delay warning not delivered');
      }
    }
  }

  /** Delivers a report to the (local) sender; never to the null sender, never off this server. */
  private async send(m: QueuedMessage, recipients: DsnRecipient[]): Promise<void> {
    const { logger } = this.d;
    const kind = recipients.map((r) => r.action).join(',');
    if (m.mailFrom === '') {
      logger.info({ id: m.id, kind }, 'no DSN for a message with a null sender');
      return;
    }
    if (!(await this.d.isLocal(m.mailFrom))) {
      logger.info({ id: m.id, to: m.mailFrom, kind, rcpts: recipients.map((r) => r.address) }, 'no DSN to a non-local sender');
      return;
    }
    const original = await this.d.queue.readBody(m.id);
    const raw = buildDsn({ hostname: this.d.config.hostname, queueId: m.id, to: m.mailFrom, envid: m.envid, arrivalDate: m.createdAt, ret: m.ret, original, recipients, now: new Date() });
    await this.d.deliverLocal(m.mailFrom, raw);
    logger.info({ id: m.id, to: m.mailFrom, kind, rcpts: recipients.map((r) => r.address) }, 'DSN delivered');
  }
}
