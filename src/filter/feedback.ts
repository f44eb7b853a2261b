// Learning from users: a message moved into Junk (or out of it) trains the classifier for that
// user and globally, once per message, and is recorded as a report against where it came from
// (sending IP, envelope and From domains, DKIM domain), which feeds reputation. A move also
// records what the user thinks of its authenticated sender (correspondents.ts).
import type { Logger } from '../log/logger.js';
import type { Store, SpamVerdict, MessageOrigin } from '../store/types.js';
import type { JunkReport } from '../imap/junk-events.js';
import { parseMessage, type ParsedMessage } from '../mime/index.js';
import type { Reputation } from './reputation/reputation.js';
import { removeFields, isSpamVerdictField } from './auth/forged-results.js';

/** Trains on one message for one user (and globally), once per key. */
export interface Learner {
  learn(accountId: number, key: string, raw: Buffer, parsed: ParsedMessage, verdict: SpamVerdict): Promise<void>;
}

/** Reports waiting at most; beyond it new ones are dropped (and logged): a user moving a
 * million messages must not grow memory without bound. */
const MAX_PENDING = 10_000;

export class JunkFeedback {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly store: Store,
    private readonly learner: Learner,
    private readonly reputation: Reputation,
    private readonly logger: Logger,
  ) {}

  /** Queues a report; they are handled one at a time, in order (so train-once holds). */
  report(r: JunkReport): void {
    if (this.pending >= MAX_PENDING) {
      this.logger.warn({ account: r.accountId }, 'junk report dropped: too many pending');
      return;
    }
    this.pending++;
    this.chain = this.chain
      .then(() => this.handle(r))
      .catch((e) => this.logger.error({ err: (e as Error).message, account: r.accountId }, 'junk report failed'))
      .finally(() => this.pending--);
  }

  /** Resolves when every queued report has been handled. */
  idle(): Promise<void> {
    return this.chain;
  }

  async handle(r: JunkReport): Promise<void> {
    const [rec] = await this.store.getMessages(r.mailboxId, [r.uid]);
    if (!rec) return; // expunged meanwhile
    const raw = asJudged(await this.store.readBlob(rec.blobId));
    const key = `email:${r.emailId}`;
    await this.learner.learn(r.accountId, key, raw, parseMessage(raw), r.verdict);
    const origin = await this.store.getEmailOrigin(r.accountId, r.emailId);
    const at = new Date();
    await this.store.putSpamReport({ accountId: r.accountId, emailKey: r.emailId, verdict: r.verdict, at, ...reportSources(origin) });
    // A move into or out of Junk also says what the user thinks of the (authenticated) sender.
    // Not a keyword: mail programs set $Junk / $NotJunk by themselves, from their own filters.
    if ((r.via === 'move' || r.via === 'copy') && origin?.fromAuth) await this.store.setSenderVerdict(r.accountId, origin.fromAuth, r.verdict, at);
    this.reputation.invalidate();
  }
}

/** A stored copy as the inbound filter judged it: without the Delivered-To field delivery put
 * first and the X-Spam-* verdict fields it added (the judge saw our trace fields, our
 * Authentication-Results and the data). Training on what was judged keeps the rules that fire,
 * and so the tokens and the logistic model's prior, the same on both sides. */
export function asJudged(raw: Buffer): Buffer {
  let first = true;
  return removeFields(raw, (field) => {
    const ours = (first && /^delivered-to[ \t]*:/i.test(field)) || isSpamVerdictField(field);
    first = false;
    return ours;
  });
}

function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  return at > 0 ? address.slice(at + 1).toLowerCase() || null : null;
}

/** A message that did not come in over SMTP (e.g. APPENDed) has no origin: the report then
 * trains the classifier but names no source. */
export function reportSources(o: MessageOrigin | null): { ip: string | null; mailFromDomain: string | null; fromDomain: string | null; dkimDomain: string | null } {
  if (!o) return { ip: null, mailFromDomain: null, fromDomain: null, dkimDomain: null };
  return { ip: o.ip || null, mailFromDomain: domainOf(o.mailFrom), fromDomain: o.fromDomain || null, dkimDomain: o.dkimDomains[0] ?? null };
}
