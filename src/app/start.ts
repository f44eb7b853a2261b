// The one place that wires services together: config → store → spool → delivery worker →
// listeners. `fjord serve` and the tests start the system through here.
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/types.js';
import { openStore } from '../store/index.js';
import { createResolver } from '../dns/resolver.js';
import { loadTls } from '../tls/certificate.js';
import { Spool } from '../queue/spool.js';
import { DeliveryWorker, PARKED } from '../delivery/worker.js';
import { StoreDeliverer, type BatchDeliverer } from '../delivery/deliver-batch.js';
import { ThreadPoolDeliverer } from '../delivery/thread-pool-deliverer.js';
import type { InboundMeta } from '../delivery/inbound-meta.js';
import { InboundSmtp } from '../smtp/inbound/server.js';
import { ImapServer } from '../imap/server.js';
import { Pop3Server } from '../pop3/server.js';
import { PasswordVerifier } from '../auth/verifier.js';
import type { JunkReport } from '../imap/junk-events.js';
import { formatListen } from '../config/listen.js';
import { DataLock } from './data-lock.js';
import { InboundFilter } from '../filter/inbound.js';
import { AnalysisPool } from '../filter/analysis/pool.js';
import { CachedTokenDb, DEFAULT_TOKEN_CACHE } from '../filter/bayes/token-cache.js';
import { TokenExpiry } from '../filter/bayes/expiry.js';
import { reportHorizon } from '../filter/reputation/reputation.js';
import { ContentFilter } from '../filter/verdict.js';
import { JunkFeedback } from '../filter/feedback.js';
import { SubmissionSmtp } from '../smtp/submission/server.js';
import { OutboundQueue } from '../smtp/outbound/queue.js';
import { OutboundSender } from '../smtp/outbound/sender.js';
import { SendingLimiter } from '../limits/sending/guard.js';
import { parseFeedbackReport } from '../limits/sending/arf.js';
import { signingKeys } from '../dkim/keys.js';
import { signMessage } from '../dkim/sign.js';
import { newSpoolId } from '../queue/spool.js';
import { resolveRecipient } from '../routing/resolve.js';
import { DEFAULT_LOGISTIC_POINTS } from '../filter/bayes/logistic.js';

export interface RunningSystem {
  config: Config;
  store: Store;
  worker: DeliveryWorker;
  /** Bound addresses of the listeners that are on. */
  addresses: {
    smtp: AddressInfo | null; imap: AddressInfo | null; imaps: AddressInfo | null; pop3: AddressInfo | null; pop3s: AddressInfo | null;
    submission: AddressInfo | null; submissions: AddressInfo | null;
  };
  /** Mail waiting to go to other servers, and what sends it. */
  outbound: OutboundQueue;
  outboundSender: OutboundSender;
  /** Per-account sending limits (bounces and complaints are reported here). */
  sending: SendingLimiter;
  /** "User says spam / not spam" reports from IMAP (the spam filter subscribes here). */
  onJunkReport(listener: (r: JunkReport) => void): () => void;
  /** Resolves when every user junk report so far has trained the filter and been recorded. */
  spamFeedbackIdle(): Promise<void>;
  /** Graceful stop: stop accepting, finish transactions, deliver what is queued (bounded), close. */
  stop(): Promise<void>;
}

const DRAIN_ON_STOP_MS = 10_000;

export async function startSystem(config: Config, logger: Logger): Promise<RunningSystem> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = DataLock.acquire(config.dataDir);
  const store = await openStore({ dataDir: config.dataDir }).catch((e) => {
    lock.release();
    throw e;
  });
  const resolver = createResolver(config.dns);
  const tls = await loadTls(config);
  const spool = new Spool<InboundMeta>(path.join(config.dataDir, 'queue', 'inbound'));
  const deliveryLog = logger.child({ svc: 'delivery' });
  let deliverer: BatchDeliverer;
  if (config.delivery.threads > 0) {
    const threaded = new ThreadPoolDeliverer(config.delivery.threads, config.dataDir, config.log.level, (reason) =>
      deliveryLog.error({ reason }, 'delivery thread died; starting a new one'),
    );
    await threaded.started();
    deliverer = threaded;
  } else {
    deliverer = new StoreDeliverer(store, deliveryLog);
  }
  const worker = new DeliveryWorker(deliverer, spool, deliveryLog, {
    batchSize: config.delivery.batchSize,
    inFlight: Math.max(2, config.delivery.threads),
    // commits made on the delivery thread's own connection wake this process's watchers at once
    onDelivered: config.delivery.threads > 0 ? () => store.poke() : undefined,
    // A submission's local copy is delivered only once its remote half was queued (the outbound
    // queue is opened below, before the worker starts).
    localCopies: { committed: (id) => outbound.hasLocalCopy(id), delivered: (id) => outbound.forgetLocalCopy(id) },
  });

  const addresses: RunningSystem['addresses'] = { smtp: null, imap: null, imaps: null, pop3: null, pop3s: null, submission: null, submissions: null };
  let smtp: InboundSmtp | null = null;
  const submissions: SubmissionSmtp[] = [];
  let imap: ImapServer | null = null;
  let pop3: Pop3Server | null = null;
  const junkListeners = new Set<(r: JunkReport) => void>();
  const junkLog = logger.child({ svc: 'junk' });
  // The spam filter: its token databases live in the store (global + per account); the global
  // one is also held in memory, following the store's version of it.
  const spamLog = logger.child({ svc: 'spam' });
  // The copy holds twice the global limit: the database may outgrow it between expiries.
  const content = new ContentFilter(new CachedTokenDb(store, { maxTokens: Math.max(DEFAULT_TOKEN_CACHE.maxTokens, 2 * config.spam.bayes.maxGlobalTokens) }),
    { logistic: { ...DEFAULT_LOGISTIC_POINTS, scale: config.spam.bayes.logisticScale } });
  // Parsing, rules and tokens on threads of their own, each message with a deadline.
  const analysis = config.spam.enabled && config.spam.analysis.threads > 0
    ? new AnalysisPool({ threads: config.spam.analysis.threads, timeoutMs: config.spam.analysis.timeoutMs, logger: spamLog })
    : null;
  const filter = config.spam.enabled ? new InboundFilter(config, store, resolver, content, spamLog, analysis) : null;
  const feedback = filter ? new JunkFeedback(store, content, filter.reputation, junkLog) : null;
  if (feedback) junkListeners.add((r) => feedback.report(r));
  const tokenExpiry = new TokenExpiry(store, { global: config.spam.bayes.maxGlobalTokens, account: config.spam.bayes.maxAccountTokens });
  // Hourly upkeep of the filter's state: expired quarantine entries, reports that no longer
  // count, oversized token databases.
  const spamUpkeep = async () => {
    await store.purgeQuarantine(new Date()).then(
      (n) => n && spamLog.info({ removed: n }, 'expired quarantine entries removed'),
      (e) => spamLog.warn({ err: (e as Error).message }, 'quarantine purge failed'),
    );
    await store.purgeSpamReports(reportHorizon(config.spam.reputation, Date.now())).then(
      (n) => n && spamLog.info({ removed: n }, 'spam reports past their weight removed'),
      (e) => spamLog.warn({ err: (e as Error).message }, 'report purge failed'),
    );
    await tokenExpiry.run(upkeepStop.signal).then(
      (r) => {
        for (const x of r) {
          if (x.error !== undefined) spamLog.warn({ scope: x.scope, err: x.error }, 'token expiry failed');
          else spamLog.info(x, 'token database over its limit: tokens not trained for longest dropped');
        }
      },
      (e) => spamLog.warn({ err: (e as Error).message }, 'token expiry failed'),
    );
  };
  // Shutdown does not wait for an expiry of millions of tokens: it stops between batches.
  const upkeepStop = new AbortController();
  let upkeep: Promise<void> | null = null;
  const runUpkeep = () => { upkeep ??= spamUpkeep().finally(() => { upkeep = null; }); };
  const purgeTimer = setInterval(runUpkeep, 3600_000);
  purgeTimer.unref();
  const passwords = new PasswordVerifier();

  // Mail we make or our users submit to local accounts goes through the inbound spool like any
  // other: durable before the caller's 250, delivered by the same worker.
  const stageLocal = async (meta: InboundMeta, body: Buffer) => {
    const id = newSpoolId();
    // Held from before the write: a worker starting meanwhile must not deliver a copy that may
    // yet be withdrawn.
    worker.hold(id);
    try {
      await spool.put(meta, body, id);
    } catch (e) {
      worker.release(id);
      throw e;
    }
    return { id, start: () => worker.enqueue(id, { meta, body }), cancel: async () => { await spool.remove(id); worker.release(id); } };
  };
  const deliverLocal = async (meta: InboundMeta, body: Buffer) => (await stageLocal(meta, body)).start();
  /** System mail (DSNs, admin notices) to one local address; throws when it is not local. */
  const deliverSystemMail = async (to: string, raw: Buffer) => {
    const r = await resolveRecipient(store, to);
    if (r.kind !== 'local') throw new Error(`${to} is not a local address`);
    await deliverLocal({ v: 1, receivedAt: Date.now(), mailFrom: '', recipients: r.accounts.map((account) => ({ rcpt: to, account })), client: { ip: '127.0.0.1', helo: config.hostname } },
      Buffer.concat([Buffer.from('Return-Path: <>\r\n'), raw]));
  };
  const sendingLog = logger.child({ svc: 'sending' });
  const sending = new SendingLimiter(store, config, sendingLog, deliverSystemMail);
  const outbound = OutboundQueue.open(config.dataDir);
  const outboundSender = new OutboundSender({
    queue: outbound, config, resolver, logger: logger.child({ svc: 'outbound' }),
    // DSNs and delay warnings go to the (local) sender's mailbox; never to anyone else.
    deliverLocal: deliverSystemMail,
    isLocal: async (a) => (await resolveRecipient(store, a)).kind === 'local',
    // Remote refusals count against the sending account (bounce rate is a bulk signal).
    onResult: (r) => {
      if (r.status === 'failed' && r.accountId !== null) void sending.bounced(r.accountId, r.rcpt).catch((e: Error) => sendingLog.warn({ err: e.message }, 'bounce not counted'));
    },
  });
  // Complaints (ARF) arriving at an abuse address count against the account that sent the
  // original: `sending.abuse` if set, else abuse@ of any local domain (RFC 2142). The recipient
  // was accepted, so its domain is local.
  const isAbuse = (rcpt: string) => {
    const a = rcpt.toLowerCase();
    return config.sending.abuse ? a === config.sending.abuse.toLowerCase() : a.startsWith('abuse@');
  };
  const watchComplaints = (meta: InboundMeta, body: Buffer) => {
    if (!meta.recipients.some((r) => isAbuse(r.rcpt))) return;
    void (async () => {
      const report = parseFeedbackReport(body);
      if (!report?.messageId || report.feedbackType === 'not-spam') return;
      const sent = await store.findSentMessage(report.messageId);
      if (!sent) return;
      sendingLog.info({ accountId: sent.accountId, messageId: report.messageId, type: report.feedbackType }, 'complaint received');
      await sending.complaint(sent.accountId, report.messageId);
    })().catch((e: Error) => sendingLog.warn({ err: e.message }, 'complaint report not processed'));
  };
  const sign = async (raw: Buffer, domain: string) => {
    if (!(await store.getDomain(domain))) return '';
    return (await signMessage(raw, domain, await signingKeys(store, domain))).toString('latin1');
  };
  try {
    if (config.listen.smtp) {
      smtp = new InboundSmtp({
        config, store, spool, resolver, tls, filter, logger: logger.child({ svc: 'smtp' }),
        onQueued: (id, entry) => {
          worker.enqueue(id, entry);
          watchComplaints(entry.meta, entry.body);
        },
      });
      addresses.smtp = await smtp.listen(config.listen.smtp.host, config.listen.smtp.port);
      logger.info({ listen: formatListen({ host: addresses.smtp.address, port: addresses.smtp.port }) }, 'smtp listening');
    }
    for (const [key, implicit] of [['submission', false], ['submissions', true]] as const) {
      const l = config.listen[key];
      if (!l) continue;
      const server = new SubmissionSmtp({
        config, store, tls, passwords, logger: logger.child({ svc: key }), stageLocal,
        enqueueRemote: async (env, body) => {
          const id = await outbound.enqueue(env, body);
          outboundSender.kick();
          return id;
        },
        sign,
        identities: (a) => store.listSendingIdentities(a.id),
        guard: sending,
      }, implicit);
      submissions.push(server);
      addresses[key] = await server.listen(l.host, l.port);
      logger.info({ listen: formatListen({ host: addresses[key]!.address, port: addresses[key]!.port }) }, `${key} listening`);
    }
    if (config.listen.imap || config.listen.imaps) {
      imap = new ImapServer({
        config, store, tls, passwords, logger: logger.child({ svc: 'imap' }),
        junk: (r) => {
          junkLog.info({ account: r.accountId, verdict: r.verdict, via: r.via, mailbox: r.mailboxId, uid: r.uid }, 'user junk report');
          for (const l of junkListeners) l(r);
        },
      });
      if (config.listen.imap) {
        addresses.imap = await imap.listen(config.listen.imap.host, config.listen.imap.port, false);
        logger.info({ listen: formatListen({ host: addresses.imap.address, port: addresses.imap.port }) }, 'imap listening');
      }
      if (config.listen.imaps) {
        addresses.imaps = await imap.listen(config.listen.imaps.host, config.listen.imaps.port, true);
        logger.info({ listen: formatListen({ host: addresses.imaps.address, port: addresses.imaps.port }) }, 'imaps listening');
      }
    }
    if (config.listen.pop3 || config.listen.pop3s) {
      pop3 = new Pop3Server({ config, store, tls, passwords, logger: logger.child({ svc: 'pop3' }) });
      for (const [key, implicit] of [['pop3', false], ['pop3s', true]] as const) {
        const l = config.listen[key];
        if (!l) continue;
        const a = await pop3.listen(l.host, l.port, implicit);
        addresses[key] = a;
        logger.info({ listen: formatListen({ host: a.address, port: a.port }) }, `${key} listening`);
      }
    }
  } catch (e) {
    clearInterval(purgeTimer);
    if (smtp) await smtp.close();
    for (const sub of submissions) await sub.close();
    await outboundSender.stop();
    if (imap) await imap.close();
    if (pop3) await pop3.close();
    await worker.stop();
    outbound.close(); // after the worker: it asks the queue about local copies
    await analysis?.close();
    await store.close();
    lock.release();
    throw e;
  }
  // Listeners first, then the backlog: a server that cannot bind must not start delivering.
  worker.start();
  // Marks of copies the spool no longer holds go; not those parked in queue/failed, which an
  // operator may put back.
  const recovered = new Set(spool.recover());
  const pruned = outbound.pruneLocalCopies((id) => recovered.has(id) || spool.isParked(id, PARKED));
  if (pruned > 0) deliveryLog.info({ pruned }, 'marks of local copies delivered before a crash removed');
  outboundSender.start();
  // Also at start: a server restarted more often than hourly still does its upkeep.
  runUpkeep();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      if (smtp) await smtp.close();
      for (const sub of submissions) await sub.close();
      // Before the delivery worker drains: the sender may still hand it DSNs.
      await outboundSender.stop();
      if (imap) await imap.close();
      if (pop3) await pop3.close();
      await Promise.race([worker.idle(), new Promise((r) => setTimeout(r, DRAIN_ON_STOP_MS).unref())]);
      await worker.stop();
      clearInterval(purgeTimer);
      upkeepStop.abort();
      await upkeep;
      if (feedback) await feedback.idle();
      outbound.close();
      await analysis?.close();
      await store.close();
      lock.release();
      logger.info('stopped');
    })());

  const onJunkReport = (l: (r: JunkReport) => void) => {
    junkListeners.add(l);
    return () => junkListeners.delete(l);
  };
  const spamFeedbackIdle = async () => {
    if (feedback) await feedback.idle();
  };
  return { config, store, worker, addresses, outbound, outboundSender, sending, stop, onJunkReport, spamFeedbackIdle };
}
