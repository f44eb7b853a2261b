import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failure, feed, pushDrain } from './feed.js';
import { CommandReader } from '../../src/imap/parser/index.js';

const bad = (input: string | Buffer, tag = 'a') => {
  const r = failure(input);
  assert.equal(r.kind, 'error', JSON.stringify(input));
  if (r.kind === 'error') {
    assert.equal(r.error, 'BAD');
    assert.equal(r.tag, tag, JSON.stringify(input));
    assert.notEqual(r.text, 'Internal parser error');
  }
};

test('bad tags answer with *', () => {
  for (const s of ['+a NOOP\r\n', 'a+ NOOP\r\n', '* NOOP\r\n', '(a NOOP\r\n', ' a NOOP\r\n', 'a\r\n', 'a"b NOOP\r\n', 't\u00e4g NOOP\r\n']) {
    bad(s, '*');
  }
});

test('missing or bad command name', () => {
  for (const s of ['a \r\n', 'a  NOOP\r\n', 'a (NOOP)\r\n', 'a UID\r\n', 'a UID \r\n']) bad(s);
});

test('unbalanced parentheses and spacing', () => {
  for (const s of ['a X (a b\r\n', 'a X a)\r\n', 'a X (a))\r\n', 'a X ((a)\r\n', 'a X  a\r\n', 'a X a \r\n', 'a X (a  b)\r\n', 'a X ( a)\r\n', 'a X (a )\r\n', 'a X (a)(b)\r\n']) {
    bad(s);
  }
});

test('bad quoted strings', () => {
  for (const s of ['a X "abc\r\n', 'a X "a\\x"\r\n', 'a X "a\\"\r\n', 'a X "ab"c\r\n', 'a X "a" "b\r\n']) bad(s);
  bad(Buffer.from('a X "\xff\xfe"\r\n', 'latin1')); // invalid UTF-8
  bad(Buffer.from('a X "a\x00b"\r\n', 'latin1'));
});

test('bad numbers and sequence sets', () => {
  for (const s of ['a X 18446744073709551616\r\n', 'a X 99999999999999999999999999999999\r\n', 'a FETCH 0:5 FLAGS\r\n', 'a FETCH 1:0 FLAGS\r\n', 'a FETCH 4294967296:* FLAGS\r\n', 'a FETCH 1,,2 FLAGS\r\n', 'a FETCH 1: FLAGS\r\n', 'a FETCH 1:2:3 FLAGS\r\n', 'a FETCH $,1 FLAGS\r\n', 'a FETCH 01 FLAGS\r\n'.replace('01', '01:2')]) {
    bad(s);
  }
});

test('garbage bytes, NUL and control characters', () => {
  for (const s of ['a X \x00\r\n', 'a X a\x00b\r\n', 'a X \x01\r\n', 'a X \x7f\r\n', 'a X \xe9t\xe9\r\n', 'a X a{b\r\n', 'a X {5\r\n']) {
    bad(Buffer.from(s, 'latin1'));
  }
  bad('a X {3}\r\na\x00b\r\n'); // NUL only in literal8
  bad('a X x{2}\r\nab\r\n'); // literal glued to a word
  bad('a X {2}\r\nabc\r\n'); // bytes after a literal without a space
});

test('after an error the next command parses', () => {
  const f = feed('a X (\r\nb NOOP\r\n\x00\x01\x02\r\nc NOOP\r\n');
  assert.deepEqual(
    f.results.map((r) => (r.kind === 'command' ? r.command.tag : r.kind)),
    ['error', 'b', 'error', 'c'],
  );
});

test('a fatal reader ignores further input', () => {
  const reader = new CommandReader({ maxLineLength: 10 });
  assert.deepEqual(pushDrain(reader, 'a NOOP 12345678\r\n'), [{ kind: 'fatal', text: 'Command line too long' }]);
  assert.equal(reader.state, 'closed');
  assert.deepEqual(pushDrain(reader, 'b NOOP\r\n'), []);
});

test('no continuation for a synchronising literal on a line without a valid tag', () => {
  const f = feed('+x LOGIN {5}\r\nb NOOP\r\n');
  assert.equal(f.continuations.length, 0);
  assert.deepEqual(f.results.map((r) => (r.kind === 'command' ? r.command.tag : r.kind === 'error' && r.tag)), ['*', 'b']);
});
