import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openStore } from '../../src/store/index.js';
import { parseMessage } from '../../src/mime/index.js';
import { IndexCache } from '../../src/imap/index-cache.js';
import { tempDir } from '../helpers/system.js';

test('the shared index cache follows appends, flag changes, copies and expunges incrementally', async () => {
  const dir = tempDir();
  const store = await openStore({ dataDir: dir });
  try {
    await store.addDomain('x.test');
    const acc = await store.addAccount({ address: 'u@x.test', passwordHash: 'h' });
    const inbox = (await store.getMailbox(acc.id, 'INBOX'))!;
    const other = (await store.getMailbox(acc.id, 'Archive'))!;
    const add = async (mb: number, n: number) => {
      const raw = Buffer.from(`Subject: m${n}\r\n\r\nbody\r\n`);
      return store.append(mb, { raw, parsed: parseMessage(raw) });
    };
    for (let i = 0; i < 5; i++) await add(inbox.id, i);
    const cache = new IndexCache(store, 100);
    const same = async () => assert.deepEqual(await cache.entries(inbox.id), await store.listMessages(inbox.id));
    await same();
    await store.setFlags(inbox.id, [2, 4], 'add', ['\\Seen']);
    await same();
    await store.expunge(inbox.id, [1, 4]);
    await same();
    await add(inbox.id, 9);
    await add(other.id, 1);
    await store.copyMessages(other.id, [1], inbox.id);
    await store.setFlags(inbox.id, [3], 'replace', ['$Work']);
    await same();
    assert.deepEqual((await cache.entries(inbox.id)).map((e) => e.uid), [2, 3, 5, 6, 7]);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
