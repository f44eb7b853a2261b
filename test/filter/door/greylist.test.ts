import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Greylist, greylistNetwork } from '../../../src/filter/door/greylist.js';

const MIN = 60_000;
const settings = { delayMs: 5 * MIN, retryWindowMs: 4 * 60 * MIN, passTtlMs: 36 * 24 * 60 * MIN };

function clock() {
  const c = { t: 1_700_000_000_000, now: () => c.t };
  return c;
}

test('greylist: networks are the /24 (IPv4) and /64 (IPv6)', () => {
  assert.equal(greylistNetwork('192.0.2.200'), '192.0.2.0/24');
  assert.equal(greylistNetwork('::ffff:192.0.2.200'), '192.0.2.0/24');
  assert.equal(greylistNetwork('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
});

test('greylist: defer, early retry deferred, retry in window passes, network then allow-listed', () => {
  const c = clock();
  const g = new Greylist(settings, { now: c.now });
  assert.deepEqual(g.check('192.0.2.10', 'a@sender.example', 'u@fjord.test'), { action: 'defer', reason: 'new', network: '192.0.2.0/24', retryInMs: 5 * MIN });
  c.t += 2 * MIN;
  const early = g.check('192.0.2.10', 'a@sender.example', 'u@fjord.test');
  assert.equal(early.action, 'defer');
  assert.equal(early.action === 'defer' && early.reason, 'too-soon');
  assert.equal(early.action === 'defer' && early.retryInMs, 3 * MIN, 'the first-seen time is kept');
  // Another triplet is independent.
  assert.equal(g.check('192.0.2.10', 'b@sender.example', 'u@fjord.test').action, 'defer');
  c.t += 3 * MIN;
  // The retry comes from a neighbour in the same /24, with the sender in another case.
  assert.deepEqual(g.check('192.0.2.99', 'A@Sender.Example', 'u@fjord.test'), { action: 'pass', reason: 'retried', network: '192.0.2.0/24' });
  assert.equal(g.isAllowListed('192.0.2.1'), true);
  // Any triplet from the network now passes at once.
  assert.deepEqual(g.check('192.0.2.10', 'new@other.example', 'v@fjord.test'), { action: 'pass', reason: 'allow-listed', network: '192.0.2.0/24' });
  // Another network is still greylisted.
  assert.equal(g.check('192.0.3.10', 'a@sender.example', 'u@fjord.test').action, 'defer');
});

test('greylist: a retry after the window starts over; the allow-listing expires after passTtlMs', () => {
  const c = clock();
  const g = new Greylist(settings, { now: c.now });
  g.check('2001:db8:1:2::10', '', 'u@fjord.test');
  c.t += settings.retryWindowMs + 1;
  const late = g.check('2001:db8:1:2::10', '', 'u@fjord.test');
  assert.equal(late.action === 'defer' && late.reason, 'expired');
  c.t += settings.delayMs;
  assert.equal(g.check('2001:db8:1:2:ffff::1', '', 'u@fjord.test').action, 'pass', 'same /64, in the new window');
  c.t += settings.passTtlMs - 1;
  assert.equal(g.isAllowListed('2001:db8:1:2::10'), true);
  c.t += 2;
  assert.equal(g.isAllowListed('2001:db8:1:2::10'), false);
  assert.equal(g.check('2001:db8:1:2::10', '', 'u@fjord.test').action, 'defer');
});

test('greylist: a pass extends the allow-listing; tables stay within their bounds', () => {
  const c = clock();
  const g = new Greylist({ delayMs: 1000, retryWindowMs: 10_000, passTtlMs: 100_000 }, { now: c.now, maxTriplets: 3, maxNetworks: 2 });
  g.check('10.0.0.1', 's@x', 'r@y');
  c.t += 1000;
  g.check('10.0.0.1', 's@x', 'r@y');
  c.t += 90_000;
  assert.equal(g.check('10.0.0.1', 's@x', 'other@y').action, 'pass');
  c.t += 90_000; // 180 s after the first pass, 90 s after the refresh
  assert.equal(g.isAllowListed('10.0.0.1'), true);

  for (let i = 0; i < 10; i++) g.check(`10.1.${i}.1`, 's@x', 'r@y');
  assert.equal(g.pendingCount, 3);
  // The oldest pending triplet was dropped: it starts over as new.
  const again = g.check('10.1.0.1', 's@x', 'r@y');
  assert.equal(again.action === 'defer' && again.reason, 'new');
  for (const n of [2, 3, 4]) {
    g.check(`10.${n}.0.1`, 's@x', 'r@y');
    c.t += 1000;
    g.check(`10.${n}.0.1`, 's@x', 'r@y');
  }
  assert.equal(g.allowListedCount, 2);
  assert.equal(g.isAllowListed('10.4.0.1'), true);
  assert.equal(g.isAllowListed('10.0.0.1'), false, 'the oldest allow-listing was dropped');
});

test('greylist: when the network table is full, the least recently passed network goes first', () => {
  const c = clock();
  const g = new Greylist({ delayMs: 1000, retryWindowMs: 10_000, passTtlMs: 100_000 }, { now: c.now, maxNetworks: 3 });
  const admit = (ip: string) => {
    g.check(ip, 's@x', 'r@y');
    c.t += 1000;
    assert.equal(g.check(ip, 's@x', 'r@y').action, 'pass');
  };
  admit('10.0.1.1');
  admit('10.0.2.1');
  c.t += 1000;
  assert.equal(g.check('10.0.1.1', 'other@x', 'r@y').reason, 'allow-listed'); // refreshes 10.0.1.0/24
  admit('10.0.3.1');
  admit('10.0.4.1');
  assert.equal(g.allowListedCount, 3);
  assert.equal(g.isAllowListed('10.0.1.1'), true, 'refreshed, so kept');
  assert.equal(g.isAllowListed('10.0.2.1'), false, 'the least recently passed was dropped');
  assert.equal(g.isAllowListed('10.0.3.1'), true);
  assert.equal(g.isAllowListed('10.0.4.1'), true);
});
