// TLS towards other servers: opportunistic STARTTLS, and MTA-STS (RFC 8461) with a policy served
// over HTTPS on loopback by a test CA (trusted through outbound.caFile): enforce uses only the
// MX hosts the policy lists and requires a valid certificate for the MX name, testing delivers
// anyway, and the policy is cached in the queue database by its id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import { loopbackDns } from '../../helpers/dns-server.js';
import { tempDir } from '../../helpers/system.js';
import { TestRemote, freeSharedPort, harness, makeCa, message, selfSignedCert } from './fixtures.js';

const t = loopbackDns();
const STS_IP = '127.0.0.5';
let port: number;
let stsPort: number;
let ca: Awaited<ReturnType<typeof makeCa>>;
let caDir: string;
let caFile: string;
let web: https.Server;
const policies = new Map<string, string>();
let policyRequests = 0;

before(async () => {
  port = await freeSharedPort();
  stsPort = await freeSharedPort();
  ca = await makeCa();
  caDir = tempDir('fjord-ca-');
  caFile = path.join(caDir, 'ca.pem');
  fs.writeFileSync(caFile, ca.cert);
  const leaf = await ca.issue('mta-sts.sts.test', 'mta-sts.sts2.test', 'mta-sts.sts3.test', 'mta-sts.sts4.test');
  web = https.createServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
    policyRequests++;
    const body = policies.get((req.headers.host ?? '').replace(/:\d+$/, ''));
    if (req.url !== '/.well-known/mta-sts.txt' || body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((r) => web.listen(stsPort, STS_IP, r));
});

after(async () => {
  web.closeAllConnections();
  await new Promise((r) => web.close(r));
  fs.rmSync(caDir, { recursive: true, force: true });
});

function stsDomain(domain: string, id: string, policy: string) {
  t.dns.add(`_mta-sts.${domain}`, { type: 'TXT', data: `v=STSv1; id=${id};` });
  t.dns.add(`mta-sts.${domain}`, { type: 'A', data: STS_IP });
  policies.set(`mta-sts.${domain}`, policy);
}

const mx = (domain: string, host: string, ip: string, preference: number) => {
  t.dns.add(domain, { type: 'MX', data: { preference, exchange: host } });
  t.dns.add(host, { type: 'A', data: ip });
};

test('STARTTLS is used whenever offered, without checking the certificate', async () => {
  mx('tls.test', 'mx.tls.test', '127.0.0.2', 10);
  const remote = await TestRemote.start('127.0.0.2', port, { tls: await selfSignedCert('some.other.name') });
  const h = harness(t.resolver, port, { mtaStsPort: stsPort, caFile });
  try {
    const body = message('tls');
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@tls.test' }], accountId: 1 }, body);
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['delivered']);
    assert.equal(remote.received.length, 1);
    assert.equal(remote.received[0].secure, true, 'the message went over TLS');
    assert.equal(remote.received[0].servername, 'mx.tls.test', 'SNI names the MX host');
    assert.ok(remote.received[0].raw.equals(body));
  } finally {
    await remote.close();
    await h.close();
  }
});

test('MTA-STS enforce: only MX hosts in the policy, verified TLS; the policy is cached by id', async () => {
  stsDomain('sts.test', '20261128T1', 'version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.test\r\nmax_age: 86400\r\n');
  mx('sts.test', 'rogue.sts.test', '127.0.0.2', 10); // preferred, but not in the policy
  mx('sts.test', 'mx1.sts.test', '127.0.0.3', 20);
  const rogue = await TestRemote.start('127.0.0.2', port, { tls: await ca.issue('rogue.sts.test') });
  const good = await TestRemote.start('127.0.0.3', port, { tls: await ca.issue('mx1.sts.test') });
  const h = harness(t.resolver, port, { mtaStsPort: stsPort, caFile });
  try {
    policyRequests = 0;
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@sts.test' }], accountId: 1 }, message('sts1'));
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['delivered']);
    assert.equal(rogue.connections, 0, 'an MX the policy does not list is never contacted');
    assert.equal(good.received.length, 1);
    assert.equal(good.received[0].secure, true);
    const cached = h.queue.stsPolicy('sts.test')!;
    assert.equal(cached.mode, 'enforce');
    assert.equal(cached.policyId, '20261128T1');
    assert.deepEqual(cached.mx, ['mx1.sts.test']);
    assert.ok(cached.expiresAt > Date.now() + 86_000_000);
    assert.equal(policyRequests, 1);

    // The policy host disappears: the cached policy (same id) still applies, nothing is fetched.
    policies.delete('mta-sts.sts.test');
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'carol@sts.test' }], accountId: 1 }, message('sts2'));
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['delivered', 'delivered']);
    assert.equal(rogue.connections, 0);
    assert.equal(good.received.length, 2);
    assert.equal(policyRequests, 1, 'served from the cache');
  } finally {
    await Promise.all([rogue.close(), good.close()]);
    await h.close();
  }
});

test('MTA-STS enforce: self-signed, wrong-name or no STARTTLS all defer with 4.7.5 and deliver nothing', async () => {
  stsDomain('sts2.test', 'A1', 'version: STSv1\nmode: enforce\nmx: *.sts2.test\nmax_age: 3600\n');
  mx('sts2.test', 'a.sts2.test', '127.0.0.2', 10);
  mx('sts2.test', 'b.sts2.test', '127.0.0.3', 20);
  mx('sts2.test', 'c.sts2.test', '127.0.0.4', 30);
  const selfSigned = await TestRemote.start('127.0.0.2', port, { tls: await selfSignedCert('a.sts2.test') });
  const wrongName = await TestRemote.start('127.0.0.3', port, { tls: await ca.issue('wrong.sts2.test') });
  const plain = await TestRemote.start('127.0.0.4', port, { starttls: false });
  const h = harness(t.resolver, port, { mtaStsPort: stsPort, caFile });
  try {
    const id = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@sts2.test' }], accountId: 1 }, message('sts-bad'));
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['deferred']);
    assert.match(h.results[0].reply, /^451 4\.7\.5 /);
    const r = h.queue.show(id)!.recipients[0];
    assert.equal(r.state, 'pending');
    assert.equal(r.status, '4.7.5');
    assert.equal(selfSigned.received.length + wrongName.received.length + plain.received.length, 0);
    assert.ok(selfSigned.connections >= 1 && wrongName.connections >= 1 && plain.connections >= 1, 'every listed MX was tried');
  } finally {
    await Promise.all([selfSigned.close(), wrongName.close(), plain.close()]);
    await h.close();
  }
});

test('MTA-STS testing: delivers despite a certificate enforce would refuse', async () => {
  stsDomain('sts3.test', 'T1', 'version: STSv1\nmode: testing\nmx: mx.sts3.test\nmax_age: 3600\n');
  mx('sts3.test', 'mx.sts3.test', '127.0.0.2', 10);
  const remote = await TestRemote.start('127.0.0.2', port, { tls: await selfSignedCert('mx.sts3.test') });
  const h = harness(t.resolver, port, { mtaStsPort: stsPort, caFile });
  try {
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@sts3.test' }], accountId: 1 }, message('sts-testing'));
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['delivered']);
    assert.equal(remote.received[0].secure, true);
    assert.equal(h.queue.stsPolicy('sts3.test')!.mode, 'testing');
  } finally {
    await remote.close();
    await h.close();
  }
});

test('MTA-STS: a TXT record whose policy cannot be fetched means no policy (opportunistic TLS)', async () => {
  stsDomain('sts4.test', 'N1', 'unused');
  policies.delete('mta-sts.sts4.test'); // the policy host answers 404
  mx('sts4.test', 'mx.sts4.test', '127.0.0.2', 10);
  const remote = await TestRemote.start('127.0.0.2', port, { tls: await selfSignedCert('mx.sts4.test') });
  const h = harness(t.resolver, port, { mtaStsPort: stsPort, caFile });
  try {
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@sts4.test' }], accountId: 1 }, message('sts-none'));
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['delivered']);
    assert.equal(remote.received[0].secure, true);
    assert.equal(h.queue.stsPolicy('sts4.test'), null, 'nothing cached');
  } finally {
    await remote.close();
    await h.close();
  }
});
