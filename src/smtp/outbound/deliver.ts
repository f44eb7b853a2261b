// Delivering everything due for one destination domain: route (MX / implicit MX / null MX),
// MTA-STS, then one connection at a time over the MX hosts and their addresses in order. A
// connection carries every message for the domain in sequence (RSET between them, up to
// outbound.messagesPerConnection), each message in one transaction with all its recipients at
// this domain (split, for a remote that offers DSN, where the sender asked for notices
// differently per recipient: RFC 3461 parameters go with each RCPT). Results are handed to `record` per transaction as soon as the remote has
// answered, before anything else is sent, so the caller can commit them first.
import type { Readable } from 'node:stream';
import type { Config } from '../../config/config.js';
import type { Resolver } from '../../dns/resolver.js';
import type { Logger } from '../../log/logger.js';
import { resolveRoute } from './mx.js';
import type { MtaSts } from './mta-sts.js';
import type { StsPolicy } from './mta-sts-policy.js';
import { planHosts, type TlsMode } from './tls-policy.js';
import { SessionError, SmtpSession, type DsnParams } from './smtp-session.js';
import type { Notify } from './types.js';
import { classify, localReply, type Outcome } from './reply.js';

export interface DeliveryRecipient {
  index: number;
  address: string;
  /** RFC 3461 NOTIFY and ORCPT as submitted (null: not given). */
  notify?: Notify[] | null;
  orcpt?: string | null;
}

export interface DeliveryMessage {
  id: string;
  mailFrom: string;
  size: number;
  eightBit: boolean;
  /** RFC 3461 RET and ENVID as submitted. */
  ret?: 'FULL' | 'HDRS' | null;
  envid?: string | null;
  /** Recipients of this message at this destination that are due. */
  recipients: DeliveryRecipient[];
}

export interface RecipientResult {
  index: number;
  address: string;
  outcome: Outcome;
  reply: string;
  /** "mx.example.com[192.0.2.1]" when the reply came from (or concerns) a remote host. */
  remoteMta: string | null;
  /** The next hop offers DSN and got the sender's requests: reporting success is its job now. */
  dsnRelayed?: boolean;
}

export interface DestinationContext {
  config: Config;
  resolver: Resolver;
  logger: Logger;
  sts: MtaSts;
  /** Trusted CAs (PEM) for verified TLS. */
  ca: string[];
  /** The message body, or null when the message was deleted meanwhile. */
  openBody(id: string): Promise<Readable | null>;
  /** Called once per transaction (or per message given up on), synchronously, right after the reply. */
  /** Commits outcomes (fsynced); delivery goes on only once it resolves. */
  record(messageId: string, results: RecipientResult[]): Promise<void>;
  /** True once the sender is shutting down: start nothing new. */
  stopping(): boolean;
  /** Registers a live session so shutdown can drop it; returns the unregister function. */
  track(session: SmtpSession): () => void;
}

/** Recipients per transaction (RFC 5321 §4.5.3.1.8 requires servers to take at least 100). */
const MAX_RCPTS = 100;

interface Tx {
  message: DeliveryMessage;
  rcpts: DeliveryRecipient[];
}

/** For a remote that offers DSN: a transaction split so that its parts' recipients share NOTIFY
 * and ORCPT (nothing to split unless the sender asked for something per recipient). */
function splitByDsn(tx: Tx): Tx[] {
  const groups = new Map<string, DeliveryRecipient[]>();
  for (const r of tx.rcpts) {
    const key = `${(r.notify ?? []).join(',')}\n${r.orcpt ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return groups.size === 1 ? [tx] : [...groups.values()].map((rcpts) => ({ message: tx.message, rcpts }));
}

function dsnParams(tx: Tx): DsnParams | undefined {
  const m = tx.message, r = tx.rcpts[0];
  const p: DsnParams = {
    ...(m.ret ? { ret: m.ret } : {}),
    ...(m.envid ? { envid: m.envid } : {}),
    ...(r.notify ? { notify: r.notify } : {}),
    ...(r.orcpt ? { orcpt: r.orcpt } : {}),
  };
  return Object.keys(p).length ? p : undefined;
}

export async function deliverDestination(ctx: DestinationContext, domain: string, messages: DeliveryMessage[]): Promise<void> {
  const log = ctx.logger.child({ domain });
  /** The same verdict of our own for every recipient (no remote involved). */
  const all = async (reply: string) => {
    for (const m of messages) await ctx.record(m.id, m.recipients.map((r) => ({ index: r.index, address: r.address, outcome: classify(reply), reply, remoteMta: null })));
  };

  const route = await resolveRoute(ctx.resolver, domain);
  if (route.kind === 'null-mx') {
    // RFC 7505 §4.1: no attempt, no retry
    return all(localReply('556', '5.1.10', `Recipient address rejected: ${domain} accepts no mail (null MX)`));
  }
  if (route.kind === 'error') return all(route.reply);

  let sts: StsPolicy | null = null;
  try {
    sts = await ctx.sts.policyFor(domain);
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'mta-sts lookup failed');
  }
  const plan = planHosts(route.hosts, sts);
  if (plan.report && plan.excluded.length) log.warn({ excluded: plan.excluded, policy: sts?.mx }, 'mta-sts testing: MX hosts not listed in the policy (enforce would skip them)');
  if (plan.hosts.length === 0) {
    return all(localReply('451', '4.7.5', `MTA-STS policy of ${domain} lists none of its MX hosts (${plan.excluded.join(', ')})`));
  }

  const queue: Tx[] = [];
  for (const m of messages) for (let i = 0; i < m.recipients.length; i += MAX_RCPTS) queue.push({ message: m, rcpts: m.recipients.slice(i, i + MAX_RCPTS) });
  const candidates = plan.hosts.flatMap((h) => h.addresses.map((ip) => ({ host: h.name, ip })));
  const perConnection = Math.max(1, ctx.config.outbound.messagesPerConnection);
  let lastFailure = localReply('451', '4.4.1', `no MX host of ${domain} could be reached`);
  let lastRemote: string | null = null;

  for (let ci = 0; ci < candidates.length && queue.length && !ctx.stopping(); ) {
    const { host, ip } = candidates[ci];
    let session: SmtpSession;
    try {
      session = await openSession(ctx, host, ip, plan.tls);
    } catch (e) {
      const err = e as SessionError;
      // Remote-MTA only when that host said something; a failure to connect is our own finding
      lastRemote = err.reply ? `${host}[${ip}]` : null;
      lastFailure =
        plan.tls === 'verify' && err.tlsFailure
          ? localReply('451', '4.7.5', `TLS required by the MTA-STS policy of ${domain} failed: ${err.message}`)
          : localReply('451', '4.4.1', err.reply ? `host ${host}[${ip}] refused the session: ${err.reply}` : `connect failed: ${err.message}`);
      log.info({ mx: `${host}[${ip}]`, err: err.message }, 'outbound connection failed');
      ci++;
      continue;
    }
    if (plan.report) {
      const t = session.tlsInfo();
      if (!t || !t.authorized) log.warn({ mx: session.remote, tls: t }, 'mta-sts testing: no valid TLS for this MX (enforce would defer)');
    }
    if (session.dsn) queue.splice(0, queue.length, ...queue.flatMap(splitByDsn));
    const untrack = ctx.track(session);
    let sent = 0;
    let broken = false;
    try {
      while (queue.length && sent < perConnection && !ctx.stopping()) {
        const tx = queue[0];
        if (sent > 0 && !(await session.reset())) {
          broken = true;
          lastFailure = localReply('451', '4.4.2', `${session.remote}: RSET failed, connection lost`);
          break;
        }
        const body = await ctx.openBody(tx.message.id);
        if (!body) {
          queue.shift(); // deleted meanwhile (`fjord queue delete`)
          continue;
        }
        const dsnRelayed = session.dsn;
        const r = await session.send({ mailFrom: tx.message.mailFrom, rcpts: tx.rcpts.map((x) => x.address), body, size: tx.message.size, eightBit: tx.message.eightBit, dsn: dsnRelayed ? dsnParams(tx) : undefined });
        if (r.kind === 'broken') {
          broken = true;
          lastRemote = r.reply ? session.remote : null;
          lastFailure = r.reply && /^4/.test(r.reply) ? r.reply : localReply('451', '4.4.2', `lost connection with ${r.reason}${r.reply ? ` (${r.reply})` : ''}`);
          log.info({ mx: session.remote, reason: r.reason }, 'outbound transaction broken');
          break;
        }
        queue.shift();
        sent++;
        await ctx.record(
          tx.message.id,
          tx.rcpts.map((x) => {
            const reply = r.replies.get(x.address) ?? localReply('451', '4.4.2', `no reply for <${x.address}> from ${session.remote}`);
            return { index: x.index, address: x.address, outcome: classify(reply), reply, remoteMta: session.remote, dsnRelayed };
          }),
        );
      }
    } finally {
      if (broken) session.destroy();
      else session.quit();
      untrack();
    }
    // a broken session moves on to the next address; a full one reconnects to the same
    if (broken) ci++;
  }

  if (queue.length && !ctx.stopping()) {
    for (const tx of queue) {
      await ctx.record(tx.message.id, tx.rcpts.map((x) => ({ index: x.index, address: x.address, outcome: 'deferred', reply: lastFailure, remoteMta: lastRemote })));
    }
  }
}

async function openSession(ctx: DestinationContext, host: string, ip: string, tls: TlsMode): Promise<SmtpSession> {
  const o = ctx.config.outbound;
  const base = { ip, port: o.port, mxHost: host, helo: ctx.config.hostname, ca: ctx.ca, connectTimeout: o.connectTimeout, commandTimeout: o.commandTimeout, dataTimeout: o.dataTimeout };
  try {
    return await SmtpSession.open({ ...base, tls });
  } catch (e) {
    // Opportunistic TLS that fails in the handshake: plain text beats not delivering (RFC 7435).
    if (tls === 'opportunistic' && e instanceof SessionError && e.tlsFailure) {
      ctx.logger.info({ mx: `${host}[${ip}]`, err: e.message }, 'STARTTLS failed; retrying in plain text');
      return await SmtpSession.open({ ...base, tls: 'none' });
    }
    throw e;
  }
}
