// Python's standard poplib against the real server (poplib_client.py, read from the source tree):
// USER/PASS, AUTH PLAIN, STLS and POP3_SSL; sizes against delivered octets; IMAP deleting a
// message between two POP3 sessions; and a 1,000-message maildrop downloaded and deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { ImapTalk } from '../helpers/imap-client.js';
import { addUser, asDelivered, awkwardMessages, findBinary, inboxUids, multipartMessage, numbered, plainMessage, run, seedInbox, utf8HeaderMessage } from './common.js';

const SCRIPT = path.join(REPO_ROOT, 'test', 'pop3', 'poplib_client.py');
const python = findBinary('python3');
const SKIP = 'python3 is not installed';

let sys: TestSystem;

before(async () => {
  sys = await startTestSystem({ listen: { pop3s: '127.0.0.1:0' }, imap: { authFailureDelay: 0 } });
});

after(async () => {
  await sys.stop();
});

interface PopOut {
  welcome: string;
  capa: string[];
  capa_tls?: string[];
  stls?: string;
  login: string;
  cipher: string | null;
  stat: [number, number];
  list: string[];
  uidl: string[];
  msgs: { resp: string; size: number; raw: string }[];
  top1?: string[];
  deleted: string[];
  quit: string;
}

async function poplib(mode: 'plain' | 'stls' | 'ssl' | 'sasl', user: string, del = '', port = sys.pop3Port): Promise<PopOut> {
  const r = await run(python!, [SCRIPT, mode, String(port), user, 'secret', del], { timeout: 120_000 });
  assert.equal(r.code, 0, `poplib script failed:\n${r.stderr}\n${r.stdout.toString()}`);
  return JSON.parse(r.stdout.toString('utf8')) as PopOut;
}

function checkSizes(out: PopOut, expected: Buffer[]): void {
  assert.equal(out.msgs.length, expected.length);
  const listSizes = out.list.map((l) => Number(l.split(' ')[1]));
  assert.equal(out.stat[1], listSizes.reduce((a, b) => a + b, 0), 'STAT octets = sum of LIST sizes');
  for (const [i, m] of out.msgs.entries()) {
    const raw = Buffer.from(m.raw, 'base64');
    assert.ok(raw.equals(asDelivered(expected[i]!)), `message ${i + 1} as delivered:\n${JSON.stringify(raw.toString())}`);
    assert.equal(m.size, listSizes[i], `message ${i + 1}: LIST size = octets RETR delivered`);
    assert.equal(raw.length, listSizes[i]);
    assert.match(m.resp, new RegExp(`^\\+OK ${listSizes[i]} octets`));
  }
}

test('poplib: USER/PASS plain, everything downloaded byte-exact, DELE + QUIT expunges', async (t) => {
  if (!python) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'py@fjord.test');
  const msgs = [plainMessage(1), multipartMessage(2), utf8HeaderMessage(3), ...awkwardMessages()];
  const uids = await seedInbox(sys.system.store, acct.id, msgs);
  const out = await poplib('plain', acct.address, '2,4');
  assert.match(out.welcome, /^\+OK/);
  for (const cap of ['TOP', 'UIDL', 'USER', 'SASL', 'PIPELINING', 'RESP-CODES', 'STLS']) assert.ok(out.capa.includes(cap), `CAPA ${cap}: ${out.capa}`);
  assert.match(out.login, /^\+OK 6 messages/);
  checkSizes(out, msgs);
  assert.deepEqual(out.top1, ['From: Sender 1 <sender1@example.net>', 'To: user@fjord.test', 'Subject: Plain message 1', 'Date: Mon, 6 Jan 2025 10:11:00 +0100', 'Message-ID: <plain-1@example.net>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '']);
  assert.equal(out.deleted.length, 2);
  assert.match(out.quit, /^\+OK/);
  assert.deepEqual(await inboxUids(sys.system.store, acct.id), [uids[0], uids[2], uids[4], uids[5]]);

  // The next session: UIDL of the survivors unchanged, nothing deleted this time.
  const again = await poplib('sasl', acct.address);
  assert.match(again.login, /^\+OK 4 messages/);
  const before = new Map(out.uidl.map((l) => [Number(l.split(' ')[0]), l.split(' ')[1]]));
  assert.deepEqual(again.uidl.map((l) => l.split(' ')[1]), [1, 3, 5, 6].map((n) => before.get(n)));
  checkSizes(again, [msgs[0]!, msgs[2]!, msgs[4]!, msgs[5]!]);
});

test('poplib: stls() then login; POP3_SSL (implicit TLS)', async (t) => {
  if (!python) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'pytls@fjord.test');
  const msgs = [plainMessage(7), utf8HeaderMessage(8)];
  await seedInbox(sys.system.store, acct.id, msgs);
  const s = await poplib('stls', acct.address);
  assert.match(s.stls!, /^\+OK/);
  assert.ok(s.capa.includes('STLS') && !s.capa_tls!.includes('STLS'), `STLS offered only before TLS: ${s.capa_tls}`);
  assert.match(s.cipher ?? '', /^TLSv1\.[23]$/);
  checkSizes(s, msgs);
  const i = await poplib('ssl', acct.address, 'all', sys.system.addresses.pop3s!.port);
  assert.match(i.cipher ?? '', /^TLSv1\.[23]$/);
  assert.ok(!i.capa.includes('STLS'));
  checkSizes(i, msgs);
  assert.deepEqual(i.uidl, s.uidl, 'same UIDL over both ports');
  assert.deepEqual(await inboxUids(sys.system.store, acct.id), []);
});

test('poplib: IMAP deletes a message between two POP3 sessions', async (t) => {
  if (!python) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'mixed@fjord.test');
  const msgs = [1, 2, 3, 4].map((n) => numbered(n));
  await seedInbox(sys.system.store, acct.id, msgs);
  const first = await poplib('plain', acct.address);
  assert.equal(first.stat[0], 4);

  const imap = await ImapTalk.connect(sys.imapPort);
  assert.equal((await imap.login(acct.address)).status, 'OK');
  assert.equal((await imap.cmd('SELECT INBOX')).status, 'OK');
  assert.equal((await imap.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
  const ex = await imap.cmd('EXPUNGE');
  assert.equal(ex.status, 'OK');
  assert.deepEqual(ex.lines, ['* 2 EXPUNGE']);
  await imap.cmd('LOGOUT');
  imap.close();

  const second = await poplib('plain', acct.address, '1');
  assert.equal(second.stat[0], 3);
  const ids = (o: PopOut) => o.uidl.map((l) => l.split(' ')[1]);
  assert.deepEqual(ids(second), [ids(first)[0], ids(first)[2], ids(first)[3]], 'survivors keep their UIDL; numbers close up');
  checkSizes(second, [msgs[0]!, msgs[2]!, msgs[3]!]);
  assert.equal((await inboxUids(sys.system.store, acct.id)).length, 2);
});

test('poplib: 1,000 messages listed, downloaded and deleted', async (t) => {
  if (!python) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'bulk@fjord.test');
  const msgs = Array.from({ length: 1000 }, (_, i) => numbered(i + 1));
  await seedInbox(sys.system.store, acct.id, msgs);
  const out = await poplib('plain', acct.address, 'all');
  assert.equal(out.stat[0], 1000);
  assert.equal(out.list.length, 1000);
  assert.equal(new Set(out.uidl.map((l) => l.split(' ')[1])).size, 1000, 'UIDLs unique');
  checkSizes(out, msgs);
  assert.equal(out.deleted.length, 1000);
  assert.match(out.quit, /^\+OK/);
  assert.deepEqual(await inboxUids(sys.system.store, acct.id), []);
});
