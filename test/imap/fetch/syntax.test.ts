import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseValue, checkBody, checkEnvelope } from './syntax.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('syntax checker rejects malformed data (so the corpus sweep means something)', () => {
  for (const bad of ['(NIL', 'NIL)', '("a" "b"', '("a\\x")', '("a"\r\n)', '({5}\r\nabc)', '({x}\r\nabc)',
    '("a""b")', '(FOO)', '("a" NIL) ', '("\xe9")']) {
    assert.throws(() => parseValue(b(bad)), Error, bad);
  }
  assert.doesNotThrow(() => parseValue(b('("\xc3\xa9")'), true));
  assert.throws(() => parseValue(b('("\xe9")'), true));
  assert.deepEqual(parseValue(b('({3}\r\na)b)')), { t: 'list', items: [{ t: 'str', v: b('a)b') }] });
});

test('grammar checker rejects malformed bodies and envelopes', () => {
  const bodies = [
    '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10)', // text without lines
    '("IMAGE" "GIF" () NIL NIL "BASE64" 10)', // empty param list
    '("IMAGE" "GIF" ("a") NIL NIL "BASE64" 10)', // odd param list
    '("MIXED")', // multipart without parts is not even recognised as multipart
    '(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0))', // multipart without subtype
    '("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 10 5)', // msg form without envelope/body
  ];
  for (const s of bodies) assert.throws(() => checkBody(parseValue(b(s)), false), Error, s);
  assert.doesNotThrow(() => checkBody(parseValue(b('(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0) "MIXED")')), false));
  assert.throws(() => checkEnvelope(parseValue(b('(NIL NIL () NIL NIL NIL NIL NIL NIL NIL)'))));
  assert.throws(() => checkEnvelope(parseValue(b('(NIL NIL NIL NIL NIL NIL NIL NIL NIL)'))));
  assert.throws(() => checkEnvelope(parseValue(b('(NIL NIL ((NIL NIL "a")) NIL NIL NIL NIL NIL NIL NIL)'))));
});
