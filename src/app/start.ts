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
import { DeliveryWorker } from '../delivery/worker.js';
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
import { ContentFilter } from '../filter/verdict.js';
import { JunkFeedback } from '../filter/feedback.js';

export interface RunningSystem {
  config: Config;
  store: Store;
  worker: DeliveryWorker;
  /** Bound addresses of the listeners that are on. */
  addresses: { smtp: AddressInfo | null; imap: AddressInfo | null; imaps: AddressInfo | null; pop3: AddressInfo | null; pop3s: AddressInfo | null };
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
  });

  const addresses: RunningSystem['addresses'] = { smtp: null, imap: null, imaps: null, pop3: null, pop3s: null };
  let smtp: InboundSmtp | null = null;
  let imap: ImapServer | null = null;
  let pop3: Pop3Server | null = null;
  const junkListeners = new Set<(r: JunkReport) => void>();
  const junkLog = logger.child({ svc: 'junk' });
  // The spam filter: its token databases live in the store (global + per account).
  const spamLog = logger.child({ svc: 'spam' });
  const content = new ContentFilter(store);
  const filter = config.spam.enabled ? new InboundFilter(config, store, resolver, content, spamLog) : null;
  const feedback = filter ? new JunkFeedback(store, content, filter.reputation, junkLog) : null;
  if (feedback) junkListeners.add((r) => feedback.report(r));
  const purgeQuarantine = () =>
    store.purgeQuarantine(new Date()).then(
      (n) => n && spamLog.info({ removed: n }, 'expired quarantine entries removed'),
      (e) => spamLog.warn({ err: (e as Error).message }, 'quarantine purge failed'),
    );
  const purgeTimer = setInterval(() => void purgeQuarantine(), 3600_000);
  purgeTimer.unref();
  const passwords = new PasswordVerifier();
  try {
    if (config.listen.smtp) {
      smtp = new InboundSmtp({ config, store, spool, resolver, tls, filter, logger: logger.child({ svc: 'smtp' }), onQueued: (id, entry) => worker.enqueue(id, entry) });
      addresses.smtp = await smtp.listen(config.listen.smtp.host, config.listen.smtp.port);
      logger.info({ listen: formatListen({ host: addresses.smtp.address, port: addresses.smtp.port }) }, 'smtp listening');
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
    if (imap) await imap.close();
    if (pop3) await pop3.close();
    await worker.stop();
    await store.close();
    lock.release();
    throw e;
  }
  // Listeners first, then the backlog: a server that cannot bind must not start delivering.
  worker.start();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      if (smtp) await smtp.close();
      if (imap) await imap.close();
      if (pop3) await pop3.close();
      await Promise.race([worker.idle(), new Promise((r) => setTimeout(r, DRAIN_ON_STOP_MS).unref())]);
      await worker.stop();
      clearInterval(purgeTimer);
      if (feedback) await feedback.idle();
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
  return { config, store, worker, addresses, stop, onJunkReport, spamFeedbackIdle };
}
