// What never changes about a stored message (its blob, MIME tree, envelope, decoded subject,
// Date, Message-ID), cached by email id across sessions and commands: FETCH ENVELOPE,
// BODYSTRUCTURE and SEARCH FROM then cost a Map lookup instead of parsing the stored tree.
import type { MessageRecord } from '../store/types.js';

export type MessageContent = Pick<MessageRecord, 'blobId' | 'tree' | 'envelope' | 'subject' | 'date' | 'messageId'> & {
  /** Lower-cased search forms, filled in lazily by SEARCH. */
  folded?: Map<string, string>;
};

/** A bounded LRU of message contents by email id. */
export class ContentCache {
  private readonly map = new Map<string, MessageContent>();

  constructor(private readonly max = 30_000) {}

  get(emailId: string): MessageContent | undefined {
    const c = this.map.get(emailId);
    if (c !== undefined && this.map.size > this.max / 2) {
      // Refresh recency only when eviction is a concern: Map re-insertion is not free.
      this.map.delete(emailId);
      this.map.set(emailId, c);
    }
    return c;
  }

  set(emailId: string, r: MessageRecord): MessageContent {
    const c: MessageContent = { blobId: r.blobId, tree: r.tree, envelope: r.envelope, subject: r.subject, date: r.date, messageId: r.messageId };
    this.map.delete(emailId);
    this.map.set(emailId, c);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    return c;
  }
}
