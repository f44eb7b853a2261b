// Entry point of a delivery thread: parsing and the store transaction run here, off the main
// thread, so the SMTP sessions never wait behind a delivery batch.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/index.js';
import { createLogger } from '../log/logger.js';
import { StoreDeliverer, type QueuedMessage } from './deliver-batch.js';

interface Init {
  dataDir: string;
  logLevel: string;
}
export type ThreadRequest = { op: 'deliver'; seq: number; entries: QueuedMessage[] } | { op: 'close'; seq: number };
export type ThreadReply = { seq: number; ok: true; result?: unknown } | { seq: number; ok: false; error: string };

const init = workerData as Init;
const logger = createLogger(init.logLevel).child({ svc: 'delivery-thread' });
// The main process's store sweeps orphan blobs at open; a delivery thread must not repeat it.
const store = await openStore({ dataDir: init.dataDir, sweepAtOpen: false });
const deliverer = new StoreDeliverer(store, logger, true);
const port = parentPort!;

port.on('message', (req: ThreadRequest) => {
  const reply = (r: ThreadReply) => port.postMessage(r);
  if (req.op === 'close') {
    void deliverer.close().then(() => {
      reply({ seq: req.seq, ok: true });
      port.close();
    });
    return;
  }
  // Structured clone turns Buffers into Uint8Arrays; view them as Buffers again without copying.
  const entries = req.entries.map((e) => ({ ...e, body: Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength) }));
  deliverer.deliver(entries).then(
    (result) => reply({ seq: req.seq, ok: true, result }),
    (e: Error) => reply({ seq: req.seq, ok: false, error: e.message }),
  );
});
port.postMessage({ seq: 0, ok: true });
