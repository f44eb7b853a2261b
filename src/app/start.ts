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
import { formatListen } from '../config/listen.js';
import { DataLock } from './data-lock.js';

export interface RunningSystem {
  config: Config;
  store: Store;
  worker: DeliveryWorker;
  /** Bound addresses of the listeners that are on. */
  addresses: { smtp: AddressInfo | null };
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

  const addresses: RunningSystem['addresses'] = { smtp: null };
  let smtp: InboundSmtp | null = null;
  try {
    if (config.listen.smtp) {
      smtp = new InboundSmtp({ config, store, spool, resolver, tls, logger: logger.child({ svc: 'smtp' }), onQueued: (id, entry) => worker.enqueue(id, entry) });
      addresses.smtp = await smtp.listen(config.listen.smtp.host, config.listen.smtp.port);
      logger.info({ listen: formatListen({ host: addresses.smtp.address, port: addresses.smtp.port }) }, 'smtp listening');
    }
  } catch (e) {
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
      await Promise.race([worker.idle(), new Promise((r) => setTimeout(r, DRAIN_ON_STOP_MS).unref())]);
      await worker.stop();
      await store.close();
      lock.release();
      logger.info('stopped');
    })());

  return { config, store, worker, addresses, stop };
}
