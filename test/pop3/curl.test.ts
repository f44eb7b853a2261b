// curl's pop3:// and pop3s:// against the real server: LIST, RETR byte-exact with the size LIST
// gave, UIDL and DELE through -X, STLS with --ssl-reqd, implicit TLS and a refused login. curl
// logs in with AUTH PLAIN; --sasl-ir sends the initial response on the AUTH line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import type { Account } from '../../src/store/types.js';
import { addUser, asDelivered, awkwardMessages, findBinary, inboxUids, multipartMessage, plainMessage, run, seedInbox, utf8HeaderMessage, type RunResult } from './common.js';

const curlBin = findBinary('curl');
const SKIP = 'curl is not installed';

let sys: TestSystem;
let acct: Account;
const msgs = [plainMessage(1), multipartMessage(2), utf8HeaderMessage(3), ...awkwardMessages()];

before(async () => {
  sys = await startTestSystem({ listen: { pop3s: '127.0.0.1:0' }, imap: { authFailureDelay: 0 } });
  acct = await addUser(sys.system, 'curl@fjord.test');
  await seedInbox(sys.system.store, acct.id, msgs);
});

after(async () => {
  await sys.stop();
});

const base = () => `pop3://127.0.0.1:${sys.pop3Port}`;

async function curl(args: string[], user = `${acct.address}:secret`, sasl = ['--sasl-ir']): Promise<RunResult> {
  return run(curlBin!, ['-sS', '-v', '--max-time', '15', ...sasl, '-u', user, ...args]);
}

function ok(r: RunResult): Buffer {
  assert.equal(r.code, 0, `curl exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

test('curl: pop3://…/ lists the messages; pop3://…/n retrieves each byte-exact with the LIST size', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const list = ok(await curl([`${base()}/`])).toString('utf8');
  const lines = list.trimEnd().split('\r\n');
  assert.equal(lines.length, msgs.length, list);
  for (let n = 1; n <= msgs.length; n++) {
    const [num, size] = lines[n - 1]!.split(' ').map(Number);
    assert.equal(num, n);
    const r = await curl([`${base()}/${n}`]);
    const body = ok(r);
    assert.ok(body.equals(asDelivered(msgs[n - 1]!)), `message ${n}:\n${JSON.stringify(body.toString())}`);
    assert.equal(body.length, size, `LIST size of ${n} = octets delivered`);
    assert.match(r.stderr, new RegExp(`< \\+OK ${size} octets`));
  }
});

test('curl: -X UIDL, -X "TOP 1 0", and -X "DELE n" with -I expunges at QUIT', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const uidl = ok(await curl([`${base()}/`, '-X', 'UIDL'])).toString('utf8').trimEnd().split('\r\n');
  assert.equal(uidl.length, msgs.length);
  assert.equal(new Set(uidl.map((l) => l.split(' ')[1])).size, msgs.length);
  assert.deepEqual(ok(await curl([`${base()}/`, '-X', 'UIDL'])).toString('utf8').trimEnd().split('\r\n'), uidl, 'stable across sessions');
  const top = ok(await curl([`${base()}/`, '-X', 'TOP 1 0'])).toString('utf8');
  assert.match(top, /^From: Sender 1 <sender1@example.net>\r\n[\s\S]*Content-Type: text\/plain; charset=us-ascii\r\n\r\n$/);

  const store = sys.system.store;
  const before = await inboxUids(store, acct.id);
  const r = await curl([`${base()}/`, '-X', 'DELE 2', '-I']);
  ok(r);
  assert.match(r.stderr, /> DELE 2/);
  const after = await inboxUids(store, acct.id);
  assert.deepEqual(after, before.filter((_, i) => i !== 1), 'message 2 expunged');
  const uidl2 = ok(await curl([`${base()}/`, '-X', 'UIDL'])).toString('utf8').trimEnd().split('\r\n');
  assert.deepEqual(uidl2.map((l) => l.split(' ')[1]), uidl.filter((_, i) => i !== 1).map((l) => l.split(' ')[1]));
  msgs.splice(1, 1);
});

test('curl: --ssl-reqd upgrades with STLS before logging in', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await curl(['--ssl-reqd', '-k', `${base()}/1`]);
  assert.ok(ok(r).equals(asDelivered(msgs[0]!)));
  const dialogue = r.stderr.split('\n').filter((l) => /^[<>] /.test(l));
  const stls = dialogue.findIndex((l) => /^> STLS/.test(l));
  const auth = dialogue.findIndex((l) => /^> (AUTH|USER)/.test(l));
  assert.ok(stls >= 0 && auth > stls, `STLS before authentication:\n${dialogue.join('\n')}`);
});

test('curl: pop3s:// (implicit TLS) retrieves the exact bytes', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await curl(['-k', `pop3s://127.0.0.1:${sys.system.addresses.pop3s!.port}/2`]);
  assert.ok(ok(r).equals(asDelivered(msgs[1]!)));
  assert.match(r.stderr, /SSL connection using TLSv1\.[23]/);
});

test('curl: a wrong password fails with "login denied"', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await curl([`${base()}/1`], `${acct.address}:wrong`);
  assert.equal(r.code, 67, `curl exit code ${r.code} (67 = CURLE_LOGIN_DENIED):\n${r.stderr}`);
  assert.match(r.stderr, /< -ERR \[AUTH\]/);
});

test('curl: default login (AUTH PLAIN, then the response after "+ ")', async (t) => {
  if (!curlBin) return t.skip(SKIP);
  const r = await run(curlBin, ['-sS', '-v', '--max-time', '5', '-u', `${acct.address}:secret`, `${base()}/1`]);
  assert.ok(ok(r).equals(asDelivered(msgs[0]!)));
});
