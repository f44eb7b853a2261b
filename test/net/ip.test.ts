import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, dnsblQueryName, isLoopback, networkOf, normalizeIp, parseCidr, parseIp, reversedName } from '../../src/net/ip.js';

test('ip: IPv4, IPv6 (RFC 5952 text), IPv4-mapped folded to IPv4, zone ids dropped, garbage refused', () => {
  assert.equal(normalizeIp('192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeIp('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normalizeIp('::FFFF:c000:0201'), '192.0.2.1');
  assert.equal(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'first of two equal runs is compressed');
  assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(normalizeIp('::'), '::');
  assert.equal(normalizeIp('::1'), '::1');
  assert.equal(normalizeIp('fe80::1%eth0'), 'fe80::1');
  assert.equal(normalizeIp('1:2:3:4:5:6:1.2.3.4'), '1:2:3:4:5:6:102:304');
  for (const bad of ['', '1.2.3', '256.1.1.1', '1.2.3.4.5', 'example.com', '2001:db8::1::2', '[1.2.3.4]']) assert.equal(parseIp(bad), null, bad);
  assert.equal(isLoopback(parseIp('127.9.9.9')!), true);
  assert.equal(isLoopback(parseIp('::1')!), true);
  assert.equal(isLoopback(parseIp('::2')!), false);
  assert.equal(isLoopback(parseIp('128.0.0.1')!), false);
});

test('ip: CIDR parsing and containment, v4 and v6, non-octet prefixes, mapped networks', () => {
  const n = parseCidr('192.0.2.77/26')!;
  assert.equal(n.text, '192.0.2.64/26');
  assert.equal(cidrContains(n, parseIp('192.0.2.64')!), true);
  assert.equal(cidrContains(n, parseIp('192.0.2.127')!), true);
  assert.equal(cidrContains(n, parseIp('192.0.2.128')!), false);
  assert.equal(cidrContains(n, parseIp('::ffff:192.0.2.100')!), true, 'a mapped client matches an IPv4 network');
  assert.equal(cidrContains(n, parseIp('2001:db8::1')!), false);
  const v6 = parseCidr('2001:db8:abcd::/45')!;
  assert.equal(v6.text, '2001:db8:abc8::/45');
  assert.equal(cidrContains(v6, parseIp('2001:db8:abcf:ffff::1')!), true);
  assert.equal(cidrContains(v6, parseIp('2001:db8:abd0::1')!), false);
  assert.equal(parseCidr('::ffff:10.0.0.0/104')!.text, '10.0.0.0/8');
  assert.equal(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('203.0.113.9')!), true);
  assert.equal(parseCidr('10.0.0.1')!.prefix, 32);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/x', '2001:db8::/129', 'nope/8', '::ffff:1.2.3.4/90']) assert.equal(parseCidr(bad), null, bad);
  assert.equal(networkOf(parseIp('198.51.100.200')!, 24), '198.51.100.0/24');
  assert.equal(networkOf(parseIp('2001:db8:1:2:3:4:5:6')!, 64), '2001:db8:1:2::/64');
  // However an IPv6 address is written, one network (the filter's entry-relay tokens use /48).
  assert.equal(networkOf(parseIp('2001:0db8:0001:0002::')!, 48), '2001:db8:1::/48');
  assert.equal(networkOf(parseIp('2001:db8:1:2:3:4:5:6')!, 48), '2001:db8:1::/48');
  assert.equal(networkOf(parseIp('2001:db8::5')!, 48), '2001:db8::/48');
});

test('ip: DNSBL query names per RFC 5782 (reversed octets; reversed nibbles, section 2.4 example)', () => {
  assert.equal(reversedName(parseIp('192.168.42.23')!), '23.42.168.192');
  assert.equal(dnsblQueryName(parseIp('::ffff:127.0.0.2')!, 'bl.example.'), '2.0.0.127.bl.example');
  assert.equal(
    dnsblQueryName(parseIp('2001:db8:1:2:3:4:567:89ab')!, 'ugly.example.com'),
    'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com',
  );
});
