import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nstring, string, literal, toBuffer, byteLength, push, MAX_QUOTED, type Chunk } from '../../../src/imap/fetch/serialize.js';

const rev1 = { utf8: false };
const rev2 = { utf8: true };
const s = (c: Chunk[]) => toBuffer(c).toString('utf8');

test('nstring: NIL, plain quoted, escapes', () => {
  assert.deepEqual(nstring(null, rev1), ['NIL']);
  assert.equal(s(nstring('hello world', rev1)), '"hello world"');
  assert.equal(s(nstring('', rev1)), '""');
  assert.equal(s(nstring('a "b" \\c', rev1)), '"a \\"b\\" \\\\c"');
  assert.equal(s(nstring(Buffer.from('NIL'), rev1)), '"NIL"');
});

test('nstring: CR, LF and NUL force a literal with the exact byte count', () => {
  assert.equal(s(nstring('a\r\nb', rev1)), '{4}\r\na\r\nb');
  assert.equal(s(nstring('a\nb', rev2)), '{3}\r\na\nb');
  const nul = nstring(Buffer.from([0x61, 0x00]), rev2);
  assert.equal(nul[0], '{2}\r\n');
  assert.deepEqual(nul[1], Buffer.from([0x61, 0x00]));
});

test('nstring: 8-bit is a literal for IMAP4rev1, quoted UTF-8 for rev2/UTF8=ACCEPT', () => {
  assert.equal(s(nstring('café', rev1)), '{5}\r\ncafé');
  assert.equal(s(nstring('café', rev2)), '"café"');
  // invalid UTF-8 can never be quoted
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
  const out = nstring(latin1, rev2);
  assert.equal(out[0], '{4}\r\n');
  assert.ok(toBuffer(out).subarray(5).equals(latin1));
});

test('very long values become literals; literal payload Buffers are not copied', () => {
  const long = 'x'.repeat(MAX_QUOTED + 1);
  assert.equal(s(string(long, rev1)), `{${long.length}}\r\n${long}`);
  const body = Buffer.from('body bytes');
  const l = literal(body);
  assert.equal(l[1], body);
  assert.equal(byteLength(l), 6 + body.length); // "{10}\r\n" + payload
});

test('push merges adjacent strings and keeps Buffers separate', () => {
  const out: Chunk[] = [];
  push(out, '(', 'a', ' ', ...literal('x\r\n'), ')', ' ');
  assert.equal(out.length, 3);
  assert.equal(s(out), '(a {3}\r\nx\r\n) ');
});
