import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopbackDns } from '../../helpers/dns-server.js';
import { parseSpamConfig } from '../../../src/config/spam.js';
import { Door, greetingDelay, type DoorResult } from '../../../src/filter/door/door.js';

const loop = loopbackDns();

function config(extra: Record<string, unknown> = {}) {
  return parseSpamConfig({
    dnsbl: { zones: [{ zone: 'bl.test', codes: { '127.0.0.2': 'reject', '127.0.0.3': 2.5 } }, 'rbl.test'], timeoutMs: 500 },
    ...extra,
  });
}
function clock() {
  const c = { t: 1_700_000_000_000, now: () => c.t };
  return c;
}
const names = (r: DoorResult) => r.signals.map((s) => s.name);

test('door: a listed client is refused at connect with 554 5.7.1 naming the zone; another passes', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' });
  const door = new Door(config(), loop.resolver);
  const r = await door.connect('::ffff:127.0.0.2', '');
  assert.deepEqual(r.refuse, { code: 554, enhanced: '5.7.1', message: 'Service unavailable; client [127.0.0.2] blocked using bl.test' });
  const ok = await door.connect('127.0.0.20', '');
  assert.equal(ok.refuse, null);
  assert.equal(ok.refuseAtRcpt, null);
  assert.deepEqual(names(ok), ['no_fcrdns']);
  // A zone given by name alone refuses any 127.x answer.
  loop.dns.add('21.0.0.127.rbl.test', { type: 'A', data: '127.0.0.9' });
  assert.match((await door.connect('127.0.0.21', '')).refuse?.message ?? '', /blocked using rbl\.test$/);
});

test('door: points from a listing become a signal; a failing list fails open with an informational signal', async () => {
  loop.dns.add('3.0.0.127.bl.test', { type: 'A', data: '127.0.0.3' });
  loop.dns.misbehave('3.0.0.127.rbl.test', 'servfail');
  const r = await new Door(config(), loop.resolver).connect('127.0.0.3', '');
  assert.equal(r.refuse, null);
  assert.deepEqual(r.signals.find((s) => s.name === 'dnsbl:bl.test'), { name: 'dnsbl:bl.test', score: 2.5, detail: '127.0.0.3: 2.5 points' });
  assert.equal(r.signals.find((s) => s.name === 'dnsbl_error:rbl.test')?.score, 0);
});

test('door: rejectAt "rcpt" carries the refusal to RCPT; postmaster@ is still reachable', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' }, { type: 'TXT', data: 'see https://bl.test/' });
  const door = new Door(config({ dnsbl: { zones: ['bl.test'], rejectAt: 'rcpt', timeoutMs: 500 } }), loop.resolver);
  const c = await door.connect('127.0.0.2', '');
  assert.equal(c.refuse, null);
  assert.equal(c.refuseAtRcpt?.code, 554);
  // The TXT reason arrives meanwhile (it is fetched in the background, never awaited).
  for (let i = 0; i < 200 && !door.dnsbl.reason('127.0.0.2', 'bl.test'); i++) await new Promise((res) => setTimeout(res, 10));
  const r = await door.rcpt('127.0.0.2', 'mx.example.com', 'a@example.com', 'user@fjord.test', c);
  assert.deepEqual(r.refuse, { code: 554, enhanced: '5.7.1', message: 'Service unavailable; client [127.0.0.2] blocked using bl.test; see https://bl.test/' });
  const pm = await door.rcpt('127.0.0.2', 'mx.example.com', 'a@example.com', 'PostMaster@fjord.test', c);
  assert.equal(pm.refuse, null);
});

test('door: allow list by IP/CIDR skips every check (no DNSBL query at all); deny list refuses', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' });
  const door = new Door(config({ allow: ['127.0.0.2', '10.0.0.0/8'], deny: ['127.0.0.0/24', 'spam.test', 'bad@example.com'] }), loop.resolver);
  const a = await door.connect('127.0.0.2', '');
  assert.equal(a.allowListed, true);
  assert.equal(a.refuse, null);
  assert.equal(a.allowedBy?.entry, '127.0.0.2');
  assert.deepEqual(loop.dns.queries, [], 'allow-listed: nothing looked up');
  assert.equal(door.helo('127.0.0.2', 'x', a).signals.some((s) => s.score > 0), false);
  assert.equal(door.mailFrom('127.0.0.2', 'bad@example.com', a).refuse, null, 'allowed by IP beats a later sender deny');
  const d = await door.connect('127.0.0.7', '');
  assert.deepEqual(d.refuse, { code: 554, enhanced: '5.7.1', message: 'Service unavailable; client [127.0.0.7] refused by local policy' });
  const other = await door.connect('127.0.1.7', '');
  assert.equal(other.refuse, null);
  assert.equal(door.helo('127.0.1.7', 'mail.SPAM.test').refuse?.code, 554);
  assert.match(door.mailFrom('127.0.1.7', 'Bad@Example.com').refuse?.message ?? '', /^Sender address <Bad@Example\.com> refused by local policy$/);
  assert.equal(door.mailFrom('127.0.1.7', 'good@example.com').refuse, null);
  assert.equal(door.mailFrom('127.0.1.7', 'x@sub.spam.test').refuse?.enhanced, '5.7.1');
  const rc = await door.rcpt('127.0.1.7', 'mx.spam.test', 'good@example.com', 'u@fjord.test', other);
  assert.equal(rc.refuse?.code, 554, 'rcpt re-applies the deny list to the HELO name');
});

test('door: allow by forward-confirmed reverse name only; deny by any reverse name', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' });
  loop.dns.add('2.0.0.127.in-addr.arpa', { type: 'PTR', data: 'mx.partner.test' });
  loop.dns.add('mx.partner.test', { type: 'A', data: '127.0.0.2' });
  loop.dns.add('30.0.0.127.in-addr.arpa', { type: 'PTR', data: 'fake.partner.test' });
  loop.dns.add('fake.partner.test', { type: 'A', data: '127.0.0.99' });
  loop.dns.add('31.0.0.127.in-addr.arpa', { type: 'PTR', data: 'host.dialup.test' });
  const door = new Door(config({ allow: ['partner.test'], deny: ['dialup.test'] }), loop.resolver);
  const ok = await door.connect('127.0.0.2', 'mx.partner.test');
  assert.equal(ok.allowListed, true, 'listed in bl.test but allowed by its confirmed name');
  assert.equal(ok.allowedBy?.on, 'rdns');
  assert.equal(ok.refuse, null);
  const fake = await door.connect('127.0.0.30', 'fake.partner.test');
  assert.equal(fake.allowListed, false, 'an unconfirmed PTR allows nothing');
  assert.ok(names(fake).includes('no_fcrdns'));
  assert.equal(door.helo('127.0.0.30', 'mx.partner.test').allowListed, false, 'nor does a HELO');
  const denied = await door.connect('127.0.0.31', '');
  assert.equal(denied.refuse?.code, 554);
  assert.match(denied.refuse?.message ?? '', /host\.dialup\.test\[127\.0\.0\.31\] refused by local policy/);
});

test('door: FCrDNS and HELO findings become scores from the config', async () => {
  loop.dns.add('40.0.0.127.in-addr.arpa', { type: 'PTR', data: 'mx.good.test' });
  loop.dns.add('mx.good.test', { type: 'A', data: '127.0.0.40' });
  const door = new Door(config({ scores: { noFcrdns: 2, badHelo: 1.25, heloIpLiteralMismatch: 0.75 } }), loop.resolver, { ourHostnames: ['mx.fjord.test'], ourIps: ['192.0.2.25'] });
  const good = await door.connect('127.0.0.40', '');
  assert.deepEqual(good.signals, []);
  assert.equal(good.fcrdns?.status, 'pass');
  const bad = await door.connect('127.0.0.41', '');
  assert.deepEqual(bad.signals, [{ name: 'no_fcrdns', score: 2, detail: 'no PTR record' }]);
  assert.deepEqual(door.helo('127.0.0.41', '[192.0.2.99]').signals.map((s) => [s.name, s.score]), [['helo_ip_mismatch', 0.75]]);
  assert.deepEqual(door.helo('127.0.0.41', 'workstation').signals.map((s) => [s.name, s.score]), [['helo_not_fqdn', 1.25]]);
  assert.deepEqual(door.helo('203.0.113.1', 'mx.fjord.test').signals.map((s) => s.name), ['helo_ours']);
  assert.deepEqual(door.helo('127.0.0.41', 'mx.good.test').signals, []);
});

test('door: a reputation block refuses; a failing reputation callback fails open', async () => {
  const door = new Door(config(), loop.resolver, { isBlocked: async (ip) => (ip === '127.0.0.50' ? 'reported as spam by 4 users' : null) });
  assert.equal((await door.connect('127.0.0.50', '')).refuse?.message, 'Service unavailable; client [127.0.0.50] blocked: reported as spam by 4 users');
  assert.equal((await door.connect('127.0.0.51', '')).refuse, null);
  const broken = new Door(config(), loop.resolver, { isBlocked: async () => { throw new Error('store closed'); } });
  assert.equal((await broken.connect('127.0.0.50', '')).refuse, null);
  // Carried to RCPT, the reputation refusal stays the reputation refusal even when a list has the client too.
  loop.dns.add('50.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' });
  const atRcpt = new Door(config({ dnsbl: { zones: ['bl.test'], rejectAt: 'rcpt' } }), loop.resolver, { isBlocked: async () => 'reported as spam' });
  const c = await atRcpt.connect('127.0.0.50', '');
  assert.equal(c.dnsbl?.reject?.zone, 'bl.test');
  const r = await atRcpt.rcpt('127.0.0.50', 'mx.example.com', 's@example.com', 'u@fjord.test', c);
  assert.equal(r.refuse?.message, 'Service unavailable; client [127.0.0.50] blocked: reported as spam');
});

test('door: greylisting at RCPT with an injected clock; allow-listed senders skip it', async () => {
  const k = clock();
  const door = new Door(config({ greylist: { enabled: true, delayMs: 60_000, retryWindowMs: 3_600_000, passTtlMs: 86_400_000 }, allow: ['friend.test'] }), loop.resolver, { now: k.now });
  const c = await door.connect('127.0.0.60', '');
  const first = await door.rcpt('127.0.0.60', 'mx.example.com', 's@example.com', 'u@fjord.test', c);
  assert.equal(first.refuse?.code, 451);
  assert.equal(first.refuse?.enhanced, '4.7.1');
  assert.match(first.refuse?.message ?? '', /^Greylisted: .* please try again in 60 seconds$/);
  k.t += 30_000;
  const early = await door.rcpt('127.0.0.60', 'mx.example.com', 's@example.com', 'u@fjord.test', c);
  assert.match(early.refuse?.message ?? '', /try again in 30 seconds/);
  k.t += 31_000;
  assert.equal((await door.rcpt('127.0.0.61', 'mx.example.com', 's@example.com', 'u@fjord.test', c)).refuse, null, 'same /24 retried in the window');
  assert.equal((await door.rcpt('127.0.0.62', 'mx.example.com', 'x@other.test', 'v@fjord.test', c)).refuse, null, 'the network is now allow-listed');
  const fresh = await door.rcpt('127.0.1.60', 'mx.example.com', 'a@friend.test', 'u@fjord.test', c);
  assert.equal(fresh.refuse, null, 'an allow-listed sender is not greylisted');
  assert.equal(fresh.allowListed, true);
  assert.equal((await door.rcpt('127.0.1.60', 'mx.example.com', 'a@stranger.test', 'u@fjord.test', c)).refuse?.code, 451);
  assert.equal(new Door(config(), loop.resolver).greylist, null, 'off by default');
});

test('door: spam.enabled=false passes everything; greetingDelay follows pregreetMs', async () => {
  loop.dns.add('2.0.0.127.bl.test', { type: 'A', data: '127.0.0.2' });
  const off = config({ enabled: false, deny: ['127.0.0.2'] });
  const door = new Door(off, loop.resolver);
  assert.deepEqual(await door.connect('127.0.0.2', ''), { refuse: null, signals: [], allowListed: false });
  assert.deepEqual(loop.dns.queries, []);
  assert.equal(greetingDelay(off), 0);
  assert.equal(greetingDelay(config()), 300);
  assert.equal(greetingDelay(config({ pregreetMs: 1200 })), 1200);
  assert.equal(greetingDelay(config({ pregreetMs: -5 })), 0);
});

test('door: a silent DNSBL does not hold the connection beyond its timeout', async () => {
  loop.dns.misbehave('70.0.0.127.bl.test', 'timeout');
  loop.dns.misbehave('70.0.0.127.rbl.test', 'timeout');
  const door = new Door(config({ dnsbl: { zones: ['bl.test', 'rbl.test'], timeoutMs: 300 } }), loop.resolver);
  const t0 = Date.now();
  const r = await door.connect('127.0.0.70', '');
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  assert.equal(r.refuse, null);
  assert.deepEqual(names(r).sort(), ['dnsbl_error:bl.test', 'dnsbl_error:rbl.test', 'no_fcrdns']);
});
