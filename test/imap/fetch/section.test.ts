import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage, type MimePart } from '../../../src/mime/index.js';
import { sectionBytes, findPart, type SectionSpec, type PartialRange } from '../../../src/imap/fetch/section.js';
import { MIME_CONFORMANCE } from '../../helpers/paths.js';

const TORTURE = path.join(MIME_CONFORMANCE, 'wildduck', 'ryan_finnie_mime_torture.eml');
const raw = Buffer.from(fs.readFileSync(TORTURE, 'latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
const tree = parseMessage(raw).tree;

function sec(spec: SectionSpec, partial?: PartialRange, r: Buffer = raw, t: MimePart = tree): string | null {
  const b = sectionBytes(r, t, spec, partial);
  return b === null ? null : b.toString('latin1');
}

const TOP_HEADER = 'Subject: Ryan Finnie\'s MIME Torture Test v1.0\r\nFrom: Ryan Finnie <rfinnie@domain.dom>\r\n' +
  'To: bob@domain.dom\r\nContent-Type: multipart/mixed; boundary="=-qYxqvD9rbH0PNeExagh1"\r\n' +
  'Message-Id: <1066976914.4721.5.camel@localhost>\r\nMime-Version: 1.0\r\nDate: 23 Oct 2003 23:28:34 -0700\r\n\r\n';

test('[], [HEADER], [TEXT] of the top message', () => {
  assert.equal(sectionBytes(raw, tree, { parts: [] }), raw);
  assert.equal(sec({ parts: [], text: 'HEADER' }), TOP_HEADER);
  const text = sec({ parts: [], text: 'TEXT' })!;
  assert.ok(text.startsWith('\r\n--=-qYxqvD9rbH0PNeExagh1\r\n'));
  assert.equal(TOP_HEADER.length + text.length, raw.length);
});

test('[1] and [1.MIME] of a multipart child', () => {
  const one = sec({ parts: [1] })!;
  assert.equal(one.length, 617);
  assert.ok(one.startsWith('Welcome to Ryan Finnie\'s MIME torture test.'));
  assert.ok(one.endsWith('Have fun!\r\n\r\nRyan Finnie\r\n'));
  assert.equal(sec({ parts: [1], text: 'MIME' }), 'Content-Type: text/plain; CHARSET=US-ASCII\r\nContent-Transfer-Encoding: 8bit\r\n\r\n');
  // below a leaf only 1 exists, and it is the leaf itself
  assert.equal(sec({ parts: [1, 1] }), one);
});

test('message/rfc822 part: [2], [2.HEADER], [2.TEXT], [2.1], and deeper [3.2.x]', () => {
  const two = sec({ parts: [2] })!;
  assert.equal(two.length, 582);
  assert.ok(two.startsWith('Subject: plain jane message\r\nFrom: Ryan Finnie'));
  assert.ok(two.endsWith('Nothing fancy here...'));
  const h = sec({ parts: [2], text: 'HEADER' })!;
  assert.ok(h.startsWith('Subject: plain jane message\r\n') && h.endsWith('Content-Transfer-Encoding: 8bit\r\n\r\n'));
  const t = sec({ parts: [2], text: 'TEXT' })!;
  assert.equal(t.length, 311);
  assert.equal(h + t, two);
  assert.equal(sec({ parts: [2, 1] }), t); // single-part encapsulated message: part 1 is its body
  assert.equal(sec({ parts: [2], text: 'MIME' }),
    'Content-Disposition: inline\r\nContent-Description: I\'ll be whatever I wanna do. --Fry\r\nContent-Type: message/rfc822\r\n\r\n');
  // part 3 -> multipart (3.1 text, 3.2 message/rfc822 -> multipart (3.2.1 text, 3.2.2 gzip))
  assert.equal(sec({ parts: [3, 2, 2] }), 'H4sIAOHBmD8AA4vML1XPyVHISy1LLVJIy8xLUchNVeQCAHbe764WAAAA\r\n');
  assert.equal(sec({ parts: [3, 2, 2], text: 'MIME' }),
    'Content-Disposition: attachment; filename=foo.gz\r\nContent-Transfer-Encoding: base64\r\nContent-Type: application/x-gzip; NAME=foo.gz\r\n\r\n');
  assert.equal(sec({ parts: [3, 2, 1] }), 'by this point, I should be the 3rd layer deep!\r\n\r\nI also have an attachment.\r\n');
  assert.equal(sec({ parts: [3, 2], text: 'HEADER.FIELDS', fields: ['SUBJECT', 'date'] }),
    'Subject: the original message\r\nDate: 23 Oct 2003 23:09:05 -0700\r\n\r\n');
  assert.equal(findPart(tree, [3, 2, 2])?.subtype, 'x-gzip');
});

test('HEADER.FIELDS and HEADER.FIELDS.NOT keep message order and end with a blank line', () => {
  assert.equal(sec({ parts: [], text: 'HEADER.FIELDS', fields: ['From', 'Subject'] }),
    'Subject: Ryan Finnie\'s MIME Torture Test v1.0\r\nFrom: Ryan Finnie <rfinnie@domain.dom>\r\n\r\n');
  assert.equal(sec({ parts: [], text: 'HEADER.FIELDS.NOT', fields: ['from', 'SUBJECT', 'content-type'] }),
    'To: bob@domain.dom\r\nMessage-Id: <1066976914.4721.5.camel@localhost>\r\nMime-Version: 1.0\r\nDate: 23 Oct 2003 23:28:34 -0700\r\n\r\n');
  assert.equal(sec({ parts: [], text: 'HEADER.FIELDS', fields: ['X-Absent'] }), '\r\n');
});

test('HEADER.FIELDS: continuation lines, repeated fields, "Name :" and an unterminated header', () => {
  const m = Buffer.from('Received: a\r\n\tb\r\nSubject : s1\r\nX: y\r\n  z\r\nreceived: c\r\n\r\nbody\r\n', 'latin1');
  const t = parseMessage(m).tree;
  assert.equal(sec({ parts: [], text: 'HEADER.FIELDS', fields: ['RECEIVED', 'subject'] }, undefined, m, t),
    'Received: a\r\n\tb\r\nSubject : s1\r\nreceived: c\r\n\r\n');
  assert.equal(sec({ parts: [], text: 'HEADER.FIELDS.NOT', fields: ['received', 'subject'] }, undefined, m, t), 'X: y\r\n  z\r\n\r\n');
  const noBody = Buffer.from('Subject: x\r\nFrom: a@b', 'latin1');
  const t2 = parseMessage(noBody).tree;
  assert.equal(sec({ parts: [], text: 'HEADER.FIELDS', fields: ['from'] }, undefined, noBody, t2), 'From: a@b\r\n\r\n');
  assert.equal(sec({ parts: [], text: 'TEXT' }, undefined, noBody, t2), '');
});

test('non-multipart top-level message: part 1 is the body, MIME its header', () => {
  const m = Buffer.from('Subject: x\r\nContent-Type: text/plain\r\n\r\nhello\r\n', 'latin1');
  const t = parseMessage(m).tree;
  assert.equal(sec({ parts: [1] }, undefined, m, t), 'hello\r\n');
  assert.equal(sec({ parts: [1], text: 'MIME' }, undefined, m, t), 'Subject: x\r\nContent-Type: text/plain\r\n\r\n');
  assert.equal(sec({ parts: [2] }, undefined, m, t), null);
  assert.equal(sec({ parts: [1], text: 'HEADER' }, undefined, m, t), null);
});

test('base64 message/rfc822 has no addressable inner parts', () => {
  const m = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n' +
    'Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpoaQ==\r\n--b--\r\n', 'latin1');
  const t = parseMessage(m).tree;
  assert.equal(t.parts![0]!.message, undefined);
  assert.equal(sec({ parts: [1] }, undefined, m, t), 'U3ViamVjdDogeA0KDQpoaQ==');
  assert.equal(sec({ parts: [1, 1] }, undefined, m, t), null);
  assert.equal(sec({ parts: [1], text: 'HEADER' }, undefined, m, t), null);
  assert.equal(sec({ parts: [1], text: 'TEXT' }, undefined, m, t), null);
});

test('nonexistent sections are null', () => {
  assert.equal(sec({ parts: [99] }), null);
  assert.equal(sec({ parts: [0] }), null);
  assert.equal(sec({ parts: [1, 2] }), null);
  assert.equal(sec({ parts: [2, 2] }), null);
  assert.equal(sec({ parts: [1], text: 'HEADER' }), null);
  assert.equal(sec({ parts: [1], text: 'TEXT' }), null);
  assert.equal(sec({ parts: [], text: 'MIME' }), null);
  assert.equal(sec({ parts: [99] }, { offset: 0, length: 5 }), null);
});

test('partial ranges', () => {
  assert.equal(sec({ parts: [1] }, { offset: 0, length: 7 }), 'Welcome');
  assert.equal(sec({ parts: [1] }, { offset: 604, length: 100 }), 'Ryan Finnie\r\n');
  assert.equal(sec({ parts: [1] }, { offset: 604 }), 'Ryan Finnie\r\n');
  assert.equal(sec({ parts: [1] }, { offset: 617, length: 10 }), '');
  assert.equal(sec({ parts: [1] }, { offset: 10000, length: 10 }), '');
  assert.equal(sec({ parts: [1] }, { offset: 3, length: 0 }), '');
  assert.equal(sec({ parts: [], text: 'HEADER' }, { offset: 0, length: 8 }), 'Subject:');
});
