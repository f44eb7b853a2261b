// Other sessions' changes reach a selected session only at the moments RFC 9051 §7.5.1 allows,
// with sequence numbers that stay consistent; IDLE sees SMTP deliveries within a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestSystem, addAccount, type TestSystem } from '../helpers/system.js';
import { ImapTalk } from '../helpers/imap-client.js';
import { SmtpTalk, makeMessage } from '../helpers/smtp-client.js';
import { openStore } from '../../src/store/index.js';
import { parseMessage } from '../../src/mime/index.js';
import type { JunkReport } from '../../src/imap/junk-events.js';

const USER = 'u@x.test';

function msg(n: number): Buffer {
  return Buffer.from(`From: a${n}@b.test\r\nTo: ${USER}\r\nSubject: message ${n}\r\nMessage-ID: <m${n}@b.test>\r\n\r\nbody ${n}\r\n`);
}

async function seed(sys: TestSystem, count: number, mailbox = 'INBOX'): Promise<void> {
  const account = (await sys.system.store.getAccount(USER))!;
  const mb = (await sys.system.store.getMailbox(account.id, mailbox))!;
  for (let i = 1; i <= count; i++) {
    const raw = msg(i);
    await sys.system.store.append(mb.id, { raw, parsed: parseMessage(raw) });
  }
}

async function withSystem(fn: (sys: TestSystem) => Promise<void>, config: Record<string, unknown> = {}): Promise<void> {
  const sys = await startTestSystem(config);
  try {
    await addAccount(sys.system, USER);
    await fn(sys);
  } finally {
    await sys.stop();
  }
}

async function session(sys: TestSystem, select = 'INBOX'): Promise<ImapTalk> {
  const c = await ImapTalk.connect(sys.imapPort);
  assert.equal((await c.login(USER)).status, 'OK');
  if (select) assert.equal((await c.cmd(`SELECT ${select}`)).status, 'OK');
  return c;
}

test('new mail from another session appears as EXISTS at the next command', async () => {
  await withSystem(async (sys) => {
    await seed(sys, 3);
    const a = await session(sys);
    const b = await session(sys, '');
    const m = msg(9);
    assert.equal((await b.cmdLiterals([`APPEND INBOX {${m.length}}`, m, ''])).status, 'OK');
    const r = await a.cmd('NOOP');
    assert.deepEqual(r.lines, ['* 4 EXISTS']);
    const f = await a.cmd('FETCH 4 (UID)');
    assert.match(f.lines[0]!, /^\* 4 FETCH \(UID 4\)$/);
    a.close();
    b.close();
  });
});

test('expunges by another session wait until a command that may renumber', async () => {
  await withSystem(async (sys) => {
    await seed(sys, 5);
    const a = await session(sys);
    const b = await session(sys);
    assert.equal((await b.cmd('STORE 2,4 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
    assert.equal((await b.cmd('EXPUNGE')).status, 'OK');
    // FETCH, STORE and SEARCH must not announce expunges: numbering stays as A knows it.
    const f = await a.cmd('FETCH 1:5 (UID)');
    assert.ok(!f.lines.some((l) => / EXPUNGE$/.test(l)), f.lines.join('\n'));
    const uids = f.lines.filter((l) => l.includes('FETCH')).map((l) => /UID (\d+)/.exec(l)![1]);
    assert.deepEqual(uids, ['1', '3', '5']); // expunged messages have no data, the rest keep their numbers
    assert.match(f.lines.find((l) => l.includes('UID 5'))!, /^\* 5 FETCH/);
    const s = await a.cmd('SEARCH ALL');
    assert.ok(!s.lines.some((l) => / EXPUNGE$/.test(l)));
    // NOOP may: each EXPUNGE renumbers, so 2 then 3 (former 4).
    const n = await a.cmd('NOOP');
    assert.deepEqual(n.lines, ['* 2 EXPUNGE', '* 3 EXPUNGE']);
    const after = await a.cmd('FETCH 1:* (UID)');
    assert.deepEqual(after.lines, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)', '* 3 FETCH (UID 5)']);
    // UID FETCH may announce expunges.
    assert.equal((await b.cmd('UID STORE 3 +FLAGS.SILENT (\\Deleted)')).status, 'OK');
    assert.equal((await b.cmd('UID EXPUNGE 3')).status, 'OK');
    const u = await a.cmd('UID FETCH 1:* (FLAGS)');
    assert.ok(u.lines.includes('* 2 EXPUNGE'), u.lines.join('\n'));
    a.close();
    b.close();
  });
});

test('flag changes by others arrive as FETCH; own changes are not repeated', async () => {
  await withSystem(async (sys) => {
    await seed(sys, 2);
    const a = await session(sys);
    const b = await session(sys);
    await b.cmd('STORE 2 +FLAGS (\\Flagged)');
    const n = await a.cmd('NOOP');
    assert.deepEqual(n.lines, ['* 2 FETCH (UID 2 FLAGS (\\Flagged))']);
    const own = await a.cmd('STORE 1 +FLAGS (\\Seen)');
    assert.deepEqual(own.lines, ['* 1 FETCH (FLAGS (\\Seen))']);
    assert.deepEqual((await a.cmd('NOOP')).lines, []);
    a.close();
    b.close();
  });
});

test('QRESYNC sessions get VANISHED instead of EXPUNGE, and resync after reconnecting', async () => {
  await withSystem(async (sys) => {
    await seed(sys, 6);
    const a = await ImapTalk.connect(sys.imapPort);
    await a.login(USER);
    assert.equal((await a.cmd('ENABLE QRESYNC')).lines[0], '* ENABLED QRESYNC');
    const sel = await a.cmd('SELECT INBOX');
    const validity = /UIDVALIDITY (\d+)/.exec(sel.lines.join('\n'))![1];
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.lines.join('\n'))![1]);
    const b = await session(sys);
    await b.cmd('STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    await b.cmd('EXPUNGE');
    assert.deepEqual((await a.cmd('NOOP')).lines, ['* VANISHED 1:3']);
    await b.cmd('STORE 1 +FLAGS (\\Answered)'); // uid 4
    a.close();
    const c = await ImapTalk.connect(sys.imapPort);
    await c.login(USER);
    await c.cmd('ENABLE QRESYNC');
    const r = await c.cmd(`SELECT INBOX (QRESYNC (${validity} ${modseq} 1:6))`);
    assert.equal(r.status, 'OK');
    assert.ok(r.lines.includes('* VANISHED (EARLIER) 1:3'), r.lines.join('\n'));
    assert.ok(r.lines.some((l) => /^\* 1 FETCH \(UID 4 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)$/.test(l)), r.lines.join('\n'));
    b.close();
    c.close();
  });
});

test('IDLE sees a message delivered over SMTP within one second', async () => {
  await withSystem(async (sys) => {
    const a = await session(sys);
    a.write('i1 IDLE\r\n');
    assert.equal(await a.line(), '+ idling');
    const smtp = await SmtpTalk.connect(sys.smtpPort);
    assert.equal((await smtp.read()).code, 220);
    await smtp.cmd('EHLO client.test');
    await smtp.cmd('MAIL FROM:<s@b.test>');
    await smtp.cmd(`RCPT TO:<${USER}>`);
    const sentAt = Date.now();
    assert.equal((await smtp.data(makeMessage({ to: USER, subject: 'idle test' }))).code, 250);
    assert.equal(await a.line(1000 - (Date.now() - sentAt)), '* 1 EXISTS');
    const latency = Date.now() - sentAt;
    assert.ok(latency < 1000, `EXISTS after ${latency} ms`);
    a.write('DONE\r\n');
    assert.match((await a.until('i1')).tagged, /^i1 OK/);
    await smtp.cmd('QUIT');
    a.close();
  });
});

test('a change made by another process reaches an idling session', async () => {
  await withSystem(async (sys) => {
    const a = await session(sys);
    a.write('i1 IDLE\r\n');
    assert.equal(await a.line(), '+ idling');
    // A second Store on the same data folder is what another process sees.
    const other = await openStore({ dataDir: sys.dataDir, sweepAtOpen: false });
    const account = (await other.getAccount(USER))!;
    const inbox = (await other.getMailbox(account.id, 'INBOX'))!;
    const raw = msg(1);
    await other.append(inbox.id, { raw, parsed: parseMessage(raw) });
    await other.close();
    assert.equal(await a.line(2000), '* 1 EXISTS');
    a.write('DONE\r\n');
    await a.until('i1');
    a.close();
  });
});

test('moving into Junk, out of it, or setting $Junk reports spam / not spam', async () => {
  await withSystem(async (sys) => {
    await seed(sys, 3);
    const reports: JunkReport[] = [];
    sys.system.onJunkReport((r) => reports.push(r));
    const a = await session(sys);
    assert.equal((await a.cmd('UID MOVE 1 Junk')).status, 'OK');
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.verdict, 'spam');
    assert.equal(reports[0]!.via, 'move');
    assert.equal((await a.cmd('UID COPY 2 Junk')).status, 'OK');
    assert.equal(reports[1]?.verdict, 'spam');
    assert.equal(reports[1]?.via, 'copy');
    assert.equal((await a.cmd('UID STORE 3 +FLAGS ($NotJunk)')).status, 'OK');
    assert.equal(reports[2]?.verdict, 'ham');
    assert.equal(reports[2]?.via, 'keyword');
    await a.cmd('SELECT Junk');
    assert.equal((await a.cmd('UID MOVE 1:* Trash')).status, 'OK'); // deleting spam is not "not spam"
    assert.equal(reports.length, 3);
    await a.cmd('SELECT Trash');
    assert.equal((await a.cmd('UID MOVE 1 Junk')).status, 'OK');
    await a.cmd('SELECT Junk');
    assert.equal((await a.cmd('UID MOVE 1:* INBOX')).status, 'OK');
    assert.deepEqual(reports.slice(3).map((r) => [r.verdict, r.via]), [['spam', 'move'], ['ham', 'move']]);
    for (const r of reports) assert.match(r.emailId, /^M[0-9a-z]+$/);
    a.close();
  });
});

test('APPEND and COPY over quota fail with [OVERQUOTA]', async () => {
  await withSystem(async (sys) => {
    await sys.system.store.setQuota(USER, { messages: 2 });
    await seed(sys, 2);
    const a = await session(sys);
    const m = msg(3);
    const r = await a.cmdLiterals([`APPEND INBOX {${m.length}}`, m, '']);
    assert.equal(r.status, 'NO');
    assert.match(r.tagged, /\[OVERQUOTA\]/);
    const c = await a.cmd('COPY 1 Archive');
    assert.equal(c.status, 'NO');
    assert.match(c.tagged, /\[OVERQUOTA\]/);
    a.close();
  });
});
