// Crash safety: while 20 clients deliver, the server is SIGKILLed at a random moment and
// restarted. Every message that got a 250 must be in its mailbox exactly once, and nothing
// half-written may be visible (no temp files, every stored message complete and parseable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runCli, tempDir, spawnServer } from '../helpers/system.js';
import { SmtpTalk, makeMessage } from '../helpers/smtp-client.js';
import { openStore } from '../../src/store/index.js';
import { parseMessage } from '../../src/mime/index.js';

const CLIENTS = 20;
const ROUNDS = 3;
const ACCOUNTS = ['a@crash.test', 'b@crash.test', 'c@crash.test'];

async function client(port: number, n: number, acked: Map<string, string>, stopAt: { done: boolean }): Promise<void> {
  let c: SmtpTalk;
  try {
    c = await SmtpTalk.connect(port);
    if ((await c.read()).code !== 220) return;
    if ((await c.cmd('EHLO load.example.net')).code !== 250) return;
  } catch {
    return;
  }
  for (let i = 0; !stopAt.done; i++) {
    const to = ACCOUNTS[(n + i) % ACCOUNTS.length];
    const id = `${Date.now()}.${n}.${i}.${Math.random().toString(36).slice(2)}@load.example.net`;
    const size = [2_000, 20_000, 200_000][i % 3];
    if ((await c.cmd('MAIL FROM:<load@example.net>')).code !== 250) break;
    if ((await c.cmd(`RCPT TO:<${to}>`)).code !== 250) break;
    const r = await c.data(makeMessage({ to, subject: `crash ${n}/${i}`, size, messageId: id }));
    if (r.code === 250) acked.set(id, to);
    else break;
  }
  c.close();
}

test('SIGKILL during 20-client delivery loses no acknowledged message and duplicates none', { timeout: 240_000 }, async () => {
  const data = tempDir();
  try {
    assert.equal((await runCli(['domain', 'add', 'crash.test', '--data', data])).code, 0);
    for (const a of ACCOUNTS) assert.equal((await runCli(['account', 'add', a, '--password', 'x', '--data', data])).code, 0);
    const acked = new Map<string, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const server = await spawnServer(data);
      const stop = { done: false };
      const clients = Array.from({ length: CLIENTS }, (_, n) => client(server.smtpPort, n + round * CLIENTS, acked, stop));
      // Kill at a random moment once this round is under way (at least 20 more acknowledged:
      // on a loaded machine a fixed delay sometimes killed before much had happened).
      const before = acked.size;
      for (let i = 0; i < 400 && acked.size < before + 20; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
      server.proc.kill('SIGKILL');
      await server.exited;
      stop.done = true;
      await Promise.all(clients);
    }
    assert.ok(acked.size > 50, `enough messages were acknowledged to make the test meaningful (${acked.size})`);
    // Restart cleanly and let the delivery worker drain what was queued before the kills.
    const server = await spawnServer(data);
    const spoolDir = path.join(data, 'queue', 'inbound');
    for (let i = 0; i < 600 && fs.readdirSync(spoolDir).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(fs.readdirSync(spoolDir), [], 'inbound queue drained, no temp files left');
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0);

    const store = await openStore({ dataDir: data });
    try {
      const seen = new Map<string, number>();
      for (const address of ACCOUNTS) {
        const account = (await store.getAccount(address))!;
        const box = (await store.getMailbox(account.id, 'INBOX'))!;
        const index = await store.listMessages(box.id);
        assert.equal(box.messages, index.length, 'mailbox counter matches its index');
        const records = await store.getMessages(box.id, index.map((m) => m.uid));
        for (const m of records) {
          const raw = await store.readBlob(m.blobId);
          assert.equal(raw.length, m.size, 'stored blob is complete');
          assert.ok(raw.toString('latin1').startsWith(`Delivered-To: ${address}\r\n`));
          assert.ok(parseMessage(raw).messageId, 'stored message parses');
          const key = `${m.messageId} ${address}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      for (const [id, to] of acked) assert.equal(seen.get(`${id} ${to}`), 1, `acknowledged message ${id} delivered exactly once`);
      for (const [key, n] of seen) assert.equal(n, 1, `no duplicates (${key})`);
      // A blob under its final (content-address) name is always whole: its bytes hash to its name.
      for (const name of fs.readdirSync(path.join(data, 'blobs'), { recursive: true }) as string[]) {
        const base = path.basename(name);
        if (!/^[0-9a-f]{64}$/.test(base)) continue;
        const bytes = fs.readFileSync(path.join(data, 'blobs', name));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), base, `blob ${base} is complete`);
      }
    } finally {
      await store.close();
    }
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
