// SIGTERM: stop accepting, let the transaction under way finish with its 250, deliver, exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { runCli, tempDir, spawnServer } from '../helpers/system.js';
import { SmtpTalk, makeMessage, dotStuff } from '../helpers/smtp-client.js';

test('SIGTERM finishes the in-flight transaction, refuses new connections and exits 0', async () => {
  const data = tempDir();
  try {
    assert.equal((await runCli(['domain', 'add', 'fjord.test', '--data', data])).code, 0);
    assert.equal((await runCli(['account', 'add', 'alice@fjord.test', '--password', 'x', '--data', data])).code, 0);
    const server = await spawnServer(data);
    const c = await SmtpTalk.connect(server.smtpPort);
    await c.read();
    await c.cmd('EHLO client.example.net');
    assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<alice@fjord.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const wire = dotStuff(makeMessage({ to: 'alice@fjord.test', subject: 'in flight at SIGTERM', size: 50_000 }));
    c.write(wire.subarray(0, 20_000));
    await new Promise((r) => setTimeout(r, 200));
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(server.smtpPort, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.on('error', () => resolve(true));
    });
    assert.ok(refused, 'no new connections after SIGTERM');
    c.write(wire.subarray(20_000));
    const r = await c.read();
    assert.equal(r.code, 250, r.text);
    c.close();
    assert.equal(await server.exited, 0);
    const list = await runCli(['mail', 'list', 'alice@fjord.test', '--json', '--data', data]);
    assert.equal(list.stdout.trim().split('\n').length, 1);
    assert.match(list.stdout, /in flight at SIGTERM/);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('SIGINT (Ctrl-C) stops an idle server cleanly with exit 0', async () => {
  const data = tempDir();
  try {
    const server = await spawnServer(data);
    const idle = await SmtpTalk.connect(server.smtpPort);
    assert.equal((await idle.read()).code, 220);
    server.proc.kill('SIGINT');
    const bye = await idle.read();
    assert.ok(bye.code === 421 || bye.code === 0, `idle session told to go away (${bye.code})`);
    assert.equal(await server.exited, 0);
    idle.close();
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
