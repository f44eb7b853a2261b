// Per-account sending limits and bulk-mail freezing: the provider's reputation rides on every
// message that leaves, so a compromised or abusive account must be stopped before receivers
// start blocking everybody. Hard limits (recipients per message, messages per hour and day,
// distinct recipients per day) answer 451 4.7.1 naming the limit; the bulk score (score.ts)
// freezes sending once it crosses the threshold, with the reason stored, logged, and mailed to
// the postmaster. `fjord account sending ACCOUNT --unfreeze` lifts a freeze and forgives what
// was counted before it.
import type { Config } from '../../config/config.js';
import { limitsFor } from '../../config/outbound.js';
import type { Logger } from '../../log/logger.js';
import type { Account, Store } from '../../store/types.js';
import { bulkScore } from './score.js';
import { freezeNotice } from './notice.js';

/** A refusal: the SMTP reply to give. */
export interface LimitRefusal {
  code: number;
  enhanced: string;
  message: string;
}

/** What the submission server asks of the limits. */
export interface SendingGuard {
  /** At MAIL FROM: frozen account, message rate limits. */
  checkSender(account: Account): Promise<LimitRefusal | null>;
  /** At each RCPT: recipients per message, distinct recipients per day. `earlier` are the
   * recipients this message already has. */
  checkRecipient(account: Account, rcpt: string, earlier: string[]): Promise<LimitRefusal | null>;
  /** After the message is accepted: counts it, scores bulk signals, may freeze the account. */
  record(account: Account, msg: { recipients: string[]; messageId: string; bodyHash: string; bulkHeaders: boolean; queueId: string }): Promise<void>;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export class SendingLimiter implements SendingGuard {
  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly logger: Logger,
    /** Mails an admin notice (the postmaster's copy of a freeze). */
    private readonly notify: (to: string, raw: Buffer) => Promise<void>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async checkSender(account: Account): Promise<LimitRefusal | null> {
    const state = await this.store.getSendingState(account.id);
    if (state.frozenAt) {
      return { code: 550, enhanced: '5.7.1', message: `Sending is frozen for ${account.address} since ${state.frozenAt.toISOString()} (${state.reason ?? 'bulk mail'}); contact support` };
    }
    const lim = limitsFor(this.config.sending, account.address);
    const s = await this.store.sendingCounts(account.id, this.now());
    if (s.messagesLastHour >= lim.messagesPerHour) return tooMany(`${lim.messagesPerHour} messages per hour`);
    if (s.messagesLastDay >= lim.messagesPerDay) return tooMany(`${lim.messagesPerDay} messages per day`);
    return null;
  }

  async checkRecipient(account: Account, rcpt: string, earlier: string[]): Promise<LimitRefusal | null> {
    const lim = limitsFor(this.config.sending, account.address);
    if (earlier.length >= lim.recipientsPerMessage) return tooMany(`${lim.recipientsPerMessage} recipients per message`);
    const since = new Date(this.now().getTime() - DAY);
    if (earlier.includes(rcpt) || (await this.store.sentToSince(account.id, rcpt, since))) return null;
    const s = await this.store.sendingCounts(account.id, this.now());
    let pending = 0;
    for (const e of new Set(earlier)) if (!(await this.store.sentToSince(account.id, e, since))) pending++;
    if (s.recipientsLastDay + pending >= lim.distinctRecipientsPerDay) return tooMany(`${lim.distinctRecipientsPerDay} distinct recipients per day`);
    return null;
  }

  async record(account: Account, msg: { recipients: string[]; messageId: string; bodyHash: string; bulkHeaders: boolean; queueId: string }): Promise<void> {
    await this.store.recordSentMessage(account.id, { at: this.now(), queueId: msg.queueId, messageId: msg.messageId, bodyHash: msg.bodyHash, bulk: msg.bulkHeaders, recipients: msg.recipients });
    await this.evaluate(account.id);
  }

  /** A recipient of the account's mail bounced (permanent failure at the remote end). */
  async bounced(accountId: number, rcpt: string): Promise<void> {
    await this.store.recordSendingEvent(accountId, 'bounce', this.now(), { rcpt });
    await this.evaluate(accountId);
  }

  /** A receiver reported the account's message as spam (ARF). */
  async complaint(accountId: number, messageId: string): Promise<void> {
    await this.store.recordSendingEvent(accountId, 'complaint', this.now(), { messageId });
    await this.evaluate(accountId);
  }

  /** Freezes the account when its bulk score reaches the threshold. */
  private async evaluate(accountId: number): Promise<void> {
    const state = await this.store.getSendingState(accountId);
    if (state.frozenAt) return;
    const stats = await this.store.sendingStats(accountId, this.now(), this.config.sending.windowSeconds);
    const score = bulkScore(stats);
    if (score.total < this.config.sending.freezeScore) return;
    const account = await this.store.getAccountById(accountId);
    if (!account) return;
    const reason = `bulk score ${score.total} ≥ ${this.config.sending.freezeScore}: ${score.parts.map((p) => `${p.signal} ${p.points}`).join(', ')}`;
    await this.store.setSendingState(accountId, { frozenAt: this.now(), reason, countFrom: state.countFrom });
    this.logger.warn({ account: account.address, score: score.total, parts: score.parts }, 'account sending frozen');
    const to = await this.postmaster();
    if (!to) return;
    await this.notify(to, freezeNotice({ hostname: this.config.hostname, to, account: account.address, reason, parts: score.parts, at: this.now() })).catch((e: Error) =>
      this.logger.warn({ err: e.message }, 'could not mail the freeze notice to the postmaster'),
    );
  }

  private async postmaster(): Promise<string | null> {
    if (this.config.outbound.postmaster) return this.config.outbound.postmaster;
    const first = (await this.store.listDomains())[0];
    return first ? `postmaster@${first.name}` : null;
  }
}

function tooMany(limit: string): LimitRefusal {
  return { code: 451, enhanced: '4.7.1', message: `Sending limit reached: ${limit}; try again later` };
}
