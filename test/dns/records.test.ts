// `fjord dns records` prints every record a domain needs with the right values, and `fjord dns
// check` judges what a loopback DNS server holds: all OK when it serves exactly what `records`
// printed, MISSING / WRONG with a non-zero exit when a key differs, SPF is ~all, DMARC is absent.
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers/system.js';
import { TestDnsServer, type ZoneRecord } from '../helpers/dns-server.js';
import { makeCa } from '../smtp/outbound/fixtures.js';
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DnsRecord, DnsRecordSet } from '../../src/dns/records.js';
import type { RecordCheck } from '../../src/dns/check.js';

let data: string;
let dns: TestDnsServer;
/** The MTA-STS policy host (HTTPS with a test CA); each test may change what it serves. */
let policyServer: https.Server;
let servePolicy: (res: http.ServerResponse) => void;
const fjord = (...args: string[]) => runCli([...args, '--data', data]);

before(async () => {
  data = tempDir();
  const ca = await makeCa();
  fs.writeFileSync(path.join(data, 'ca.pem'), ca.cert);
  policyServer = https.createServer(await ca.issue('mta-sts.example.org'), (req, res) => {
    if (req.url !== '/.well-known/mta-sts.txt') { res.writeHead(404).end(); return; }
    servePolicy(res);
  });
  await new Promise<void>((r) => policyServer.listen(0, '127.0.0.1', r));
  fs.writeFileSync(path.join(data, 'config.json'), JSON.stringify({
    hostname: 'mx.fjord.test',
    outbound: { sendingIps: ['192.0.2.10', '2001:db8::10'], mtaStsPort: (policyServer.address() as AddressInfo).port, caFile: path.join(data, 'ca.pem') },
  }));
  const add = await fjord('domain', 'add', 'example.org');
  assert.equal(add.code, 0, add.stderr);
  dns = await TestDnsServer.start();
});
beforeEach(async () => {
  // By default the policy `dns records` describes, as text/plain.
  const policy = (await recordSet()).mtaSts.policy;
  servePolicy = (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
});
after(async () => {
  await dns.close();
  await new Promise((r) => policyServer.close(r));
  fs.rmSync(data, { recursive: true, force: true });
});

async function recordSet(): Promise<DnsRecordSet> {
  const r = await fjord('dns', 'records', 'example.org', '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DnsRecordSet;
}

/** The record as the test server holds it (SRV is not among its declared types but encodes). */
function zoneRecord(r: DnsRecord): ZoneRecord {
  switch (r.type) {
    case 'MX': return { type: 'MX', data: { preference: r.priority, exchange: r.exchange } };
    case 'TXT': return { type: 'TXT', data: r.strings };
    case 'CNAME': return { type: 'CNAME', data: r.target };
    case 'PTR': return { type: 'PTR', data: r.target };
    case 'SRV': return { type: 'SRV' as ZoneRecord['type'], data: { priority: r.priority, weight: r.weight, port: r.port, target: r.target } as unknown as string };
  }
}

/** Loads the zone from the records output, each record passed through `edit` (null drops it). */
function loadZone(set: DnsRecordSet, edit: (r: DnsRecord) => DnsRecord | null = (r) => r, hostAddresses = ['192.0.2.10', '2001:db8::10']): void {
  dns.clear();
  // The host's own addresses, which the PTR records must lead back to.
  for (const a of hostAddresses) dns.add('mx.fjord.test', { type: a.includes(':') ? 'AAAA' : 'A', data: a });
  for (const r of set.records) {
    const e = edit(r);
    // The policy host has an address of its own here: the test's HTTPS server on loopback.
    if (e?.kind === 'mta-sts-host') dns.add(e.name, { type: 'A', data: '127.0.0.1' });
    else if (e) dns.add(e.name, zoneRecord(e));
  }
}

async function check(): Promise<{ code: number; stderr: string; checks: RecordCheck[]; text: string }> {
  const j = await fjord('dns', 'check', 'example.org', '--dns', dns.address, '--json');
  const t = await fjord('dns', 'check', 'example.org', '--dns', dns.address);
  assert.equal(j.code, t.code);
  return { code: j.code, stderr: j.stderr, checks: (JSON.parse(j.stdout) as { checks: RecordCheck[] }).checks, text: t.stdout };
}

const txt = (r: DnsRecord, text: string): DnsRecord => ({ ...r, type: 'TXT', text, strings: [text] } as DnsRecord);

test('dns records: zone-file text with every record and its value', async () => {
  const r = await fjord('dns', 'records', 'example.org');
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  const has = (line: string) => assert.ok(out.split('\n').includes(line), `missing line: ${line}`);
  has('example.org.\t3600\tIN\tMX\t10 mx.fjord.test.');
  has('example.org.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"');
  has('_dmarc.example.org.\t3600\tIN\tTXT\t"v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@example.org"');
  assert.match(out, /; DMARC: .*change to p=reject/);
  assert.match(out, /^_mta-sts\.example\.org\.\t3600\tIN\tTXT\t"v=STSv1; id=[0-9a-f]{20}"$/m);
  has('_smtp._tls.example.org.\t3600\tIN\tTXT\t"v=TLSRPTv1; rua=mailto:postmaster@example.org"');
  for (const [svc, prio, port] of [['_submissions', 0, 465], ['_submission', 10, 587], ['_imaps', 0, 993], ['_imap', 10, 143], ['_pop3s', 20, 995], ['_pop3', 30, 110]]) {
    has(`${svc}._tcp.example.org.\t3600\tIN\tSRV\t${prio} 1 ${port} mx.fjord.test.`);
  }
  has('autoconfig.example.org.\t3600\tIN\tCNAME\tmx.fjord.test.');
  has('autodiscover.example.org.\t3600\tIN\tCNAME\tmx.fjord.test.');
  // Reverse DNS lives in the IP provider's zone: printed commented out.
  has('; 10.2.0.192.in-addr.arpa.\t3600\tIN\tPTR\tmx.fjord.test.');
  has(`; ${'0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2'}.ip6.arpa.\t3600\tIN\tPTR\tmx.fjord.test.`);
  has('; MTA-STS policy: serve this file at https://mta-sts.example.org/.well-known/mta-sts.txt');
  for (const l of ['version: STSv1', 'mode: enforce', 'mx: mx.fjord.test', 'max_age: 604800']) has(`;   ${l}`);
  // Every record line has a one-line comment above it.
  const lines = out.split('\n');
  for (const [i, l] of lines.entries()) if (/\tIN\t/.test(l)) assert.match(lines[i - 1]!, /^; /, `comment before ${l}`);
  // DKIM: the stored keys, the RSA one in strings of at most 255 octets.
  const keys = (await fjord('dkim', 'list', 'example.org', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { dnsName: string; record: string; algorithm: string });
  assert.equal(keys.length, 2);
  for (const k of keys) {
    const line = lines.find((l) => l.startsWith(`${k.dnsName}.\t3600\tIN\tTXT\t`));
    assert.ok(line, `DKIM record ${k.dnsName}`);
    const strings = [...line!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    assert.equal(strings.join(''), k.record);
    assert.ok(strings.every((s) => Buffer.byteLength(s) <= 255));
    if (k.algorithm === 'rsa-sha256') {
      assert.ok(strings.length >= 2, 'RSA-2048 record is split');
      assert.match(k.record, /^v=DKIM1; k=rsa; p=MII/);
    } else {
      assert.match(k.record, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    }
  }
});

test('dns records --json: the same records, the MTA-STS policy and no private keys', async () => {
  const set = await recordSet();
  assert.equal(set.domain, 'example.org');
  assert.equal(set.hostname, 'mx.fjord.test');
  assert.deepEqual(set.mtaSts, { url: 'https://mta-sts.example.org/.well-known/mta-sts.txt', policy: 'version: STSv1\nmode: enforce\nmx: mx.fjord.test\nmax_age: 604800\n' });
  const kinds = set.records.map((r) => r.kind);
  for (const k of ['mx', 'spf', 'dkim', 'dmarc', 'mta-sts', 'tls-rpt', 'srv', 'autoconfig', 'ptr']) assert.ok(kinds.includes(k as DnsRecord['kind']), k);
  assert.equal(set.records.filter((r) => r.kind === 'ptr').length, 2, 'one PTR per sending address');
  assert.equal(set.records.filter((r) => r.kind === 'dkim').length, 2);
  assert.equal(set.records.filter((r) => r.kind === 'srv').length, 6);
  assert.doesNotMatch(JSON.stringify(set), /PRIVATE KEY/);
  assert.match(set.warnings.join('\n'), /no TLS certificate configured/);
});

test('dns records without sending IPs: SPF names the host, with a warning', async () => {
  const config = path.join(data, 'no-ips.json');
  fs.writeFileSync(config, JSON.stringify({ hostname: 'mail.example.net' }));
  const r = await fjord('dns', 'records', 'example.org', '--config', config);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('example.org.\t3600\tIN\tTXT\t"v=spf1 a:mail.example.net -all"'));
  assert.match(r.stdout, /; WARNING: outbound\.sendingIps is empty/);
  assert.ok(r.stdout.includes('example.org.\t3600\tIN\tMX\t10 mail.example.net.'));
});

test('dns check: all OK when DNS serves what dns records printed', async () => {
  loadZone(await recordSet());
  const r = await check();
  assert.equal(r.code, 0, r.stderr + r.text);
  assert.deepEqual(r.checks.filter((c) => c.status !== 'OK'), []);
  assert.match(r.text, /^(\d+) of \1 records OK$/m);
});

test('dns check: a different DKIM key, SPF ~all and no DMARC are WRONG / MISSING, exit 1', async () => {
  const set = await recordSet();
  const rsa = set.records.find((r) => r.kind === 'dkim' && r.dkim?.algorithm === 'rsa-sha256')!;
  loadZone(set, (r) => {
    // Another key: one character of p= changed.
    if (r === rsa) return txt(r, (r as DnsRecord & { text: string }).text.replace(/p=MII(.)/, (_m, c: string) => `p=MII${c === 'B' ? 'C' : 'B'}`));
    if (r.kind === 'spf') return txt(r, 'v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all');
    if (r.kind === 'dmarc') return null;
    if (r.kind === 'srv' && r.name.startsWith('_pop3.')) return null; // optional: reported, not failing
    return r;
  });
  const res = await check();
  assert.equal(res.code, 1);
  assert.equal(res.stderr.trim().split('\n').length, 1, 'one-line reason');
  assert.match(res.stderr, /3 required record\(s\) of example\.org missing or wrong/);
  const status = (pred: (c: RecordCheck) => boolean) => res.checks.filter(pred).map((c) => c.status);
  assert.deepEqual(status((c) => c.name === rsa.name), ['WRONG']);
  assert.deepEqual(status((c) => c.kind === 'spf'), ['WRONG']);
  assert.deepEqual(status((c) => c.kind === 'dmarc'), ['MISSING']);
  assert.deepEqual(status((c) => c.name.startsWith('_pop3.')), ['MISSING']);
  assert.deepEqual(status((c) => c.kind === 'mx' || c.kind === 'mta-sts' || (c.kind === 'dkim' && c.name !== rsa.name)), ['OK', 'OK', 'OK']);
  assert.match(res.text, /^WRONG +spf +example\.org TXT\n +ends with "~all": must end with -all\n +expected: v=spf1 ip4:192\.0\.2\.10 ip6:2001:db8::10 -all\n +found: +v=spf1 .* ~all$/m);
  assert.match(res.text, /^WRONG +dkim +fjr\d{8}a\._domainkey\.example\.org TXT\n +p= is not the stored rsa-sha256 key/m);
  assert.match(res.text, /^MISSING dmarc +_dmarc\.example\.org TXT\n/m);
});

test('dns check: SPF that leaves out a sending address, DMARC p=none and a foreign MX are WRONG', async () => {
  loadZone(await recordSet(), (r) => {
    if (r.kind === 'spf') return txt(r, 'v=spf1 ip4:192.0.2.10 -all');
    if (r.kind === 'dmarc') return txt(r, 'v=DMARC1; p=none; rua=mailto:postmaster@example.org');
    if (r.kind === 'mx') return { ...r, exchange: 'mx.elsewhere.example' } as DnsRecord;
    return r;
  });
  const res = await check();
  assert.equal(res.code, 1);
  const by = (kind: string) => res.checks.find((c) => c.kind === kind)!;
  assert.equal(by('spf').status, 'WRONG');
  assert.match(by('spf').detail!, /2001:db8::10: fail/);
  assert.equal(by('dmarc').status, 'WRONG');
  assert.match(by('dmarc').detail!, /p=none/);
  assert.equal(by('mx').status, 'WRONG');
  assert.deepEqual(by('mx').found, ['10 mx.elsewhere.example']);
});

test('dns check: reverse DNS must name our host, and the host must lead back to the address', async () => {
  const set = await recordSet();
  const [v4, v6] = set.records.filter((r) => r.kind === 'ptr');
  const by = (res: Awaited<ReturnType<typeof check>>, name: string) => res.checks.find((c) => c.name === name)!;
  // No PTR for the IPv4 address; the IPv6 one names someone else's host.
  loadZone(set, (r) => (r === v4 ? null : r === v6 ? ({ ...r, target: 'host.isp.example' } as DnsRecord) : r));
  let res = await check();
  assert.equal(res.code, 1);
  assert.equal(by(res, v4!.name).status, 'MISSING');
  assert.equal(by(res, v6!.name).status, 'WRONG');
  assert.match(by(res, v6!.name).detail!, /names host\.isp\.example, expected mx\.fjord\.test/);
  // PTRs right, but the host's A record is another address: not forward-confirmed.
  loadZone(set, (r) => r, ['198.51.100.7', '2001:db8::10']);
  res = await check();
  assert.equal(res.code, 1);
  assert.equal(by(res, v4!.name).status, 'WRONG');
  assert.match(by(res, v4!.name).detail!, /mx\.fjord\.test does not resolve back to 192\.0\.2\.10/);
  assert.equal(by(res, v6!.name).status, 'OK');
});

test('dns check: the MTA-STS policy file must be served and must list our MX', async () => {
  const set = await recordSet();
  loadZone(set);
  let res = await check();
  const sts = () => res.checks.find((c) => c.kind === 'mta-sts')!;
  assert.equal(sts().status, 'OK');
  assert.match(sts().detail!, /policy mode enforce, mx mx\.fjord\.test/);
  // A policy that names another MX: enforcing senders would never reach us.
  servePolicy = (r) => r.writeHead(200, { 'content-type': 'text/plain' }).end('version: STSv1\nmode: enforce\nmx: mx.elsewhere.example\nmax_age: 86400\n');
  res = await check();
  assert.equal(res.code, 1);
  assert.equal(sts().status, 'WRONG');
  assert.match(sts().detail!, /lists mx mx\.elsewhere\.example, not mx\.fjord\.test/);
  // No policy file at all (RFC 8461: only a 200 counts).
  servePolicy = (r) => r.writeHead(404).end();
  res = await check();
  assert.equal(sts().status, 'WRONG');
  assert.match(sts().detail!, /cannot be used: HTTP 404/);
});

test('dns check: an unreachable DNS server is an ERROR, exit 1', async () => {
  const r = await fjord('dns', 'check', 'example.org', '--dns', '127.0.0.1:9');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^ERROR +mx +example\.org MX/m);
});
