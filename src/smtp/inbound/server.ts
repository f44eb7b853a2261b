// Inbound SMTP (MX), built on smtp-server. The transaction is a short list of hooks
// (connect → MAIL → RCPT → DATA), each deciding with a precise RFC 5321/3463 reply. Queue first,
// then store: the 250 after DATA is sent only once the message is fsynced in the inbound spool;
// the delivery worker moves it into mailboxes afterwards.
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '../../log/logger.js';
import type { Config } from '../../config/config.js';
import type { Store } from '../../store/types.js';
import type { Resolver } from '../../dns/resolver.js';
import type { TlsMaterial } from '../../tls/certificate.js';
import { Spool, SpoolError, newSpoolId } from '../../queue/spool.js';
import { isValidAddress } from '../../routing/resolve.js';
import { RecipientCache } from '../../routing/recipient-cache.js';
import { traceHeaders } from './trace-headers.js';
import { reply } from '../common/replies.js';
import { SmtpService, baseServerOptions, sessionTls } from '../common/service.js';
import type { InboundMeta } from '../../delivery/inbound-meta.js';
import type { InboundFilter, DoorState } from '../../filter/inbound.js';

export interface InboundDeps {
  config: Config;
  store: Store;
  spool: Spool<InboundMeta>;
  resolver: Resolver;
  tls: TlsMaterial;
  logger: Logger;
  /** The spam filter (null: every message goes to INBOX unjudged). */
  filter: InboundFilter | null;
  /** Called with the spool id of each accepted message. */
  onQueued: (id: string, entry: { meta: InboundMeta; body: Buffer }) => void;
}

interface SessionState {
  /** Local accounts of each accepted RCPT, by RCPT address. */
  recipients: Map<string, string[]>;
  /** What the spam filter learnt about the client at connect and HELO. */
  door: DoorState | null;
}

export class InboundSmtp extends SmtpService {
  protected readonly server: SMTPServer;
  private readonly state = new WeakMap<SMTPServerSession, SessionState>();
  private readonly recipients: RecipientCache;

  constructor(private readonly deps: InboundDeps) {
    super(deps.logger, deps.config.hostname);
    const { config, tls } = deps;
    this.recipients = new RecipientCache(deps.store);
    this.server = new SMTPServer({
      ...baseServerOptions(config, tls, 'Fjord Mail'),
      authOptional: true,
      disabledCommands: ['AUTH'],
      hideDSN: true, // the MX only delivers locally: no promise of RFC 3461 success reports
      resolver: { reverse: (ip: string, cb: (err: Error | null, names?: string[]) => void) => void deps.resolver.reverse(ip).then((n) => cb(null, n), (e: Error) => cb(e)) },
      onConnect: (session, cb) => this.guard(cb, () => this.connect(session)),
      onMailFrom: (address, session, cb) => this.guard(cb, () => this.mailFrom(address, session)),
      onRcptTo: (address, session, cb) => this.guard(cb, () => this.rcptTo(address, session)),
      onData: (stream, session, cb) => this.track(this.data(stream, session).then((msg) => cb(null, msg), (e) => cb(this.toSmtpError(e)))),
    });
    this.server.on('error', (err) => deps.logger.warn({ err: err.message }, 'smtp connection error'));
  }

  private session(session: SMTPServerSession): SessionState {
    let s = this.state.get(session);
    if (!s) this.state.set(session, (s = { recipients: new Map(), door: null }));
    return s;
  }

  /** The door: local lists, reputation and DNS blocklists; the greeting waits pregreetMs so
   * clients that talk first are caught (smtp-server answers them 421 "You talk too soon"). */
  private async connect(session: SMTPServerSession): Promise<void> {
    const { filter, config } = this.deps;
    this.refuseWhileClosing();
    if (!filter) return;
    const wait = new Promise((r) => setTimeout(r, config.spam.pregreetMs));
    const hostname = session.clientHostname && !session.clientHostname.startsWith('[') ? session.clientHostname : '';
    const door = await filter.connect(session.remoteAddress, hostname);
    await wait;
    this.session(session).door = door;
    if (door.refuse) {
      this.deps.logger.info({ ip: session.remoteAddress, reason: door.refuse.message }, 'connection refused');
      throw reply(door.refuse.code, door.refuse.enhanced, door.refuse.message);
    }
  }

  private async mailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    this.refuseWhileClosing();
    const state = this.session(session);
    state.recipients.clear();
    if (address.address !== '' && !isValidAddress(address.address)) {
      throw reply(501, '5.1.7', 'Bad sender address syntax');
    }
    if (state.door && this.deps.filter) {
      const refuse = await this.deps.filter.mailFrom(state.door, session.hostNameAppearsAs ?? '', address.address);
      if (refuse) throw reply(refuse.code, refuse.enhanced, refuse.message);
    }
  }

  private async rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const { config } = this.deps;
    const state = this.session(session);
    if (state.recipients.size >= config.smtp.maxRecipients) throw reply(452, '4.5.3', 'Too many recipients');
    if (!isValidAddress(address.address)) throw reply(501, '5.1.3', 'Bad recipient address syntax');
    const r = await this.recipients.resolve(address.address);
    if (r.kind === 'not-local') throw reply(554, '5.7.1', 'Relay access denied');
    if (state.door && this.deps.filter) {
      // Before the user check: a refused client learns nothing about which addresses exist.
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      const refuse = await this.deps.filter.rcpt(state.door, mailFrom, address.address, session.hostNameAppearsAs ?? '');
      if (refuse) throw reply(refuse.code, refuse.enhanced, refuse.message);
    }
    if (r.kind === 'unknown-user') throw reply(550, '5.1.1', 'No such user here');
    const declared = Number(session.envelope.mailFrom && (session.envelope.mailFrom as SMTPServerAddress).args && ((session.envelope.mailFrom as SMTPServerAddress).args as Record<string, string>).SIZE) || 0;
    for (const acct of r.accounts) {
      const a = await this.deps.store.getAccount(acct); // fresh: usage changes with every delivery
      if (!a) continue;
      const fullBytes = a.quotaBytes > 0 && a.usedBytes + declared > a.quotaBytes;
      const fullCount = a.quotaMessages > 0 && a.usedMessages + 1 > a.quotaMessages;
      if (fullBytes || fullCount) throw reply(452, '4.2.2', 'Mailbox full, try again later');
    }
    state.recipients.set(address.address, r.accounts);
    if (state.door && this.deps.filter) {
      this.deps.filter.recipientAccepted(state.door, session.hostNameAppearsAs ?? '', session.envelope.mailFrom ? session.envelope.mailFrom.address : '');
    }
  }

  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const data = await this.readData(stream, this.deps.config.smtp);
    return this.accept(data, session);
  }

  private async accept(received: Buffer, session: SMTPServerSession): Promise<string> {
    const { spool, logger } = this.deps;
    // The stored message is the trace fields followed by the data: build it with one copy.
    const id = newSpoolId();
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    let data = received;
    const size = data.length;
    this.checkData(data, session, this.deps.config.smtp);

    const state = this.session(session);
    const recipients: InboundMeta['recipients'] = [];
    for (const rcpt of session.envelope.rcptTo) {
      for (const account of state.recipients.get(rcpt.address) ?? []) recipients.push({ rcpt: rcpt.address, account });
    }
    const helo = session.hostNameAppearsAs ?? '';
    let added = '';
    let origin: InboundMeta['origin'];
    const traceText = this.traceFor(session, id, mailFrom);
    if (this.deps.filter && state.door) {
      // Judged before the 250: a refusal here is the sender's problem, never a bounce of ours.
      const j = await this.deps.filter.judge({ door: state.door, data, helo, mailFrom, recipients, queueId: id, trace: traceText });
      if (j.refuse) {
        this.deps.logger.info({ id, ip: session.remoteAddress, from: mailFrom, reason: j.refuse.message }, 'message refused');
        throw reply(j.refuse.code, j.refuse.enhanced, j.refuse.message);
      }
      data = j.data;
      added = j.headers;
      origin = j.origin;
      recipients.forEach((r, i) => Object.assign(r, j.recipients[i]));
    }
    const trace = Buffer.from(traceText + added);
    const message = Buffer.concat([trace, data], trace.length + data.length);
    const meta: InboundMeta = {
      v: 1,
      receivedAt: Date.now(),
      mailFrom,
      recipients,
      client: { ip: session.remoteAddress, helo },
      origin,
      fieldsAt: trace.length,
    };
    try {
      await spool.put(meta, message, id);
    } catch (e) {
      if (e instanceof SpoolError && e.code === 'no-space') throw reply(452, '4.3.1', 'Insufficient system storage, try again later');
      throw e;
    }
    logger.info({ id, from: mailFrom, rcpts: recipients.length, junk: recipients.filter((r) => r.junk).length, size, ip: session.remoteAddress }, 'message queued');
    this.deps.onQueued(id, { meta, body: message });
    return `Ok: queued as ${id}`;
  }

  private traceFor(session: SMTPServerSession, id: string, mailFrom: string): string {
    const tls = sessionTls(session);
    return traceHeaders({
      mailFrom,
      heloName: session.hostNameAppearsAs ?? '',
      clientIp: session.remoteAddress,
      clientHostname: session.clientHostname && !session.clientHostname.startsWith('[') ? session.clientHostname : null,
      hostname: this.deps.config.hostname,
      queueId: id,
      tls,
      esmtp: session.transmissionType?.includes('ESMTP') ?? true,
      singleRecipient: session.envelope.rcptTo.length === 1 ? session.envelope.rcptTo[0].address : null,
      date: new Date(),
    });
  }
}
