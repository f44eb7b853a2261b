// Message submission (RFC 6409) for our own users: port 587 with STARTTLS required before AUTH,
// and port 465 with implicit TLS (RFC 8314). AUTH PLAIN and LOGIN against the account's
// password; no transaction without it (smtp-server answers 530). The sender must be one of the
// account's own addresses in the envelope and in From:/Sender:, the sending limits are checked at
// MAIL and RCPT, the message is fixed up (Bcc, Date, Message-ID), DKIM-signed, and then handed
// on: local recipients straight into their mailboxes through the inbound spool (no spam scoring
// for our own authenticated users), remote ones into the durable outbound queue. The 250 comes
// only once both are on disk.
import { SMTPServer, type SMTPServerAddress, type SMTPServerAuthentication, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Config } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { Account, Store } from '../../store/types.js';
import type { TlsMaterial } from '../../tls/certificate.js';
import type { PasswordVerifier } from '../../auth/verifier.js';
import type { InboundMeta } from '../../delivery/inbound-meta.js';
import { newSpoolId } from '../../queue/spool.js';
import { isValidAddress } from '../../routing/resolve.js';
import { RecipientCache } from '../../routing/recipient-cache.js';
import { reply } from '../common/replies.js';
import { SmtpService, baseServerOptions, sessionTls } from '../common/service.js';
import { SenderIdentity } from './identity.js';
import { prepareSubmission, type Prepared } from './prepare.js';
import type { SendingGuard } from '../../limits/sending/guard.js';

/** A remote recipient with its RFC 3461 DSN parameters. */
export interface RemoteRecipient {
  address: string;
  notify?: ('SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER')[];
  orcpt?: string;
}

export interface OutboundHandoff {
  mailFrom: string;
  recipients: RemoteRecipient[];
  accountId: number;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** Spool id of the same submission's local copy: it becomes deliverable with this commit. */
  localCopy?: string;
}

export interface StagedLocal {
  /** Its inbound spool id. */
  readonly id: string;
  start(): void;
  cancel(): Promise<void>;
}

export interface SubmissionDeps {
  config: Config;
  store: Store;
  tls: TlsMaterial;
  passwords: PasswordVerifier;
  logger: Logger;
  /** Puts a message for local accounts in the inbound spool (durably). Its delivery begins with
   * start(); cancel() withdraws it instead (when the rest of the submission could not be kept). */
  stageLocal(meta: InboundMeta, body: Buffer): Promise<StagedLocal>;
  /** Puts a message in the outbound queue (durably); returns its queue id. */
  enqueueRemote(env: OutboundHandoff, body: Buffer): Promise<string>;
  /** DKIM-Signature field(s) for a message from `domain`, or '' when the domain is not ours. */
  sign(raw: Buffer, domain: string): Promise<string>;
  /** Extra addresses the operator allowed the account to send as. */
  identities(account: Account): Promise<string[]>;
  guard: SendingGuard | null;
}

interface SessionState {
  account: Account | null;
  identity: SenderIdentity | null;
  /** Local accounts of each accepted local RCPT. */
  local: Map<string, string[]>;
  remote: RemoteRecipient[];
}

export class SubmissionSmtp extends SmtpService {
  protected readonly server: SMTPServer;
  private readonly state = new WeakMap<SMTPServerSession, SessionState>();
  private readonly recipients: RecipientCache;

  constructor(private readonly deps: SubmissionDeps, implicitTls: boolean) {
    super(deps.logger, deps.config.hostname);
    const { config, tls } = deps;
    this.recipients = new RecipientCache(deps.store);
    this.server = new SMTPServer({
      ...baseServerOptions(config, tls, 'Fjord Mail submission'),
      secure: implicitTls,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      allowInsecureAuth: false, // 538 "Must issue a STARTTLS command first" on 587
      hideDSN: false,
      useXClient: false,
      useXForward: false,
      onAuth: (auth, session, cb) => this.track(this.auth(auth, session).then((user) => cb(null, { user }), (e) => cb(e as Error))),
      onConnect: (_session, cb) => this.guard(cb, async () => this.refuseWhileClosing()),
      onMailFrom: (address, session, cb) => this.guard(cb, () => this.mailFrom(address, session)),
      onRcptTo: (address, session, cb) => this.guard(cb, () => this.rcptTo(address, session)),
      onData: (stream, session, cb) => this.track(this.data(stream, session).then((msg) => cb(null, msg), (e) => cb(this.toSmtpError(e)))),
    });
    this.server.on('error', (err) => deps.logger.warn({ err: err.message }, 'submission connection error'));
  }

  private session(session: SMTPServerSession): SessionState {
    let s = this.state.get(session);
    if (!s) this.state.set(session, (s = { account: null, identity: null, local: new Map(), remote: [] }));
    return s;
  }

  private async auth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<number> {
    const { store, passwords, config } = this.deps;
    const username = (auth.username ?? '').trim().toLowerCase();
    const password = auth.password ?? '';
    const account = username.length <= 254 && username.includes('@') ? await store.getAccount(username) : null;
    // An unknown user costs the same as a wrong password (no enumeration by timing).
    const ok = await passwords.verify(account, password);
    if (!ok || !account) {
      this.logger.info({ ip: session.remoteAddress }, 'submission authentication failed');
      await new Promise((r) => setTimeout(r, config.imap.authFailureDelay));
      throw reply(535, '5.7.8', 'Authentication credentials invalid');
    }
    const s = this.session(session);
    s.account = account;
    s.identity = new SenderIdentity(store, account, (await this.deps.identities(account)).map((a) => a.toLowerCase()));
    return account.id;
  }

  private async mailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    this.refuseWhileClosing();
    const s = this.session(session);
    s.local.clear();
    s.remote = [];
    if (!s.account || !s.identity) throw reply(530, '5.7.0', 'Authentication required');
    // Users never send with a null sender: that is for bounces, which we make ourselves.
    if (address.address === '' || !isValidAddress(address.address)) throw reply(553, '5.1.7', 'Bad sender address syntax');
    if (!(await s.identity.owns(address.address))) {
      throw reply(553, '5.7.1', `Sender address <${address.address}> is not yours: send as ${s.account.address} or one of its aliases`);
    }
    const refusal = await this.deps.guard?.checkSender(s.account);
    if (refusal) throw reply(refusal.code, refusal.enhanced, refusal.message);
  }

  private async rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const s = this.session(session);
    if (!s.account) throw reply(530, '5.7.0', 'Authentication required');
    const count = s.local.size + s.remote.length;
    if (count >= this.deps.config.smtp.maxRecipients) throw reply(452, '4.5.3', 'Too many recipients');
    if (!isValidAddress(address.address)) throw reply(501, '5.1.3', 'Bad recipient address syntax');
    const earlier = [...s.local.keys(), ...s.remote.map((r) => r.address)].map((a) => a.toLowerCase());
    const refusal = await this.deps.guard?.checkRecipient(s.account, address.address.toLowerCase(), earlier);
    if (refusal) throw reply(refusal.code, refusal.enhanced, refusal.message);
    const r = await this.recipients.resolve(address.address);
    if (r.kind === 'unknown-user') throw reply(550, '5.1.1', `No such user here: <${address.address}>`);
    if (r.kind === 'local') {
      s.local.set(address.address, r.accounts);
      return;
    }
    const dsn = (address as SMTPServerAddress & { dsn?: { notify?: string[]; orcpt?: string } }).dsn;
    s.remote.push({ address: address.address, notify: dsn?.notify as RemoteRecipient['notify'], orcpt: dsn?.orcpt });
  }

  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const { config } = this.deps;
    const data = await this.readData(stream, config.smtp);
    this.checkData(data, session, config.smtp);
    const s = this.session(session);
    if (!s.account || !s.identity) throw reply(530, '5.7.0', 'Authentication required');
    const account = s.account;
    const id = newSpoolId();
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : account.address;
    const prepared = prepareSubmission(data, { hostname: config.hostname, account: account.address, queueId: id, tls: sessionTls(session), now: new Date() });
    await this.checkHeaderSenders(prepared, s.identity, account);

    const fromDomain = prepared.from[0].slice(prepared.from[0].lastIndexOf('@') + 1);
    const signature = await this.deps.sign(prepared.raw, fromDomain);
    const message = signature ? Buffer.concat([Buffer.from(signature), prepared.raw]) : prepared.raw;

    // Both halves are on disk before either is delivered: the local copy is staged first and
    // withdrawn if the remote half cannot be queued (a full disk), so the client's retry after
    // our 452 does not give the local recipients a second copy. The outbound queue's commit of
    // the remote half also marks the local copy deliverable: one that a crash (or a restart
    // that forgot the withdrawal) leaves in the spool without it is dropped, not delivered.
    let staged: StagedLocal | null = null;
    try {
      if (s.local.size > 0) {
        const recipients: InboundMeta['recipients'] = [];
        for (const [rcpt, accounts] of s.local) for (const a of accounts) recipients.push({ rcpt, account: a });
        const local = Buffer.concat([Buffer.from(`Return-Path: <${mailFrom}>\r\n`), message]);
        staged = await this.deps.stageLocal({
          v: 1, receivedAt: Date.now(), mailFrom, recipients, client: { ip: session.remoteAddress, helo: session.hostNameAppearsAs ?? '' },
          ...(s.remote.length > 0 ? { awaitsRemote: true as const } : {}),
        }, local);
      }
      if (s.remote.length > 0) {
        const dsn = (session.envelope as { dsn?: { ret?: string | null; envid?: string | null } }).dsn;
        await this.deps.enqueueRemote({
          mailFrom, recipients: s.remote, accountId: account.id, ...(staged ? { localCopy: staged.id } : {}),
          ret: dsn?.ret === 'HDRS' || dsn?.ret === 'FULL' ? dsn.ret : undefined, envid: dsn?.envid ?? undefined,
        }, message);
      }
    } catch (e) {
      if (staged) await staged.cancel().catch((c: Error) => this.logger.error({ id, err: c.message }, 'could not withdraw the local copy of a failed submission'));
      const code = (e as { code?: unknown }).code;
      if (code === 'no-space') throw reply(452, '4.3.1', 'Insufficient system storage, try again later');
      throw e;
    }
    staged?.start();
    const all = [...s.local.keys(), ...s.remote.map((r) => r.address)].map((a) => a.toLowerCase());
    await this.deps.guard?.record(account, { recipients: all, messageId: prepared.messageId, bodyHash: prepared.bodyHash, bulkHeaders: prepared.bulkHeaders, queueId: id }).catch((e: Error) =>
      this.logger.warn({ err: e.message, account: account.address }, 'could not record sending counters'),
    );
    this.logger.info({ id, account: account.address, local: s.local.size, remote: s.remote.length, size: message.length }, 'message submitted');
    return `Ok: queued as ${id}`;
  }

  /** From: and Sender: must name the account's own addresses too (a mail program shows From:). */
  private async checkHeaderSenders(p: Prepared, identity: SenderIdentity, account: Account): Promise<void> {
    for (const [field, a] of [...p.from.map((a) => ['From', a]), ...(p.sender ? [['Sender', p.sender]] : [])]) {
      if (!(await identity.owns(a))) throw reply(553, '5.7.1', `${field}: address <${a}> is not yours: send as ${account.address} or one of its aliases`);
    }
  }
}
