// The fjord CLI as an operator uses it: real processes, exit codes, one-line errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runCli, tempDir, spawnServer } from '../helpers/system.js';
import { SmtpTalk, makeMessage } from '../helpers/smtp-client.js';

let data: string;
before(() => {
  data = tempDir();
});
after(() => fs.rmSync(data, { recursive: true, force: true }));

const fjord = (...args: string[]) => runCli([...args, '--data', data]);

test('--help lists the commands', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['serve', 'domain', 'account', 'alias', 'mail list', 'spam check', 'queue', 'dkim', 'dns']) assert.match(r.stdout, new RegExp(`fjord ${c}`));
  // Commands are loaded by name when they run: a name that is no command (not even one an
  // object has by inheritance) is refused, and a command's own --help loads just that one.
  for (const name of ['nosuch', 'toString', '__proto__']) {
    const u = await runCli([name]);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown command/);
  }
  const one = await runCli(['spam', '--help']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /^fjord spam check/m);
});

test('domains: add, list, duplicate, bad name, remove', async () => {
  assert.equal((await fjord('domain', 'add', 'Example.ORG')).code, 0);
  const list = await fjord('domain', 'list');
  assert.equal(list.stdout.trim(), 'example.org');
  const dup = await fjord('domain', 'add', 'example.org');
  assert.notEqual(dup.code, 0);
  assert.equal(dup.stderr.trim().split('\n').length, 1, 'one-line reason');
  assert.match(dup.stderr, /exists/);
  const bad = await fjord('domain', 'add', 'not a domain!');
  assert.notEqual(bad.code, 0);
  assert.equal((await fjord('domain', 'add', 'gone.example')).code, 0);
  assert.equal((await fjord('domain', 'remove', 'gone.example')).code, 0);
  assert.equal((await fjord('domain', 'list')).stdout.trim(), 'example.org');
});

test('accounts: add with password, stdin and generated; errors are one line', async () => {
  const a = await fjord('account', 'add', 'ann@example.org', '--password', 'pw-one', '--quota', '10M');
  assert.equal(a.code, 0, a.stderr);
  assert.doesNotMatch(a.stdout, /pw-one/, 'given password is not echoed');
  const b = await runCli(['account', 'add', 'ben@example.org', '--password-stdin', '--data', data], { input: 'from-stdin\n' });
  assert.equal(b.code, 0, b.stderr);
  const c = await fjord('account', 'add', 'cat@example.org');
  assert.equal(c.code, 0);
  assert.match(c.stdout, /password: \S{16,}/);
  const unknownDomain = await fjord('account', 'add', 'x@nowhere.example', '--password', 'p');
  assert.notEqual(unknownDomain.code, 0);
  assert.match(unknownDomain.stderr, /domain/);
  assert.equal(unknownDomain.stderr.trim().split('\n').length, 1);
  const badAddr = await fjord('account', 'add', 'no-at-sign', '--password', 'p');
  assert.notEqual(badAddr.code, 0);
  const dup = await fjord('account', 'add', 'ann@example.org', '--password', 'p');
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /exists/);
  const list = await fjord('account', 'list', '--json');
  const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => r.address).sort(), ['ann@example.org', 'ben@example.org', 'cat@example.org']);
  assert.equal(rows.find((r) => r.address === 'ann@example.org').quotaBytes, 10 * 1024 * 1024);
  assert.ok(!list.stdout.includes('argon2'), 'no hashes in output');
  const q = await fjord('account', 'quota', 'ann@example.org', '--quota-messages', '500');
  assert.equal(q.code, 0);
  assert.match(q.stdout, /of 500 messages/);
  assert.equal((await fjord('account', 'passwd', 'ann@example.org', '--password', 'pw-two')).code, 0);
  assert.notEqual((await fjord('account', 'passwd', 'nobody@example.org', '--password', 'x')).code, 0);
  assert.equal((await fjord('account', 'remove', 'cat@example.org')).code, 0);
  assert.notEqual((await fjord('account', 'remove', 'cat@example.org')).code, 0);
  const unknownFlag = await fjord('account', 'list', '--bogus');
  assert.equal(unknownFlag.code, 2);
  const unknownSub = await fjord('account', 'bogus');
  assert.equal(unknownSub.code, 2);
  assert.equal(unknownSub.stderr.trim().split('\n').length, 1, 'usage error is one line');
});

test('aliases: add, catch-all, list, remove; domain in use cannot be removed', async () => {
  assert.equal((await fjord('alias', 'add', 'info@example.org', 'ann@example.org')).code, 0);
  assert.equal((await fjord('alias', 'add', '@example.org', 'ben@example.org')).code, 0);
  const list = await fjord('alias', 'list');
  assert.match(list.stdout, /info@example\.org\tann@example\.org/);
  assert.match(list.stdout, /@example\.org\tben@example\.org/);
  assert.notEqual((await fjord('alias', 'add', 'x@unknown.example', 'ann@example.org')).code, 0);
  const inUse = await fjord('domain', 'remove', 'example.org');
  assert.notEqual(inUse.code, 0);
  assert.equal(inUse.stderr.trim().split('\n').length, 1);
  assert.equal((await fjord('alias', 'remove', 'info@example.org')).code, 0);
  assert.doesNotMatch((await fjord('alias', 'list')).stdout, /info@/);
});

test('admin commands work while the server runs; mail list shows delivered mail', async () => {
  const server = await spawnServer(data);
  try {
    // an account created by the CLI while the server runs receives mail at once
    assert.equal((await fjord('account', 'add', 'live@example.org', '--password', 'x')).code, 0);
    const c = await SmtpTalk.connect(server.smtpPort);
    await c.read();
    await c.cmd('EHLO client.example.net');
    assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<live@example.org>')).code, 250);
    const r = await c.data(makeMessage({ to: 'live@example.org', subject: 'Seen by the CLI', from: 'Some Sender <sender@example.net>' }));
    assert.equal(r.code, 250);
    await c.quit();
    let rows: { uid: number; subject: string; from: string; size: number; flags: string[]; date: string }[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      const list = await fjord('mail', 'list', 'live@example.org', '--json');
      assert.equal(list.code, 0, list.stderr);
      rows = list.stdout.trim() ? list.stdout.trim().split('\n').map((l) => JSON.parse(l)) : [];
      if (!rows.length) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(rows.length, 1);
    assert.equal(rows[0].uid, 1);
    assert.equal(rows[0].subject, 'Seen by the CLI');
    assert.match(rows[0].from, /sender@example\.net/);
    assert.ok(rows[0].size > 100);
    assert.deepEqual(rows[0].flags, []);
    const text = await fjord('mail', 'list', 'live@example.org');
    assert.match(text.stdout, /^1\t\S+\t.*Seen by the CLI\t\d+\t-$/m);
    const sent = await fjord('mail', 'list', 'live@example.org', '--mailbox', 'Sent');
    assert.equal(sent.code, 0);
    assert.equal(sent.stdout, '');
    assert.notEqual((await fjord('mail', 'list', 'live@example.org', '--mailbox', 'Nope')).code, 0);
    assert.notEqual((await fjord('mail', 'list', 'ghost@example.org')).code, 0);
  } finally {
    server.proc.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'SIGTERM exits 0');
  }
});

test('--config: a valid file is read, a broken one is refused with a one-line reason', async () => {
  const file = `${data}/alt-config.json`;
  fs.writeFileSync(file, JSON.stringify({ hostname: 'mx.example.org', smtp: { maxRecipients: 10 } }));
  const ok = await runCli(['domain', 'list', '--data', data, '--config', file]);
  assert.equal(ok.code, 0, ok.stderr);
  fs.writeFileSync(file, '{ not json');
  const bad = await runCli(['domain', 'list', '--data', data, '--config', file]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not valid JSON/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  fs.writeFileSync(file, JSON.stringify({ smtp: { maxRecipients: 'many' } }));
  const wrong = await runCli(['domain', 'list', '--data', data, '--config', file]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /smtp\.maxRecipients must be a non-negative number/);
  const missing = await runCli(['domain', 'list', '--data', data, '--config', `${data}/nope.json`]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /cannot read config file/);
});
