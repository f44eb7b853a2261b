// Learning from users, end to end over real sockets: two users move a message into Junk with a
// real IMAP client (imapflow); the next copy from the same sender scores higher; enough distinct
// reporters block the sending IP at connect; `fjord reputation unblock` lifts the block and
// `fjord reputation show` explains it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { startTestSystem, addAccount, runCli, type TestSystem } from '../helpers/system.js';
import { SmtpTalk } from '../helpers/smtp-client.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { counts } from '../helpers/counts.js';

const SPAMMER = '127.0.0.9';
let t: TestSystem;
let dns: TestDnsServer;

before(async () => {
  dns = await TestDnsServer.start();
  t = await startTestSystem({
    dns: dns.address,
    spam: { pregreetMs: 0, reputation: { blockReporters: 2, halfLifeDays: 30, blockSpamRatio: 2, scorePerReport: 1, maxScore: 6 } },
  });
  for (const u of ['alice', 'bob', 'carol', 'dave']) await addAccount(t.system, `${u}@fjord.test`);
});

after(async () => {
  await t.stop();
  await dns.close();
});

function offer(n: number, to: string): Buffer {
  return Buffer.from(
    `From: Best Offers <deals@offers.example>\r\nTo: ${to}\r\nSubject: Limited time offer number ${n}\r\n` +
      `Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <offer-${n}-${to}@offers.example>\r\nMIME-Version: 1.0\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n\r\n' +
      'Dear friend, our exclusive discount on premium watches ends tonight.\r\n' +
      'Order now at http://shop.offers.example/deal and save big on luxury replicas.\r\n',
  );
}

/** Sends from the spammer's address; returns the greeting code (554 when refused) and data reply. */
async function sendFromSpammer(to: string, n: number, ip = SPAMMER): Promise<{ greeting: number; text: string }> {
  const c = await SmtpTalk.connect(t.smtpPort, '127.0.0.1', ip);
  try {
    const g = await c.read();
    if (g.code !== 220) return { greeting: g.code, text: g.text };
    await c.cmd('EHLO mail.offers.example');
    assert.equal((await c.cmd('MAIL FROM:<bounce@offers.example>')).code, 250);
    assert.equal((await c.cmd(`RCPT TO:<${to}>`)).code, 250);
    const d = await c.data(offer(n, to));
    assert.equal(d.code, 250, d.text);
    return { greeting: 220, text: d.text };
  } finally {
    await c.quit();
  }
}

async function scoreOf(user: string, n: number): Promise<number> {
  await t.system.worker.idle();
  const store = t.system.store;
  const acct = (await store.getAccount(`${user}@fjord.test`))!;
  for (const mb of await store.listMailboxes(acct.id)) {
    const idx = await store.listMessages(mb.id);
    for (const m of await store.getMessages(mb.id, idx.map((e) => e.uid))) {
      if (m.subject === `Limited time offer number ${n}`) {
        const raw = (await store.readBlob(m.blobId)).toString('latin1');
        const s = /^X-Spam-Score: (-?[\d.]+)/m.exec(raw);
        assert.ok(s, 'X-Spam-Score present');
        return Number(s[1]);
      }
    }
  }
  throw new Error(`message ${n} not found for ${user}`);
}

async function moveToJunk(user: string): Promise<void> {
  const client = new ImapFlow({ host: '127.0.0.1', port: t.imapPort, secure: false, auth: { user: `${user}@fjord.test`, pass: 'secret' }, logger: false, tls: { rejectUnauthorized: false } });
  await client.connect();
  const lock = await client.getMailboxLock('INBOX');
  try {
    const moved = await client.messageMove('1:*', 'Junk');
    assert.ok(moved && moved.uidMap && moved.uidMap.size >= 1, 'moved');
  } finally {
    lock.release();
  }
  await client.logout();
}

test('two users moving a message to Junk over IMAP raise the next copy’s score; N reporters block the IP; unblock lifts it', async () => {
  assert.equal((await sendFromSpammer('alice@fjord.test', 1)).greeting, 220);
  assert.equal((await sendFromSpammer('bob@fjord.test', 1)).greeting, 220);
  const first = await scoreOf('alice', 1);

  await moveToJunk('alice');
  await moveToJunk('bob');
  await t.system.spamFeedbackIdle();

  const show = await runCli(['reputation', 'show', SPAMMER, '--data', t.dataDir, '--json']);
  assert.equal(show.code, 0, show.stderr);
  const standing = JSON.parse(show.stdout) as { spamReporters: number; blocked: boolean; reason: string };
  assert.equal(standing.spamReporters, 2);
  assert.equal(standing.blocked, true);
  assert.match(standing.reason, /reported as spam by 2 users/);

  // Blocked at connect now, with the reason.
  const refused = await sendFromSpammer('carol@fjord.test', 2);
  assert.equal(refused.greeting, 554);
  assert.match(refused.text, /5\.7\.1 .*127\.0\.0\.9.*reported as spam/);

  const list = await runCli(['reputation', 'list', '--blocked', '--data', t.dataDir]);
  assert.match(list.stdout, /^ip\t127\.0\.0\.9\tBLOCKED/m, list.stderr);
  const domainShow = await runCli(['reputation', 'show', 'offers.example', '--data', t.dataDir, '--json']);
  assert.equal((JSON.parse(domainShow.stdout) as { spamReporters: number }).spamReporters, 2, 'the sending domain is reported too');

  // The sending domain was reported by the same users: it is blocked too (at MAIL FROM).
  const domainRefused = await SmtpTalk.connect(t.smtpPort, '127.0.0.1', '127.0.0.10');
  await domainRefused.read();
  await domainRefused.cmd('EHLO other.example');
  const mf = await domainRefused.cmd('MAIL FROM:<bounce@offers.example>');
  await domainRefused.quit();
  assert.equal(mf.code, 554);
  assert.match(mf.text, /offers\.example blocked: reported as spam by 2 users/);

  for (const source of [SPAMMER, 'offers.example']) {
    const unblock = await runCli(['reputation', 'unblock', source, '--data', t.dataDir]);
    assert.equal(unblock.code, 0, unblock.stderr);
    assert.doesNotMatch(unblock.stdout, /BLOCKED/);
  }
  // The running server notices the admin's decision within a second or two.
  let accepted = { greeting: 0, text: '' };
  for (let i = 0; i < 30 && accepted.greeting !== 220; i++) {
    await new Promise((r) => setTimeout(r, 200));
    accepted = await sendFromSpammer('carol@fjord.test', 2).catch(() => accepted);
  }
  assert.equal(accepted.greeting, 220, 'unblocked');
  const next = await scoreOf('carol', 2);
  assert.ok(next > first + 1, `the next copy scores higher: ${first} → ${next}`);
});

test('moving back and forth does not count twice', async () => {
  // From another address (the first test's reports may send this one to Junk already).
  assert.equal((await sendFromSpammer('dave@fjord.test', 3, '127.0.0.12')).greeting, 220);
  await t.system.worker.idle();
  const store = t.system.store;
  const before = await store.getTotals(0);
  const client = new ImapFlow({ host: '127.0.0.1', port: t.imapPort, secure: false, auth: { user: 'dave@fjord.test', pass: 'secret' }, logger: false, tls: { rejectUnauthorized: false } });
  await client.connect();
  const status = await client.status('INBOX', { messages: true });
  const where = status && status.messages ? 'INBOX' : 'Junk';
  const other = where === 'INBOX' ? 'Junk' : 'INBOX';
  // Four user judgements, ending in Junk.
  const hops: [string, string][] = where === 'INBOX'
    ? [['INBOX', 'Junk'], ['Junk', 'INBOX'], ['INBOX', 'Junk'], ['Junk', 'INBOX'], ['INBOX', 'Junk']]
    : [['Junk', other], [other, 'Junk'], ['Junk', other], [other, 'Junk']];
  for (const [from, to] of hops) {
    const lock = await client.getMailboxLock(from);
    const moved = await client.messageMove('1:*', to);
    lock.release();
    assert.ok(moved && moved.uidMap && moved.uidMap.size === 1, `moved ${from} → ${to}`);
  }
  await client.logout();
  await t.system.spamFeedbackIdle();
  const after = await store.getTotals(0);
  assert.deepEqual(counts(after), { ham: before.ham, spam: before.spam + 1 }, 'one spam message more, no ham: trained once, as its last judgement');
  const dave = (await store.getAccount('dave@fjord.test'))!;
  assert.deepEqual(counts(await store.getTotals(dave.id)), { ham: 0, spam: 1 }, 'and once for dave himself');
  const mine = (await store.listSpamReports({ ip: '127.0.0.12' })).filter((r) => r.accountId === dave.id);
  assert.equal(mine.length, 1, 'one report per user and message');
  assert.equal(mine[0]!.verdict, 'spam', 'the latest judgement stands');
});
