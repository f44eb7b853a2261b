// curl's imap:// and imaps:// against the real server: fetch by UID (byte-exact), LIST, a custom
// EXAMINE, SEARCH through the URL query, APPEND by upload, STARTTLS with --ssl-reqd, implicit TLS
// and a refused login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestSystem, type TestSystem } from '../../helpers/system.js';
import type { Account } from '../../../src/store/types.js';
import { addUser, attachmentMessage, findBinary, mailboxContents, multipartMessage, plainMessage, run, seed, utf8HeaderMessage, type RunResult } from './common.js';

const curlBin = findBinary('curl');
const SKIP = 'curl is not installed';

let sys: TestSystem;
let acct: Account;
const msgs = [plainMessage(1), multipartMessage(2), utf8HeaderMessage(3), attachmentMessage(4)];

before(async () => {
  sys = await startTestSystem({ listen: { smtp: '127.0.0.1:0', imap: '127.0.0.1:0', imaps: '127.0.0.1:0' }, imap: { authFailureDelay: 0 } });
  acct = await addUser(sys.system, 'curl@fjord.test');
  for (const m of msgs) await seed(sys.system.store, acct.id, 'INBOX', m);
});

after(async () => {
  await sys.stop();
});

const base = () => `imap://127.0.0.1:${sys.imapPort}`;

/** curl with -v (the protocol dialogue goes to stderr), failing on errors. */
async function curl(args: string[], user = `${acct.address}:secret`): Promise<RunResult> {
  return run(curlBin!, ['-sS', '-v', '--max-time', '15', '-u', user, ...args]);
}

function ok(r: RunResult): Buffer {
  assert.equal(r.code, 0, `curl exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

test('curl: imap://…/INBOX;UID=n fetches the exact message bytes and sets \\Seen', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  for (const uid of [1, 3]) {
    const r = await curl([`${base()}/INBOX;UID=${uid}`]);
    assert.ok(ok(r).equals(msgs[uid - 1]!), `UID ${uid} byte-exact:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`> A\\d+ UID FETCH ${uid} BODY\\[\\]`));
  }
  const flags = (await mailboxContents(sys.system.store, acct.id, 'INBOX')).map((m) => m.flags);
  assert.deepEqual(flags, [['\\Seen'], [], ['\\Seen'], []], 'BODY[] (not PEEK) marks the message seen');
  // One body part, by section.
  const part = ok(await curl([`${base()}/INBOX;UID=2;SECTION=1`]));
  assert.equal(part.toString('utf8'), 'Hei! M=C3=B8tet starter kl. 09:00 i rom =C3=86gir.\r\n');
  assert.deepEqual((await mailboxContents(sys.system.store, acct.id, 'INBOX'))[1]!.flags, ['\\Seen'], 'BODY[1] marks it seen too');
});

test('curl: imap://…/ lists the mailboxes with their special use', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const lines = ok(await curl([`${base()}/`])).toString('utf8').trimEnd().split('\r\n');
  const names = lines.map((l) => {
    const m = /^\* LIST \(([^)]*)\) "\/" "?([^"]*)"?$/.exec(l);
    assert.ok(m, `LIST line: ${JSON.stringify(l)}`);
    return [m[2], m[1]!.split(' ').filter((a) => a !== '\\HasNoChildren' && a !== '\\HasChildren').join(' ')];
  });
  assert.deepEqual(Object.fromEntries(names), { INBOX: '', Archive: '\\Archive', Drafts: '\\Drafts', Junk: '\\Junk', Sent: '\\Sent', Trash: '\\Trash' });
});

test('curl: -X "EXAMINE INBOX" returns the mailbox state, read-only', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const inbox = (await sys.system.store.getMailbox(acct.id, 'INBOX'))!;
  const r = await curl([`${base()}/INBOX`, '-X', 'EXAMINE INBOX']);
  const out = ok(r).toString('utf8');
  assert.match(out, /^\* FLAGS \(.*\\Seen.*\)\r$/m);
  assert.match(out, /^\* 4 EXISTS\r$/m);
  assert.match(out, new RegExp(`^\\* OK \\[UIDVALIDITY ${inbox.uidValidity}\\]`, 'm'));
  assert.match(out, /^\* OK \[UIDNEXT 5\]/m);
  assert.match(out, /^\* OK \[PERMANENTFLAGS \(\)\]/m, 'EXAMINE offers no permanent flags');
  assert.match(r.stderr, /< A\d+ OK \[READ-ONLY\] EXAMINE completed/);
});

test('curl: SEARCH in the URL query', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  assert.equal(ok(await curl([`${base()}/INBOX?SUBJECT%20Report`])).toString('utf8'), '* SEARCH 4\r\n');
  assert.equal(ok(await curl([`${base()}/INBOX?SEEN`])).toString('utf8'), '* SEARCH 1 2 3\r\n');
  assert.equal(ok(await curl([`${base()}/INBOX?UNSEEN%20FROM%20reports`])).toString('utf8'), '* SEARCH 4\r\n');
});

test('curl: -T uploads with APPEND (byte-exact, APPENDUID)', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const file = path.join(sys.dataDir, 'upload.eml');
  const msg = utf8HeaderMessage(7);
  fs.writeFileSync(file, msg);
  const sent = (await sys.system.store.getMailbox(acct.id, 'Sent'))!;
  const r = await curl(['-T', file, `${base()}/Sent`]);
  ok(r);
  assert.match(r.stderr, new RegExp(`< A\\d+ OK \\[APPENDUID ${sent.uidValidity} 1\\]`));
  const stored = await mailboxContents(sys.system.store, acct.id, 'Sent');
  assert.equal(stored.length, 1);
  assert.ok(stored[0]!.raw.equals(msg), 'uploaded message stored byte-exact');
  assert.deepEqual(stored[0]!.flags, ['\\Seen']);
});

test('curl: --ssl-reqd upgrades with STARTTLS before logging in', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await curl(['--ssl-reqd', '-k', `${base()}/INBOX;UID=2;SECTION=HEADER.FIELDS%20(MESSAGE-ID)`]);
  assert.equal(ok(r).toString('utf8'), 'Message-ID: <multi-2@example.no>\r\n\r\n');
  const dialogue = r.stderr.split('\n').filter((l) => /^[<>] /.test(l));
  const starttls = dialogue.findIndex((l) => /^> A\d+ STARTTLS/.test(l));
  const auth = dialogue.findIndex((l) => /^> A\d+ (AUTHENTICATE|LOGIN)/.test(l));
  assert.ok(starttls >= 0 && auth > starttls, `STARTTLS before authentication:\n${dialogue.join('\n')}`);
  assert.match(dialogue[starttls + 1]!, /^< A\d+ OK/);
  assert.ok(!dialogue.slice(starttls + 1).some((l) => /CAPABILITY.*STARTTLS/.test(l)), 'no STARTTLS offered inside TLS');
});

test('curl: imaps:// (implicit TLS) fetches the exact bytes', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await curl(['-k', `imaps://127.0.0.1:${sys.system.addresses.imaps!.port}/INBOX;UID=4`]);
  assert.ok(ok(r).equals(msgs[3]!), 'UID 4 byte-exact over imaps');
  assert.match(r.stderr, /SSL connection using TLSv1\.[23]/);
});

test('curl: a wrong password fails with "login denied"', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await curl([`${base()}/INBOX;UID=1`], `${acct.address}:wrong`);
  assert.equal(r.code, 67, `curl exit code ${r.code} (67 = CURLE_LOGIN_DENIED):\n${r.stderr}`);
  assert.match(r.stderr, /< A\d+ NO \[AUTHENTICATIONFAILED\]/);
  assert.equal(r.stdout.length, 0);
});
