// Review: changes committed while a command is between two store reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTestSystem, type TestSystem } from '../helpers/system.js';
import { ImapTalk } from '../helpers/imap-client.js';
import { parseMessage } from '../../src/mime/index.js';
import type { Store } from '../../src/store/types.js';

const USER = 'u@x.test';

function msg(n: number): Buffer {
  return Buffer.from(`From: a${n}@b.test\r\nTo: ${USER}\r\nSubject: message ${n}\r\nMessage-ID: <m${n}@b.test>\r\n\r\nbody ${n}\r\n`);
}

async function inbox(sys: TestSystem): Promise<number> {
  const account = (await sys.system.store.getAccount(USER))!;
  return (await sys.system.store.getMailbox(account.id, 'INBOX'))!.id;
}

async function appendTo(store: Store, mailboxId: number, n: number): Promise<number> {
  const raw = msg(n);
  return (await store.append(mailboxId, { raw, parsed: parseMessage(raw) })).uid;
}

const withSystem = (fn: (sys: TestSystem) => Promise<void>) => withTestSystem([USER], fn);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a message delivered while SELECT reads the mailbox is announced at the next NOOP', async () => {
  await withSystem(async (sys) => {
    const store = sys.system.store;
    const mb = await inbox(sys);
    await appendTo(store, mb, 1);
    const c = await ImapTalk.connect(sys.imapPort);
    assert.equal((await c.login(USER)).status, 'OK');
    // Another session delivers a message right after SELECT has read the UID list (the
    // commit lands between SELECT's store reads; its notification is delivered at once).
    const orig = store.listUids.bind(store);
    let hooked = false;
    store.listUids = async (id: number) => {
      const uids = await orig(id);
      if (!hooked && id === mb) {
        hooked = true;
        await appendTo(store, mb, 2);
        await sleep(50);
      }
      return uids;
    };
    const sel = await c.cmd('SELECT INBOX');
    assert.equal(sel.status, 'OK');
    assert.ok(hooked, 'hook ran');
    assert.ok(sel.lines.includes('* 1 EXISTS'), sel.lines.join('\n'));
    // The message exists in the store; the session must tell the client about it by now
    // (already in the SELECT response, or at the latest at the next NOOP).
    const r = await c.cmd('NOOP');
    assert.ok(sel.lines.includes('* 2 EXISTS') || r.lines.includes('* 2 EXISTS'), `the new message was not announced: ${JSON.stringify([...sel.lines, ...r.lines])}`);
    c.close();
  });
});

test('SELECT never reports a UIDNEXT at or below a UID it counts in EXISTS', async () => {
  await withSystem(async (sys) => {
    const store = sys.system.store;
    const mb = await inbox(sys);
    await appendTo(store, mb, 1);
    const c = await ImapTalk.connect(sys.imapPort);
    assert.equal((await c.login(USER)).status, 'OK');
    // A delivery commits after SELECT read the mailbox record but before it read the UIDs.
    const orig = store.listUids.bind(store);
    let hooked = false;
    store.listUids = async (id: number) => {
      if (!hooked && id === mb) {
        hooked = true;
        await appendTo(store, mb, 2);
      }
      return orig(id);
    };
    const sel = await c.cmd('SELECT INBOX');
    assert.equal(sel.status, 'OK');
    const exists = Number(/^\* (\d+) EXISTS$/.exec(sel.lines.find((l) => / EXISTS$/.test(l))!)![1]);
    const uidNext = Number(/UIDNEXT (\d+)/.exec(sel.lines.find((l) => /UIDNEXT/.test(l))!)![1]);
    const f = await c.cmd(`FETCH ${exists} (UID)`);
    const lastUid = Number(/UID (\d+)/.exec(f.lines[0]!)![1]);
    assert.ok(uidNext > lastUid, `SELECT said ${exists} EXISTS and UIDNEXT ${uidNext}, but message ${exists} has UID ${lastUid}`);
    c.close();
  });
});

test('IDLE: a change committed while IDLE sends its first updates is not lost', async () => {
  await withSystem(async (sys) => {
    const store = sys.system.store;
    const mb = await inbox(sys);
    await appendTo(store, mb, 1);
    const c = await ImapTalk.connect(sys.imapPort);
    assert.equal((await c.login(USER)).status, 'OK');
    assert.equal((await c.cmd('SELECT INBOX')).status, 'OK');
    // Make the view dirty so IDLE's first announce reads the feed, and land a delivery
    // right after that read (before IDLE starts listening for changes).
    await appendTo(store, mb, 2);
    await sleep(20);
    const orig = store.changesSince.bind(store);
    let hooked = false;
    store.changesSince = async (accountId: number | null, after: number, limit?: number) => {
      const rows = await orig(accountId, after, limit);
      if (!hooked) {
        hooked = true;
        await appendTo(store, mb, 3);
      }
      return rows;
    };
    c.write('i1 IDLE\r\n');
    const lines: string[] = [];
    const deadline = Date.now() + 3000;
    while (!lines.includes('* 3 EXISTS') && Date.now() < deadline) {
      try {
        lines.push(await c.line(Math.max(1, deadline - Date.now())));
      } catch {
        break;
      }
    }
    assert.ok(hooked, 'hook ran');
    const duringIdle = [...lines];
    c.write('DONE\r\n');
    const done = await c.until('i1');
    // RFC 2177: the idling client is told about new messages as they arrive, not after DONE.
    assert.ok(duringIdle.includes('* 3 EXISTS'),
      `message 3 was not announced during 3 s of IDLE; during: ${JSON.stringify(duringIdle)}, after DONE: ${JSON.stringify(done.lines)}`);
    c.close();
  });
});
