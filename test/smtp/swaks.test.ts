// swaks (Debian) as an independent SMTP client: plain, pipelined, and over STARTTLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startTestSystem, addAccount, type TestSystem } from '../helpers/system.js';

let t: TestSystem;
before(async () => {
  t = await startTestSystem();
  await addAccount(t.system, 'alice@fjord.test');
});
after(() => t.stop());

function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('swaks', ['--server', '127.0.0.1', '--port', String(t.smtpPort), '--helo', 'client.example.net', '--from', 'sender@example.net', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

async function subjects(): Promise<string[]> {
  await t.system.worker.idle();
  const a = (await t.system.store.getAccount('alice@fjord.test'))!;
  const box = (await t.system.store.getMailbox(a.id, 'INBOX'))!;
  const msgs = await t.system.store.getMessages(box.id, (await t.system.store.listMessages(box.id)).map((m) => m.uid));
  return msgs.map((m) => m.subject);
}

test('swaks delivers plain, pipelined and over STARTTLS', async () => {
  const plain = await swaks(['--to', 'alice@fjord.test', '--header', 'Subject: swaks plain']);
  assert.equal(plain.code, 0, plain.out);
  assert.match(plain.out, /<[-~] {1,2}250 2\.6\.0 Ok: queued as/);
  const piped = await swaks(['--to', 'alice@fjord.test', '--pipeline', '--header', 'Subject: swaks pipelined']);
  assert.equal(piped.code, 0, piped.out);
  const tls = await swaks(['--to', 'alice@fjord.test', '--tls', '--header', 'Subject: swaks tls']);
  assert.equal(tls.code, 0, tls.out);
  assert.match(tls.out, /TLS started/);
  const s = await subjects();
  for (const want of ['swaks plain', 'swaks pipelined', 'swaks tls']) assert.ok(s.includes(want), `${want} missing in ${s}`);
});

test('swaks sees 550 5.1.1 for an unknown user', async () => {
  const r = await swaks(['--to', 'ghost@fjord.test']);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /<\*\* {1,2}550 5\.1\.1 /);
});
