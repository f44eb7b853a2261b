// From a user's mail program to a remote MTA, end to end: nodemailer submits to the real system,
// the outbound queue finds the destination's MX through a loopback DNS server and delivers to
// Postfix's smtp-sink, and python3-dkim (with dnspython asking the same DNS server, where the
// records `fjord dns records --json` printed are published) verifies both DKIM signatures.
// A remote 5xx comes back as a DSN in the sender's Inbox and counts as a bounce.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import nodemailer from 'nodemailer';
import { startTestSystem, addAccount, runCli, tempDir, type TestSystem } from '../helpers/system.js';
import { freeSharedPort } from './outbound/fixtures.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { waitForMessage } from '../helpers/mailbox.js';

const SMTP_SINK = fs.existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
let t: TestSystem;
let dns: TestDnsServer;
let sink: ChildProcess;
let refusing: ChildProcess;
let sinkDir: string;
let sinkPort: number;

before(async () => {
  dns = await TestDnsServer.start();
  sinkDir = tempDir('fjord-sink-');
  const port = (sinkPort = await freeSharedPort()); // free on 127.0.0.1-4 alike
  // -d: one file per message. A second sink on 127.0.0.2 refuses every RCPT with a 5xx (-f).
  sink = spawn(SMTP_SINK, ['-u', 'root', '-d', `${sinkDir}/%M.`, '127.0.0.1:' + port, '10'], { stdio: 'ignore' });
  refusing = spawn(SMTP_SINK, ['-u', 'root', '-f', 'RCPT', '127.0.0.2:' + port, '10'], { stdio: 'ignore' });
  for (const host of ['127.0.0.1', '127.0.0.2']) for (let i = 0; i < 100 && !(await canConnect(port, host)); i++) await new Promise((r) => setTimeout(r, 50));
  dns.add('remote.test', { type: 'MX', data: { preference: 10, exchange: 'mx.remote.test' } });
  dns.add('mx.remote.test', { type: 'A', data: '127.0.0.1' });
  dns.add('refusing.test', { type: 'MX', data: { preference: 10, exchange: 'mx.refusing.test' } });
  dns.add('mx.refusing.test', { type: 'A', data: '127.0.0.2' });
  dns.add('flaky.test', { type: 'MX', data: { preference: 10, exchange: 'mx.flaky.test' } });
  dns.add('mx.flaky.test', { type: 'A', data: '127.0.0.3' });
  t = await startTestSystem({ dns: dns.address, outbound: { port, retrySchedule: [1] } });
  await addAccount(t.system, 'alice@fjord.test');
  // Publish our records the way an operator would: from `fjord dns records --json`.
  const r = await runCli(['dns', 'records', 'fjord.test', '--json', '--data', t.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  const set = JSON.parse(r.stdout) as { records: { name: string; type: string; strings?: string[] }[] };
  for (const rec of set.records) if (rec.type === 'TXT') dns.add(rec.name.replace(/\.$/, ''), { type: 'TXT', data: rec.strings! });
});

after(async () => {
  await t.stop();
  sink.kill('SIGTERM');
  refusing.kill('SIGTERM');
  await dns.close();
  fs.rmSync(sinkDir, { recursive: true, force: true });
});

function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect(port, host, () => { s.destroy(); r(true); });
    s.on('error', () => r(false));
  });
}

async function sinkMessage(match: string, timeoutMs = 15_000): Promise<Buffer> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const f of fs.readdirSync(sinkDir)) {
      const b = fs.readFileSync(path.join(sinkDir, f));
      if (b.includes(match)) return b;
    }
    if (Date.now() > until) throw new Error(`smtp-sink did not receive "${match}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Debian's python3 with python3-dkim (CI installs it). */
function python(): string {
  for (const p of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(p, ['-c', 'import dkim, dns.resolver, nacl'], { stdio: 'ignore' });
      return p;
    } catch {
      // next
    }
  }
  throw new Error('python3-dkim, python3-dnspython and python3-nacl are needed (apt-get install python3-dkim python3-dnspython)');
}

const VERIFY = `
import sys, json, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ['127.0.0.1']
r.port = int(sys.argv[1])
dns.resolver.default_resolver = r
def dnsfunc(name, timeout=5):
    try:
        ans = r.resolve(name.decode().rstrip('.'), 'TXT')
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    return b''.join(b''.join(x.strings) for x in ans)
msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
def ok(i):
    try:
        return bool(d.verify(idx=i, dnsfunc=dnsfunc))
    except dkim.ValidationError:
        return False
print(json.dumps([ok(i) for i in range(n)]))
`;

/** python3-dkim's verdict on each DKIM-Signature, top to bottom (asynchronously: the DNS
 * server it asks runs in this process). */
function dkimVerify(message: Buffer): Promise<boolean[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python(), ['-c', VERIFY, String(dns.port)]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as boolean[]) : reject(new Error(`python3 exited ${code}: ${err}`))));
    child.stdin.end(message);
  });
}

/** The message as smtp-sink received it. Its dump has envelope lines (X-…) and its own
 * Received field first, and LF line ends: both undone here. */
function messageOf(dump: Buffer): Buffer {
  const lines = dump.toString('latin1').split('\n');
  let i = 0;
  while (/^X-[\w-]+: /.test(lines[i])) i++;
  if (lines[i].startsWith('Received: ') && /by smtp-sink/.test(lines[i + 1] ?? '')) for (i++; /^[ \t]/.test(lines[i]); i++);
  return Buffer.from(lines.slice(i).join('\r\n'), 'latin1');
}

test('a submitted message reaches the remote MTA by MX, with both DKIM signatures verified by python3-dkim over DNS', async () => {
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: t.submissionPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@fjord.test', pass: 'secret' } });
  await tr.sendMail({ from: 'Alice <alice@fjord.test>', to: 'friend@remote.test', subject: 'across the fjord', text: 'Hello from the other side.\n' });
  tr.close();
  const got = messageOf(await sinkMessage('across the fjord'));
  assert.match(got.toString('latin1'), /^DKIM-Signature: /m);
  assert.deepEqual(await dkimVerify(got), [true, true], 'rsa-sha256 and ed25519-sha256 both verify');
  // Tampering is noticed by the same verifier (the check can fail).
  const tampered = Buffer.from(got.toString('latin1').replace('Hello from the other side.', 'Send money.'), 'latin1');
  assert.deepEqual(await dkimVerify(tampered), [false, false]);
  await t.system.outboundSender.idle();
  assert.equal(t.system.outbound.list().filter((m) => m.recipients.some((r) => r.address === 'friend@remote.test' && r.state !== 'delivered')).length, 0);
});

test('a remote 5xx comes back as a DSN in the sender\'s Inbox and counts as a bounce against the account', async () => {
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: t.submissionPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@fjord.test', pass: 'secret' } });
  await tr.sendMail({ from: 'alice@fjord.test', to: 'nobody@refusing.test', subject: 'will bounce', text: 'x' });
  tr.close();
  const dsn = await waitForMessage(t.system, 'alice@fjord.test', 'Undelivered Mail Returned to Sender');
  assert.match(dsn.raw, /^Content-Type: multipart\/report;[\s\S]*report-type=delivery-status/im);
  assert.match(dsn.raw, /^Final-Recipient: rfc822; ?nobody@refusing\.test\r$/im);
  assert.match(dsn.raw, /^Action: failed\r$/im);
  assert.match(dsn.raw, /^Status: 5\.\d\.\d+\r$/im);
  assert.match(dsn.raw, /^Diagnostic-Code: smtp; ?5\d\d/im);
  assert.match(dsn.raw, /^Return-Path: <>\r$/m, 'a DSN has a null sender, so it can never bounce back');
  assert.match(dsn.raw, /Subject: will bounce/, 'the original is attached');
  const alice = (await t.system.store.getAccount('alice@fjord.test'))!;
  for (let i = 0; i < 50 && (await t.system.store.sendingStats(alice.id, new Date(), 86400)).window.bounces === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await t.system.store.sendingStats(alice.id, new Date(), 86400)).window.bounces, 1);
});

test('a destination that answers 4xx and later 2xx gets the message exactly once', async () => {
  // smtp-sink on 127.0.0.3 first soft-rejects every RCPT (-r: 4xx), then is replaced by one that accepts.
  const dir = tempDir('fjord-sink-flaky-');
  let flaky = spawn(SMTP_SINK, ['-u', 'root', '-r', 'RCPT', `127.0.0.3:${sinkPort}`, '10'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !(await canConnect(sinkPort, '127.0.0.3')); i++) await new Promise((r) => setTimeout(r, 50));
    const tr = nodemailer.createTransport({ host: '127.0.0.1', port: t.submissionPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@fjord.test', pass: 'secret' } });
    await tr.sendMail({ from: 'alice@fjord.test', to: 'someone@flaky.test', subject: 'try again', text: 'patience' });
    tr.close();
    const rcpt = () => t.system.outbound.list().flatMap((m) => m.recipients).find((r) => r.address === 'someone@flaky.test');
    for (let i = 0; i < 100 && !(rcpt()?.attempts); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(rcpt()?.state, 'pending');
    assert.match(rcpt()?.lastReply ?? '', /^4\d\d /, 'deferred with the 4xx');
    flaky.kill('SIGTERM');
    await new Promise((r) => flaky.on('exit', r));
    flaky = spawn(SMTP_SINK, ['-u', 'root', '-d', `${dir}/%M.`, `127.0.0.3:${sinkPort}`, '10'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await canConnect(sinkPort, '127.0.0.3')); i++) await new Promise((r) => setTimeout(r, 50));
    // No manual retry: the retry schedule (1 s here) brings it back.
    const until = Date.now() + 15_000;
    while (fs.readdirSync(dir).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await t.system.outboundSender.idle();
    await new Promise((r) => setTimeout(r, 1500)); // a second delivery would have happened by now
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1, 'delivered exactly once');
    assert.match(fs.readFileSync(path.join(dir, files[0]), 'latin1'), /Subject: try again/);
    assert.equal(rcpt(), undefined, 'the message left the queue');
  } finally {
    flaky.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
