import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage, type MimePart } from '../../../src/mime/index.js';
import { bodyStructure } from '../../../src/imap/fetch/bodystructure.js';
import { envelopeResponse } from '../../../src/imap/fetch/envelope.js';
import { sectionBytes } from '../../../src/imap/fetch/section.js';
import { toBuffer } from '../../../src/imap/fetch/serialize.js';
import { MIME_CONFORMANCE, SPAM_CORPUS, listEml } from '../../helpers/paths.js';
import { parseValue, checkBody, checkEnvelope, type Node } from './syntax.js';
import { partPaths } from './walk.js';

const TORTURE = path.join(MIME_CONFORMANCE, 'wildduck', 'ryan_finnie_mime_torture.eml');
const toCrlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
const bs = (p: MimePart, raw: Buffer, ext = true) => toBuffer(bodyStructure(p, raw, ext)).toString('latin1');

const RYAN = '(("Ryan Finnie" NIL "rfinnie" "domain.dom"))';
const BOB = '((NIL NIL "bob" "domain.dom"))';
const env = (date: string, subject: string, id: string) =>
  `("${date}" "${subject}" ${RYAN} ${RYAN} ${RYAN} ${BOB} NIL NIL NIL "<${id}>")`;

// Sizes and line counts below were computed by hand from the file (awk over the line
// ranges; the CRLF before each boundary line belongs to the delimiter, RFC 2046 §5.1.1).
test('torture test: exact BODYSTRUCTURE of parts 1, 2 and 4', () => {
  const raw = toCrlf(fs.readFileSync(TORTURE));
  const tree = parseMessage(raw).tree;
  const kids = tree.parts!;
  // 1: lines 14-30 of the file: 16 CRLF-terminated lines, 617 octets.
  assert.equal(bs(kids[0]!, raw), '("TEXT" "PLAIN" ("charset" "US-ASCII") NIL NIL "8BIT" 617 16 NIL NIL NIL NIL)');
  // 2: message/rfc822, lines 36-54 (582 octets, 19 lines, last unterminated); its body is
  // lines 45-54 (311 octets, 10 lines).
  const inner2 = '("TEXT" "PLAIN" ("charset" "US-ASCII") NIL NIL "8BIT" 311 10';
  const env2 = env('23 Oct 2003 22:25:56 -0700', 'plain jane message', '1066973156.4264.42.camel@localhost');
  assert.equal(bs(kids[1]!, raw),
    `("MESSAGE" "RFC822" NIL NIL "I'll be whatever I wanna do. --Fry" "7BIT" 582 ${env2} ${inner2} NIL NIL NIL NIL) 19 NIL ("INLINE" NIL) NIL NIL)`);
  assert.equal(bs(kids[1]!, raw, false),
    `("MESSAGE" "RFC822" NIL NIL "I'll be whatever I wanna do. --Fry" "7BIT" 582 ${env2} ${inner2}) 19)`);
  // 4: message/rfc822 whose body is a lone base64 attachment: lines 115-132 (817 octets,
  // 17 lines); attachment body lines 126-132 (396 octets).
  const env4 = env('23 Oct 2003 22:40:49 -0700', 'this message JUST contains an attachment', '1066974048.4264.62.camel@localhost');
  assert.equal(bs(kids[3]!, raw),
    `("MESSAGE" "RFC822" NIL NIL "Dirt doesn't need luck! --Professor" "7BIT" 817 ${env4} ` +
    '("APPLICATION" "X-GZIP" ("name" "blah.gz") NIL "Attachment has identical content to above foo.gz" "BASE64" 396 NIL ("ATTACHMENT" ("filename" "blah.gz")) NIL NIL) ' +
    '17 NIL ("INLINE" NIL) NIL NIL)');
});

test('torture test: whole BODYSTRUCTURE and BODY are well-formed', () => {
  const raw = toCrlf(fs.readFileSync(TORTURE));
  const tree = parseMessage(raw).tree;
  for (const ext of [true, false]) {
    const out = bs(tree, raw, ext);
    const node = parseValue(Buffer.from(out, 'latin1'));
    checkBody(node, ext);
    assert.ok(node.t === 'list');
    assert.equal(node.items.filter((n) => n.t === 'list').length - (ext ? 1 : 0), tree.parts!.length);
    assert.ok(out.endsWith(ext ? ' "MIXED" ("boundary" "=-qYxqvD9rbH0PNeExagh1") NIL NIL NIL)' : ' "MIXED")'));
  }
});

function leaf(over: Partial<MimePart>): MimePart {
  return {
    headerStart: 0, bodyStart: 0, bodyEnd: 0, type: 'text', subtype: 'plain', params: [], id: null,
    description: null, encoding: null, md5: null, disposition: null, language: null, location: null,
    bodyLines: 0, ...over,
  };
}

test('multipart without children gets one empty text/plain part', () => {
  const raw = Buffer.alloc(0);
  const mp = leaf({ type: 'multipart', subtype: 'mixed', params: [['boundary', 'x']], parts: [] });
  const ext = bs(mp, raw);
  assert.equal(ext, '(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "MIXED" ("boundary" "x") NIL NIL NIL)');
  checkBody(parseValue(Buffer.from(ext)), true);
  const body = bs(mp, raw, false);
  assert.equal(body, '(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0) "MIXED")');
  checkBody(parseValue(Buffer.from(body)), false);
});

test('encoded message/rfc822 (no parsed message) keeps the msg form with an empty envelope', () => {
  const raw = Buffer.alloc(100);
  const p = leaf({ type: 'message', subtype: 'rfc822', encoding: 'base64', bodyStart: 20, bodyEnd: 100, bodyLines: 2 });
  const ext = bs(p, raw);
  assert.equal(ext, '("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 80 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ' +
    '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)');
  checkBody(parseValue(Buffer.from(ext)), true);
  checkBody(parseValue(Buffer.from(bs(p, raw, false))), false);
});

test('extension fields: md5, disposition params, language list, location, 8-bit description', () => {
  const raw = Buffer.alloc(10);
  const p = leaf({
    type: 'application', subtype: 'pdf', params: [['name', 'a "b".pdf']], id: '<c@d>', description: 'Über',
    encoding: 'x-uuencode', md5: 'Q2hlY2s=', bodyStart: 2, bodyEnd: 10, disposition: { type: 'attachment', params: [] },
    language: ['en', 'de'], location: 'http://x/y',
  });
  const out = bs(p, raw);
  assert.equal(out, ('("APPLICATION" "PDF" ("name" "a \\"b\\".pdf") "<c@d>" {5}\r\nÜber "X-UUENCODE" 8 ' +
    '"Q2hlY2s=" ("ATTACHMENT" NIL) ("en" "de") "http://x/y")').replace('Ü', '\xc3\x9c'));
  checkBody(parseValue(Buffer.from(out, 'latin1')), true);
  const one = bs(leaf({ language: ['fr'] }), raw);
  assert.equal(one, '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0 NIL NIL "fr" NIL)');
  const utf8 = toBuffer(bodyStructure(p, raw, false, { utf8: true })).toString('utf8');
  assert.equal(utf8, '("APPLICATION" "PDF" ("name" "a \\"b\\".pdf") "<c@d>" "Über" "X-UUENCODE" 8)');
});

/** Checks that every leaf's size field equals its body octets in the tree. */
function sizesMatch(n: Node, p: MimePart): void {
  assert.ok(n.t === 'list');
  if (p.type === 'multipart') {
    const kids = p.parts ?? [];
    kids.forEach((k, i) => sizesMatch(n.items[i]!, k));
    return;
  }
  const size = n.items[6]!;
  assert.ok(size.t === 'num');
  assert.equal(size.v, p.bodyEnd - p.bodyStart);
  if (p.message !== undefined) sizesMatch(n.items[8]!, p.message.part);
}

for (const [label, dir] of [['MIME conformance', MIME_CONFORMANCE], ['SpamAssassin', SPAM_CORPUS]] as const) {
  test(`${label} corpus: BODYSTRUCTURE, BODY, ENVELOPE and every section are valid`, () => {
    const files = listEml(dir);
    assert.ok(files.length > 50, 'corpus present');
    for (const f of files) {
      const raw = fs.readFileSync(f);
      const m = parseMessage(raw);
      try {
        for (const utf8 of [false, true]) {
          const opts = { utf8 };
          const s = parseValue(toBuffer(bodyStructure(m.tree, raw, true, opts)), utf8);
          checkBody(s, true);
          sizesMatch(s, m.tree);
          checkBody(parseValue(toBuffer(bodyStructure(m.tree, raw, false, opts)), utf8), false);
          checkEnvelope(parseValue(toBuffer(envelopeResponse(m.envelope, opts)), utf8));
        }
        for (const [parts, p] of partPaths(m.tree)) {
          assert.equal(sectionBytes(raw, m.tree, { parts })?.length, p.bodyEnd - p.bodyStart);
          assert.equal(sectionBytes(raw, m.tree, { parts, text: 'MIME' })?.length, p.bodyStart - p.headerStart);
          if (p.message !== undefined) {
            const h = sectionBytes(raw, m.tree, { parts, text: 'HEADER.FIELDS.NOT', fields: ['subject'] });
            assert.ok(h !== null && h.subarray(-2).equals(Buffer.from('\r\n')));
          }
        }
        const all = sectionBytes(raw, m.tree, { parts: [], text: 'HEADER.FIELDS.NOT', fields: [] })!;
        const hdr = sectionBytes(raw, m.tree, { parts: [], text: 'HEADER' })!;
        assert.ok(all.length >= hdr.length - 2, 'HEADER.FIELDS.NOT () keeps every field');
      } catch (e) {
        throw new Error(`${f}: ${(e as Error).message}`);
      }
    }
  });
}
