// Shapes of the outbound queue: what a submitter hands in (OutboundEnvelope), what the queue
// keeps per message and per recipient, and what `fjord queue` and the sender read back.

export type Notify = 'SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER';

export interface OutboundEnvelope {
  /** Envelope sender; '' for our own DSNs (never bounced). */
  mailFrom: string;
  recipients: { address: string; notify?: Notify[]; orcpt?: string }[];
  /** Local account that submitted it (null for system mail). */
  accountId: number | null;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** The inbound spool id of the same submission's local copy, deliverable once this commits. */
  localCopy?: string;
}

/** pending: waiting for its next attempt; held: parked by an admin (`fjord queue hold`);
 * delivered: a remote server answered 2xx (never sent again); failed: permanent failure or gave up. */
export type RecipientState = 'pending' | 'delivered' | 'failed' | 'held';

export interface QueuedRecipient {
  /** Position in the envelope (stable key within the message). */
  index: number;
  address: string;
  /** Lower-case ASCII destination domain (what deliveries are grouped by). */
  domain: string;
  notify: Notify[] | null;
  orcpt: string | null;
  state: RecipientState;
  attempts: number;
  /** When the next attempt is due (pending only). */
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  /** The last reply, remote ("550 5.1.1 …") or our own in the same form ("451 4.4.1 connect to …"). */
  lastReply: string | null;
  /** Host that gave lastReply, when it came from a remote server. */
  remoteMta: string | null;
  /** Enhanced status code (RFC 3463) of lastReply (5.4.7 once given up). */
  status: string | null;
  /** A DSN is still owed for this recipient (failure, or "relayed" for NOTIFY=SUCCESS). */
  dsnDue: boolean;
}

export interface QueuedMessage {
  id: string;
  mailFrom: string;
  accountId: number | null;
  ret: 'FULL' | 'HDRS' | null;
  envid: string | null;
  size: number;
  /** The body has bytes ≥ 0x80 (sent with BODY=8BITMIME where offered). */
  eightBit: boolean;
  createdAt: Date;
  /** A delay warning was considered for this message (sent at most once). */
  delayWarned: boolean;
  recipients: QueuedRecipient[];
}

/** Why enqueue() refused a message. */
export class OutboundQueueError extends Error {
  constructor(
    readonly code: 'no-space' | 'invalid' | 'io',
    message: string,
  ) {
    super(message);
  }
}
