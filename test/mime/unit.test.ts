// Targeted tests: tree shape and offsets, section extraction, envelope, decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import {
  parseMessage, decodedParam, decodeHeaderValue, baseSubject, parseDate, MAX_DEPTH, type MimePart,
} from '../../src/mime/index.js';
import { MIME_CONFORMANCE } from '../helpers/paths.js';
import { checkTree, toCrlf } from './tree-check.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const shape = (p: MimePart): unknown =>
  p.parts ? [`${p.type}/${p.subtype}`, p.parts.map(shape)]
    : p.message ? [`${p.type}/${p.subtype}`, { msg: shape(p.message.part) }] : `${p.type}/${p.subtype}`;
/** IMAP section path (1-based) to part: numbers index multipart children; a
 * message/rfc822 part's number refers into its encapsulated message's body. */
function section(root: MimePart, spec: number[]): MimePart {
  let p = root;
  for (const n of spec) {
    if (p.message) p = p.message.part;
    if (p.parts) p = p.parts[n - 1];
    else assert.equal(n, 1);
  }
  return p;
}

test("Ryan Finnie's MIME torture test: tree shape", () => {
  const raw = fs.readFileSync(path.join(MIME_CONFORMANCE, 'wildduck', 'ryan_finnie_mime_torture.eml'));
  const m = parseMessage(raw);
  checkTree(raw, m.tree, 'torture');
  const mixedGz = (txt: string) => ['message/rfc822', { msg: ['multipart/mixed', [txt, 'application/x-gzip']] }];
  assert.deepEqual(shape(m.tree), ['multipart/mixed', [
    'text/plain',
    ['message/rfc822', { msg: 'text/plain' }],
    ['message/rfc822', { msg: ['multipart/mixed', ['text/plain', mixedGz('text/plain')]] }],
    ['message/rfc822', { msg: 'application/x-gzip' }],
    mixedGz('text/plain'),
    mixedGz('text/plain'),
    ['message/rfc822', { msg: ['multipart/mixed', ['text/html', 'text/plain']] }],
    ['message/rfc822', { msg: ['multipart/mixed', ['text/plain', 'text/plain']] }],
    ['message/rfc822', { msg: ['multipart/mixed', ['text/html', 'text/html']] }],
    ['message/rfc822', { msg: ['multipart/signed', [
      ['multipart/mixed', [['multipart/related', [['multipart/alternative', ['text/plain', 'text/html']], 'image/png']], 'image/gif']],
      'application/pgp-signature']] }],
    ['message/rfc822', { msg: ['multipart/alternative', ['text/plain', ['multipart/related', ['text/html', 'image/gif']]]] }],
  ]]);
  assert.equal(m.subject, "Ryan Finnie's MIME Torture Test v1.0");
  assert.equal(m.envelope.from?.[0].mailbox, 'rfinnie');
  // The same tree, shifted, for the CRLF form.
  const crlf = toCrlf(raw);
  assert.deepEqual(shape(parseMessage(crlf).tree), shape(m.tree));
});

const NESTED = [
  'From: Whomever <whoever@example.com>',
  'Subject: whatever',
  'Content-Type: multipart/mixed; boundary=outer',
  '',
  'preamble',
  '--outer',
  'Content-Type: text/plain',
  '',
  'Hello',
  '--outer',
  'Content-Type: message/rfc822',
  'Content-Description: fwd',
  '',
  'From: Someone Else <else@example.com>',
  'Subject: Inner',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'inner text',
  'second line',
  '--inner',
  'Content-Type: text/html',
  '',
  '<p>inner <b>html</b></p>',
  '--inner--',
  '--outer--',
  'epilogue',
  '',
].join('\n');

test('nested message/rfc822: offsets, section and .MIME extraction, bodyLines (LF and CRLF)', () => {
  for (const [form, raw] of [['lf', b(NESTED)], ['crlf', toCrlf(b(NESTED))]] as const) {
    const eol = form === 'lf' ? '\n' : '\r\n';
    const m = parseMessage(raw);
    checkTree(raw, m.tree, form);
    const s = (_p: MimePart, a: number, e: number) => raw.subarray(a, e).toString('latin1');
    const msgPart = section(m.tree, [2]);
    assert.equal(msgPart.type, 'message');
    assert.equal(msgPart.description, 'fwd');
    const inner = msgPart.message!.part;
    assert.equal(inner.headerStart, msgPart.bodyStart);
    assert.equal(inner.bodyEnd, msgPart.bodyEnd);
    // BODY[2.1] and BODY[2.1.MIME]: the first part of the encapsulated multipart.
    const p21 = section(m.tree, [2, 1]);
    assert.equal(s(p21, p21.bodyStart, p21.bodyEnd), `inner text${eol}second line`);
    assert.equal(s(p21, p21.headerStart, p21.bodyStart), `Content-Type: text/plain; charset=us-ascii${eol}${eol}`);
    assert.equal(p21.bodyLines, 2);
    const p22 = section(m.tree, [2, 2]);
    assert.equal(s(p22, p22.headerStart, p22.bodyStart), `Content-Type: text/html${eol}${eol}`);
    assert.equal(s(p22, p22.bodyStart, p22.bodyEnd), '<p>inner <b>html</b></p>');
    // BODY[2.HEADER]: header of the encapsulated message.
    assert.ok(s(inner, inner.headerStart, inner.bodyStart).startsWith('From: Someone Else'));
    assert.equal(msgPart.message!.envelope.subject, 'Inner');
    // Line break before a delimiter belongs to the delimiter.
    const p1 = section(m.tree, [1]);
    assert.equal(s(p1, p1.bodyStart, p1.bodyEnd), 'Hello');
    assert.equal(p1.bodyLines, 1);
    assert.equal(m.tree.bodyLines, NESTED.split('\n').length - 5);
    assert.equal(m.text, 'Hello\ninner text' + eol + 'second line');
    assert.equal(m.hasAttachments, false);
  }
});

test('bodyLines counts line breaks plus an unterminated last line', () => {
  assert.equal(parseMessage(b('Subject: x\n\n')).tree.bodyLines, 0);
  assert.equal(parseMessage(b('Subject: x\n\na')).tree.bodyLines, 1);
  assert.equal(parseMessage(b('Subject: x\n\na\n')).tree.bodyLines, 1);
  assert.equal(parseMessage(b('Subject: x\r\n\r\na\r\nb\r\n\r\n')).tree.bodyLines, 3);
});

test('header without blank line, mbox From line, missing Content-Type defaults', () => {
  const raw = b('From someone@example.com Mon Jan  1 00:00:00 2001\nFrom: a@b.c\nSubject: hi\nthis is body\n');
  const m = parseMessage(raw);
  assert.equal(m.subject, 'hi');
  assert.equal(m.tree.bodyStart, raw.indexOf('this is body'));
  assert.equal(m.tree.type, 'text');
  assert.deepEqual(m.tree.params, []);
  assert.equal(m.text, 'this is body\n');
  const digest = parseMessage(b('Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--\n'));
  assert.equal(digest.tree.parts![0].type, 'message');
  assert.equal(digest.tree.parts![0].message!.envelope.subject, 'one');
});

test('boundary edge cases: prefix boundaries, reuse of outer boundary, no start, caps', () => {
  // "a" vs "ab": "--ab" is not a delimiter for "a".
  const pre = parseMessage(b('Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: text/plain\n\nx\n--ab\ny\n--a--\n'));
  assert.equal(pre.tree.parts!.length, 1);
  assert.equal(pre.text, 'x\n--ab\ny');
  // Nested multipart reusing the outer boundary: the innermost wins until closed.
  const same = b('Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: multipart/alternative; boundary=X\n\n' +
    '--X\nContent-Type: text/plain\n\n1\n--X--\n--X\nContent-Type: text/plain\n\n2\n--X--\n');
  const sm = parseMessage(same);
  checkTree(same, sm.tree, 'same');
  assert.deepEqual(shape(sm.tree), ['multipart/mixed', [['multipart/alternative', ['text/plain']], 'text/plain']]);
  // No start boundary: zero parts; multipart without boundary: text/plain.
  assert.deepEqual(parseMessage(b('Content-Type: multipart/mixed; boundary=q\n\nbody\n')).tree.parts, []);
  const nob = parseMessage(b('Content-Type: multipart/mixed\n\nbody\n'));
  assert.equal(`${nob.tree.type}/${nob.tree.subtype}`, 'text/plain');
  // Deep nesting is capped; the innermost over-cap multipart is kept with no children.
  let deep = '';
  for (let i = 0; i < MAX_DEPTH + 20; i++) deep += `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n`;
  deep += 'Content-Type: text/plain\n\nleaf\n';
  const raw = b(deep);
  const dm = parseMessage(raw);
  checkTree(raw, dm.tree, 'deep');
  let depth = 0;
  for (let p: MimePart = dm.tree; p.parts !== undefined && p.parts.length > 0; p = p.parts[0]) depth++;
  assert.equal(depth, MAX_DEPTH);
  // Garbage never throws and still covers the whole buffer.
  for (const junk of [Buffer.alloc(0), b('\n\n\n'), b(':::\r\r\n--'), Buffer.from([0xff, 0x00, 0x0a, 0x2d, 0x2d])]) {
    const jm = parseMessage(junk);
    assert.equal(jm.tree.bodyEnd, junk.length);
  }
});

test('envelope: groups, encoded words kept raw, sender/reply-to default to from', () => {
  const raw = b([
    'From: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>',
    'To: A Group:Ed Jones <c@a.test>,joe@where.test;, "Joe Q. Public" <john.q.public@example.com>',
    'Cc: Undisclosed recipients:;',
    'Subject: =?utf-8?B?SGVsbG8g8J+Ukw==?=',
    'Message-ID: <id1@host>',
    'In-Reply-To: <a@b> <c@d>',
    'References: <x@y>',
    ' <a@b>',
    'Date: Tue, 1 Jul 2003 10:52:37 +0200',
    '',
    'body',
  ].join('\r\n'));
  const m = parseMessage(raw);
  const e = m.envelope;
  assert.deepEqual(e.from, [{ name: '=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=', adl: null, mailbox: 'keld', host: 'dkuug.dk' }]);
  assert.deepEqual(e.sender, e.from);
  assert.deepEqual(e.replyTo, e.from);
  assert.deepEqual(e.to, [
    { name: null, adl: null, mailbox: 'A Group', host: null },
    { name: 'Ed Jones', adl: null, mailbox: 'c', host: 'a.test' },
    { name: null, adl: null, mailbox: 'joe', host: 'where.test' },
    { name: null, adl: null, mailbox: null, host: null },
    { name: 'Joe Q. Public', adl: null, mailbox: 'john.q.public', host: 'example.com' },
  ]);
  assert.deepEqual(e.cc, [
    { name: null, adl: null, mailbox: 'Undisclosed recipients', host: null },
    { name: null, adl: null, mailbox: null, host: null },
  ]);
  assert.equal(e.subject, '=?utf-8?B?SGVsbG8g8J+Ukw==?=');
  assert.equal(e.messageId, '<id1@host>');
  assert.equal(e.inReplyTo, '<a@b> <c@d>');
  assert.equal(e.bcc, null);
  assert.equal(m.subject, 'Hello 🔓');
  assert.deepEqual(m.from, [{ name: 'Keld Jørn Simonsen', address: 'keld@dkuug.dk' }]);
  assert.deepEqual(m.to.map((a) => a.address), ['c@a.test', 'joe@where.test', 'john.q.public@example.com']);
  assert.equal(m.messageId, 'id1@host');
  assert.deepEqual(m.inReplyTo, ['a@b', 'c@d']);
  assert.deepEqual(m.references, ['x@y', 'a@b']);
  assert.equal(m.date?.toISOString(), '2003-07-01T08:52:37.000Z');
  assert.ok(m.headerText.includes('Subject: Hello 🔓\n'));
  assert.ok(m.headerText.includes('From: Keld Jørn Simonsen <keld@dkuug.dk>\n'));
});

function mime(ct: string, cte: string | null, body: Buffer): Buffer {
  return Buffer.concat([b(`Content-Type: ${ct}\r\n${cte ? `Content-Transfer-Encoding: ${cte}\r\n` : ''}\r\n`), body]);
}

test('transfer encodings and charsets', () => {
  const t = (ct: string, cte: string | null, body: Buffer) => parseMessage(mime(ct, cte, body)).text;
  assert.equal(t('text/plain; charset=iso-8859-1', 'quoted-printable', b('Gr=FC=DFe, =\r\nJ=F6rg=3D =ZZ end=')), 'Grüße, Jörg= =ZZ end');
  assert.equal(t('text/plain; charset=windows-1252', 'quoted-printable', b('=93quoted=94 =80 5')), '\u201cquoted\u201d \u20ac 5');
  // Labelled Latin-1, written by Windows: read as windows-1252, as the Encoding Standard says.
  assert.equal(t('text/plain; charset=ISO-8859-1', 'quoted-printable', b('I=92m =93here=94 =E9t=E9')), 'I\u2019m \u201chere\u201d \u00e9t\u00e9');
  assert.equal(t('text/plain; charset=latin1', '8bit', Buffer.from('caf\xe9 \x96 ok', 'latin1')), 'caf\u00e9 \u2013 ok');
  assert.equal(t('text/plain; charset="koi8-r"', 'base64', b(iconv.encode('Привет, мир', 'koi8-r').toString('base64').replace(/(.{4})/g, '$1\r\n'))), 'Привет, мир');
  assert.equal(t('text/plain; charset=utf-8', 'base64', b('w6l0w6k=\r\n!!garbage')), 'été');
  assert.equal(t('text/plain; charset=x-unknown-thing', '8bit', Buffer.from('héllo', 'utf8')), 'héllo');
  assert.equal(t('text/plain; charset=x-unknown-thing', '8bit', Buffer.from('h\xe9llo', 'latin1')), 'héllo');
  assert.equal(t('text/plain', null, Buffer.from('raw ütf8', 'utf8')), 'raw ütf8');
  // RFC 2231 and RFC 2047 parameters.
  const p = parseMessage(mime('application/pdf; name*0*=iso-8859-1\'\'%E9t; name*1="\u00e9.pdf"', 'base64', b('AAAA'))).tree;
  assert.equal(decodedParam(p.params, 'name')?.startsWith('ét'), true);
  assert.deepEqual(p.params[0], ['name*0*', "iso-8859-1''%E9t"]);
  assert.equal(decodedParam([['filename', '=?utf-8?Q?f=C3=BC.txt?=']], 'filename'), 'fü.txt');
  assert.equal(decodedParam([['title*', "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"]], 'title'), 'This is ***fun***');
  assert.equal(decodedParam([], 'x'), null);
  assert.equal(decodeHeaderValue(Buffer.from('Caf\xe9 =?koi8-r?B?8NLJ18XU?=', 'latin1')), 'Café Привет');
  assert.equal(decodeHeaderValue('=?x-bogus?Q?caf=C3=A9?='), 'café');
  // ISO-2022-JP (7-bit, switched by escape sequences), which iconv-lite lacks: body and header.
  const jis = Buffer.from('\x1b$B$3$s$K$A$O\x1b(B, OK\r\n', 'latin1');
  assert.equal(t('text/plain; charset=ISO-2022-JP', '7bit', jis), 'こんにちは, OK\r\n');
  assert.equal(decodeHeaderValue(`=?iso-2022-jp?B?${Buffer.from('\x1b$BF|K\\8l\x1b(B', 'latin1').toString('base64')}?=`), '日本語');
  // Labels whose WHATWG decoder would lose the text are guessed as before.
  assert.equal(t('text/plain; charset=iso-2022-kr', '8bit', Buffer.from('héllo', 'utf8')), 'héllo');
  assert.equal(t('text/plain; charset=x-user-defined', '8bit', Buffer.from('h\xe9llo', 'latin1')), 'héllo');
});

test('HTML rendering and alternative preference', () => {
  const html = parseMessage(mime('text/html; charset=utf-8', null,
    Buffer.from('<html><head><style>p{}</style></head><body><h1>Title</h1><p>Hello&nbsp;<b>wörld</b> &amp; <a href="http://x">link</a></p><img src="a.png"></body></html>', 'utf8')));
  assert.match(html.text, /Title/);
  assert.match(html.text, /Hello\s+wörld & link/);
  assert.doesNotMatch(html.text, /style|http:\/\/x|<|a\.png/);
  const alt = parseMessage(b('Content-Type: multipart/alternative; boundary=z\n\n--z\nContent-Type: text/html\n\n<p>HTML</p>\n' +
    '--z\nContent-Type: text/plain\n\nPLAIN\n--z--\n'));
  assert.equal(alt.text, 'PLAIN');
  const att = parseMessage(b('Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\nbody\n' +
    '--z\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nATTACHED\n' +
    '--z\nContent-Type: image/png; name="x.png"\nContent-Transfer-Encoding: base64\n\nAAAA\n--z--\n'));
  assert.equal(att.text, 'body');
  assert.equal(att.hasAttachments, true);
  assert.equal(att.tree.parts![1].disposition?.type, 'attachment');
  assert.equal(att.tree.parts![2].encoding, 'base64');
});

test('base subject (RFC 5256) and dates', () => {
  assert.equal(baseSubject('Re: Fwd: [list] RE:  Hello   World (fwd)'), 'hello world');
  assert.equal(baseSubject('[fwd: Re: Topic]'), 'topic');
  assert.equal(baseSubject('[only-blob]'), '[only-blob]');
  assert.equal(baseSubject('Re[2]: x'), 'x');
  assert.equal(parseDate('Sun, 27 Oct 2002 23:57:07 EST')?.toISOString(), '2002-10-28T04:57:07.000Z');
  assert.equal(parseDate('Tue Jul  1 10:52:37 2003')?.toISOString(), '2003-07-01T10:52:37.000Z');
  assert.equal(parseDate('garbage'), null);
});
