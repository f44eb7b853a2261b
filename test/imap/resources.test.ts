// Review: memory bounds against slow or hostile clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { withTestSystem, type TestSystem } from '../helpers/system.js';
import { ImapTalk } from '../helpers/imap-client.js';
import { parseMessage } from '../../src/mime/index.js';

const USER = 'u@x.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const withSystem = (fn: (sys: TestSystem) => Promise<void>) => withTestSystem([USER], fn);

/** The server side of a client connection (same process). */
function serverSocketOf(client: net.Socket): net.Socket {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const s = handles.find((h): h is net.Socket => h instanceof net.Socket && h.remotePort === client.localPort && h.localPort === client.remotePort);
  assert.ok(s, 'server socket found');
  return s;
}

test('IDLE: output to a client that stopped reading stays bounded', async () => {
  await withSystem(async (sys) => {
    const store = sys.system.store;
    const account = (await store.getAccount(USER))!;
    const mb = (await store.getMailbox(account.id, 'INBOX'))!;
    const N = 2000;
    const uids: number[] = [];
    for (let i = 1; i <= N; i++) {
      const raw = Buffer.from(`From: a@b.test\r\nSubject: m${i}\r\n\r\nbody\r\n`);
      uids.push((await store.append(mb.id, { raw, parsed: parseMessage(raw) })).uid);
    }
    const c = await ImapTalk.connect(sys.imapPort);
    assert.equal((await c.login(USER)).status, 'OK');
    assert.equal((await c.cmd('SELECT INBOX')).status, 'OK');
    c.write('i1 IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    const server = serverSocketOf(c.socket);
    c.socket.pause(); // the client stops reading (e.g. its network stalled)
    // Meanwhile the user's other device flips a flag on every message, again and again.
    let maxBacklog = 0;
    for (let round = 0; round < 400; round++) {
      await store.setFlags(mb.id, uids, round % 2 === 0 ? 'add' : 'remove', ['\\Flagged']);
      await sleep(2);
      maxBacklog = Math.max(maxBacklog, server.writableLength);
      if (maxBacklog > 12 * 1024 * 1024) break;
    }
    // session.ts bounds output at 1 MB (MAX_PENDING_OUTPUT) for every other command; flag
    // state is re-read from the store, so holding back loses nothing.
    assert.ok(maxBacklog <= 8 * 1024 * 1024, `server buffered ${(maxBacklog / 1048576).toFixed(1)} MB for a client that is not reading`);
    c.close();
  });
});

test('before authentication a client cannot make the server accept a huge literal', async () => {
  await withSystem(async (sys) => {
    const c = await ImapTalk.connect(sys.imapPort);
    // Not logged in: the only literals that make sense are user names and passwords.
    c.write('a1 LOGIN {40000000}\r\n');
    const reply = await c.line();
    assert.ok(!reply.startsWith('+'), `unauthenticated client invited to send a 40 MB literal: ${reply}`);
    c.close();
  });
});
