// Turning spooled entries into mailbox messages: parse each message once, give every recipient
// its own Delivered-To copy, and commit the whole batch in one store transaction.
import type { Logger } from '../log/logger.js';
import type { Store, DeliveryItem } from '../store/types.js';
import type { InboundMeta } from './inbound-meta.js';
import { parseMessage } from '../mime/index.js';
import { prependHeader } from './prepend.js';

/** Message copies committed in one store transaction at most (besides at least one copy). */
const MAX_TRANSACTION_BYTES = 64 * 1024 * 1024;

export interface QueuedMessage {
  id: string;
  meta: InboundMeta;
  body: Buffer;
}

/** 'done': every recipient has it (or is gone); 'retry': some recipient is over quota. */
export type EntryOutcome = 'done' | 'retry';

export interface BatchDeliverer {
  deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]>;
  close(): Promise<void>;
}

export class StoreDeliverer implements BatchDeliverer {
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly ownsStore = false,
  ) {}

  async deliver(entries: QueuedMessage[]): Promise<EntryOutcome[]> {
    const result: EntryOutcome[] = entries.map(() => 'done');
    let items: DeliveryItem[] = [];
    let owner: number[] = [];
    let bytes = 0;
    // Every recipient gets its own copy (its own Delivered-To): a big message to many recipients
    // is committed in several transactions so the copies held at once stay bounded.
    const flush = async () => {
      const outcomes = items.length ? await this.store.deliver(items) : [];
      outcomes.forEach((o, i) => {
        if (o.status === 'overquota') result[owner[i]] = 'retry';
        else if (o.status === 'no-account') this.logger.warn({ key: items[i].deliveryKey }, 'recipient account vanished before delivery; dropped');
      });
      items = [];
      owner = [];
      bytes = 0;
    };
    for (let e = 0; e < entries.length; e++) {
      const entry = entries[e];
      const parsed = parseMessage(entry.body);
      for (const r of entry.meta.recipients) {
        const account = await this.store.getAccount(r.account);
        if (!account) {
          this.logger.warn({ id: entry.id, rcpt: r.rcpt }, 'recipient account no longer exists; dropped');
          continue;
        }
        const copy = prependHeader(entry.body, parsed, `Delivered-To: ${r.account}\r\n`, r.headers ? { at: entry.meta.fieldsAt ?? 0, text: r.headers } : undefined);
        items.push({
          deliveryKey: `${entry.id}:${r.account}`, accountId: account.id, raw: copy.raw, parsed: copy.parsed, internalDate: new Date(entry.meta.receivedAt),
          specialUse: r.junk ? '\\Junk' : undefined, origin: entry.meta.origin,
        });
        owner.push(e);
        bytes += copy.raw.length;
        if (bytes >= MAX_TRANSACTION_BYTES) await flush();
      }
    }
    await flush();
    return result;
  }

  async close(): Promise<void> {
    if (this.ownsStore) await this.store.close();
  }
}
