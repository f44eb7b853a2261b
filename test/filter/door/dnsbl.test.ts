import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopbackDns } from '../../helpers/dns-server.js';
import { DnsblChecker } from '../../../src/filter/door/dnsbl.js';
import type { DnsblZone } from '../../../src/config/spam.js';

// The resolver's own timeout is long: the checker's timeoutMs must be what bounds a lookup.
const loop = loopbackDns();

const REJECT: DnsblZone = { zone: 'bl.test', codes: { '127.0.0.0/8': 'reject' }, ipv6: true };
const count = (name: string) => loop.dns.queries.filter((q) => q === `${name} A`).length;
function clock() {
  const c = { t: 1_000_000, now: () => c.t };
  return c;
}

test('dnsbl: 127.0.0.2 listed (refuse, zone named), 127.0.0.1 not listed', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2', ttl: 60 });
  const c = new DnsblChecker([REJECT], loop.resolver, 1000);
  const listed = await c.check('127.0.0.2');
  assert.equal(listed.reject?.zone, 'bl.test');
  assert.deepEqual(listed.zones[0].codes, ['127.0.0.2']);
  assert.equal(listed.zones[0].status, 'listed');
  const clean = await c.check('127.0.0.1');
  assert.equal(clean.reject, null);
  assert.equal(clean.zones[0].status, 'clean');
  assert.equal(clean.points, 0);
  assert.equal(count('1.0.0.127.bl.test'), 1);
});

test('dnsbl: IPv6 is queried as reversed nibbles (RFC 5782 2.4); mapped IPv4 as IPv4; ipv6:false skips', async () => {
  const name = 'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test';
  loop.dns.add(name, { type: 'A', data: '127.0.0.2' });
  const noV6: DnsblZone = { zone: 'v4only.test', codes: { '*': 'reject' }, ipv6: false };
  const c = new DnsblChecker([REJECT, noV6], loop.resolver, 1000);
  const r = await c.check('2001:DB8:1:2:3:4:567:89AB');
  assert.equal(r.reject?.zone, 'bl.test');
  assert.equal(r.zones[1].status, 'skipped');
  const aQueries = () => loop.dns.queries.filter((q) => q.endsWith(' A')).sort();
  assert.deepEqual(aQueries(), [`${name} A`], 'exactly one query, with the RFC 5782 name');
  loop.dns.queries.length = 0;
  await c.check('::ffff:127.0.0.9');
  assert.deepEqual(aQueries(), ['9.0.0.127.bl.test A', '9.0.0.127.v4only.test A']);
});

test('dnsbl: return codes map to reject or points (exact over CIDR over "*"); one key counts once; zones add up', async () => {
  const zone: DnsblZone = { zone: 'mix.test', codes: { '127.0.0.2': 'reject', '127.0.0.3': 1, '127.0.0.0/24': 3, '127.0.1.0/24': 2, '*': 0.5 }, ipv6: true };
  const other: DnsblZone = { zone: 'other.test', codes: { '127.0.0.10': 4 }, ipv6: true };
  const answers: Record<string, string[]> = {
    '10.0.0.1': ['127.0.0.2'],
    '10.0.0.2': ['127.0.0.3'],
    '10.0.0.3': ['127.0.0.4'],
    '10.0.0.4': ['127.0.0.4', '127.0.0.5'],
    '10.0.0.5': ['127.0.0.4', '127.0.1.7'],
    '10.0.0.6': ['127.0.9.9'],
    '10.0.0.7': ['127.0.0.4', '127.0.0.2'],
  };
  for (const [ip, codes] of Object.entries(answers)) {
    const rev = ip.split('.').reverse().join('.');
    for (const code of codes) loop.dns.add(`${rev}.mix.test`, { type: 'A', data: code });
  }
  loop.dns.add('6.0.0.10.other.test', { type: 'A', data: '127.0.0.10' });
  loop.dns.add('7.0.0.10.other.test', { type: 'A', data: '127.0.0.11' }); // listed, but no code mapped
  const c = new DnsblChecker([zone, other], loop.resolver, 1000);
  const got: Record<string, unknown> = {};
  for (const ip of Object.keys(answers)) {
    const r = await c.check(ip);
    got[ip] = r.reject ? 'reject' : r.points;
  }
  assert.deepEqual(got, { '10.0.0.1': 'reject', '10.0.0.2': 1, '10.0.0.3': 3, '10.0.0.4': 3, '10.0.0.5': 5, '10.0.0.6': 4.5, '10.0.0.7': 'reject' });
  const unmapped = (await c.check('10.0.0.7')).zones[1];
  assert.equal(unmapped.status, 'listed');
  assert.equal(unmapped.action, null);
});

test('dnsbl: answers outside 127.0.0.0/8 and 127.255.255.x "query refused" codes are errors, not listings', async () => {
  loop.dns.add('1.1.1.10.bl.test', { type: 'A', data: '127.255.255.254' });
  loop.dns.add('2.1.1.10.bl.test', { type: 'A', data: '198.51.100.1' });
  loop.dns.add('3.1.1.10.bl.test', { type: 'A', data: '198.51.100.1' }, { type: 'A', data: '127.0.0.4' });
  const c = new DnsblChecker([{ zone: 'bl.test', codes: { '*': 'reject' }, ipv6: true }], loop.resolver, 1000);
  for (const ip of ['10.1.1.1', '10.1.1.2']) {
    const r = await c.check(ip);
    assert.equal(r.reject, null, ip);
    assert.equal(r.zones[0].status, 'error', ip);
    assert.match(r.zones[0].error ?? '', /not a listing/);
    assert.equal((await c.check(ip)).zones[0].cached, true, 'a bad answer is remembered (briefly) like any error');
  }
  const mixed = await c.check('10.1.1.3');
  assert.equal(mixed.reject?.zone, 'bl.test');
  assert.deepEqual(mixed.zones[0].codes, ['127.0.0.4'], 'only the 127/8 answer counts');
});

test('dnsbl: positive answers cached for their TTL, negative ones for negativeTtlMs (counted at the server)', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2', ttl: 60 });
  const k = clock();
  const c = new DnsblChecker([REJECT], loop.resolver, 1000, { now: k.now, negativeTtlMs: 300_000 });
  assert.equal((await c.check('127.0.0.2')).zones[0].cached, false);
  k.t += 59_000;
  const again = await c.check('127.0.0.2');
  assert.equal(again.zones[0].cached, true);
  assert.equal(again.reject?.zone, 'bl.test');
  assert.equal(count('2.0.0.127.bl.test'), 1);
  k.t += 2_000;
  await c.check('127.0.0.2');
  assert.equal(count('2.0.0.127.bl.test'), 2, 'expired after 60 s');

  await c.check('127.0.0.1');
  k.t += 299_000;
  assert.equal((await c.check('127.0.0.1')).zones[0].cached, true);
  assert.equal(count('1.0.0.127.bl.test'), 1);
  k.t += 2_000;
  await c.check('127.0.0.1');
  assert.equal(count('1.0.0.127.bl.test'), 2);
});

test('dnsbl: a silent list fails open within timeoutMs; the error is cached only briefly', async () => {
  loop.dns.misbehave('5.0.0.127.bl.test', 'timeout');
  const k = clock();
  const c = new DnsblChecker([REJECT], loop.resolver, 250, { now: k.now, errorTtlMs: 30_000 });
  const t0 = Date.now();
  const r = await c.check('127.0.0.5');
  const took = Date.now() - t0;
  assert.ok(took >= 200 && took < 1500, `took ${took} ms`);
  assert.equal(r.reject, null);
  assert.equal(r.zones[0].status, 'error');
  assert.equal(r.zones[0].error, 'ETIMEOUT');
  const t1 = Date.now();
  assert.equal((await c.check('127.0.0.5')).zones[0].cached, true);
  assert.ok(Date.now() - t1 < 100, 'the cached error answers at once');
  k.t += 31_000;
  const t2 = Date.now();
  assert.equal((await c.check('127.0.0.5')).zones[0].cached, false, 'asked again after errorTtlMs');
  assert.ok(Date.now() - t2 >= 200);
});

test('dnsbl: SERVFAIL fails open', async () => {
  loop.dns.add('6.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' });
  loop.dns.misbehave('6.0.0.127.bl.test', 'servfail');
  const c = new DnsblChecker([REJECT], loop.resolver, 1000);
  const r = await c.check('127.0.0.6');
  assert.equal(r.reject, null);
  assert.equal(r.zones[0].status, 'error');
  assert.equal(r.zones[0].error, 'ESERVFAIL');
});

test('dnsbl: concurrent identical lookups share one query; the zones are asked in parallel', async () => {
  const slow: DnsblZone[] = ['a.test', 'b.test', 'c.test'].map((zone) => ({ zone, codes: { '*': 1 }, ipv6: true }));
  for (const z of slow) loop.dns.misbehave(`7.0.0.127.${z.zone}`, 'timeout');
  const c = new DnsblChecker(slow, loop.resolver, 300);
  const t0 = Date.now();
  await Promise.all([c.check('127.0.0.7'), c.check('127.0.0.7'), c.check('::ffff:127.0.0.7')]);
  const took = Date.now() - t0;
  assert.ok(took < 800, `three zones time out together, not one after another (${took} ms)`);
  for (const z of slow) assert.equal(count(`7.0.0.127.${z.zone}`), 1, z.zone);
});

test('dnsbl: the cache is bounded (oldest dropped first)', async () => {
  const c = new DnsblChecker([REJECT], loop.resolver, 1000, { maxEntries: 2 });
  for (const ip of ['10.9.0.1', '10.9.0.2', '10.9.0.3']) await c.check(ip);
  assert.equal(c.size, 2);
  await c.check('10.9.0.3');
  assert.equal(count('3.0.9.10.bl.test'), 1);
  await c.check('10.9.0.1');
  assert.equal(count('1.0.9.10.bl.test'), 2, 'the oldest result was evicted');
});

test('dnsbl: TXT reason is fetched in the background after a listing, never awaited', async () => {
  loop.dns.add('8.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' }, { type: 'TXT', data: 'Listed\r\nsee https://bl.test/q?127.0.0.8' });
  const c = new DnsblChecker([REJECT], loop.resolver, 1000);
  const r = await c.check('127.0.0.8');
  assert.equal(r.zones[0].reason, undefined, 'the first answer does not wait for TXT');
  for (let i = 0; i < 50 && !c.reason('127.0.0.8', 'bl.test'); i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(c.reason('127.0.0.8', 'bl.test'), 'Listed see https://bl.test/q?127.0.0.8', 'control characters removed');
  assert.equal((await c.check('127.0.0.8')).zones[0].reason, 'Listed see https://bl.test/q?127.0.0.8');
  const none = new DnsblChecker([REJECT], loop.resolver, 1000, { txt: false });
  await none.check('127.0.0.8');
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(loop.dns.queries.filter((q) => q.endsWith('TXT')).length, 1);
});

test('dnsbl: malformed return codes are refused at construction', () => {
  assert.throws(() => new DnsblChecker([{ zone: 'x.test', codes: { '127.0.0/8': 'reject' }, ipv6: true }], loop.resolver, 100), /x\.test/);
  assert.throws(() => new DnsblChecker([{ zone: 'x.test', codes: { 'listed': 'reject' }, ipv6: true }], loop.resolver, 100), /x\.test/);
});
