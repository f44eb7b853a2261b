import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileList, match } from '../../../src/filter/door/lists.js';

const list = compileList([
  '192.0.2.7',
  '198.51.100.0/24',
  '2001:db8:42::/48',
  '2001:db8::99',
  'spammer@bad.example',
  'example.org',
  '*.wild.example',
  '@atdomain.example',
]);

test('lists: IP entries (v4, v6, mapped client) and CIDR entries (v4, v6)', () => {
  assert.deepEqual(match(list, { ip: '192.0.2.7' }), { entry: '192.0.2.7', kind: 'ip', on: 'ip', value: '192.0.2.7' });
  assert.equal(match(list, { ip: '::ffff:192.0.2.7' })?.entry, '192.0.2.7');
  assert.equal(match(list, { ip: '192.0.2.8' }), null);
  assert.equal(match(list, { ip: '198.51.100.254' })?.kind, 'cidr');
  assert.equal(match(list, { ip: '198.51.101.1' }), null);
  assert.equal(match(list, { ip: '2001:db8:42:ffff::1' })?.entry, '2001:db8:42::/48');
  assert.equal(match(list, { ip: '2001:db8:43::1' }), null);
  assert.equal(match(list, { ip: '2001:0db8:0:0::99' })?.entry, '2001:db8::99');
});

test('lists: domains match themselves and subdomains (sender domain, HELO, reverse names); "*." only subdomains', () => {
  assert.equal(match(list, { domain: 'example.org' })?.entry, 'example.org');
  assert.equal(match(list, { domain: 'Mail.EU.example.org.' })?.entry, 'example.org');
  assert.equal(match(list, { domain: 'notexample.org' }), null, 'a suffix is not a subdomain');
  assert.equal(match(list, { domain: 'wild.example' }), null);
  assert.equal(match(list, { domain: 'a.wild.example' })?.entry, '*.wild.example');
  assert.equal(match(list, { helo: 'mx1.example.org' })?.on, 'helo');
  assert.equal(match(list, { helo: '[192.0.2.7]' }), null, 'an address literal is not a domain');
  assert.equal(match(list, { rdns: ['host.other.test', 'x.atdomain.example'] })?.on, 'rdns');
  assert.equal(match(list, { rdns: 'host.other.test' }), null);
});

test('lists: full addresses, and the sender domain derived from the address', () => {
  assert.equal(match(list, { address: 'Spammer@BAD.example' })?.kind, 'address');
  assert.equal(match(list, { address: 'someone.else@bad.example' }), null);
  assert.deepEqual(match(list, { address: 'alice@lists.example.org' }), { entry: 'example.org', kind: 'domain', on: 'domain', value: 'lists.example.org' });
  assert.equal(match(list, { address: 'bob@atdomain.example' })?.entry, '@atdomain.example');
  assert.equal(match(compileList([]), { ip: '192.0.2.7', address: 'a@example.org' }), null);
});

test('lists: malformed entries are refused at compile time', () => {
  for (const bad of ['10.0.0.0/40', 'not a domain', 'user@', 'a@b@-bad-', '-x.example']) assert.throws(() => compileList([bad], 'deny'), /spam\.deny/, bad);
});
