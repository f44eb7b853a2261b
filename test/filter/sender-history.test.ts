// What a user showed of a sender counts for that user's later mail from it, end to end over real
// sockets: alice writes to a friend over submission (nodemailer), so the friend's spammy-looking
// mail reaches her Inbox; she moves a newsletter out of Junk over IMAP (imapflow), so its next
// issue reaches her Inbox while bob, who did nothing, still gets it in Junk; she moves a sender's
// mail into Junk, so its next message is junked even though it looks harmless. Only for an
// authenticated From address (SPF aligned here): the same address from a host its SPF does not
// name gets nothing; and only for moves, not for a $NotJunk keyword.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startTestSystem, addAccount, type TestSystem } from '../helpers/system.js';
import { SmtpTalk } from '../helpers/smtp-client.js';
import { TestDnsServer } from '../helpers/dns-server.js';

let t: TestSystem;
let dns: TestDnsServer;
const SENDER_IP = '127.0.0.70';

before(async () => {
  dns = await TestDnsServer.start();
  for (const d of ['pal.test', 'news.test', 'shop.test', 'deals.test']) dns.add(d, { type: 'TXT', data: `v=spf1 ip4:${SENDER_IP} -all` });
  t = await startTestSystem({ dns: dns.address });
  for (const u of ['alice', 'bob']) await addAccount(t.system, `${u}@fjord.test`);
});

after(async () => {
  await t.stop();
  await dns.close();
});

/** A message whose rules alone score about 6 (junk from 5). */
const SPAMMY = 'Dear friend, click here to claim your FREE tickets for Saturday!!! Act now, 100% risk free.\r\n' +
  'To be removed from this list reply with REMOVE in the subject.\r\n';

async function send(from: string, to: string[], subject: string, body: string, ip = SENDER_IP): Promise<void> {
  const c = await SmtpTalk.connect(t.smtpPort, '127.0.0.1', ip);
  try {
    assert.equal((await c.read()).code, 220);
    await c.cmd(`EHLO mail.${from.split('@')[1]}`);
    assert.equal((await c.cmd(`MAIL FROM:<${from}>`)).code, 250);
    for (const r of to) assert.equal((await c.cmd(`RCPT TO:<${r}>`)).code, 250);
    const d = await c.data(`From: <${from}>\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n` +
      `Message-ID: <${subject.replace(/\W/g, '')}@${from.split('@')[1]}>\r\n\r\n${body}`);
    assert.equal(d.code, 250, d.text);
  } finally {
    await c.quit();
  }
}

/** "INBOX No, score=… tests=…" or "Junk Yes, …" for the user's copy of that subject. */
async function where(user: string, subject: string): Promise<string> {
  await t.system.worker.idle();
  const store = t.system.store;
  const acct = (await store.getAccount(`${user}@fjord.test`))!;
  for (const mb of await store.listMailboxes(acct.id)) {
    for (const m of await store.getMessages(mb.id, (await store.listMessages(mb.id)).map((e) => e.uid))) {
      if (m.subject !== subject) continue;
      const raw = (await store.readBlob(m.blobId)).toString('latin1');
      return `${mb.name} ${/^X-Spam-Status: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\s+/g, ' ')}`;
    }
  }
  throw new Error(`${subject} not found for ${user}`);
}

async function move(user: string, from: string, to: string, subject: string): Promise<void> {
  const client = new ImapFlow({ host: '127.0.0.1', port: t.imapPort, secure: false, auth: { user: `${user}@fjord.test`, pass: 'secret' }, logger: false, tls: { rejectUnauthorized: false } });
  await client.connect();
  const lock = await client.getMailboxLock(from);
  try {
    const uids = await client.search({ subject }, { uid: true });
    assert.ok(Array.isArray(uids) && uids.length === 1, `${subject} in ${from}`);
    const moved = await client.messageMove(uids, to, { uid: true });
    assert.ok(moved && moved.uidMap && moved.uidMap.size === 1);
  } finally {
    lock.release();
  }
  await client.logout();
  await t.system.spamFeedbackIdle();
}

test('a friend alice wrote to over submission gets into her Inbox with KNOWN_CORRESPONDENT; a stranger or the forged friend does not', async () => {
  const mailer = nodemailer.createTransport({ host: '127.0.0.1', port: t.submissionPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@fjord.test', pass: 'secret' } });
  await mailer.sendMail({ from: 'alice@fjord.test', to: 'friend@pal.test', subject: 'lunch?', text: 'Are you free on Saturday?' });
  mailer.close();

  await send('friend@pal.test', ['alice@fjord.test'], 'tickets friend', SPAMMY);
  await send('stranger@pal.test', ['alice@fjord.test'], 'tickets stranger', SPAMMY);
  await send('friend@pal.test', ['alice@fjord.test'], 'tickets forged', SPAMMY, '127.0.0.71');
  const friend = await where('alice', 'tickets friend');
  assert.match(friend, /^INBOX No, .*KNOWN_CORRESPONDENT/);
  const stranger = await where('alice', 'tickets stranger');
  assert.match(stranger, /^Junk Yes, /);
  const forged = await where('alice', 'tickets forged');
  assert.match(forged, /^Junk Yes, .*SPF_FAIL/);
  for (const v of [stranger, forged]) assert.doesNotMatch(v, /KNOWN_CORRESPONDENT/);
  const score = (s: string) => Number(/score=(-?[\d.]+)/.exec(s)![1]);
  assert.equal(Math.round((score(stranger) - score(friend)) * 10) / 10, 3, 'the bonus is spam.scores.knownSender (-3)');
});

test('moving a newsletter out of Junk keeps its next issue in that user’s Inbox; moving mail into Junk junks the sender’s next', async () => {
  await send('letters@news.test', ['alice@fjord.test', 'bob@fjord.test'], 'news 1', SPAMMY);
  assert.match(await where('alice', 'news 1'), /^Junk Yes/);
  await move('alice', 'Junk', 'INBOX', 'news 1');

  await send('letters@news.test', ['alice@fjord.test', 'bob@fjord.test'], 'news 2', SPAMMY);
  assert.match(await where('alice', 'news 2'), /^INBOX No, .*USER_RESCUED_SENDER/);
  assert.match(await where('bob', 'news 2'), /^Junk Yes/, 'only for the user who said so');
  assert.doesNotMatch(await where('bob', 'news 2'), /USER_RESCUED_SENDER/);
  // Not for the same address from a host its SPF does not name.
  await send('letters@news.test', ['alice@fjord.test'], 'news forged', SPAMMY, '127.0.0.71');
  assert.doesNotMatch(await where('alice', 'news forged'), /USER_RESCUED_SENDER/);

  const plain = 'Your order 1234 has shipped and should arrive on Tuesday.\r\n';
  await send('orders@shop.test', ['alice@fjord.test', 'bob@fjord.test'], 'shop 1', plain);
  assert.match(await where('alice', 'shop 1'), /^INBOX No/);
  await move('alice', 'INBOX', 'Junk', 'shop 1');
  await send('orders@shop.test', ['alice@fjord.test', 'bob@fjord.test'], 'shop 2', plain);
  const junked = await where('alice', 'shop 2');
  assert.match(junked, /USER_JUNKED_SENDER/);
  assert.doesNotMatch(await where('bob', 'shop 2'), /USER_JUNKED_SENDER/);
  // A $NotJunk keyword trains the filter but says nothing of the sender: mail programs set it
  // by themselves.
  await send('promo@deals.test', ['alice@fjord.test'], 'deals 1', SPAMMY);
  assert.match(await where('alice', 'deals 1'), /^Junk Yes/);
  const client = new ImapFlow({ host: '127.0.0.1', port: t.imapPort, secure: false, auth: { user: 'alice@fjord.test', pass: 'secret' }, logger: false, tls: { rejectUnauthorized: false } });
  await client.connect();
  const lock = await client.getMailboxLock('Junk');
  try {
    const uids = await client.search({ subject: 'deals 1' }, { uid: true });
    assert.ok(Array.isArray(uids) && uids.length === 1);
    assert.ok(await client.messageFlagsAdd(uids, ['$NotJunk'], { uid: true }));
  } finally {
    lock.release();
  }
  await client.logout();
  await t.system.spamFeedbackIdle();
  await send('promo@deals.test', ['alice@fjord.test'], 'deals 2', SPAMMY);
  assert.doesNotMatch(await where('alice', 'deals 2'), /USER_RESCUED_SENDER/);

  // Her latest move wins: out of Junk again, and the sender is welcome again.
  await move('alice', 'Junk', 'INBOX', 'shop 1');
  await send('orders@shop.test', ['alice@fjord.test'], 'shop 3', plain);
  assert.match(await where('alice', 'shop 3'), /^INBOX No, .*USER_RESCUED_SENDER/);
});
