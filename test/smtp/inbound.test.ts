// Inbound SMTP against the real server over real sockets: the replies RFC 5321/3463 require,
// delivery into the right mailboxes, and the trace headers added on the way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestSystem, addAccount, type TestSystem } from '../helpers/system.js';
import { SmtpTalk, makeMessage } from '../helpers/smtp-client.js';
import type { Store } from '../../src/store/types.js';

let t: TestSystem;
let store: Store;

before(async () => {
  t = await startTestSystem({ smtp: { maxMessageSize: 300_000, maxRecipients: 5 } });
  store = t.system.store;
  await addAccount(t.system, 'alice@fjord.test');
  await addAccount(t.system, 'bob@fjord.test');
  await addAccount(t.system, 'carol@other.test');
  await addAccount(t.system, 'full@fjord.test', { messages: 1 });
  await store.addAlias('team@fjord.test', 'alice@fjord.test');
  await store.addAlias('team@fjord.test', 'bob@fjord.test');
  await store.addAlias('@other.test', 'carol@other.test');
});

after(async () => {
  await t.stop();
});

async function inbox(address: string) {
  await t.system.worker.idle();
  const account = (await store.getAccount(address))!;
  const mbox = (await store.getMailbox(account.id, 'INBOX'))!;
  const index = await store.listMessages(mbox.id);
  return store.getMessages(mbox.id, index.map((m) => m.uid));
}

async function session(): Promise<SmtpTalk> {
  const c = await SmtpTalk.connect(t.smtpPort);
  const greeting = await c.read();
  assert.equal(greeting.code, 220);
  const ehlo = await c.cmd('EHLO client.example.net');
  assert.equal(ehlo.code, 250);
  return c;
}

test('EHLO advertises the ESMTP extensions of an MX', async () => {
  const c = await SmtpTalk.connect(t.smtpPort);
  assert.match((await c.read()).text, /mx\.fjord\.test/);
  const ehlo = await c.cmd('EHLO client.example.net');
  for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 300000', 'ENHANCEDSTATUSCODES', 'STARTTLS']) {
    assert.ok(ehlo.lines.some((l) => l.slice(4) === ext), `EHLO lacks ${ext}: ${ehlo.text}`);
  }
  assert.ok(!ehlo.lines.some((l) => /^AUTH/.test(l.slice(4))), 'an MX offers no AUTH');
  await c.quit();
});

test('nodemailer delivers over STARTTLS; the message lands in the Inbox with trace headers', async () => {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.smtpPort, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, name: 'client.example.net' });
  const info = await transport.sendMail({ from: 'Sender <sender@example.net>', to: 'alice@fjord.test', subject: 'Hello over TLS', text: 'Body text here' });
  assert.match(info.response, /^250 2\.6\.0 Ok: queued as \w+/);
  transport.close();
  const msgs = await inbox('alice@fjord.test');
  const m = msgs.find((x) => x.subject === 'Hello over TLS');
  assert.ok(m, 'message delivered');
  const raw = (await store.readBlob(m.blobId)).toString();
  assert.match(raw, /^Delivered-To: alice@fjord\.test\r\nReturn-Path: <sender@example\.net>\r\nReceived: from client\.example\.net \(\S*\s*\[127\.0\.0\.1\]\)\r\n\tby mx\.fjord\.test \(Fjord Mail\) with ESMTPS id \w+\r\n\t\(using TLS/);
  assert.match(raw, /for <alice@fjord\.test>;\r\n\t\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/);
  assert.equal(m.size, Buffer.byteLength(raw));
});

test('unknown user, relay and bad syntax get precise RCPT replies', async () => {
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  const unknown = await c.cmd('RCPT TO:<nobody@fjord.test>');
  assert.equal(unknown.code, 550);
  assert.match(unknown.text, /^5\.1\.1 /);
  const relay = await c.cmd('RCPT TO:<someone@elsewhere.example>');
  assert.equal(relay.code, 554);
  assert.match(relay.text, /^5\.7\.1 Relay access denied/);
  const bad = await c.cmd('RCPT TO:<a b@fjord.test>');
  assert.ok(bad.code >= 500 && bad.code < 600, bad.text);
  const ok = await c.cmd('RCPT TO:<alice@fjord.test>');
  assert.equal(ok.code, 250);
  assert.match(ok.text, /^2\.1\.5 /);
  await c.quit();
});

test('aliases, catch-all and sub-addressing reach the right accounts', async () => {
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  for (const rcpt of ['team@fjord.test', 'anything@other.test', 'bob+lists@fjord.test']) {
    const r = await c.cmd(`RCPT TO:<${rcpt}>`);
    assert.equal(r.code, 250, `${rcpt}: ${r.text}`);
  }
  const r = await c.data(makeMessage({ to: 'team@fjord.test', subject: 'routing check' }));
  assert.equal(r.code, 250, r.text);
  await c.quit();
  const alice = (await inbox('alice@fjord.test')).filter((m) => m.subject === 'routing check');
  const bob = (await inbox('bob@fjord.test')).filter((m) => m.subject === 'routing check');
  const carol = (await inbox('carol@other.test')).filter((m) => m.subject === 'routing check');
  assert.equal(alice.length, 1, 'alias reaches alice once');
  assert.equal(bob.length, 1, 'alias and +tag both reach bob, delivered once');
  assert.equal(carol.length, 1, 'catch-all reaches carol');
  const bobRaw = (await store.readBlob(bob[0].blobId)).toString();
  assert.match(bobRaw, /^Delivered-To: bob@fjord\.test\r\n/);
  assert.doesNotMatch(bobRaw, /for </, 'Received names no recipient when there are several');
});

test('a full mailbox gets 452 4.2.2 at RCPT', async () => {
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<full@fjord.test>')).code, 250);
  assert.equal((await c.data(makeMessage({ to: 'full@fjord.test', subject: 'fills it' }))).code, 250);
  await t.system.worker.idle();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  const r = await c.cmd('RCPT TO:<full@fjord.test>');
  assert.equal(r.code, 452);
  assert.match(r.text, /^4\.2\.2 /);
  await c.quit();
});

test('too many recipients get 452 4.5.3', async () => {
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  for (let i = 0; i < 5; i++) assert.equal((await c.cmd(`RCPT TO:<alice+${i}@fjord.test>`)).code, 250);
  const r = await c.cmd('RCPT TO:<alice+6@fjord.test>');
  assert.equal(r.code, 452);
  assert.match(r.text, /^4\.5\.3 /);
  await c.quit();
});

test('over-size messages are refused with 552 5.3.4, by SIZE and by actual size', async () => {
  const c = await session();
  const declared = await c.cmd('MAIL FROM:<sender@example.net> SIZE=400000');
  assert.equal(declared.code, 552);
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<alice@fjord.test>')).code, 250);
  const r = await c.data(makeMessage({ to: 'alice@fjord.test', subject: 'too big', size: 320_000 }));
  assert.equal(r.code, 552);
  assert.match(r.text, /^5\.3\.4 /);
  // the session stays usable
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  await c.quit();
});

for (const [name, body, pattern] of [
  ['NUL bytes', Buffer.from('Subject: nul\r\n\r\nbad\x00byte\r\n', 'latin1'), /NUL/],
  ['bare LF', Buffer.from('Subject: lf\r\n\r\nline one\nline two\r\n', 'latin1'), /bare/],
  ['bare CR', Buffer.from('Subject: cr\r\n\r\nline one\rline two\r\n', 'latin1'), /bare/],
  ['a line over 998 octets', Buffer.from('Subject: long\r\n\r\n' + 'x'.repeat(1200) + '\r\n', 'latin1'), /998/],
  ['8-bit data without BODY=8BITMIME', Buffer.from('Subject: 8bit\r\n\r\nR\xe9sum\xe9\r\n', 'latin1'), /8BITMIME/],
] as const) {
  test(`${name} get 554 5.6.0 and the session survives`, async () => {
    const c = await session();
    assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<alice@fjord.test>')).code, 250);
    const r = await c.data(body);
    assert.equal(r.code, 554, r.text);
    assert.match(r.text, /^5\.6\.0 /);
    assert.match(r.text, pattern);
    assert.equal((await c.cmd('NOOP')).code, 250);
    await c.quit();
  });
}

test('8-bit data with BODY=8BITMIME and SMTPUTF8 addresses are accepted', async () => {
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net> BODY=8BITMIME')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<alice@fjord.test>')).code, 250);
  assert.equal((await c.data(Buffer.from('Subject: =?utf-8?q?R=C3=A9sum=C3=A9?=\r\n\r\nR\xc3\xa9sum\xc3\xa9\r\n', 'latin1'))).code, 250);
  assert.equal((await c.cmd('MAIL FROM:<jörg@exämple.net> SMTPUTF8')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<alice@fjord.test>')).code, 250);
  assert.equal((await c.data(Buffer.from('Subject: utf8\r\nFrom: jörg@exämple.net\r\n\r\nhej\r\n', 'utf8'))).code, 250);
  await c.quit();
  const subjects = (await inbox('alice@fjord.test')).map((m) => m.subject);
  assert.ok(subjects.includes('Résumé'), subjects.join(','));
  assert.ok(subjects.includes('utf8'));
});

test('PIPELINING: a whole transaction in one write gets every reply in order', async () => {
  const c = await session();
  const msg = makeMessage({ to: 'bob@fjord.test', subject: 'pipelined' }).toString('latin1');
  c.write(`MAIL FROM:<sender@example.net>\r\nRCPT TO:<bob@fjord.test>\r\nRCPT TO:<nobody@fjord.test>\r\nDATA\r\n`);
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await c.read()).code);
  assert.deepEqual(codes, [250, 250, 550, 354]);
  c.write(msg + '.\r\n');
  assert.equal((await c.read()).code, 250);
  await c.quit();
  assert.equal((await inbox('bob@fjord.test')).filter((m) => m.subject === 'pipelined').length, 1);
});

test('a null reverse-path is accepted (bounces must reach us)', async () => {
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<bob@fjord.test>')).code, 250);
  assert.equal((await c.data(makeMessage({ to: 'bob@fjord.test', subject: 'a bounce', from: 'MAILER-DAEMON@example.net' }))).code, 250);
  await c.quit();
  const m = (await inbox('bob@fjord.test')).find((x) => x.subject === 'a bounce')!;
  assert.match((await store.readBlob(m.blobId)).toString(), /^Delivered-To: bob@fjord\.test\r\nReturn-Path: <>\r\n/);
});

test('DATA without recipients and commands out of order get 503', async () => {
  const c = await session();
  assert.equal((await c.cmd('DATA')).code, 503);
  assert.equal((await c.cmd('RCPT TO:<bob@fjord.test>')).code, 503);
  await c.quit();
});

test('hostile input: an endless command line, binary garbage and a flood of bad commands leave the server serving', async () => {
  const long = await session();
  long.write('MAIL FROM:<' + 'a'.repeat(200_000));
  const r = await long.read();
  assert.ok(r.code >= 500 || r.code === 421 || r.code === 0, `over-long command refused (${r.code} ${r.text})`);
  long.close();

  const garbage = await session();
  garbage.write(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  garbage.write('\r\n');
  const g = await garbage.read();
  assert.ok(g.code >= 500 || g.code === 421 || g.code === 0, `garbage refused (${g.code})`);
  garbage.close();

  const flood = await session();
  let last = 0;
  for (let i = 0; i < 30; i++) {
    const x = await flood.cmd('XYZZY' + i);
    last = x.code;
    if (x.code === 0 || x.code === 421) break;
    assert.equal(x.code, 500);
  }
  flood.close();
  assert.ok(last === 500 || last === 421 || last === 0);

  // still healthy for everyone else
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<alice@fjord.test>')).code, 250);
  assert.equal((await c.data(makeMessage({ to: 'alice@fjord.test', subject: 'after the abuse' }))).code, 250);
  await c.quit();
});

test('a watcher of the account in the server process hears of an SMTP delivery at once', async () => {
  const account = (await store.getAccount('bob@fjord.test'))!;
  const heard: string[] = [];
  const got = new Promise<number>((resolve) => {
    const stop = store.watch(account.id, (changes) => {
      for (const c of changes) heard.push(c.kind);
      if (changes.some((c) => c.kind === 'append')) {
        stop();
        resolve(Date.now());
      }
    });
  });
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<bob@fjord.test>')).code, 250);
  const r = await c.data(makeMessage({ to: 'bob@fjord.test', subject: 'wake up' }));
  const acceptedAt = Date.now();
  assert.equal(r.code, 250);
  await c.quit();
  const at = await got;
  assert.ok(at - acceptedAt < 1000, `append seen ${at - acceptedAt} ms after the 250`);
  assert.ok(heard.includes('append'));
});
