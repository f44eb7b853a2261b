// The imapflow client (npm) against the real server over real sockets: plain, STARTTLS and
// implicit TLS, LIST with special-use, APPEND/FETCH byte-exactness, STORE, SEARCH, MOVE with
// COPYUID, EXPUNGE, IDLE woken by an SMTP delivery, CONDSTORE/QRESYNC, COMPRESS, QUOTA, STATUS.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow, type ImapFlowOptions, type ExistsEvent, type ExpungeEvent, type FlagsEvent, type MessageStructureObject } from 'imapflow';
import { startTestSystem, type TestSystem } from '../../helpers/system.js';
import { SmtpTalk, makeMessage } from '../../helpers/smtp-client.js';
import type { Account, Store } from '../../../src/store/types.js';
import { addUser, attachmentMessage, mailboxContents, multipartMessage, plainMessage, seed, utf8HeaderMessage, waitFor } from './common.js';

let sys: TestSystem;
let store: Store;
let imapsPort: number;
/** Log lines of every client made by connect(), printed when a test fails. */
const logs: string[] = [];

before(async () => {
  sys = await startTestSystem({ listen: { smtp: '127.0.0.1:0', imap: '127.0.0.1:0', imaps: '127.0.0.1:0' }, imap: { authFailureDelay: 0 } });
  store = sys.system.store;
  imapsPort = sys.system.addresses.imaps!.port;
});

after(async () => {
  await sys.stop();
});

let accountN = 0;
/** A fresh account per test so tests do not see each other's messages. */
async function freshAccount(): Promise<Account> {
  return addUser(sys.system, `flow${++accountN}@fjord.test`);
}

function logger(id: string): ImapFlowOptions['logger'] {
  const put = (level: string) => (o: Record<string, unknown>) => {
    const data = typeof o.data === 'string' && o.src ? ` ${o.src === 'c' ? 'C' : 'S'}: ${Buffer.from(o.data, 'base64').toString('utf8').trimEnd()}` : '';
    logs.push(`[${id} ${level}] ${String(o.msg ?? '')}${data}${o.err ? ' ' + String(o.err) : ''}`);
  };
  return { trace: put('trace'), debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error'), fatal: put('fatal') } as unknown as ImapFlowOptions['logger'];
}

/** Connects and logs in; on failure of the surrounding test the wire log is printed. */
async function connect(account: Account, opts: Partial<ImapFlowOptions> = {}): Promise<ImapFlow> {
  const id = `${account.address}#${logs.length}`;
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: sys.imapPort,
    secure: false,
    auth: { user: account.address, pass: 'secret' },
    tls: { rejectUnauthorized: false },
    logger: logger(id),
    logRaw: true,
    disableAutoIdle: true,
    ...opts,
  });
  client.on('error', (e: Error) => logs.push(`[${id} error event] ${e.message}`));
  await client.connect();
  return client;
}

/** Runs a test body, printing the clients' wire logs if it fails. */
function withLog(body: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void> {
  return async (t) => {
    logs.length = 0;
    try {
      await body(t);
    } catch (err) {
      console.error(logs.slice(-200).join('\n'));
      throw err;
    }
  };
}

const isCompressed = (c: ImapFlow) => Boolean((c as unknown as { _deflate?: unknown })._deflate);

test('imapflow: plain-text login is allowed on loopback; a wrong password is refused', withLog(async () => {
  const acct = await freshAccount();

  const plain = await connect(acct, { doSTARTTLS: false, disableCompression: true });
  assert.equal(plain.secureConnection, false);
  assert.ok(plain.authenticated, 'logged in');
  assert.ok(plain.capabilities.has('IDLE') && plain.capabilities.has('UIDPLUS') && plain.capabilities.has('MOVE'));
  assert.equal(isCompressed(plain), false);
  await plain.logout();

  // A wrong password is refused.
  await assert.rejects(connect(acct, { auth: { user: acct.address, pass: 'wrong' }, doSTARTTLS: false }), (e: { authenticationFailed?: boolean; serverResponseCode?: string }) => {
    assert.equal(e.authenticationFailed, true);
    assert.equal(e.serverResponseCode, 'AUTHENTICATIONFAILED');
    return true;
  });
}));

test('imapflow: STARTTLS with COMPRESS=DEFLATE on top', withLog(async () => {
  const acct = await freshAccount();
  const starttls = await connect(acct, { doSTARTTLS: true });
  assert.equal(starttls.secureConnection, true, 'upgraded with STARTTLS');
  assert.ok(starttls.tls && typeof starttls.tls === 'object', 'TLS details known');
  assert.ok(!starttls.capabilities.has('STARTTLS'), 'STARTTLS no longer offered after the upgrade');
  assert.equal(isCompressed(starttls), true, 'COMPRESS=DEFLATE negotiated');
  // A command round trip over TLS + DEFLATE.
  const st = await starttls.status('INBOX', { messages: true });
  assert.equal(st && st.messages, 0);
  await starttls.logout();
}));

test('imapflow: implicit TLS on the imaps port', withLog(async () => {
  const acct = await freshAccount();
  const implicit = await connect(acct, { port: imapsPort, secure: true });
  assert.equal(implicit.secureConnection, true);
  assert.ok(implicit.authenticated, 'logged in');
  assert.equal(isCompressed(implicit), true);
  const st = await implicit.status('INBOX', { messages: true, uidNext: true });
  assert.deepEqual(st && [st.messages, st.uidNext], [0, 1]);
  await implicit.logout();
}));

test('imapflow: LIST shows the special-use mailboxes; create, rename, delete, subscribe', withLog(async () => {
  const acct = await freshAccount();
  const c = await connect(acct);
  const list = await c.list();
  const byPath = new Map(list.map((m) => [m.path, m]));
  assert.deepEqual([...byPath.keys()].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
  assert.equal(byPath.get('Drafts')!.specialUse, '\\Drafts');
  assert.equal(byPath.get('Sent')!.specialUse, '\\Sent');
  assert.equal(byPath.get('Junk')!.specialUse, '\\Junk');
  assert.equal(byPath.get('Trash')!.specialUse, '\\Trash');
  assert.equal(byPath.get('Archive')!.specialUse, '\\Archive');
  assert.equal(byPath.get('INBOX')!.specialUse, '\\Inbox');
  assert.equal(byPath.get('Sent')!.delimiter, '/');

  const created = await c.mailboxCreate(['Projects', 'Fjord æøå']);
  assert.equal(created.path, 'Projects/Fjord æøå');
  assert.ok(await store.getMailbox(acct.id, 'Projects/Fjord æøå'), 'the store has the new mailbox (UTF-8 name)');
  await c.mailboxRename('Projects/Fjord æøå', 'Projects/Renamed');
  assert.equal(await store.getMailbox(acct.id, 'Projects/Fjord æøå'), null);
  assert.ok(await store.getMailbox(acct.id, 'Projects/Renamed'));
  await c.mailboxUnsubscribe('Projects/Renamed');
  assert.equal((await store.getMailbox(acct.id, 'Projects/Renamed'))!.subscribed, false);
  const after = await c.list();
  assert.ok(!after.find((m) => m.path === 'Projects/Renamed')!.subscribed);
  assert.equal(after.find((m) => m.path === 'INBOX')!.subscribed, true);
  await c.mailboxDelete('Projects/Renamed');
  assert.equal(await store.getMailbox(acct.id, 'Projects/Renamed'), null);
  await c.logout();
}));

test('imapflow: APPEND, then FETCH envelope, bodystructure and byte-exact source', withLog(async () => {
  const acct = await freshAccount();
  const c = await connect(acct);
  const msgs = [plainMessage(1), multipartMessage(2), attachmentMessage(3), utf8HeaderMessage(4)];
  const idate = new Date('2024-12-24T18:00:00Z');
  const appended = [];
  for (const m of msgs) appended.push(await c.append('INBOX', m, ['\\Seen', '$Label1'], idate));
  for (const [i, a] of appended.entries()) {
    assert.ok(a && typeof a === 'object', 'APPEND succeeded with APPENDUID');
    assert.equal(a.uid, i + 1, 'APPENDUID gives the new UID');
    assert.equal(a.uidValidity, BigInt((await store.getMailbox(acct.id, 'INBOX'))!.uidValidity));
  }
  // What the store holds is byte-identical to what was appended.
  const stored = await mailboxContents(store, acct.id, 'INBOX');
  assert.deepEqual(stored.map((m) => m.raw), msgs);
  assert.deepEqual(stored[0]!.flags, ['$Label1', '\\Seen']);

  const box = await c.mailboxOpen('INBOX');
  assert.equal(box.exists, 4);
  assert.equal(box.uidNext, 5);
  assert.equal(box.readOnly, false);
  assert.ok(box.permanentFlags!.has('\\*'));

  const fetched = await c.fetchAll('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, source: true, internalDate: true, size: true });
  assert.equal(fetched.length, 4);
  for (const [i, f] of fetched.entries()) {
    assert.equal(f.seq, i + 1);
    assert.equal(f.uid, i + 1);
    assert.ok(f.source!.equals(msgs[i]!), `message ${i + 1} source is byte-exact`);
    assert.equal(f.size, msgs[i]!.length);
    assert.deepEqual([...f.flags!].sort(), ['$Label1', '\\Seen']);
    assert.equal(new Date(f.internalDate!).getTime(), idate.getTime());
  }
  const [m1, m2, m3, m4] = fetched as [typeof fetched[0], typeof fetched[0], typeof fetched[0], typeof fetched[0]];
  assert.equal(m1.envelope!.subject, 'Plain message 1');
  assert.deepEqual(m1.envelope!.from, [{ name: 'Sender 1', address: 'sender1@example.net' }]);
  assert.equal(m1.envelope!.messageId, '<plain-1@example.net>');
  assert.equal(new Date(m1.envelope!.date!).toISOString(), '2025-01-06T09:11:00.000Z');
  assert.equal(m2.envelope!.subject, 'Møte i morgen 2 – agenda');
  assert.deepEqual(m2.envelope!.from, [{ name: 'Jørgen Fjord', address: 'jorgen@example.no' }]);
  assert.equal(m4.envelope!.subject, 'Grüße aus Tromsø 4 ✓');
  assert.deepEqual(m4.envelope!.from, [{ name: 'Åse Ødegård', address: 'åse@eksempel.no' }]);

  assert.equal(m1.bodyStructure!.type, 'text/plain');
  assert.equal(m1.bodyStructure!.parameters!.charset, 'us-ascii');
  const alt = m2.bodyStructure!;
  assert.equal(alt.type, 'multipart/alternative');
  assert.deepEqual(alt.childNodes!.map((p: MessageStructureObject) => [p.part, p.type, p.encoding, p.parameters!.charset]), [
    ['1', 'text/plain', 'quoted-printable', 'utf-8'],
    ['2', 'text/html', 'quoted-printable', 'utf-8'],
  ]);
  const mixed = m3.bodyStructure!;
  assert.equal(mixed.type, 'multipart/mixed');
  const att = mixed.childNodes![1]!;
  assert.equal(att.type, 'application/octet-stream');
  assert.equal(att.encoding, 'base64');
  assert.equal(att.disposition, 'attachment');
  assert.equal(att.dispositionParameters!.filename, 'report-3.bin');
  assert.equal(m4.bodyStructure!.encoding, '8bit');

  // Partial fetch of a body part, decoded by the client.
  const part = await c.download('3', '2', { uid: true });
  const chunks: Buffer[] = [];
  for await (const ch of part.content as AsyncIterable<Buffer>) chunks.push(ch);
  const expected = Buffer.alloc(300);
  for (let i = 0; i < expected.length; i++) expected[i] = (i * 7 + 3) & 0xff;
  assert.ok(Buffer.concat(chunks).equals(expected), 'the attachment decodes to the original bytes');
  await c.logout();
}));

test('imapflow: STORE adds and removes flags; SEARCH finds by flag, header and text', withLog(async () => {
  const acct = await freshAccount();
  for (let n = 1; n <= 5; n++) await seed(store, acct.id, 'INBOX', n % 2 ? plainMessage(n) : multipartMessage(n));
  const c = await connect(acct);
  await c.mailboxOpen('INBOX');

  assert.equal(await c.messageFlagsAdd('1:3', ['\\Seen', '\\Flagged', 'Custom']), true);
  assert.equal(await c.messageFlagsRemove({ uid: '2' }, ['\\Flagged'], { uid: true }), true);
  const flags = await c.fetchAll('1:*', { flags: true });
  assert.deepEqual(flags.map((f) => [...f.flags!].sort()), [
    ['Custom', '\\Flagged', '\\Seen'],
    ['Custom', '\\Seen'],
    ['Custom', '\\Flagged', '\\Seen'],
    [],
    [],
  ]);
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX')).map((m) => m.flags), [
    ['Custom', '\\Flagged', '\\Seen'],
    ['Custom', '\\Seen'],
    ['Custom', '\\Flagged', '\\Seen'],
    [],
    [],
  ]);
  await c.messageFlagsSet('5', ['\\Answered']);
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX'))[4]!.flags, ['\\Answered']);

  assert.deepEqual(await c.search({ seen: false }), [4, 5]);
  assert.deepEqual(await c.search({ flagged: true }, { uid: true }), [1, 3]);
  assert.deepEqual(await c.search({ keyword: 'Custom', answered: false }), [1, 2, 3]);
  assert.deepEqual(await c.search({ subject: 'Plain message' }), [1, 3, 5]);
  assert.deepEqual(await c.search({ from: 'jorgen@example.no' }), [2, 4]);
  assert.deepEqual(await c.search({ header: { 'message-id': '<plain-3@example.net>' } }), [3]);
  assert.deepEqual(await c.search({ body: 'Møtet' }), [2, 4], 'body search decodes quoted-printable UTF-8');
  assert.deepEqual(await c.search({ or: [{ uid: '1' }, { answered: true }] }), [1, 5]);
  assert.deepEqual(await c.search({ all: true }), [1, 2, 3, 4, 5]);
  await c.logout();
}));

test('imapflow: MOVE reports COPYUID; COPY; EXPUNGE removes deleted messages', withLog(async () => {
  const acct = await freshAccount();
  const msgs = [plainMessage(1), multipartMessage(2), attachmentMessage(3), utf8HeaderMessage(4), plainMessage(5)];
  for (const m of msgs) await seed(store, acct.id, 'INBOX', m);
  // The destination already holds a message, so its UIDs differ from the source's.
  await seed(store, acct.id, 'Archive', plainMessage(99));
  const c = await connect(acct);
  await c.mailboxOpen('INBOX');
  const expunged: ExpungeEvent[] = [];
  c.on('expunge', (e: ExpungeEvent) => expunged.push(e));

  const moved = await c.messageMove('2,4', 'Archive', { uid: true });
  assert.ok(moved, 'MOVE succeeded');
  const archive = (await store.getMailbox(acct.id, 'Archive'))!;
  assert.equal(moved.uidValidity, BigInt(archive.uidValidity));
  assert.deepEqual([...moved.uidMap!.entries()], [[2, 2], [4, 3]]);
  assert.equal(c.mailbox && c.mailbox.exists, 3);
  assert.equal(expunged.length, 2, 'two EXPUNGE responses');
  const inArchive = await mailboxContents(store, acct.id, 'Archive');
  assert.deepEqual(inArchive.map((m) => m.uid), [1, 2, 3]);
  assert.ok(inArchive[1]!.raw.equals(msgs[1]!) && inArchive[2]!.raw.equals(msgs[3]!), 'moved bytes unchanged');
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX')).map((m) => m.uid), [1, 3, 5]);

  const copied = await c.messageCopy('1', 'Trash');
  assert.ok(copied);
  assert.deepEqual([...copied.uidMap!.entries()], [[1, 1]]);
  assert.equal((await mailboxContents(store, acct.id, 'INBOX')).length, 3, 'COPY leaves the source alone');

  // messageDelete = STORE +FLAGS \Deleted + (UID) EXPUNGE
  assert.equal(await c.messageDelete({ uid: '3' }, { uid: true }), true);
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX')).map((m) => m.uid), [1, 5]);
  // Plain EXPUNGE of a \Deleted message only.
  await c.messageFlagsAdd('2', ['\\Deleted']);
  await c.mailboxClose(); // CLOSE expunges silently
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX')).map((m) => m.uid), [1]);
  await c.logout();
}));

test('imapflow: IDLE gets an SMTP-delivered message as an exists event within 1 s', withLog(async (t) => {
  const acct = await freshAccount();
  await seed(store, acct.id, 'INBOX', plainMessage(1));
  const c = await connect(acct);
  await c.mailboxOpen('INBOX');
  const exists = new Promise<ExistsEvent>((resolve) => c.on('exists', resolve));
  const idling = c.idle();
  await waitFor(async () => c.idling, 2000, 'IDLE to start');

  const smtp = await SmtpTalk.connect(sys.smtpPort);
  assert.equal((await smtp.read()).code, 220);
  assert.equal((await smtp.cmd('EHLO client.example.net')).code, 250);
  assert.equal((await smtp.cmd('MAIL FROM:<sender@example.net>')).code, 250);
  assert.equal((await smtp.cmd(`RCPT TO:<${acct.address}>`)).code, 250);
  const msg = makeMessage({ to: acct.address, subject: 'Pushed while idling' });
  const data = await smtp.data(msg);
  assert.equal(data.code, 250);
  const accepted = Date.now();
  await smtp.quit();

  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 1000));
  const ev = await Promise.race([exists, timer]);
  assert.notEqual(ev, 'timeout', 'no EXISTS within 1 s of the SMTP 250');
  const e = ev as ExistsEvent;
  assert.equal(e.path, 'INBOX');
  assert.equal(e.prevCount, 1);
  assert.equal(e.count, 2);
  const ms = Date.now() - accepted;
  assert.ok(ms < 1000);
  t.diagnostic(`EXISTS arrived ${ms} ms after the SMTP 250`);

  // The next command ends IDLE (DONE); the new message is fetchable.
  const f = await c.fetchOne('2', { envelope: true, source: true });
  assert.ok(f);
  assert.equal(f.envelope!.subject, 'Pushed while idling');
  assert.ok(f.source!.includes(msg), 'the delivered message (plus trace headers) is served');
  await idling;
  assert.equal(c.idling, false);
  await c.logout();
}));

test('imapflow: CONDSTORE/QRESYNC: modseqs, CHANGEDSINCE, VANISHED and flag updates from another session', withLog(async () => {
  const acct = await freshAccount();
  for (let n = 1; n <= 4; n++) await seed(store, acct.id, 'INBOX', plainMessage(n));
  const a = await connect(acct, { qresync: true });
  assert.ok(a.enabled.has('QRESYNC') && a.enabled.has('CONDSTORE'), `enabled: ${[...a.enabled].join(' ')}`);
  const box = await a.mailboxOpen('INBOX');
  assert.equal(typeof box.highestModseq, 'bigint');
  const modseq0 = box.highestModseq!;
  const all = await a.fetchAll('1:*', { uid: true, flags: true }); // MODSEQ comes along once CONDSTORE is on
  assert.ok(all.every((m) => typeof m.modseq === 'bigint' && m.modseq <= modseq0));

  const vanished: ExpungeEvent[] = [];
  const flagEvents: FlagsEvent[] = [];
  a.on('expunge', (e: ExpungeEvent) => vanished.push(e));
  a.on('flags', (e: FlagsEvent) => flagEvents.push(e));

  const b = await connect(acct);
  await b.mailboxOpen('INBOX');
  await b.messageFlagsAdd({ uid: '2' }, ['\\Flagged'], { uid: true });
  await b.messageDelete({ uid: '3' }, { uid: true });
  await b.logout();

  await a.noop();
  assert.deepEqual(vanished.map((e) => [e.vanished, e.uid]), [[true, 3]], 'QRESYNC reports the expunge as VANISHED with its UID');
  assert.equal(flagEvents.length, 1);
  assert.equal(flagEvents[0]!.uid, 2);
  assert.ok(flagEvents[0]!.flags.has('\\Flagged'));
  assert.ok(flagEvents[0]!.modseq! > modseq0, 'the unsolicited FETCH carries the new MODSEQ');

  const changed = await a.fetchAll('1:*', { uid: true, flags: true }, { uid: true, changedSince: modseq0 });
  assert.deepEqual(changed.map((m) => m.uid), [2], 'CHANGEDSINCE returns only the changed message');
  const st = await a.status('INBOX', { highestModseq: true, messages: true });
  assert.ok(st && st.highestModseq! > modseq0);
  assert.equal(st && st.messages, 3);

  // UNCHANGEDSINCE on a stale modseq does not change the message.
  await a.messageFlagsAdd({ uid: '2' }, ['$Stale'], { uid: true, unchangedSince: modseq0 });
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX')).find((m) => m.uid === 2)!.flags, ['\\Flagged']);
  await a.logout();
}));

test('imapflow: GETQUOTA and STATUS report the account usage', withLog(async () => {
  const acct = await addUser(sys.system, `quota${++accountN}@fjord.test`, { bytes: 10 * 1024 * 1024, messages: 1000 });
  const msgs = [plainMessage(1), multipartMessage(2), attachmentMessage(3)];
  for (const m of msgs) await seed(store, acct.id, 'INBOX', m, ['\\Seen']);
  await seed(store, acct.id, 'Archive', utf8HeaderMessage(4));
  const total = [...msgs, utf8HeaderMessage(4)].reduce((n, m) => n + m.length, 0);
  const c = await connect(acct);

  const q = await c.getQuota('INBOX');
  assert.ok(q, 'GETQUOTAROOT/GETQUOTA answered');
  assert.equal(q.storage!.limit, 10 * 1024 * 1024);
  // STORAGE is counted in units of 1024 octets (RFC 9208 §5.1), which imapflow multiplies back.
  assert.equal(q.storage!.usage, Math.ceil(total / 1024) * 1024, `usage ${q.storage!.usage} vs ${total} bytes`);
  assert.equal(q.message!.limit, 1000);
  assert.equal(q.message!.usage, 4);

  const st = await c.status('INBOX', { messages: true, uidNext: true, uidValidity: true, unseen: true, size: true, recent: true });
  assert.ok(st);
  const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
  assert.equal(st.messages, 3);
  assert.equal(st.uidNext, 4);
  assert.equal(st.uidValidity, BigInt(inbox.uidValidity));
  assert.equal(st.unseen, 0);
  assert.equal(st.size, msgs.reduce((n, m) => n + m.length, 0));
  const arch = await c.status('Archive', { messages: true, unseen: true });
  assert.deepEqual(arch && [arch.messages, arch.unseen], [1, 1]);
  await c.logout();
}));
