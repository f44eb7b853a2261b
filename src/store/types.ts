// The mailbox store interface. Protocol servers (SMTP delivery, IMAP, POP3, HTTP) and the CLI
// reach stored state only through this interface; `sqlite/` implements it for one machine and a
// PostgreSQL backend will implement it for many. Everything is async so either backend fits.
import type { MimePart, Envelope, ParsedMessage } from '../mime/types.js';

export type SpecialUse = '\\Drafts' | '\\Sent' | '\\Junk' | '\\Trash' | '\\Archive' | '\\All' | '\\Flagged';

export type StoreErrorCode = 'exists' | 'not-found' | 'invalid' | 'overquota' | 'in-use' | 'nonexistent-mailbox';

export class StoreError extends Error {
  constructor(public readonly code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface Domain {
  id: number;
  name: string; // lower-case, IDNA A-label form
  createdAt: Date;
}

export interface Account {
  id: number;
  address: string; // lower-case local@domain
  domainId: number;
  passwordHash: string;
  /** 0 = unlimited. */
  quotaBytes: number;
  quotaMessages: number;
  usedBytes: number;
  usedMessages: number;
  createdAt: Date;
}

export interface Alias {
  id: number;
  /** lower-case `local@domain`, or `@domain` for a catch-all. */
  alias: string;
  /** lower-case address of a local account (or, later, an external forward). */
  target: string;
  createdAt: Date;
}

export interface Mailbox {
  id: number;
  accountId: number;
  /** Full hierarchical name with '/' as delimiter; the inbox is always "INBOX". */
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  uidValidity: number;
  uidNext: number;
  /** Highest MODSEQ of any change in this mailbox (RFC 7162); starts at 1. */
  highestModseq: number;
  messages: number;
  unseen: number;
  /** Sum of RFC822.SIZE of the messages (STATUS=SIZE). */
  size: number;
}

/** The per-mailbox index entry of one message: all a client needs to synchronise. */
export interface MessageIndexEntry {
  uid: number;
  modseq: number;
  /** System flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and keywords, as stored. */
  flags: string[];
  internalDate: Date;
  size: number;
  /** Stable id of the message content within the account (RFC 8474 EMAILID); shared by copies. */
  emailId: string;
  threadId: string;
}

/** The full record of one message: index entry + what the parser extracted. */
export interface MessageRecord extends MessageIndexEntry {
  mailboxId: number;
  /** Content address of the raw bytes in the blob store (sha256 hex). */
  blobId: string;
  tree: MimePart;
  envelope: Envelope;
  subject: string;
  from: string; // decoded display form of the first From address, "" when none
  date: Date | null;
  messageId: string | null;
  hasAttachments: boolean;
}

/** A message to put into a mailbox (delivery or APPEND). */
export interface NewMessage {
  raw: Buffer;
  parsed: ParsedMessage;
  flags?: string[];
  internalDate?: Date;
}

/** Where a delivered message came from, kept with it so that a later "this is spam" report by
 * the user can be held against the sending IP and domains. */
export interface MessageOrigin {
  ip: string;
  helo: string;
  /** Envelope sender (MAIL FROM), '' for bounces. */
  mailFrom: string;
  /** Domain of the From header address, lower-case, '' when none. */
  fromDomain: string;
  /** d= of the valid DKIM signatures. */
  dkimDomains: string[];
  /** The From address (lower case) when the message authenticated it (aligned DKIM or SPF);
   * '' or absent when it did not. */
  fromAuth?: string;
}

export type SpamVerdict = 'spam' | 'ham';

/** How often a token was seen in messages trained as ham and as spam, and in the global
 * database its logistic weight `w`; as a database's totals, the messages trained, and the
 * logistic model's `bias` and the ham and spam messages it learnt from (filter/bayes/logistic.ts). */
export interface TokenCounts {
  ham: number;
  spam: number;
  w?: number;
  bias?: number;
  lrHam?: number;
  lrSpam?: number;
}

/** One message to train: its key (each message counts once per scope), tokens and verdict (null:
 * forget it), and for the global logistic model the log-odds the other signals gave it
 * (trainingPrior in filter/verdict.ts; 0 when absent). */
export interface TrainItem { key: string; tokens: string[]; verdict: SpamVerdict | null; prior?: number }

/** What a snapshot of a token database read: its totals, version and number of tokens. */
export interface TokenSnapshot { totals: TokenCounts; version: number; tokens: number }

/** One user's "spam / not spam" judgement of one message, with the message's origin. */
export interface SpamReport {
  accountId: number;
  /** The message, unique within the account (e.g. its EMAILID): one report per user and message. */
  emailKey: string;
  verdict: SpamVerdict;
  at: Date;
  ip: string | null;
  mailFromDomain: string | null;
  fromDomain: string | null;
  dkimDomain: string | null;
}

export type ReputationKind = 'ip' | 'domain';

/** block: refuse it; allow: never refuse or score it; unblock: lift a block that reports made
 * (reports from before the decision no longer count towards a block). */
export type OverrideAction = 'block' | 'allow' | 'unblock';

/** An administrator's decision about a source, which beats what reports say. */
export interface ReputationOverride {
  kind: ReputationKind;
  value: string;
  action: OverrideAction;
  reason: string;
  at: Date;
}

/** A message refused for its content, kept so a false positive can be released. */
export interface QuarantineEntry {
  id: number;
  accountId: number;
  at: Date;
  expiresAt: Date;
  mailFrom: string;
  rcpt: string;
  subject: string;
  from: string;
  score: number;
  /** The signals that fired, e.g. "BAYES_99=5.0 URI_SHORTENER=1.2". */
  reasons: string;
  size: number;
  origin: MessageOrigin | null;
}

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** A DKIM key to store: what signs (private) and what DNS publishes (public). */
export interface NewDkimKey {
  /** The s= of signatures and the `<selector>._domainkey` DNS label; unique within the domain. */
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** The p= value of the DNS record, base64 (SPKI for RSA, the raw 32 octets for Ed25519). */
  publicKey: string;
}

/** A stored DKIM signing key of a local domain. Active keys sign; retired ones are kept so that
 * their DNS records can stay published while mail signed with them may still be verified. */
export interface DkimKey extends NewDkimKey {
  id: number;
  domain: string;
  active: boolean;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface DeliveryItem extends NewMessage {
  /** Idempotency key (queue id + recipient): a key already delivered yields 'duplicate', so a
   * queue entry redelivered after a crash lands exactly once. */
  deliveryKey: string;
  accountId: number;
  /** Target mailbox by special use (e.g. '\\Junk'); default INBOX. */
  specialUse?: SpecialUse;
  /** Kept with the message for spam reports. */
  origin?: MessageOrigin;
}

export type DeliveryOutcome =
  | { status: 'delivered'; mailboxId: number; uid: number }
  | { status: 'duplicate' }
  | { status: 'overquota' }
  | { status: 'no-account' };

export interface ListMessagesOptions {
  changedSince?: number;
  uidFrom?: number;
  uidTo?: number;
}

export interface FlagColumns {
  uids: Uint32Array;
  modseqs: Float64Array;
  flags: string[];
}

export type FlagOperation = 'add' | 'remove' | 'replace';

export interface FlagUpdateResult {
  /** Messages whose flags changed (new modseq and flags). */
  updated: { uid: number; modseq: number; flags: string[] }[];
  /** UIDs not changed because their modseq exceeded unchangedSince (CONDSTORE MODIFIED). */
  modified: number[];
}

export interface CopyResult {
  uidValidity: number;
  /** [source uid, destination uid] pairs in source order (UIDPLUS COPYUID). */
  pairs: [number, number][];
}

export type ChangeKind =
  | 'append'
  | 'flags'
  | 'expunge'
  | 'mailbox-create'
  | 'mailbox-rename'
  | 'mailbox-delete'
  | 'mailbox-subscribe';

/** One entry of the change feed. `id` increases across the whole store, in commit order. */
export interface Change {
  id: number;
  accountId: number;
  mailboxId: number | null;
  kind: ChangeKind;
  uid: number | null;
  modseq: number | null;
  /** Mailbox name for mailbox-* changes (new name for a rename). */
  name: string | null;
  at: Date;
}

export type ChangeListener = (changes: Change[]) => void;

export interface QuotaUsage {
  usedBytes: number;
  usedMessages: number;
  quotaBytes: number;
  quotaMessages: number;
}

/** A message an account submitted, as the sending limits count it. */
export interface SentMessage {
  at: Date;
  queueId: string;
  messageId: string;
  bodyHash: string;
  /** Carried List-Unsubscribe or Precedence: bulk/list/junk. */
  bulk: boolean;
  recipients: string[];
}

export type SendingEventKind = 'bounce' | 'complaint';

/** Whether an account may send; events before countFrom are forgiven (an admin unfroze it). */
export interface SendingState {
  frozenAt: Date | null;
  reason: string | null;
  countFrom: Date | null;
}

/** What the hard sending limits compare against (counted since an unfreeze, if later). */
export interface SendingCounts {
  messagesLastHour: number;
  messagesLastDay: number;
  /** Distinct recipients in the last 24 hours. */
  recipientsLastDay: number;
}

export interface SendingStats extends SendingCounts {
  /** Over the bulk-score window (since `since`). */
  window: {
    since: Date;
    recipients: number;
    /** Recipients the account had never written to before. */
    newRecipients: number;
    /** Recipients of messages with bulk-mail headers. */
    bulkRecipients: number;
    /** Bodies sent to the most distinct recipients (top 5). */
    fanout: { bodyHash: string; recipients: number }[];
    bounces: number;
    complaints: number;
  };
}

export interface Store {
  close(): Promise<void>;

  // Domains
  addDomain(name: string): Promise<Domain>;
  getDomain(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  /** Refuses with 'in-use' while accounts or aliases of the domain exist. */
  removeDomain(name: string): Promise<void>;

  // Accounts (creating one also creates INBOX, Drafts, Sent, Junk, Trash, Archive)
  addAccount(input: { address: string; passwordHash: string; quotaBytes?: number; quotaMessages?: number }): Promise<Account>;
  getAccount(address: string): Promise<Account | null>;
  getAccountById(id: number): Promise<Account | null>;
  listAccounts(domain?: string): Promise<Account[]>;
  setPasswordHash(address: string, passwordHash: string): Promise<void>;
  setQuota(address: string, quota: { bytes?: number; messages?: number }): Promise<Account>;
  /** Removes the account, its mailboxes, messages and aliases pointing to it. */
  removeAccount(address: string): Promise<void>;

  // Aliases
  addAlias(alias: string, target: string): Promise<Alias>;
  /** All targets of an exact alias (`a@d` or `@d`). */
  getAliasTargets(alias: string): Promise<string[]>;
  listAliases(domain?: string): Promise<Alias[]>;
  /** Removes alias→target, or every target of the alias when target is omitted. */
  removeAlias(alias: string, target?: string): Promise<void>;

  // Mailboxes
  listMailboxes(accountId: number): Promise<Mailbox[]>;
  getMailbox(accountId: number, name: string): Promise<Mailbox | null>;
  getMailboxById(id: number): Promise<Mailbox | null>;
  createMailbox(accountId: number, name: string, opts?: { specialUse?: SpecialUse }): Promise<Mailbox>;
  /** Renames the mailbox and its children. Renaming INBOX moves its messages to the new
   * mailbox and leaves INBOX empty (RFC 3501 §6.3.5). */
  renameMailbox(accountId: number, from: string, to: string): Promise<void>;
  deleteMailbox(accountId: number, name: string): Promise<void>;
  /** Subscribes or unsubscribes a name. A name without a mailbox may be subscribed, and a
   * subscription survives DELETE of its mailbox (RFC 9051 §6.3.7); a mailbox created or
   * renamed to a subscribed name is subscribed. */
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void>;
  /** Every subscribed name, whether or not a mailbox of that name exists, sorted. */
  listSubscriptions(accountId: number): Promise<string[]>;

  // Messages
  /** Delivers a batch in one transaction (blobs are fsynced first). */
  deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]>;
  /** IMAP MULTIAPPEND: all messages in one transaction, or none (quota counts them together). */
  appendMany(mailboxId: number, messages: NewMessage[]): Promise<{ uids: number[]; uidValidity: number }>;
  /** IMAP APPEND; throws StoreError('overquota') when over quota. */
  append(mailboxId: number, message: NewMessage): Promise<{ uid: number; uidValidity: number }>;
  /** The index of a mailbox in UID order, optionally only entries with modseq > changedSince
   * and/or uid within [uidFrom, uidTo]. */
  listMessages(mailboxId: number, opts?: ListMessagesOptions): Promise<MessageIndexEntry[]>;
  /** Just UID, MODSEQ and flags (as stored: space-separated) in UID order, in columns rather
   * than one object per message: a FETCH 1:* (FLAGS) on a huge mailbox stays cheap. */
  listFlags(mailboxId: number, opts?: ListMessagesOptions): Promise<FlagColumns>;
  /** UID of the first message without \\Seen, or null (IMAP4rev1 SELECT's [UNSEEN n]). */
  firstUnseenUid(mailboxId: number): Promise<number | null>;
  /** Just the UIDs of a mailbox, ascending, compactly (an IMAP SELECT's sequence map). */
  listUids(mailboxId: number): Promise<Uint32Array>;
  getMessages(mailboxId: number, uids: number[]): Promise<MessageRecord[]>;
  readBlob(blobId: string): Promise<Buffer>;
  readBlobRange(blobId: string, start: number, end: number): Promise<Buffer>;
  setFlags(mailboxId: number, uids: number[], op: FlagOperation, flags: string[], unchangedSince?: number): Promise<FlagUpdateResult>;
  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult>;
  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult>;
  /** Removes the given messages (all \Deleted ones when uids is omitted); returns expunged UIDs. */
  expunge(mailboxId: number, uids?: number[]): Promise<number[]>;
  /** UIDs expunged with modseq > sinceModseq (QRESYNC VANISHED (EARLIER)). */
  expungedSince(mailboxId: number, sinceModseq: number): Promise<number[]>;
  /** Full-text search within a mailbox: UIDs whose text (headers + body) matches all words. */
  searchText(mailboxId: number, query: string, where?: 'text' | 'body' | 'header'): Promise<number[]>;
  getQuotaUsage(accountId: number): Promise<QuotaUsage>;

  // Change feed
  /** Changes with id > afterId, oldest first (all accounts when accountId is null). */
  changesSince(accountId: number | null, afterId: number, limit?: number): Promise<Change[]>;
  lastChangeId(): Promise<number>;
  /** Look for changes made elsewhere now instead of at the next poll (e.g. right after another
   * connection, such as the delivery thread, committed). */
  poke(): void;
  /** Calls listener with every new change of the account (or all accounts when null): at once
   * for changes made through this Store object, within a short poll interval for changes made by
   * other processes or Store objects on the same data. Returns an unsubscribe function. */
  watch(accountId: number | null, listener: ChangeListener): () => void;

  // Spam filter: token databases (scope 0 = the global one, otherwise an account id)
  getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>>;
  /** Messages trained as ham and as spam in the scope. */
  getTotals(scope: number): Promise<TokenCounts>;
  /** Adds (delta 1) or removes (delta -1) one message's tokens, and counts the message. */
  addTokens(scope: number, tokens: string[], verdict: SpamVerdict, delta: 1 | -1, prior?: number, at?: Date): Promise<void>;
  /** Records that message `key` is now trained as verdict (null: untrained) in the scope and
   * returns how it was trained before, so that each message counts once. */
  markTrained(scope: number, key: string, verdict: SpamVerdict | null): Promise<SpamVerdict | null>;
  /** Many messages trained (or untrained) at once, as markTrained and addTokens would for each,
   * committed together; returns how many changed. For seeding a database from a corpus;
   * stepModel false: counted without the global logistic model's steps (see setGlobalModel). */
  trainMessages(scope: number, items: readonly TrainItem[], at?: Date, stepModel?: boolean): Promise<number>;
  /** The global logistic model set at once (stepModel false above, then this: seeding a database
   * from a corpus, the model trained in memory): each token's weight and AdaGrad sum from
   * `model` (0 for one it lacks), the bias, and the ham and spam it learnt from. Returns the
   * tokens given a weight. */
  setGlobalModel(model: (token: string) => [number, number] | undefined, bias: number, steps: { ham: number; spam: number }): Promise<number>;
  /** Raised by every addTokens of the scope: a copy held in memory is current while it matches. */
  tokenVersion(scope: number): Promise<number>;
  /** Calls each for every token of the scope from one consistent read; null (having read
   * nothing) when the scope holds more than max tokens. */
  tokenSnapshot(scope: number, max: number, each: (token: string, ham: number, spam: number, w: number) => void): Promise<TokenSnapshot | null>;
  /** The token databases (scopes) trained since expireTokens last checked them. */
  tokenScopesToCheck(): Promise<number[]>;
  /** Holds a token database to a size: when it has more than `max` tokens, those not trained
   * for longest (the rarest first among those of one day, roughly) are dropped until `target`
   * remain, in small batches so that other work goes on meanwhile. Raises the version when it
   * dropped any, and marks the database checked. Stops between batches when `signal` aborts. */
  expireTokens(scope: number, max: number, target: number, signal?: AbortSignal): Promise<{ tokens: number; removed: number }>;
  getEmailOrigin(accountId: number, emailId: string): Promise<MessageOrigin | null>;

  // Spam filter: user reports and reputation overrides
  /** Stores the user's report on the message (replacing that user's earlier report on it) and
   * returns the earlier verdict, or null. */
  putSpamReport(report: SpamReport): Promise<SpamVerdict | null>;
  /** Reports about an IP or a domain (any of its roles), newest first, since a date. */
  listSpamReports(filter: { ip?: string; domain?: string; since?: Date; limit?: number }): Promise<SpamReport[]>;
  /** Records what the user said of mail from this authenticated From address (the latest wins). */
  setSenderVerdict(accountId: number, address: string, verdict: SpamVerdict, at: Date): Promise<void>;
  /** What the user last said of mail from this authenticated From address, or null. */
  senderVerdict(accountId: number, address: string): Promise<SpamVerdict | null>;
  /** Deletes the reports made before `before`; returns how many. */
  purgeSpamReports(before: Date): Promise<number>;
  setReputationOverride(kind: ReputationKind, value: string, action: OverrideAction | null, reason?: string): Promise<void>;
  listReputationOverrides(): Promise<ReputationOverride[]>;

  // Spam filter: quarantine of refused messages
  quarantine(entry: Omit<QuarantineEntry, 'id' | 'size'>, raw: Buffer): Promise<number>;
  listQuarantine(opts?: { accountId?: number }): Promise<QuarantineEntry[]>;
  getQuarantined(id: number): Promise<{ entry: QuarantineEntry; raw: Buffer } | null>;
  removeQuarantined(ids: number[]): Promise<number>;
  /** Removes entries that expired before `now`; returns how many. */
  purgeQuarantine(now: Date): Promise<number>;

  // DKIM signing keys of local domains (removed with their domain)
  /** Stores keys for a domain in one transaction and returns the domain's active keys after it.
   * `retireActive`: the keys active before become retired (rotation). `ifNoneActive`: store
   * nothing when the domain already has an active key (so concurrent first uses generate once).
   * A selector the domain already has is refused with 'exists'. */
  addDkimKeys(domain: string, keys: NewDkimKey[], opts?: { retireActive?: boolean; ifNoneActive?: boolean }): Promise<DkimKey[]>;
  /** Keys of one domain or of all, active and retired, by domain then age (oldest first). */
  listDkimKeys(domain?: string): Promise<DkimKey[]>;
  /** Stops signing with a key (kept for its DNS record); a retired key stays as it is. */
  retireDkimKey(domain: string, selector: string): Promise<void>;

  // Sending limits: what each account sent, bounces and complaints, freeze state, identities
  recordSentMessage(accountId: number, m: SentMessage): Promise<void>;
  recordSendingEvent(accountId: number, kind: SendingEventKind, at: Date, detail: { rcpt?: string; messageId?: string }): Promise<void>;
  /** Whether the account sent to rcpt since the given time. */
  sentToSince(accountId: number, rcpt: string, since: Date): Promise<boolean>;
  /** The account has ever sent mail to this address (lower case). */
  hasWrittenTo(accountId: number, address: string): Promise<boolean>;
  /** The hard-limit counters only (cheap: checked at every MAIL and RCPT). */
  sendingCounts(accountId: number, now: Date): Promise<SendingCounts>;
  /** The counters and the bulk-score window. */
  sendingStats(accountId: number, now: Date, windowSeconds: number): Promise<SendingStats>;
  /** The account that sent the message with this Message-ID (for complaint reports), if any. */
  findSentMessage(messageId: string): Promise<{ accountId: number; at: Date } | null>;
  getSendingState(accountId: number): Promise<SendingState>;
  setSendingState(accountId: number, s: SendingState): Promise<void>;
  /** Removes counters older than `before`; returns rows removed. */
  pruneSending(before: Date): Promise<number>;
  listSendingIdentities(accountId: number): Promise<string[]>;
  setSendingIdentity(accountId: number, address: string, on: boolean): Promise<void>;

  // Small server-wide key/value settings (e.g. whether the demo account was created)
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
}

export type { MimePart, Envelope, ParsedMessage };
