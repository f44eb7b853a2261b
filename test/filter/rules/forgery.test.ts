// Header-forgery facts and the default rules built on them: each must fire on the lie and stay
// quiet on the honest form of the same header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/mime/index.js';
import { viewMessage } from '../../../src/filter/message-view.js';
import { defaultRules } from '../../../src/filter/rules/engine.js';
import { outlookMsgidSkewHours } from '../../../src/filter/forgery.js';
import { msg } from '../helpers-msg.js';

const rules = defaultRules();
function hits(headers: Record<string, string>, body = 'Hello, see you tomorrow.\n'): string[] {
  const raw = msg(headers, body);
  return rules.evaluate(viewMessage(raw, parseMessage(raw))).hits.map((h) => h.name);
}

const BASE = { From: 'ann@example.org', To: '<bob@example.net>', Subject: 'lunch', Date: 'Tue, 6 Aug 2002 18:11:54 +0200' };
// Outlook's own Message-ID for a message written on that Date (FILETIME 01c23d63:fbd0d8a0).
const REAL_OUTLOOK_ID = '<000a01c23d63$fbd0d8a0$65fda8c0@teliahomebase>';

test('Outlook Message-ID clock: agrees with the Date when Outlook wrote it', () => {
  const skew = outlookMsgidSkewHours(REAL_OUTLOOK_ID, new Date('2002-08-06T16:11:54Z'));
  assert.ok(skew !== null && skew < 1, `skew ${skew}`);
  // Counters and random hex in the same shape encode no sensible time.
  assert.ok(outlookMsgidSkewHours('<000023b8700d$00003a16$00004696@missouri.co.jp>', new Date('2002-08-22T15:13:35Z'))! > 24 * 365);
  assert.ok(outlookMsgidSkewHours('<008c61d64eed$6184e5d5$4bc22de3@udnugg>', new Date('2002-08-22T15:13:35Z'))! > 24 * 365);
  assert.equal(outlookMsgidSkewHours('<20020822151301.694632EE5A@smtp.example.com>', new Date()), null);
  assert.equal(outlookMsgidSkewHours(REAL_OUTLOOK_ID, null), null);
});

test('MSGID_OUTLOOK_FORGED and OE_MSGID_FOREIGN', () => {
  assert.ok(!hits({ ...BASE, 'Message-ID': REAL_OUTLOOK_ID }).includes('MSGID_OUTLOOK_FORGED'));
  assert.ok(hits({ ...BASE, 'Message-ID': '<000023b8700d$00003a16$00004696@missouri.co.jp>' }).includes('MSGID_OUTLOOK_FORGED'));
  const oe = { ...BASE, 'X-Mailer': 'Microsoft Outlook Express 6.00.2600.0000', 'X-MimeOLE': 'Produced By Microsoft MimeOLE V6.00.2600.0000' };
  assert.ok(hits({ ...oe, 'Message-ID': '<200208221955.UAA06531@relay.example.net>' }).includes('OE_MSGID_FOREIGN'));
  assert.ok(!hits({ ...oe, 'Message-ID': REAL_OUTLOOK_ID }).includes('OE_MSGID_FOREIGN'));
  // The Macintosh edition leaves the Message-ID to the server; Hotmail writes it for web users.
  assert.ok(!hits({ ...oe, 'X-Mailer': 'Microsoft Outlook Express Macintosh Edition - 5.01 (1630)', 'Message-ID': '<E17huko-0000JF-00@carbon>' }).includes('OE_MSGID_FOREIGN'));
  assert.ok(!hits({ ...oe, 'Message-ID': '<DAV32l8aii08N8yxdZj00009342@hotmail.com>' }).includes('OE_MSGID_FOREIGN'));
});

test('MSPRIO_NO_MIMEOLE and MS_MAILER_TO_BARE', () => {
  const ms = { ...BASE, 'Message-ID': REAL_OUTLOOK_ID, 'X-Mailer': 'Microsoft Outlook Express 6.00.2600.0000', 'X-MSMail-Priority': 'Normal' };
  assert.ok(hits(ms).includes('MSPRIO_NO_MIMEOLE'));
  assert.ok(!hits({ ...ms, 'X-MimeOLE': 'Produced By Microsoft MimeOLE V6.00.2600.0000' }).includes('MSPRIO_NO_MIMEOLE'));
  assert.ok(hits({ ...ms, To: 'bob@example.net' }).includes('MS_MAILER_TO_BARE'));
  assert.ok(!hits({ ...ms, To: '"Bob" <bob@example.net>' }).includes('MS_MAILER_TO_BARE'));
  assert.ok(!hits({ ...BASE, 'X-Mailer': 'Mutt/1.4i', To: 'bob@example.net' }).includes('MS_MAILER_TO_BARE'));
});

test('RCVD_HELO_IP_MISMATCH and RCVD_HELO_FAKE_PROVIDER', () => {
  const rcvd = (from: string) => ({ ...BASE, Received: `from ${from} by mx.example.net (Postfix) with SMTP id 1; Tue, 6 Aug 2002 16:12:00 +0000` });
  assert.ok(hits(rcvd('211.252.171.193 ([211.251.247.194])')).includes('RCVD_HELO_IP_MISMATCH'));
  assert.ok(!hits(rcvd('211.251.247.194 ([211.251.247.194])')).includes('RCVD_HELO_IP_MISMATCH'));
  assert.ok(!hits(rcvd('192.168.1.7 ([211.251.247.194])')).includes('RCVD_HELO_IP_MISMATCH'), 'a NATed client names its private address');
  assert.ok(hits(rcvd('yahoo.com (ppp16.dyn105.isp.example [210.24.105.16])')).includes('RCVD_HELO_FAKE_PROVIDER'));
  assert.ok(!hits(rcvd('web13.mail.yahoo.com (web13.mail.yahoo.com [216.136.175.76])')).includes('RCVD_HELO_FAKE_PROVIDER'));
  // Only where mail crosses between organisations without logging in: not between two servers
  // of one organisation, nor from a client that authenticated; an ISP's dial-up customer
  // handing to the ISP's own relay still counts.
  const by = (from: string, relay: string, how = 'SMTP') => ({ ...BASE, Received: `from ${from} by ${relay} with ${how} id 1; Tue, 6 Aug 2002 16:12:00 +0000` });
  assert.ok(!hits(by('dms-www1.netscape.com (dms-mailcaster-s06.netcenter.com)', 'dms-mail01.netcenter.com (LSMTP for Windows NT v1.1b)')).includes('RCVD_HELO_FAKE_PROVIDER'));
  assert.ok(hits(by('dms-www1.netscape.com (mailer.example.org [192.0.2.7])', 'dms-mail01.netcenter.com')).includes('RCVD_HELO_FAKE_PROVIDER'));
  assert.ok(hits(by('yahoo.com (ppp16.dyn105.isp.example [210.24.105.16])', 'smtp2.isp.example')).includes('RCVD_HELO_FAKE_PROVIDER'));
  assert.ok(!hits(by('usercb247.dsl.isp.example (HELO yahoo.co.uk) (ann@62.190.233.247 with plain)', 'smtp.mail.vip.sc5.yahoo.com', 'SMTP;')).includes('RCVD_HELO_FAKE_PROVIDER'));
  assert.ok(!hits(by('yahoo.com (ppp16.dyn105.isp.example [210.24.105.16])', 'mx.example.net', 'ESMTPSA')).includes('RCVD_HELO_FAKE_PROVIDER'));
  assert.ok(hits(by('yahoo.com (ppp16.dyn105.isp.example [210.24.105.16])', 'mx.example.net', 'ESMTPS')).includes('RCVD_HELO_FAKE_PROVIDER'));
});

test('DATE_AHEAD_6H, DATE_TZ_ABSURD, DATE_NO_ZONE and MIME_QP_LONG_LINE', () => {
  const rcvd = { Received: 'from a.example.org (a.example.org [192.0.2.1]) by mx.example.net with ESMTP id 1; Tue, 6 Aug 2002 08:00:00 +0000' };
  assert.ok(hits({ ...BASE, ...rcvd, Date: 'Tue, 6 Aug 2002 16:30:00 +0000' }).includes('DATE_AHEAD_6H'));
  assert.ok(!hits({ ...BASE, ...rcvd, Date: 'Tue, 6 Aug 2002 09:00:00 +0000' }).includes('DATE_AHEAD_6H'));
  assert.ok(hits({ ...BASE, Date: 'Tue, 6 Aug 2002 18:11:54 +1900' }).includes('DATE_TZ_ABSURD'));
  assert.ok(!hits({ ...BASE, Date: 'Tue, 6 Aug 2002 18:11:54 +0545' }).includes('DATE_TZ_ABSURD'));
  assert.ok(hits({ ...BASE, Date: 'Tue, 6 Aug 2002 18:11:54' }).includes('DATE_NO_ZONE'));
  assert.ok(!hits(BASE).includes('DATE_NO_ZONE'));
  const qp = { ...BASE, 'MIME-Version': '1.0', 'Content-Type': 'text/plain; charset=us-ascii', 'Content-Transfer-Encoding': 'quoted-printable' };
  assert.ok(hits(qp, `${'word '.repeat(40)}\n`).includes('MIME_QP_LONG_LINE'));
  assert.ok(!hits(qp, `${'word '.repeat(14)}=\nword\n`).includes('MIME_QP_LONG_LINE'));
});

test('OUTLOOK_HTML_FOREIGN: Outlook writes HTML with its own editor', () => {
  const h = { ...BASE, 'Message-ID': REAL_OUTLOOK_ID, 'X-Mailer': 'Microsoft Outlook Express 6.00.2600.0000', 'Content-Type': 'text/html' };
  assert.ok(hits(h, '<html><body><b>Great offer</b> today</body></html>\n').includes('OUTLOOK_HTML_FOREIGN'));
  assert.ok(!hits(h, '<html><head><META content="MSHTML 6.00.2600.0" name=GENERATOR></head><body>Hi</body></html>\n').includes('OUTLOOK_HTML_FOREIGN'));
  assert.ok(!hits({ ...h, 'X-Mailer': 'Mozilla 4.7' }, '<html><body>Hi</body></html>\n').includes('OUTLOOK_HTML_FOREIGN'));
});

test('DATE_MALFORMED: dates no mail program writes', () => {
  for (const bad of ['Thu, 22 Aug 0102 12:07:35 +0800', 'Fri, 23 Aug 2002 22:46:34 GMT+1', 'Thu, 29 Aug 2002 15:36:58 +-0500', '2002/09/14 Sat 02:29:32 CDT']) {
    assert.ok(hits({ ...BASE, Date: bad }).includes('DATE_MALFORMED'), bad);
  }
  for (const good of ['Tue, 6 Aug 2002 18:11:54 +0200', 'Tue, 06 Aug 2002 18:11:54 +0200 (CEST)', '6 Aug 02 18:11 GMT', 'Tue, 6 Aug 2002 18:11:54 EDT', 'Sat, 28 Nov 2026 16:21:40 UTC']) {
    assert.ok(!hits({ ...BASE, Date: good }).includes('DATE_MALFORMED'), good);
  }
});

test('FORM_TO_FILL, HTML_NO_HTML_TAG and HTML_NO_MIMEVER', () => {
  const form = 'To get your free CD, send us:\n\nName: ________\nAddress: ________\nCity:\nPhone: ________\n';
  assert.ok(hits(BASE, form).includes('FORM_TO_FILL'));
  assert.ok(!hits(BASE, 'Your order:\n\nName: Ann Smith\nAddress: 1 Main St\nPhone: 555 0100\n').includes('FORM_TO_FILL'), 'filled-in fields are not a form');
  const html = { ...BASE, 'Content-Type': 'text/html' };
  assert.ok(hits(html, '<font size=5>Act now</font>\n').includes('HTML_NO_HTML_TAG'));
  assert.ok(!hits(html, '<html><body>Hi</body></html>\n').includes('HTML_NO_HTML_TAG'));
  assert.ok(hits(html, '<html><body>Hi</body></html>\n').includes('HTML_NO_MIMEVER'));
  assert.ok(!hits({ ...html, 'MIME-Version': '1.0' }, '<html><body>Hi</body></html>\n').includes('HTML_NO_MIMEVER'));
});

test('RECIPS_ALPHABETIC: a slice of a harvested, sorted address list', () => {
  const harvested = 'yyyyferreira@inescn.example, yyyyferrer@cesca.example, yyyyf@infko.example, yyyyfoo@uni.example, yyyyg@other.example';
  assert.ok(hits({ ...BASE, To: harvested }).includes('RECIPS_ALPHABETIC'));
  // A team at one domain, or a few friends, is not a list slice.
  assert.ok(!hits({ ...BASE, To: 'anna@example.org, andrew@example.org, anton@example.org, annie@example.org' }).includes('RECIPS_ALPHABETIC'));
  assert.ok(!hits({ ...BASE, To: 'ann@example.org, bob@example.net, carl@example.com, dora@example.edu' }).includes('RECIPS_ALPHABETIC'));
});

test('SUBJ_ADV: the advertisement label in any case at the start, capitals elsewhere', () => {
  assert.ok(hits({ ...BASE, Subject: 'Adv: Mortgage quotes' }).includes('SUBJ_ADV'));
  assert.ok(hits({ ...BASE, Subject: 'Save now [ADV]' }).includes('SUBJ_ADV'));
  assert.ok(!hits({ ...BASE, Subject: 'adv tips for the ADVENT calendar' }).includes('SUBJ_ADV'));
});
