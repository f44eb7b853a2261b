import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopbackDns } from '../../helpers/dns-server.js';
import { checkFcrdns } from '../../../src/filter/door/fcrdns.js';

const loop = loopbackDns();

const V6 = '2001:db8::5';
const V6_PTR = '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';

test('fcrdns: pass when a PTR name resolves back (IPv4 via A, IPv6 via AAAA)', async () => {
  loop.dns.add('5.0.0.127.in-addr.arpa', { type: 'PTR', data: 'mx.good.test' });
  loop.dns.add('mx.good.test', { type: 'A', data: '127.0.0.9' }, { type: 'A', data: '127.0.0.5' });
  assert.deepEqual(await checkFcrdns(loop.resolver, '127.0.0.5', { timeoutMs: 1000 }), { status: 'pass', name: 'mx.good.test', ptr: ['mx.good.test'] });
  assert.equal((await checkFcrdns(loop.resolver, '::ffff:127.0.0.5', { timeoutMs: 1000 })).status, 'pass');
  loop.dns.add(V6_PTR, { type: 'PTR', data: 'v6.good.test' });
  loop.dns.add('v6.good.test', { type: 'AAAA', data: '2001:db8:0:0::5' }, { type: 'A', data: '127.0.0.5' });
  assert.equal((await checkFcrdns(loop.resolver, V6, { timeoutMs: 1000 })).status, 'pass');
  assert.ok(loop.dns.queries.includes('v6.good.test AAAA'));
});

test('fcrdns: fail when no PTR name leads back; none without PTR', async () => {
  loop.dns.add('6.0.0.127.in-addr.arpa', { type: 'PTR', data: 'liar.test' }, { type: 'PTR', data: 'nowhere.test' });
  loop.dns.add('liar.test', { type: 'A', data: '127.0.0.99' });
  const r = await checkFcrdns(loop.resolver, '127.0.0.6', { timeoutMs: 1000 });
  assert.equal(r.status, 'fail');
  assert.deepEqual(r.ptr.sort(), ['liar.test', 'nowhere.test']);
  assert.equal((await checkFcrdns(loop.resolver, '127.0.0.7', { timeoutMs: 1000 })).status, 'none');
});

test('fcrdns: temperror when a lookup times out or SERVFAILs and nothing confirms; bounded in time', async () => {
  loop.dns.add('8.0.0.127.in-addr.arpa', { type: 'PTR', data: 'slow.test' });
  loop.dns.misbehave('slow.test', 'timeout');
  const t0 = Date.now();
  const r = await checkFcrdns(loop.resolver, '127.0.0.8', { timeoutMs: 250 });
  assert.ok(Date.now() - t0 < 1500);
  assert.equal(r.status, 'temperror');
  assert.match(r.error ?? '', /slow\.test: ETIMEOUT/);
  loop.dns.misbehave('9.0.0.127.in-addr.arpa', 'servfail');
  assert.equal((await checkFcrdns(loop.resolver, '127.0.0.9', { timeoutMs: 1000 })).status, 'temperror');
  // One confirmed name wins over a failing one.
  loop.dns.add('10.0.0.127.in-addr.arpa', { type: 'PTR', data: 'slow.test' }, { type: 'PTR', data: 'ok.test' });
  loop.dns.add('ok.test', { type: 'A', data: '127.0.0.10' });
  assert.equal((await checkFcrdns(loop.resolver, '127.0.0.10', { timeoutMs: 250 })).status, 'pass');
});

test('fcrdns: at most maxNames PTR names are checked', async () => {
  for (let i = 0; i < 8; i++) loop.dns.add('11.0.0.127.in-addr.arpa', { type: 'PTR', data: `n${i}.many.test` });
  const r = await checkFcrdns(loop.resolver, '127.0.0.11', { timeoutMs: 1000, maxNames: 3 });
  assert.equal(r.status, 'fail');
  assert.equal(r.ptr.length, 3);
  assert.equal(loop.dns.queries.filter((q) => q.endsWith('.many.test A')).length, 3);
});

test('fcrdns: a confirming hint (smtp-server\'s reverse name) saves the PTR query; a wrong one does not decide', async () => {
  loop.dns.add('12.0.0.127.in-addr.arpa', { type: 'PTR', data: 'real.test' });
  loop.dns.add('real.test', { type: 'A', data: '127.0.0.12' });
  loop.dns.add('claimed.test', { type: 'A', data: '127.0.0.99' });
  assert.equal((await checkFcrdns(loop.resolver, '127.0.0.12', { timeoutMs: 1000, hint: 'Real.Test.' })).status, 'pass');
  assert.equal(loop.dns.queries.filter((q) => q.endsWith('PTR')).length, 0);
  const r = await checkFcrdns(loop.resolver, '127.0.0.12', { timeoutMs: 1000, hint: 'claimed.test' });
  assert.deepEqual(r, { status: 'pass', name: 'real.test', ptr: ['real.test'] });
});
