// What the inbound spool records beside each message: the envelope as accepted at SMTP time,
// and the spam filter's decision for each recipient (made before the 250).
import type { MessageOrigin } from '../store/types.js';

export interface InboundMeta {
  v: 1;
  receivedAt: number;
  mailFrom: string;
  /** One entry per local account reached, with the RCPT address that reached it. */
  recipients: {
    rcpt: string;
    account: string;
    /** Deliver to the account's Junk mailbox instead of INBOX. */
    junk?: boolean;
    /** Header fields for this recipient's copy only (X-Spam-*), CRLF-terminated. */
    headers?: string;
  }[];
  client: { ip: string; helo: string };
  /** Offset in the spooled message (just after our trace fields) where per-recipient fields go. */
  fieldsAt?: number;
  /** Kept with the delivered message so a later spam report can name its source. */
  origin?: MessageOrigin;
  /** The local copy of a submission that also has remote recipients: deliverable only once the
   * outbound queue committed the remote half (WorkerOptions.localCopies). */
  awaitsRemote?: true;
}
