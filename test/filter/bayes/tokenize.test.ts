import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/mime/index.js';
import { tokenize, DEFAULT_TOKENIZE, blankAddresses } from '../../../src/filter/bayes/tokenize.js';
import { isSpaceCode } from '../../../src/filter/space.js';
import { prng } from '../../helpers/prng.js';
import { msg } from '../helpers-msg.js';
import { traceHeaders } from '../../../src/smtp/inbound/trace-headers.js';

const html = msg({
  From: '"Deals Team" <offers123456@promo.example.net>', To: 'a@b.test', Subject: 'FREE MONEY NOW!!!',
  'Content-Type': 'text/html; charset=iso-8859-1', 'X-Mailer': 'Mass Mailer 4.2.1', 'Message-ID': '<12345.abc@promo.example.net>',
}, '<html><body><font color="#ff0000" size="+3">Click here</font> to <a href="http://www.shop.example.co.uk/buy?id=9">buy pills</a> <img src="http://10.1.2.3/x.gif"></body></html>');

test('tokenizer: words, pairs, headers, HTML structure and URLs', () => {
  const t = tokenize(html, parseMessage(html));
  for (const want of ['click', 'bi:click here', 'subj:free', 'subj:allcaps', 'subj:bang', 'from:name:deals', 'from:dom:example.net',
    'x-mailer:mass mailer 9', 'html:tag:font', 'html:attr:font.color', 'html:val:font.color=#ff0000', 'url:host:www.shop.example.co.uk',
    'url:dom:example.co.uk', 'url:ip', 'url:buy', 'ct:text/html', 'charset:iso-8859-1']) {
    assert.ok(t.includes(want), `missing ${want}`);
  }
  // Tags are not words.
  assert.ok(!t.includes('font') && !t.includes('href'));
});

test('tokenizer: deterministic, unique; recipient addresses are not tokens', () => {
  const a = tokenize(html, parseMessage(html));
  const b = tokenize(html, parseMessage(html));
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, a.length);
  assert.ok(!a.some((x) => x.includes('a@b.test')));
});

test('tokenizer: bounded token count and text length', () => {
  const words = Array.from({ length: 50000 }, (_, i) => `w${i.toString(36)}x`).join(' ');
  const big = msg({ From: 'a@b.test', Subject: 'big' }, words);
  const t = tokenize(big, parseMessage(big));
  assert.ok(t.length <= DEFAULT_TOKENIZE.maxTokens, `${t.length} tokens`);
  const small = tokenize(big, parseMessage(big), { ...DEFAULT_TOKENIZE, maxTokens: 100 });
  assert.equal(small.length, 100);
});

test('tokenizer: long runs summarised, CJK as character pairs, attachments by extension', () => {
  const m = msg({ From: 'a@b.test', Subject: 'x' }, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 你好世界');
  const t = tokenize(m, parseMessage(m));
  assert.ok(t.includes('skip:a:30'));
  assert.ok(t.includes('你好') && t.includes('好世'));
  // A subject in a script without case is not "all capitals"; capitals among Latin letters are.
  const subj = (s: string) => { const r = msg({ From: 'a@b.test', Subject: s }, 'hi'); return tokenize(r, parseMessage(r)).includes('subj:allcaps'); };
  assert.equal(subj('会議の議事録について'), false);
  assert.equal(subj('会議 AGENDA FOR MONDAY'), true);
  assert.equal(subj('会議 Agenda for Monday'), false);
});

test('tokenizer: words split on exactly what /\\s/ matches, trimmed as LEAD and TRAIL say', () => {
  for (let c = 0; c < 0x10000; c++) assert.equal(isSpaceCode(c), /\s/.test(String.fromCharCode(c)), `U+${c.toString(16)}`);
  const m = msg({ From: 'a@b.test', Subject: 'x' }, '(see) "quoted" 100% wow!! $500... ...dots.. \u00a0«naïve» ¿qué? first\u3000second last');
  const t = tokenize(m, parseMessage(m));
  for (const want of ['see', 'quoted', '100%', 'wow!!', '$500', 'dots', 'naïve', 'qué', 'first', 'second', 'bi:first second', 'bi:second last', 'bi:see quoted']) {
    assert.ok(t.includes(want), `missing ${want}`);
  }
});

// The relay the mail entered the receiving side from (message-view's entryFacts): the hop the
// receiving side wrote, found below its own relays; what the sender wrote further down is not read.
test('tokenizer: the entry relay, as the receiving side recorded it; VERP envelope senders', () => {
  const toks = (head: string) => { const raw = Buffer.from(`${head}\nFrom: News <news@shop.example>\nTo: a@b.test\nSubject: hi\n\nbody\n`); return tokenize(raw, parseMessage(raw)).filter((t) => t.startsWith('entry:') || t.startsWith('rp:')); };
  // Our own trace field (as the MX writes it): a named client in the From domain whose HELO matches; a forged hop below
  // (a dial-up host) changes nothing.
  const ours = (clientIp: string, clientHostname: string | null, heloName: string, mailFrom: string) => traceHeaders({
    mailFrom, heloName, clientIp, clientHostname, hostname: 'mx.provider.test', queueId: 'Q1', tls: null, esmtp: true, singleRecipient: 'a@b.test', date: new Date(0),
  }).replace(/\r\n/g, '\n').trimEnd();
  assert.deepEqual(toks([
    ours('192.0.2.25', 'mail.shop.example', 'mail.shop.example', 'bounce-4711-a=b.test@mail.shop.example'),
    'Received: from pc7 (dialup-198-51-100-7.pool.isp.example [198.51.100.7]) by mail.shop.example; Sat, 28 Nov 2026 03:46:05 +0000',
  ].join('\n')).sort(), ['entry:dom:shop.example', 'entry:helo-exact', 'entry:helo-match', 'entry:net:192.0.2.0/24', 'entry:rdns-from-dom', 'rp:verp']);
  // No rDNS, greeted with an address literal, over IPv6.
  assert.deepEqual(toks(ours('2001:db8::5', null, '[IPv6:2001:db8::5]', 'alice@shop.example')).sort(), ['entry:helo-ip', 'entry:net:2001:db8::/48', 'entry:no-rdns']);
  // A collector's own relays (loopback, then its domain) are skipped; sendmail's ident form is read.
  assert.deepEqual(toks([
    'Received: from localhost (localhost [127.0.0.1]) by mx.corp.example; Sat, 28 Nov 2026 03:46:09 +0000',
    'Received: from relay2.corp.example (relay2.corp.example [203.0.113.9]) by mx.corp.example; Sat, 28 Nov 2026 03:46:08 +0000',
    'Received: from spammer (root@host-9-8-7-6.dsl.isp.example [198.51.100.6]) by relay2.corp.example; Sat, 28 Nov 2026 03:46:07 +0000',
  ].join('\n')).sort(), ['entry:dom:isp.example', 'entry:helo-nodot', 'entry:net:198.51.100.0/24', 'entry:rdns-dynamic']);
  // qmail's spellings: the rDNS comes first and the address in parentheses of its own. "from
  // rDNS (ip)" means the HELO was the rDNS; the collector's own relay is skipped by its rDNS.
  assert.deepEqual(toks([
    'Received: from mail.corp.example (203.0.113.9) by mx.corp.example with SMTP; 28 Nov 2026 03:46:09 -0000',
    'Received: from web3.shop.example (192.0.2.31) by mail.corp.example with SMTP; 28 Nov 2026 03:46:08 -0000',
  ].join('\n')).sort(), ['entry:dom:shop.example', 'entry:helo-exact', 'entry:helo-match', 'entry:net:192.0.2.0/24', 'entry:rdns-from-dom']);
  // "from unknown (HELO name) (ip)": no rDNS, whatever the HELO says.
  assert.deepEqual(toks('Received: from unknown (HELO mail.shop.example) (198.51.100.5) by mx.corp.example with SMTP; 28 Nov 2026 03:46:09 -0000'),
    ['entry:no-rdns', 'entry:net:198.51.100.0/24']);
  // Only loopback: no entry relay, so nothing is said.
  assert.deepEqual(toks('Received: from localhost (localhost [127.0.0.1]) by mx.corp.example; Sat, 28 Nov 2026 03:46:09 +0000'), []);
});

test('tokenizer: addresses found from their @, as the address pattern finds them', () => {
  const PATTERN = /\b[\w.+-]{1,64}@((?:[\w-]{1,63}\.)+[a-z]{2,24})\b/gi;
  const both = (s: string) => {
    const want: string[] = [], got: string[] = [];
    const wantText = s.replace(PATTERN, (_, d: string) => { want.push(d); return ' '; });
    assert.deepEqual([blankAddresses(s, (d) => got.push(d)), got], [wantText, want], JSON.stringify(s));
  };
  both('write to jo.smith+news@Mail.Example.co.uk or -x-@a.b.c, not @alone or a@b or a@@b.com');
  both(`${'a'.repeat(70)}@far.example ${'b'.repeat(64)}@edge.example .lead@dot.example é@x.example`);
  const pieces = ['a', 'Z', '0', '_', '.', '+', '-', '@', '@', ' ', 'x.com', 'co', '\n', 'é', '(', 'ab.cd', '..'];
  const rnd = prng(9);
  for (let k = 0; k < 20000; k++) {
    let s = '';
    for (let i = Math.floor(rnd() * 16); i > 0; i--) s += pieces[Math.floor(rnd() * pieces.length)];
    both(s);
  }
});
