// Submission (587 with STARTTLS, 465 with implicit TLS) against the real system: nodemailer as
// the mail program, raw SMTP where the exact reply matters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestSystem, addAccount, type TestSystem } from '../helpers/system.js';
import { SmtpTalk } from '../helpers/smtp-client.js';
import { mailboxMessages, waitForMessage } from '../helpers/mailbox.js';

let t: TestSystem;

before(async () => {
  t = await startTestSystem();
  for (const a of ['alice@fjord.test', 'bob@fjord.test', 'carol@other.test']) await addAccount(t.system, a);
  await t.system.store.addAlias('sales@fjord.test', 'alice@fjord.test');
});
after(() => t.stop());

function transport(opts: { port?: number; secure?: boolean; user?: string; pass?: string; ignoreTLS?: boolean; method?: string } = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: opts.port ?? t.submissionPort,
    secure: opts.secure ?? false,
    requireTLS: !opts.secure && !opts.ignoreTLS,
    ignoreTLS: opts.ignoreTLS ?? false,
    tls: { rejectUnauthorized: false },
    auth: { user: opts.user ?? 'alice@fjord.test', pass: opts.pass ?? 'secret' },
    authMethod: opts.method,
  });
}

async function talk(port = t.submissionPort): Promise<SmtpTalk> {
  const c = await SmtpTalk.connect(port);
  await c.read();
  await c.cmd('EHLO client.test');
  return c;
}

test('AUTH is refused before STARTTLS on the submission port, and not even offered', async () => {
  const c = await talk();
  try {
    const ehlo = await c.cmd('EHLO client.test');
    assert.match(ehlo.text, /STARTTLS/);
    assert.doesNotMatch(ehlo.text, /AUTH/);
    const r = await c.cmd('AUTH PLAIN ' + Buffer.from('\0alice@fjord.test\0secret').toString('base64'));
    assert.equal(r.code, 538);
    assert.match(r.text, /STARTTLS/);
  } finally {
    c.close();
  }
});

test('no transaction without authentication: MAIL gets 530, even for a local recipient', async () => {
  const c = await talk();
  try {
    await c.startTls();
    await c.cmd('EHLO client.test');
    const r = await c.cmd('MAIL FROM:<alice@fjord.test>');
    assert.equal(r.code, 530);
  } finally {
    c.close();
  }
});

test('a wrong password and an unknown user get the same 535', async () => {
  for (const [user, pass] of [['alice@fjord.test', 'wrong'], ['nobody@fjord.test', 'secret']]) {
    await assert.rejects(transport({ user, pass }).verify(), (e: Error & { responseCode?: number; response?: string }) => {
      assert.equal(e.responseCode, 535);
      assert.match(e.response ?? '', /5\.7\.8 Authentication credentials invalid/);
      return true;
    });
  }
});

test('local delivery over STARTTLS with AUTH PLAIN: Bcc removed, Date and Message-ID added, DKIM-signed, no client IP', async () => {
  const tr = transport({ method: 'PLAIN' });
  const info = await tr.sendMail({
    envelope: { from: 'alice@fjord.test', to: ['bob@fjord.test', 'carol@other.test'] },
    raw: 'From: Alice <alice@fjord.test>\r\nTo: bob@fjord.test\r\nBcc: carol@other.test\r\nSubject: hello bob\r\n\r\nHi Bob.\r\n',
  });
  assert.match(info.response, /^250 /);
  const bob = await waitForMessage(t.system, 'bob@fjord.test', 'hello bob');
  const carol = await waitForMessage(t.system, 'carol@other.test', 'hello bob');
  for (const m of [bob, carol]) {
    const head = m.raw.slice(0, m.raw.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /^Bcc:/im, 'Bcc removed');
    assert.match(head, /^Date: \w{3}, \d{1,2} \w{3} \d{4} /m);
    assert.match(head, /^Message-ID: <[^@>]+@mx\.fjord\.test>/m);
    assert.match(head, /^Return-Path: <alice@fjord\.test>/m);
    assert.match(head, /^DKIM-Signature: .*a=rsa-sha256/ms);
    assert.match(head, /^DKIM-Signature: .*a=ed25519-sha256/ms);
    assert.match(head, /with ESMTPSA id/);
    assert.doesNotMatch(head, /127\.0\.0\.1/, 'the client IP is not revealed');
  }
  tr.close();
});

test('implicit TLS with AUTH LOGIN; a Message-ID and Date given by the client are kept', async () => {
  const tr = transport({ port: t.submissionsPort, secure: true, method: 'LOGIN' });
  await tr.sendMail({
    envelope: { from: 'alice@fjord.test', to: ['bob@fjord.test'] },
    raw: 'From: alice@fjord.test\r\nTo: bob@fjord.test\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <mine.1@client.test>\r\nSubject: over 465\r\n\r\nbody\r\n',
  });
  const m = await waitForMessage(t.system, 'bob@fjord.test', 'over 465');
  assert.match(m.raw, /^Message-ID: <mine\.1@client\.test>\r$/m);
  assert.match(m.raw, /^Date: Sat, 28 Nov 2026 10:00:00 \+0000\r$/m);
  assert.equal((m.raw.match(/^Message-ID:/gim) ?? []).length, 1);
  tr.close();
});

test('sending as an alias that delivers to the account is allowed', async () => {
  const tr = transport();
  await tr.sendMail({ from: 'Sales <sales@fjord.test>', to: 'bob@fjord.test', subject: 'from sales', text: 'offer', envelope: { from: 'sales@fjord.test', to: 'bob@fjord.test' } });
  await waitForMessage(t.system, 'bob@fjord.test', 'from sales');
  tr.close();
});

test('spoofing is refused: another user in MAIL FROM, in From:, or in Sender:', async () => {
  const tr = transport();
  await assert.rejects(tr.sendMail({ envelope: { from: 'bob@fjord.test', to: 'carol@other.test' }, raw: 'From: bob@fjord.test\r\nSubject: x\r\n\r\nx\r\n' }), (e: Error & { responseCode?: number; response?: string }) => {
    assert.equal(e.responseCode, 553);
    assert.match(e.response ?? '', /5\.7\.1 Sender address <bob@fjord\.test> is not yours/);
    return true;
  });
  await assert.rejects(tr.sendMail({ envelope: { from: 'alice@fjord.test', to: 'carol@other.test' }, raw: 'From: Bob <bob@fjord.test>\r\nSubject: spoof\r\n\r\nx\r\n' }), (e: Error & { responseCode?: number; response?: string }) => {
    assert.equal(e.responseCode, 553);
    assert.match(e.response ?? '', /From: address <bob@fjord\.test> is not yours/);
    return true;
  });
  await assert.rejects(tr.sendMail({ envelope: { from: 'alice@fjord.test', to: 'carol@other.test' }, raw: 'From: alice@fjord.test\r\nSender: ceo@bank.test\r\nSubject: spoof\r\n\r\nx\r\n' }), /Sender: address <ceo@bank\.test> is not yours/);
  // A null sender is for bounces only.
  const c = await talk();
  try {
    await c.startTls();
    await c.cmd('EHLO client.test');
    assert.equal((await c.cmd('AUTH PLAIN ' + Buffer.from('\0alice@fjord.test\0secret').toString('base64'))).code, 235);
    assert.equal((await c.cmd('MAIL FROM:<>')).code, 553);
  } finally {
    c.close();
  }
  tr.close();
  assert.equal((await mailboxMessages(t.system, 'carol@other.test')).filter((m) => m.subject === 'spoof').length, 0);
});

test('an identity granted by the operator may be used', async () => {
  const alice = (await t.system.store.getAccount('alice@fjord.test'))!;
  await t.system.store.setSendingIdentity(alice.id, 'alice.smith@fjord.test', true);
  const tr = transport();
  await tr.sendMail({ envelope: { from: 'alice.smith@fjord.test', to: 'bob@fjord.test' }, raw: 'From: alice.smith@fjord.test\r\nSubject: as identity\r\n\r\nx\r\n' });
  await waitForMessage(t.system, 'bob@fjord.test', 'as identity');
  tr.close();
});

test('an unknown local recipient is refused at RCPT (550 5.1.1), a remote one is queued for delivery', async () => {
  const c = await talk();
  try {
    await c.startTls();
    await c.cmd('EHLO client.test');
    await c.cmd('AUTH PLAIN ' + Buffer.from('\0alice@fjord.test\0secret').toString('base64'));
    assert.equal((await c.cmd('MAIL FROM:<alice@fjord.test>')).code, 250);
    const r = await c.cmd('RCPT TO:<ghost@fjord.test>');
    assert.equal(r.code, 550);
    assert.match(r.text, /5\.1\.1/);
    assert.equal((await c.cmd('RCPT TO:<friend@remote.test> NOTIFY=FAILURE,DELAY')).code, 250);
    const d = await c.data('From: alice@fjord.test\r\nTo: friend@remote.test\r\nSubject: to the world\r\n\r\nhello\r\n');
    assert.equal(d.code, 250);
  } finally {
    c.close();
  }
  const queued = t.system.outbound.list().find((m) => m.recipients.some((r) => r.address === 'friend@remote.test'));
  assert.ok(queued, 'the remote recipient is in the outbound queue');
  assert.equal(queued.mailFrom, 'alice@fjord.test');
  const body = (await t.system.outbound.readBody(queued.id)).toString('latin1');
  assert.match(body, /^DKIM-Signature:/m);
  assert.match(body, /^Subject: to the world\r$/m);
});
