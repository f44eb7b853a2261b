import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHelo, isValidHostname } from '../../../src/filter/door/helo.js';

const ctx = { ourHostnames: ['mx.fjord.test', 'fjord.test'], ourIps: ['192.0.2.25', '2001:db8::25'] };
const name = (helo: string, ip = '203.0.113.5') => checkHelo(helo, ip, ctx)?.name ?? null;

test('helo: good names and matching address literals raise nothing', () => {
  assert.equal(name('mail.example.com'), null);
  assert.equal(name('Mail.Example.COM.'), null);
  assert.equal(name('win_host.corp.example'), null);
  assert.equal(name('[203.0.113.5]'), null);
  assert.equal(name('[IPv6:2001:db8::5]', '2001:db8:0::5'), null);
  assert.equal(name('[192.0.2.25]', '192.0.2.25'), null, 'our own address from our own address');
});

test('helo: invalid syntax, bare IP, literal mismatch, not FQDN', () => {
  assert.equal(name(''), 'helo_invalid');
  assert.equal(name('bad..example'), 'helo_invalid');
  assert.equal(name('-x.example'), 'helo_invalid');
  assert.equal(name('host name.example'), 'helo_invalid');
  assert.equal(name('host.123'), 'helo_invalid', 'numeric top-level label');
  assert.equal(name('[999.1.1.1]'), 'helo_invalid');
  assert.equal(name('[IPv6:1.2.3.4]'), 'helo_invalid');
  assert.equal(name('[2001:db8::5]', '2001:db8::5'), 'helo_invalid', 'IPv6 literal needs the IPv6: tag');
  assert.equal(name('203.0.113.5'), 'helo_bare_ip');
  assert.equal(name('[198.51.100.1]'), 'helo_ip_mismatch');
  assert.equal(name('[IPv6:2001:db8::6]', '2001:db8::5'), 'helo_ip_mismatch');
  assert.equal(name('workstation'), 'helo_not_fqdn');
  assert.equal(isValidHostname('a'.repeat(64) + '.example'), false);
  assert.equal(isValidHostname('a'.repeat(63) + '.example'), true);
});

test('helo: claiming our name or address, and localhost from elsewhere', () => {
  assert.equal(name('MX.fjord.test'), 'helo_ours');
  assert.equal(name('fjord.test'), 'helo_ours');
  assert.equal(name('other.fjord.test'), null, 'a subdomain of a hosted domain may be a customer server');
  assert.equal(name('[192.0.2.25]'), 'helo_ours');
  assert.equal(name('[IPv6:2001:db8::25]', '2001:db8::5'), 'helo_ours');
  assert.equal(name('192.0.2.25'), 'helo_ours');
  assert.equal(name('mx.fjord.test', '192.0.2.25'), null, 'we may talk to ourselves');
  assert.equal(name('mx.fjord.test', '127.0.0.1'), null);
  assert.equal(name('localhost'), 'helo_localhost');
  assert.equal(name('localhost.localdomain'), 'helo_localhost');
  assert.equal(name('localhost', '127.0.0.1'), null);
  assert.equal(name('localhost', '::1'), null);
  assert.match(checkHelo('[198.51.100.1]', '203.0.113.5')!.detail, /client is \[203\.0\.113\.5\]/);
});
