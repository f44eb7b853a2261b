// Every message of both shared corpora goes through the delivery path (parse once, store) and
// comes back byte for byte, with the tree and decoded fields the parser produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SPAM_CORPUS, MIME_CONFORMANCE, listEml } from '../helpers/paths.js';
import { tempDir } from '../helpers/system.js';
import { openStore } from '../../src/store/index.js';
import { parseMessage } from '../../src/mime/index.js';
import { prependHeader } from '../../src/delivery/prepend.js';
import type { DeliveryItem, MimePart } from '../../src/store/types.js';

function* walk(p: MimePart): Generator<MimePart> {
  yield p;
  for (const c of p.parts ?? []) yield* walk(c);
  if (p.message) yield* walk(p.message.part);
}

test('both corpora: stored byte-exact, tree and fields intact', { timeout: 300_000 }, async () => {
  const files = [...listEml(SPAM_CORPUS), ...listEml(MIME_CONFORMANCE)];
  assert.ok(files.length > 6000, `corpora found (${files.length} files)`);
  const data = tempDir();
  const store = await openStore({ dataDir: data });
  try {
    await store.addDomain('corpus.test');
    const account = await store.addAccount({ address: 'corpus@corpus.test', passwordHash: 'x' });
    const BATCH = 200;
    const expected = new Map<number, { raw: Buffer; subject: string; tree: MimePart }>();
    for (let i = 0; i < files.length; i += BATCH) {
      const items: DeliveryItem[] = [];
      for (const file of files.slice(i, i + BATCH)) {
        // an mbox "From " separator is not part of the message (no MTA would deliver it)
        let original = fs.readFileSync(file);
        if (original.subarray(0, 5).toString() === 'From ') original = original.subarray(original.indexOf(10) + 1);
        // the delivery worker's path: parse once, then prefix the per-recipient header
        // (every other message also gets spam-filter fields inserted after its first header line,
        // where the MX puts them after its trace fields)
        const parsed = parseMessage(original);
        let at = original.indexOf(10) + 1;
        while (at > 0 && (original[at] === 0x20 || original[at] === 0x09)) at = original.indexOf(10, at) + 1; // not inside a folded field
        const insert = items.length % 2 && at > 0 && at <= parsed.tree.bodyStart ? { at, text: 'X-Spam-Status: No, score=0.1\r\nX-Spam-Score: 0.1\r\n' } : undefined;
        const copy = prependHeader(original, parsed, 'Delivered-To: corpus@corpus.test\r\n', insert);
        items.push({ deliveryKey: file, accountId: account.id, raw: copy.raw, parsed: copy.parsed });
      }
      const outcomes = await store.deliver(items);
      outcomes.forEach((o, k) => {
        assert.equal(o.status, 'delivered', files[i + k]);
        if (o.status === 'delivered') expected.set(o.uid, { raw: items[k].raw, subject: items[k].parsed.subject, tree: items[k].parsed.tree });
      });
    }
    const box = (await store.getMailbox(account.id, 'INBOX'))!;
    assert.equal(box.messages, files.length);
    const uids = (await store.listMessages(box.id)).map((m) => m.uid);
    for (let i = 0; i < uids.length; i += 500) {
      for (const rec of await store.getMessages(box.id, uids.slice(i, i + 500))) {
        const want = expected.get(rec.uid)!;
        const raw = await store.readBlob(rec.blobId);
        assert.ok(raw.equals(want.raw), `uid ${rec.uid}: stored bytes equal the delivered bytes`);
        assert.equal(rec.size, raw.length);
        assert.equal(rec.subject, want.subject);
        assert.deepEqual(rec.tree, want.tree, `uid ${rec.uid}: tree survives storage`);
        // the shifted tree still addresses the original bytes: every part's body is where the parser saw it
        for (const part of walk(rec.tree)) {
          assert.ok(part.headerStart <= part.bodyStart && part.bodyStart <= part.bodyEnd && part.bodyEnd <= raw.length);
        }
        const parsedAgain = parseMessage(raw);
        assert.deepEqual(parsedAgain.tree, rec.tree, `uid ${rec.uid}: shifting the tree equals parsing the stored bytes`);
      }
    }
    // the full-text index answers a word from a known message
    const probe = [...expected.entries()].find(([, v]) => /^[A-Za-z]{6,}\b/.test(v.subject))!;
    const word = /^[A-Za-z]{6,}/.exec(probe[1].subject)![0];
    assert.ok((await store.searchText(box.id, word)).includes(probe[0]), `search for "${word}" finds uid ${probe[0]}`);
  } finally {
    await store.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
});
