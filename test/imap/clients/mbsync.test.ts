// isync's mbsync against the real server: a full two-way sync between Fjord (IMAP, far side) and a
// Maildir (near side). Pull everything (every message byte-exact, flags mapped), push local flag
// changes, a deletion and a new message back (byte-exact on the server), then re-sync over plain
// text, implicit TLS and STARTTLS and check nothing changes on either side.
//
// mbsync stores messages in the Maildir with LF line ends (Maildir is a Unix format) and sends them
// to IMAP with CRLF, and it adds an "X-TUID:" line at the end of the header of every message it
// propagates, in either direction (its marker to find the copy again after a crash). "Byte-exact"
// here means identical up to those two documented changes, and nothing else.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestSystem, tempDir, type TestSystem } from '../../helpers/system.js';
import type { Account, Store } from '../../../src/store/types.js';
import { addUser, attachmentMessage, findBinary, mailboxContents, multipartMessage, plainMessage, run, seed, utf8HeaderMessage, type RunResult } from './common.js';

const mbsync = findBinary('mbsync');

let sys: TestSystem;
let store: Store;
let acct: Account;
let dir: string;

before(async () => {
  sys = await startTestSystem({ listen: { smtp: '127.0.0.1:0', imap: '127.0.0.1:0', imaps: '127.0.0.1:0' } });
  store = sys.system.store;
  dir = tempDir('fjord-mbsync-');
  fs.mkdirSync(path.join(dir, 'mail'));
});

after(async () => {
  await sys.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const MAILDIR_FLAGS: Record<string, string> = { D: '\\Draft', F: '\\Flagged', P: '$Forwarded', R: '\\Answered', S: '\\Seen', T: '\\Deleted' };
const lf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

type Security = 'None' | 'IMAPS' | 'STARTTLS';

/** An mbsyncrc for one security mode; all share the Maildir and its sync state. */
function writeConfig(security: Security): string {
  const port = security === 'IMAPS' ? sys.system.addresses.imaps!.port : sys.imapPort;
  const mail = path.join(dir, 'mail');
  const rc = path.join(dir, `mbsyncrc-${security}`);
  fs.writeFileSync(
    rc,
    [
      'IMAPAccount fjord',
      'Host 127.0.0.1',
      `Port ${port}`,
      `User ${acct.address}`,
      'Pass secret',
      `SSLType ${security}`,
      ...(security === 'None' ? [] : [`CertificateFile ${path.join(sys.dataDir, 'tls', 'selfsigned-cert.pem')}`, 'SystemCertificates no']),
      // The IMAP LOGIN command: needs no SASL plug-in (plain text is allowed on loopback).
      'AuthMechs LOGIN',
      'Timeout 10',
      '',
      'IMAPStore fjord-far',
      'Account fjord',
      '',
      'MaildirStore local-near',
      `Path ${mail}/`,
      `Inbox ${mail}/INBOX`,
      'SubFolders Verbatim',
      '',
      'Channel fjord',
      'Far :fjord-far:',
      'Near :local-near:',
      'Patterns *',
      'Create Both',
      'Remove None',
      'Expunge Both',
      'Sync All',
      'SyncState *',
      'CopyArrivalDate yes',
      '',
    ].join('\n'),
  );
  return rc;
}

/** Backdates every Maildir directory: mbsync sleeps a second when one changed within the current
 * second (to be safe from concurrent deliveries), which would only slow the test down. */
function ageMaildir(): void {
  const past = new Date(Date.now() - 5000);
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    fs.utimesSync(d, past, past);
  };
  walk(path.join(dir, 'mail'));
}

/** Runs mbsync -a with network debugging (-Dn: the IMAP dialogue, decompressed). */
async function sync(security: Security): Promise<{ r: RunResult; log: string; commands: string[] }> {
  ageMaildir();
  const r = await run(mbsync!, ['-c', writeConfig(security), '-a', '-Dn'], { env: { HOME: dir }, timeout: 30_000 });
  const log = r.stdout.toString('utf8') + r.stderr;
  const commands = log.split('\n').filter((l) => l.startsWith('>>> ')).map((l) => l.slice(4).replace(/^\d+ /, '').trimEnd());
  assert.equal(r.code, 0, `mbsync (${security}) exited ${r.code}:\n${log}`);
  assert.doesNotMatch(log, /^\d+ (NO|BAD) /m, `the server refused a command:\n${log}`);
  return { r, log, commands };
}

interface Entry {
  box: string;
  content: string; // base64 of the LF form
  flags: string[];
}

/** A message without the X-TUID line mbsync puts last in the header of what it copies (if any). */
function withoutTuid(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  const head = end ? text.slice(0, end.index + (end[0].startsWith('\r') ? 2 : 1)) : text;
  const m = /(^|\n)X-TUID: [A-Za-z0-9+/]{12}\r?\n$/.exec(head);
  if (!m) return raw;
  return Buffer.concat([raw.subarray(0, m.index + m[1]!.length), raw.subarray(head.length)]);
}
const hasTuid = (raw: Buffer) => !withoutTuid(raw).equals(raw);

/** All messages of the Maildir tree, with their flags from the file names. */
function maildirState(): { entries: Entry[]; files: Map<string, Buffer> } {
  const root = path.join(dir, 'mail');
  const entries: Entry[] = [];
  const files = new Map<string, Buffer>();
  const walk = (d: string, box: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name === 'cur' || e.name === 'new') {
          for (const f of fs.readdirSync(p)) {
            const raw = fs.readFileSync(path.join(p, f));
            files.set(path.relative(root, path.join(p, f)), raw);
            const content = withoutTuid(raw);
            const info = /:2,([A-Z]*)$/.exec(f)?.[1] ?? '';
            entries.push({ box, content: content.toString('base64'), flags: [...info].map((c) => MAILDIR_FLAGS[c]!).sort() });
          }
        } else if (e.name !== 'tmp') walk(p, box === '' ? e.name : `${box}/${e.name}`);
      } else if (!e.name.endsWith('.lock')) files.set(path.relative(root, p), fs.readFileSync(p));
    }
  };
  walk(root, '');
  return { entries: sortEntries(entries), files };
}

function sortEntries(e: Entry[]): Entry[] {
  return e.sort((a, b) => (a.box + a.content < b.box + b.content ? -1 : a.box + a.content > b.box + b.content ? 1 : 0));
}

/** All messages on the server (in the LF form mbsync stores), plus mailbox counters. */
async function serverState(): Promise<{ entries: Entry[]; boxes: Record<string, [number, number, number]> }> {
  const entries: Entry[] = [];
  const boxes: Record<string, [number, number, number]> = {};
  for (const mb of await store.listMailboxes(acct.id)) {
    boxes[mb.name] = [mb.uidNext, mb.highestModseq, mb.messages];
    for (const m of await mailboxContents(store, acct.id, mb.name)) entries.push({ box: mb.name, content: withoutTuid(lf(m.raw)).toString('base64'), flags: m.flags });
  }
  return { entries: sortEntries(entries), boxes };
}

function show(entries: Entry[]): string[] {
  return entries.map((e) => `${e.box} [${e.flags.join(' ')}] ${Buffer.from(e.content, 'base64').toString('utf8').split('\n').find((l) => l.startsWith('Subject:'))}`);
}

/** The Maildir file of the message whose Message-ID is given. */
function findFile(box: string, messageId: string): string {
  const base = path.join(dir, 'mail', box);
  for (const sub of ['cur', 'new']) {
    for (const f of fs.readdirSync(path.join(base, sub))) {
      const p = path.join(base, sub, f);
      if (fs.readFileSync(p, 'utf8').includes(`Message-ID: <${messageId}>`)) return p;
    }
  }
  throw new Error(`no Maildir file for ${messageId} in ${box}`);
}

/** Renames a Maildir file to carry exactly the given flags (moving it to cur/). */
function setMaildirFlags(file: string, flags: string): void {
  const name = path.basename(file).replace(/:2,[A-Z]*$/, '');
  fs.renameSync(file, path.join(path.dirname(path.dirname(file)), 'cur', `${name}:2,${flags}`));
}

test('mbsync: two-way sync of a Maildir with Fjord, then re-syncs with no differences', async (t: TestContext) => {
  if (!mbsync) return t.skip('mbsync (Debian package isync) is not installed');
  acct = await addUser(sys.system, 'sync@fjord.test');
  const date = new Date('2025-01-10T09:00:00Z');
  const inbox = [
    { raw: plainMessage(1), flags: ['\\Seen'] },
    { raw: multipartMessage(2), flags: ['\\Seen', '\\Answered'] },
    { raw: utf8HeaderMessage(3), flags: [] },
    { raw: attachmentMessage(4), flags: ['\\Flagged', '$Forwarded'] },
    { raw: plainMessage(5), flags: ['\\Seen', '\\Draft'] },
  ];
  for (const m of inbox) await seed(store, acct.id, 'INBOX', m.raw, m.flags, date);
  await seed(store, acct.id, 'Projects', multipartMessage(6), [], date);
  await seed(store, acct.id, 'Projects', utf8HeaderMessage(7), ['\\Seen'], date);
  await seed(store, acct.id, 'Projects/Fjord', plainMessage(8), ['\\Seen', '\\Flagged'], date);

  // The re-syncs build on the pull and the push: after a failure there they would only repeat it.
  let failed = false;
  const step = (name: string, body: () => Promise<void>, gate = true) =>
    t.test(name, async (st) => {
      if (failed) return st.skip('the pull or the push failed');
      try {
        await body();
      } catch (err) {
        if (gate) failed = true;
        throw err;
      }
    });

  await step('first run pulls every mailbox and message, byte-exact with flags', async () => {
    const { commands } = await sync('None');
    const local = maildirState();
    const server = await serverState();
    assert.deepEqual(show(local.entries), show(server.entries));
    assert.deepEqual(local.entries, server.entries, 'Maildir messages equal the server messages (LF form)');
    assert.equal(local.entries.length, 8);
    for (const box of ['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash', 'Projects', 'Projects/Fjord']) {
      assert.ok(fs.existsSync(path.join(dir, 'mail', box, 'cur')), `Maildir folder ${box} created`);
    }
    // The attachment survives byte for byte (just with LF line ends).
    assert.ok(withoutTuid(fs.readFileSync(findFile('INBOX', 'attach-4@example.org'))).equals(lf(attachmentMessage(4))));
    // CopyArrivalDate: the file time is the server's INTERNALDATE.
    assert.equal(fs.statSync(findFile('Projects', 'multi-6@example.no')).mtime.getTime(), date.getTime());
    assert.ok(!commands.some((c) => /^(APPEND|UID STORE|STORE|EXPUNGE|UID EXPUNGE)/.test(c)), `nothing pushed on the first run: ${commands.join(' | ')}`);
  });

  const localNew = Buffer.from(
    'From: Sync User <sync@fjord.test>\nTo: Ola Nordmann <ola@example.no>\nSubject: Skrevet lokalt — æøå\nDate: Fri, 10 Jan 2025 11:00:00 +0100\nMessage-ID: <local-1@fjord.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nDenne meldingen ble skrevet i Maildir.\n',
    'utf8',
  );

  await step('second run pushes flag changes, a deletion and a new message', async () => {
    setMaildirFlags(findFile('INBOX', 'utf8-3@eksempel.no'), 'FS'); // + \Flagged \Seen
    setMaildirFlags(findFile('INBOX', 'plain-1@example.net'), ''); // - \Seen
    setMaildirFlags(findFile('INBOX', 'multi-2@example.no'), 'PRS'); // + $Forwarded
    setMaildirFlags(findFile('INBOX', 'plain-5@example.net'), 'DST'); // + \Deleted: expunged on both sides
    fs.writeFileSync(path.join(dir, 'mail', 'Projects', 'new', `${Math.floor(Date.now() / 1000)}.local1.fjord-test`), localNew);

    const { commands } = await sync('None');
    assert.ok(commands.some((c) => /^APPEND "?Projects"? /.test(c)), `APPEND sent: ${commands.join(' | ')}`);

    const inboxNow = await mailboxContents(store, acct.id, 'INBOX');
    const flagsOf = (id: string) => inboxNow.find((m) => m.raw.includes(`Message-ID: <${id}>`))?.flags;
    assert.deepEqual(flagsOf('utf8-3@eksempel.no'), ['\\Flagged', '\\Seen']);
    assert.deepEqual(flagsOf('plain-1@example.net'), []);
    assert.deepEqual(flagsOf('multi-2@example.no'), ['$Forwarded', '\\Answered', '\\Seen']);
    assert.equal(flagsOf('plain-5@example.net'), undefined, 'the message deleted locally is expunged on the server');
    assert.equal(inboxNow.length, 4);

    const projects = await mailboxContents(store, acct.id, 'Projects');
    assert.equal(projects.length, 3);
    const pushed = projects.find((m) => m.raw.includes('Message-ID: <local-1@fjord.test>'));
    assert.ok(pushed, 'the new local message is on the server');
    assert.ok(withoutTuid(pushed.raw).equals(crlf(localNew)), `pushed message byte-exact (CRLF form):\n${JSON.stringify(pushed.raw.toString('utf8'))}`);
    const untouched = [...inboxNow, ...projects].filter((m) => m !== pushed);
    assert.ok(!untouched.some((m) => hasTuid(m.raw)), 'the messages that were already on the server are unchanged');
    assert.deepEqual(pushed.flags, []);

    const local = maildirState();
    const server = await serverState();
    assert.deepEqual(show(local.entries), show(server.entries));
    assert.deepEqual(local.entries, server.entries, 'both sides agree after the push');
  });

  for (const security of ['None', 'IMAPS', 'STARTTLS'] as const) {
    await step(`re-sync (${security === 'None' ? 'plain text' : security}) changes nothing on either side`, async () => {
      const localBefore = maildirState();
      const serverBefore = await serverState();
      const { log, commands } = await sync(security);
      const unexpected = commands.filter((c) => !/^(LOGIN|CAPABILITY|STARTTLS|COMPRESS DEFLATE|NAMESPACE|LIST |SELECT |UID FETCH \S+ \(UID FLAGS\)|CLOSE|LOGOUT)/.test(c));
      assert.deepEqual(unexpected, [], `mbsync found something to change:\n${log}`);
      if (security === 'STARTTLS') assert.equal(commands[0], 'STARTTLS', `upgraded with STARTTLS first:\n${log}`);
      if (security !== 'None') assert.match(log, /Connection is now encrypted/);
      const localAfter = maildirState();
      assert.deepEqual([...localAfter.files.keys()].sort(), [...localBefore.files.keys()].sort(), 'no Maildir file added, removed or renamed');
      for (const [f, b] of localBefore.files) assert.ok(localAfter.files.get(f)!.equals(b), `${f} unchanged`);
      assert.deepEqual(await serverState(), serverBefore, 'server messages, flags, UIDNEXT and HIGHESTMODSEQ unchanged');
    }, false);
  }
});
