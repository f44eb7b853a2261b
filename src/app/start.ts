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
import type { InboundMeta } from '../delivery/inbound-meta.js';
import { InboundSmtp } from '../smtp/inbound/server.js';
import { formatListen } from '../config/listen.js';

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
  const store = await openStore({ dataDir: config.dataDir });
  const resolver = createResolver(config.dns);
  const tls = await loadTls(config);
  const spool = new Spool<InboundMeta>(path.join(config.dataDir, 'queue', 'inbound'));
  const worker = new DeliveryWorker(store, spool, logger.child({ svc: 'delivery' }), { batchSize: config.delivery.batchSize });
  worker.start();

  const addresses: RunningSystem['addresses'] = { smtp: null };
  let smtp: InboundSmtp | null = null;
  try {
    if (config.listen.smtp) {
      smtp = new InboundSmtp({ config, store, spool, resolver, tls, logger: logger.child({ svc: 'smtp' }), onQueued: (id) => worker.enqueue(id) });
      addresses.smtp = await smtp.listen(config.listen.smtp.host, config.listen.smtp.port);
      logger.info({ listen: formatListen({ host: addresses.smtp.address, port: addresses.smtp.port }) }, 'smtp listening');
    }
  } catch (e) {
    await worker.stop();
    await store.close();
    throw e;
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      if (smtp) await smtp.close();
      await Promise.race([worker.idle(), new Promise((r) => setTimeout(r, DRAIN_ON_STOP_MS).unref())]);
      await worker.stop();
      await store.close();
      logger.info('stopped');
    })());

  return { config, store, worker, addresses, stop };
}
