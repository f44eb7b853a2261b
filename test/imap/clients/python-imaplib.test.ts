// Python's standard imaplib against the real server: the script (imaplib_client.py, read from the
// source tree) logs in, selects, searches, fetches RFC822, stores, copies, expunges, appends and
// logs out over plain text, STARTTLS and implicit TLS; this test checks what it saw and what the
// server did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/paths.js';
import { startTestSystem, type TestSystem } from '../../helpers/system.js';
import { addUser, attachmentMessage, findBinary, mailboxContents, multipartMessage, plainMessage, run, seed, utf8HeaderMessage } from './common.js';

const SCRIPT = path.join(REPO_ROOT, 'test', 'imap', 'clients', 'imaplib_client.py');
const python = findBinary('python3');

let sys: TestSystem;

before(async () => {
  sys = await startTestSystem({ listen: { smtp: '127.0.0.1:0', imap: '127.0.0.1:0', imaps: '127.0.0.1:0' } });
});

after(async () => {
  await sys.stop();
});

test('python3 imaplib: login, select, search, fetch, store, copy, expunge, append; STARTTLS and IMAP4_SSL', async (t) => {
  if (!python) return t.skip('python3 is not installed');
  const store = sys.system.store;
  const acct = await addUser(sys.system, 'py@fjord.test');
  const msgs = [plainMessage(1), multipartMessage(2), plainMessage(3), utf8HeaderMessage(4), attachmentMessage(5)];
  for (const [i, m] of msgs.entries()) await seed(store, acct.id, 'INBOX', m, i < 2 ? ['\\Seen'] : []);
  await seed(store, acct.id, 'Archive', plainMessage(90)); // so Archive's UIDs differ from INBOX's
  const appendFile = path.join(sys.dataDir, 'append.eml');
  const appended = multipartMessage(6);
  fs.writeFileSync(appendFile, appended);

  const r = await run(python, [SCRIPT, String(sys.imapPort), String(sys.system.addresses.imaps!.port), acct.address, 'secret', appendFile]);
  assert.equal(r.code, 0, `imaplib script failed:\n${r.stderr}\n${r.stdout.toString()}`);
  const out = JSON.parse(r.stdout.toString('utf8'));

  assert.ok(out.greeting_caps.includes('STARTTLS') && out.greeting_caps.includes('AUTH=PLAIN'));
  assert.equal(out.state_after_login, 'AUTH');
  assert.ok(out.caps.includes('UIDPLUS') && out.caps.includes('IDLE'));
  for (const name of ['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash']) {
    assert.ok(out.list.some((l: string) => l.endsWith(` "/" ${name}`) || l.endsWith(` "/" "${name}"`)), `LIST shows ${name}: ${out.list.join(' | ')}`);
  }
  assert.ok(out.list.some((l: string) => /^\(.*\\Sent.*\) "\/" "?Sent"?$/.test(l)), 'special-use attribute on Sent');

  assert.equal(out.select_exists, 5);
  assert.equal(out.search_all, '1 2 3 4 5');
  assert.equal(out.search_unseen, '3 4 5');
  assert.equal(out.search_subject, '1 3');
  assert.equal(out.uid_search_from, '2');
  assert.equal(out.search_utf8_body, '2');

  // RFC822 is byte-exact; RFC822 (not PEEK) sets \Seen.
  assert.equal(out.rfc822.length, 5);
  for (const [i, b] of (out.rfc822 as string[]).entries()) assert.ok(Buffer.from(b, 'base64').equals(msgs[i]!), `message ${i + 1} byte-exact`);
  assert.deepEqual(out.meta, msgs.map((m, i) => ({ seq: i + 1, uid: i + 1, size: m.length, flags: ['\\Seen'] })));
  assert.equal(Buffer.from(out.subject_header, 'base64').toString('utf8'), `Subject: =?UTF-8?B?${Buffer.from('Møte i morgen 2 – agenda').toString('base64')}?=\r\n\r\n`);

  assert.match(out.store_reply.join('\n'), /^1 \(FLAGS \((?=.*\\Flagged)(?=.*\$Important)(?=.*\\Seen)[^)]*\)/);
  assert.deepEqual(out.store_silent_reply, [], 'FLAGS.SILENT sends no FETCH back');

  const archive = (await store.getMailbox(acct.id, 'Archive'))!;
  const trash = (await store.getMailbox(acct.id, 'Trash'))!;
  assert.match(out.copy_reply, new RegExp(`^\\[COPYUID ${archive.uidValidity} 1:2 2:3\\]`));
  assert.equal(out.uid_copy_reply, `${trash.uidValidity} 3 1`);
  const inArchive = await mailboxContents(store, acct.id, 'Archive');
  assert.deepEqual(inArchive.map((m) => m.uid), [1, 2, 3]);
  assert.ok(inArchive[1]!.raw.equals(msgs[0]!) && inArchive[2]!.raw.equals(msgs[1]!));
  assert.deepEqual(inArchive[1]!.flags, ['$Important', '\\Flagged'], 'COPY keeps the flags');

  // Messages 2 and 4 expunged: untagged EXPUNGE 2 then 3 (4 shifted down after 2 went).
  assert.deepEqual(out.expunged, [2, 3]);

  const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
  assert.match(out.append_reply, new RegExp(`^\\[APPENDUID ${inbox.uidValidity} 6\\]`));
  assert.equal(out.exists_after_append, 4);
  const contents = await mailboxContents(store, acct.id, 'INBOX');
  assert.deepEqual(contents.map((m) => m.uid), [1, 3, 5, 6]);
  assert.ok(contents[3]!.raw.equals(appended), 'APPENDed message stored byte-exact');
  assert.deepEqual(contents[3]!.flags, ['\\Draft', '\\Seen']);
  const appendedRec = (await store.getMessages(inbox.id, [6]))[0]!;
  assert.equal(appendedRec.internalDate.getFullYear(), 2024);
  assert.deepEqual(contents[0]!.flags, ['$Important', '\\Flagged']);
  assert.equal(out.logout, 'BYE');

  assert.ok(out.starttls_cipher.startsWith('TLS'), `STARTTLS protocol ${out.starttls_cipher}`);
  assert.match(out.status, /^"?INBOX"? \((?=.*MESSAGES 4)(?=.*UIDNEXT 7)(?=.*UNSEEN 1)/);

  assert.ok(out.ssl_cipher.startsWith('TLS'));
  assert.equal(out.ssl_exists, 4);
  assert.ok(Buffer.from(out.ssl_uid1, 'base64').equals(msgs[0]!), 'UID FETCH BODY.PEEK[] over IMAP4_SSL is byte-exact');
  assert.deepEqual((await mailboxContents(store, acct.id, 'INBOX'))[0]!.flags, ['$Important', '\\Flagged'], 'EXAMINE + PEEK changed no flags');
});
