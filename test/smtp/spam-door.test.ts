// The spam filter at the MX door, over real sockets and a real DNS server on loopback: a client
// listed in a DNS blocklist is refused naming the list (at connect or at RCPT), another one is
// let through; a DNSBL answer mapped to points sends the message to Junk with X-Spam headers;
// clients that talk before the greeting are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestSystem, addAccount, type TestSystem } from '../helpers/system.js';
import { SmtpTalk, makeMessage } from '../helpers/smtp-client.js';
import { TestDnsServer } from '../helpers/dns-server.js';

const systems: TestSystem[] = [];
const servers: TestDnsServer[] = [];
after(async () => {
  for (const t of systems) await t.stop();
  for (const d of servers) await d.close();
});

async function setup(spam: Record<string, unknown>): Promise<{ t: TestSystem; dns: TestDnsServer }> {
  const dns = await TestDnsServer.start();
  servers.push(dns);
  dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2', ttl: 60 });
  dns.add('2.0.0.127.bl.test', { type: 'TXT', data: 'listed for spamming, see https://bl.test/127.0.0.2' });
  dns.add('4.0.0.127.bl.test', { type: 'A', data: '127.0.0.10', ttl: 60 });
  const t = await startTestSystem({ dns: dns.address, spam: { pregreetMs: 0, ...spam } });
  systems.push(t);
  await addAccount(t.system, 'alice@fjord.test');
  return { t, dns };
}

const zones = [{ zone: 'bl.test', codes: { '127.0.0.2': 'reject', '127.0.0.10': 6 } }];

async function send(port: number, from: string, rcpt: string, subject: string): Promise<{ greeting: number; rcpt?: number; data?: string; text: string }> {
  const c = await SmtpTalk.connect(port, '127.0.0.1', from);
  try {
    const g = await c.read();
    if (g.code !== 220) return { greeting: g.code, text: g.text };
    assert.equal((await c.cmd('EHLO client.example.net')).code, 250);
    assert.equal((await c.cmd('MAIL FROM:<sender@example.net>')).code, 250);
    const r = await c.cmd(`RCPT TO:<${rcpt}>`);
    if (r.code !== 250) return { greeting: 220, rcpt: r.code, text: r.text };
    const d = await c.data(makeMessage({ to: rcpt, subject, body: 'Hello Alice, the minutes of the meeting are attached below.\r\nRegards, Bob' }));
    return { greeting: 220, rcpt: 250, data: `${d.code} ${d.text}`, text: d.text };
  } finally {
    await c.quit();
  }
}

async function delivered(t: TestSystem, mailbox: 'INBOX' | 'Junk', subject: string): Promise<string | null> {
  await t.system.worker.idle();
  const store = t.system.store;
  const acct = (await store.getAccount('alice@fjord.test'))!;
  const mb = (await store.listMailboxes(acct.id)).find((m) => (mailbox === 'INBOX' ? m.name === 'INBOX' : m.specialUse === '\\Junk'))!;
  const idx = await store.listMessages(mb.id);
  for (const m of await store.getMessages(mb.id, idx.map((e) => e.uid))) {
    if (m.subject === subject) return (await store.readBlob(m.blobId)).toString('latin1');
  }
  return null;
}

test('a client listed in a DNSBL is refused at connect with 554 5.7.1 naming the list; another gets through', async () => {
  const { t, dns } = await setup({ dnsbl: { zones, timeoutMs: 1000 } });
  const listed = await send(t.smtpPort, '127.0.0.2', 'alice@fjord.test', 'from listed');
  assert.equal(listed.greeting, 554);
  assert.match(listed.text, /^5\.7\.1 .*127\.0\.0\.2.*bl\.test/);
  const clean = await send(t.smtpPort, '127.0.0.3', 'alice@fjord.test', 'from clean');
  assert.match(clean.data ?? '', /^250 /);
  assert.ok(await delivered(t, 'INBOX', 'from clean'), 'the clean client’s message is in the Inbox');
  assert.ok(dns.queries.includes('3.0.0.127.bl.test A'), `the clean client was looked up: ${dns.queries.join(', ')}`);
  // Cached by TTL: a second connection from the listed client makes no new query.
  const before = dns.queries.filter((q) => q === '2.0.0.127.bl.test A').length;
  assert.equal((await send(t.smtpPort, '127.0.0.2', 'alice@fjord.test', 'again')).greeting, 554);
  assert.equal(dns.queries.filter((q) => q === '2.0.0.127.bl.test A').length, before);
});

test('with rejectAt "rcpt" the listed client gets its 554 at RCPT, postmaster still reachable', async () => {
  const { t } = await setup({ dnsbl: { zones, timeoutMs: 1000, rejectAt: 'rcpt' } });
  await addAccount(t.system, 'postmaster@fjord.test');
  const r = await send(t.smtpPort, '127.0.0.2', 'alice@fjord.test', 'at rcpt');
  assert.equal(r.greeting, 220);
  assert.equal(r.rcpt, 554);
  assert.match(r.text, /^5\.7\.1 .*bl\.test/);
  const pm = await send(t.smtpPort, '127.0.0.2', 'postmaster@fjord.test', 'to postmaster');
  assert.match(pm.data ?? '', /^250 /);
});

test('a DNSBL code mapped to points sends the message to Junk with X-Spam-Status and X-Spam-Score', async () => {
  const { t } = await setup({ dnsbl: { zones, timeoutMs: 1000 } });
  const r = await send(t.smtpPort, '127.0.0.4', 'alice@fjord.test', 'scored by the list');
  assert.match(r.data ?? '', /^250 /);
  assert.equal(await delivered(t, 'INBOX', 'scored by the list'), null);
  const raw = await delivered(t, 'Junk', 'scored by the list');
  assert.ok(raw, 'delivered to Junk');
  assert.match(raw!, /^X-Spam-Status: Yes, score=\d+(\.\d+)? required=5(\.0)? tests=[^\r\n]*dnsbl/m);
  const score = Number(/^X-Spam-Score: (-?[\d.]+)/m.exec(raw!)?.[1]);
  assert.ok(score >= 6, `score ${score}`);
  // ...and a clean one is marked as such.
  await send(t.smtpPort, '127.0.0.3', 'alice@fjord.test', 'clean one');
  assert.match((await delivered(t, 'INBOX', 'clean one')) ?? '', /^X-Spam-Status: No, score=/m);
});

test('a DNSBL that times out fails open', async () => {
  const { t, dns } = await setup({ dnsbl: { zones, timeoutMs: 300 } });
  dns.misbehave('5.0.0.127.bl.test', 'timeout');
  const started = Date.now();
  const r = await send(t.smtpPort, '127.0.0.5', 'alice@fjord.test', 'slow list');
  assert.match(r.data ?? '', /^250 /);
  assert.ok(Date.now() - started < 5000, 'bounded wait');
});

test('a client that talks before the greeting is refused', async () => {
  const { t } = await setup({ pregreetMs: 400 });
  const c = await SmtpTalk.connect(t.smtpPort, '127.0.0.1', '127.0.0.6');
  c.write('EHLO early.example.net\r\n');
  const replies = [await c.read(), await c.read()];
  c.close();
  assert.ok(replies.some((r) => r.code === 421 && /too soon/i.test(r.text)), JSON.stringify(replies));
  // A patient client is served normally.
  const ok = await send(t.smtpPort, '127.0.0.7', 'alice@fjord.test', 'patient');
  assert.match(ok.data ?? '', /^250 /);
});
