// fetchmail collecting into a local mailbox (an MDA that writes one file per message, or BSMTP):
// plain USER/PASS on loopback, implicit TLS, keep + UIDL across runs with IMAP deleting a message
// in between (only new mail is fetched the second time), and a 1,000-message maildrop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestSystem, tempDir, type TestSystem } from '../helpers/system.js';
import { ImapTalk } from '../helpers/imap-client.js';
import { addUser, awkwardMessages, findBinary, inboxUids, multipartMessage, numbered, plainMessage, run, seedInbox, utf8HeaderMessage, type RunResult } from './common.js';

const fetchmail = findBinary('fetchmail');
const SKIP = 'fetchmail is not installed (Debian package fetchmail)';

let sys: TestSystem;
let work: string;

before(async () => {
  sys = await startTestSystem({ listen: { pop3s: '127.0.0.1:0' }, imap: { authFailureDelay: 0 } });
  work = tempDir('fjord-fetchmail-');
});

after(async () => {
  await sys.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

interface Run {
  dir: string;
  rc: string;
  out: string;
}

/** Writes an rc file (mode 0600) for one account; delivery to `dir/mail/` (one file per message) or BSMTP. */
function setup(name: string, user: string, opts: { tls?: boolean; keep?: boolean; bsmtp?: boolean }): Run {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'mail'), { recursive: true });
  const mda = path.join(dir, 'deliver.sh');
  fs.writeFileSync(mda, `#!/bin/sh\nn=$(ls "${dir}/mail" | wc -l)\ncat > "${dir}/mail/$(printf %06d $n)"\n`, { mode: 0o755 });
  const port = opts.tls ? sys.system.addresses.pop3s!.port : sys.pop3Port;
  const rc = path.join(dir, 'fetchmailrc');
  fs.writeFileSync(
    rc,
    [
      'set no syslog',
      `poll 127.0.0.1 with proto POP3 service ${port} uidl auth password timeout 60`,
      `  user "${user}" there with password "secret" is "localuser" here`,
      `  ${opts.tls ? 'ssl sslproto "TLS1.2+" no sslcertck' : "sslproto ''"}`,
      // fetchall would fetch kept messages again; without it, UIDL tells fetchmail what it has seen.
      `  ${opts.keep ? 'keep' : 'no keep fetchall'}`,
      opts.bsmtp ? `  bsmtp "${dir}/out.bsmtp"` : `  mda "${mda}"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  fs.chmodSync(rc, 0o600);
  return { dir, rc, out: '' };
}

async function fetch(r: Run): Promise<RunResult> {
  const res = await run(fetchmail!, ['-f', r.rc, '--nodetach', '--nosyslog', '-v', '-i', path.join(r.dir, 'fetchids'), '--pidfile', path.join(r.dir, 'pid')], {
    env: { FETCHMAILHOME: r.dir, HOME: r.dir },
    timeout: 180_000,
  });
  return res;
}

/** Exit 0 (mail retrieved) or 1 (no mail) are fine; anything else fails with the log. */
function okRun(res: RunResult, r: Run, codes = [0]): void {
  assert.ok(codes.includes(res.code), `fetchmail exited ${res.code} (rc ${r.rc}):\n${res.stderr}\n${res.stdout}`);
}

function delivered(r: Run): string[] {
  const dir = path.join(r.dir, 'mail');
  return fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
}

/** The message as fetchmail hands it to the MDA: LF line ends, its own Received: header first. */
function withoutReceived(m: string): string {
  assert.match(m, /^Received: from 127\.0\.0\.1/, 'fetchmail adds a Received: header');
  return m.replace(/^Received:.*\n(?:[ \t].*\n)*/, '');
}
const lf = (b: Buffer) => {
  const s = b.toString('utf8').replace(/\r\n/g, '\n');
  return s.endsWith('\n') ? s : s + '\n';
};

test('fetchmail: USER/PASS on loopback, every message delivered intact, server copies deleted', async (t) => {
  if (!fetchmail) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'fm@fjord.test');
  const msgs = [plainMessage(1), multipartMessage(2), utf8HeaderMessage(3), ...awkwardMessages()];
  await seedInbox(sys.system.store, acct.id, msgs);
  const r = setup('plain', acct.address, {});
  const res = await fetch(r);
  okRun(res, r);
  const log = res.stdout.toString('utf8') + res.stderr;
  assert.match(log, /reading message fm@fjord\.test@127\.0\.0\.1:1 of 6/);
  const got = delivered(r);
  assert.equal(got.length, msgs.length);
  for (const [i, m] of got.entries()) assert.equal(withoutReceived(m), lf(msgs[i]!), `message ${i + 1}`);
  assert.deepEqual(await inboxUids(sys.system.store, acct.id), [], 'no keep: deleted on the server');
  // Nothing left: exit code 1 ("no mail").
  okRun(await fetch(r), r, [1]);
});

test('fetchmail: implicit TLS (ssl)', async (t) => {
  if (!fetchmail) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'fmtls@fjord.test');
  const msgs = [plainMessage(4), utf8HeaderMessage(5)];
  await seedInbox(sys.system.store, acct.id, msgs);
  const r = setup('tls', acct.address, { tls: true });
  okRun(await fetch(r), r);
  assert.deepEqual(delivered(r).map(withoutReceived), msgs.map(lf));
  assert.deepEqual(await inboxUids(sys.system.store, acct.id), []);
});

test('fetchmail: keep + UIDL; IMAP deletes a message between runs; only new mail fetched next time', async (t) => {
  if (!fetchmail) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'fmkeep@fjord.test');
  const store = sys.system.store;
  await seedInbox(store, acct.id, [1, 2, 3].map((n) => numbered(n)));
  const r = setup('keep', acct.address, { keep: true });
  okRun(await fetch(r), r);
  assert.equal(delivered(r).length, 3);
  assert.equal((await inboxUids(store, acct.id)).length, 3, 'keep: left on the server');

  const imap = await ImapTalk.connect(sys.imapPort);
  assert.equal((await imap.login(acct.address)).status, 'OK');
  await imap.cmd('SELECT INBOX');
  await imap.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual((await imap.cmd('EXPUNGE')).lines, ['* 1 EXPUNGE']);
  await imap.cmd('LOGOUT');
  imap.close();
  await seedInbox(store, acct.id, [numbered(4)]);

  okRun(await fetch(r), r);
  const got = delivered(r);
  assert.equal(got.length, 4, 'exactly one more message: the new one');
  assert.equal(withoutReceived(got[3]!), lf(numbered(4)));
  okRun(await fetch(r), r, [1]);
  assert.equal(delivered(r).length, 4, 'nothing new, nothing fetched again');
});

test('fetchmail: 1,000 messages', async (t) => {
  if (!fetchmail) return t.skip(SKIP);
  const acct = await addUser(sys.system, 'fmbulk@fjord.test');
  const msgs = Array.from({ length: 1000 }, (_, i) => numbered(i + 1));
  await seedInbox(sys.system.store, acct.id, msgs);
  const r = setup('bulk', acct.address, { bsmtp: true });
  okRun(await fetch(r), r);
  const bsmtp = fs.readFileSync(path.join(r.dir, 'out.bsmtp'), 'utf8');
  const ids = [...bsmtp.matchAll(/^Message-ID: <bulk-(\d+)@example\.net>\r?$/gm)].map((m) => Number(m[1]));
  assert.equal(ids.length, 1000);
  assert.deepEqual(ids, msgs.map((_, i) => i + 1), 'all 1,000, in order');
  assert.equal((bsmtp.match(/^DATA\r?$/gm) ?? []).length, 1000);
  assert.deepEqual(await inboxUids(sys.system.store, acct.id), []);
});
