// The outbound engine's pure parts: MTA-STS record/policy parsing and MX matching (RFC 8461),
// the retry schedule, reply classification, and the DSN's shape (RFC 3464) in detail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mxMatches, parseStsPolicy, parseStsRecord } from '../../../src/smtp/outbound/mta-sts-policy.js';
import { nextAttempt } from '../../../src/smtp/outbound/retry.js';
import { classify, cleanReply, enhancedStatus } from '../../../src/smtp/outbound/reply.js';
import { buildDsn, headerBlock } from '../../../src/smtp/outbound/dsn.js';
import { message, parseDsn } from './fixtures.js';

test('MTA-STS TXT record: the id of exactly one v=STSv1 record', () => {
  assert.equal(parseStsRecord([['v=STSv1; id=20160831085700Z;']]), '20160831085700Z');
  assert.equal(parseStsRecord([['v=STSv1;', ' id=abc123']]), 'abc123', 'character-strings are joined');
  assert.equal(parseStsRecord([['v=spf1 -all'], ['v=STSv1; id=X1']]), 'X1', 'other TXT records are ignored');
  assert.equal(parseStsRecord([['v=STSv1; id=A'], ['v=STSv1; id=B']]), null, 'two STS records: none');
  assert.equal(parseStsRecord([['v=STSv1;']]), null, 'no id');
  assert.equal(parseStsRecord([['v=STSv1; id=not-alnum!']]), null);
  assert.equal(parseStsRecord([]), null);
});

test('MTA-STS policy: fields, CRLF or LF, unknown keys ignored, invalid refused', () => {
  assert.deepEqual(parseStsPolicy('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET\r\nmax_age: 604800\r\n'), {
    mode: 'enforce',
    mx: ['mail.example.com', '*.example.net'],
    maxAge: 604800,
  });
  assert.deepEqual(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 9999999999\nfuture: thing\n'), { mode: 'none', mx: [], maxAge: 31_557_600 });
  assert.throws(() => parseStsPolicy('version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n'), /STSv1/);
  assert.throws(() => parseStsPolicy('version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n'), /mode/);
  assert.throws(() => parseStsPolicy('version: STSv1\nmode: enforce\nmax_age: 1\n'), /no mx/);
  assert.throws(() => parseStsPolicy('version: STSv1\nmode: enforce\nmx: a.b\n'), /max_age/);
  assert.throws(() => parseStsPolicy('<html>not a policy</html>'), /bad policy line/);
});

test('MTA-STS mx patterns: exact, or a wildcard for exactly one leftmost label', () => {
  assert.ok(mxMatches('mail.example.com', 'MAIL.example.com.'));
  assert.ok(!mxMatches('mail.example.com', 'mail2.example.com'));
  assert.ok(mxMatches('*.example.net', 'mx1.example.net'));
  assert.ok(!mxMatches('*.example.net', 'a.b.example.net'), 'one label only');
  assert.ok(!mxMatches('*.example.net', 'example.net'));
});

test('retry schedule: the last delay repeats; never past giveUpAfter; given up at the deadline', () => {
  const cfg = { retrySchedule: [60, 300], giveUpAfter: 3600 };
  const t0 = 1_000_000;
  assert.deepEqual(nextAttempt(cfg, t0, 1, t0), { giveUp: false, at: t0 + 60_000 });
  assert.deepEqual(nextAttempt(cfg, t0, 2, t0 + 60_000), { giveUp: false, at: t0 + 360_000 });
  assert.deepEqual(nextAttempt(cfg, t0, 9, t0 + 1000_000), { giveUp: false, at: t0 + 1300_000 });
  assert.deepEqual(nextAttempt(cfg, t0, 12, t0 + 3500_000), { giveUp: false, at: t0 + 3600_000 }, 'last attempt at the deadline');
  assert.deepEqual(nextAttempt(cfg, t0, 13, t0 + 3600_000), { giveUp: true });
});

test('replies: class decides the outcome; enhanced status from the reply or its class', () => {
  assert.equal(classify('250 2.0.0 Ok'), 'delivered');
  assert.equal(classify('451 4.7.1 later'), 'deferred');
  assert.equal(classify('550 5.1.1 unknown'), 'failed');
  assert.equal(classify('garbage'), 'deferred');
  assert.equal(enhancedStatus('550 5.7.26 DMARC'), '5.7.26');
  assert.equal(enhancedStatus('550 sorry'), '5.0.0');
  assert.equal(enhancedStatus('450 5.1.1 mismatched class'), '4.0.0');
  assert.equal(cleanReply('550-5.1.1 first\r\n550 5.1.1 second\x00'), '550-5.1.1 first 550 5.1.1 second');
});

test('DSN: folded ASCII fields, ORCPT, several recipients and actions, headers-only original', async () => {
  const original = message('dsn unit');
  const long = '550 5.7.1 ' + 'very long explanation with ünïcödé '.repeat(8);
  const raw = buildDsn({
    hostname: 'mx.fjord.test',
    queueId: 'Q1',
    to: 'alice@fjord.test',
    envid: 'ENV1',
    arrivalDate: new Date('2026-11-28T10:00:00Z'),
    ret: 'HDRS',
    original,
    now: new Date('2026-11-28T11:00:00Z'),
    recipients: [
      { address: 'a@x.test', orcpt: 'rfc822;A@X.test', action: 'failed', status: '5.7.1', remoteMta: 'mx.x.test[192.0.2.9]', reply: long, lastAttemptAt: new Date('2026-11-28T10:59:00Z') },
      { address: 'b@y.test', orcpt: null, action: 'relayed', status: '2.0.0', remoteMta: 'mx.y.test[192.0.2.8]', reply: '250 2.0.0 Ok', lastAttemptAt: null },
    ],
  });
  const text = raw.toString('utf8');
  for (const line of text.split('\r\n').slice(0, text.split('\r\n').indexOf('Content-Description: Undelivered message'))) assert.ok(line.length <= 998);
  assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), 'CRLF line ends only');
  const d = await parseDsn(raw);
  assert.equal(d.headers.get('subject'), 'Undelivered Mail Returned to Sender');
  assert.equal(d.headers.get('to'), '<alice@fjord.test>');
  assert.match(d.headers.get('in-reply-to')!, /^<dsnunit\./);
  assert.equal(d.perMessage.get('arrival-date'), 'Sat, 28 Nov 2026 10:00:00 +0000');
  assert.equal(d.perRecipient.length, 2);
  const [a, b] = d.perRecipient;
  assert.equal(a.get('original-recipient'), 'rfc822; A@X.test');
  assert.equal(a.get('remote-mta'), 'dns; mx.x.test');
  assert.match(a.get('diagnostic-code')!, /^smtp; 550 5\.7\.1 very long explanation with ?n?c?d?/);
  assert.ok(/^[\x20-\x7e\r\n\t]*$/.test(d.parts[1].body.toString('latin1')), 'delivery-status is ASCII');
  assert.ok(d.parts[1].body.toString().split('\r\n').every((l) => l.length <= 80), 'long fields are folded');
  assert.equal(b.get('action'), 'relayed');
  assert.equal(b.get('original-recipient'), undefined);
  assert.equal(d.parts[2].type, 'text/rfc822-headers');
  assert.ok(d.parts[2].body.equals(headerBlock(original)));
});
