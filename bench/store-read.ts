// Store read throughput: opening a mailbox index, fetching message records, reading blobs.
import fs from 'node:fs';
import { tempDir } from '../test/helpers/system.js';
import { openStore } from '../src/store/index.js';
import { parseMessage } from '../src/mime/index.js';
import { makeMessage } from '../test/helpers/smtp-client.js';
import type { DeliveryItem } from '../src/store/types.js';

export interface StoreReadResult {
  messages: number;
  listIndexMs: number;
  recordsPerSec: number;
  blobsPerSec: number;
  blobMBPerSec: number;
}

export async function benchStoreRead(count = 20_000): Promise<StoreReadResult> {
  const data = tempDir('fjord-bench-read-');
  const store = await openStore({ dataDir: data });
  await store.addDomain('read.test');
  const account = await store.addAccount({ address: 'reader@read.test', passwordHash: 'x' });
  const BATCH = 500;
  for (let i = 0; i < count; i += BATCH) {
    const items: DeliveryItem[] = [];
    for (let k = i; k < Math.min(count, i + BATCH); k++) {
      const raw = makeMessage({ to: 'reader@read.test', subject: `message ${k}`, size: 2000 + (k % 7) * 3000, messageId: `r${k}@read.test` });
      items.push({ deliveryKey: `read-${k}`, accountId: account.id, raw, parsed: parseMessage(raw) });
    }
    await store.deliver(items);
  }
  const box = (await store.getMailbox(account.id, 'INBOX'))!;
  let t = performance.now();
  const index = await store.listMessages(box.id);
  const listIndexMs = performance.now() - t;
  t = performance.now();
  const uids = index.map((m) => m.uid);
  const records = [];
  for (let i = 0; i < uids.length; i += 200) records.push(...(await store.getMessages(box.id, uids.slice(i, i + 200))));
  const recordsPerSec = records.length / ((performance.now() - t) / 1000);
  t = performance.now();
  let bytes = 0;
  const sample = records.slice(0, 5000);
  for (const r of sample) bytes += (await store.readBlob(r.blobId)).length;
  const secs = (performance.now() - t) / 1000;
  await store.close();
  fs.rmSync(data, { recursive: true, force: true });
  return {
    messages: index.length,
    listIndexMs: +listIndexMs.toFixed(1),
    recordsPerSec: Math.round(recordsPerSec),
    blobsPerSec: Math.round(sample.length / secs),
    blobMBPerSec: +(bytes / 1e6 / secs).toFixed(1),
  };
}
