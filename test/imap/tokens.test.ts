import { test } from 'node:test';
import assert from 'node:assert/strict';
import { one } from './feed.js';
import { tokenSequenceSet, tokenString, tokenUint32 } from '../../src/imap/parser/index.js';

test('tag, case-insensitive name, no args', () => {
  assert.deepEqual(one('A001 noop\r\n'), { tag: 'A001', name: 'NOOP', args: [] });
  assert.deepEqual(one('x.y]z Capability\n'), { tag: 'x.y]z', name: 'CAPABILITY', args: [] });
});

test('atoms, flags and NIL', () => {
  const c = one('a STORE 1 +FLAGS (\\Seen $Forwarded) nil\r\n');
  assert.deepEqual(c.args, [
    { type: 'number', value: 1n, text: '1' },
    { type: 'atom', value: '+FLAGS' },
    { type: 'list', items: [{ type: 'atom', value: '\\Seen' }, { type: 'atom', value: '$Forwarded' }] },
    { type: 'nil' },
  ]);
});

test('numbers: uint64 range, helpers', () => {
  const c = one('a X 0 4294967295 4294967296 18446744073709551615\r\n');
  assert.deepEqual(c.args.map((t) => (t.type === 'number' ? t.value : null)), [0n, 4294967295n, 4294967296n, 18446744073709551615n]);
  assert.equal(tokenUint32(c.args[1]), 4294967295);
  assert.equal(tokenUint32(c.args[2]), null);
});

test('quoted strings: escapes and UTF-8', () => {
  const c = one('a LOGIN "us\\"er" "p\\\\w d" "Grüße 日本"\r\n');
  assert.deepEqual(c.args, [
    { type: 'string', value: 'us"er' },
    { type: 'string', value: 'p\\w d' },
    { type: 'string', value: 'Grüße 日本' },
  ]);
  assert.deepEqual(one('a X ""\r\n').args, [{ type: 'string', value: '' }]);
});

test('a {N} inside a quoted string is not a literal', () => {
  assert.deepEqual(one('a SELECT "box {5}"\r\n').args, [{ type: 'string', value: 'box {5}' }]);
});

test('literal, literal+, literal8', () => {
  const c = one('a X {3}\r\nabc {2+}\r\nde ~{3}\r\n\x00\x01\x02\r\n');
  assert.deepEqual(c.args, [
    { type: 'literal', value: Buffer.from('abc'), binary: false },
    { type: 'literal', value: Buffer.from('de'), binary: false },
    { type: 'literal', value: Buffer.from([0, 1, 2]), binary: true },
  ]);
  assert.equal(tokenString(c.args[0]), 'abc');
});

test('empty literal and literal inside a list', () => {
  const c = one('a X ({0}\r\n {1+}\r\n))\r\n');
  assert.deepEqual(c.args, [
    {
      type: 'list',
      items: [
        { type: 'literal', value: Buffer.alloc(0), binary: false },
        { type: 'literal', value: Buffer.from(')'), binary: false },
      ],
    },
  ]);
});

test('literal bytes are exact: CRLF inside literal is data', () => {
  const c = one('a APPEND INBOX (\\Seen) {12}\r\nSubject: x\r\n\r\n');
  assert.deepEqual(c.args[2], { type: 'literal', value: Buffer.from('Subject: x\r\n'), binary: false });
});

test('nested lists', () => {
  const c = one('a ID ("name" "x" "v" ("a" (b NIL ())))\r\n');
  assert.deepEqual(c.args, [
    {
      type: 'list',
      items: [
        { type: 'string', value: 'name' },
        { type: 'string', value: 'x' },
        { type: 'string', value: 'v' },
        {
          type: 'list',
          items: [
            { type: 'string', value: 'a' },
            { type: 'list', items: [{ type: 'atom', value: 'b' }, { type: 'nil' }, { type: 'list', items: [] }] },
          ],
        },
      ],
    },
  ]);
});

test('sequence sets', () => {
  const c = one('a FETCH 1:*,3,5:7 FLAGS\r\n');
  assert.deepEqual(c.args[0], {
    type: 'sequence',
    text: '1:*,3,5:7',
    set: { kind: 'set', ranges: [{ from: 1, to: '*' }, { from: 3, to: 3 }, { from: 5, to: 7 }] },
  });
  assert.deepEqual(one('a FETCH * FLAGS\r\n').args[0], { type: 'sequence', text: '*', set: { kind: 'set', ranges: [{ from: '*', to: '*' }] } });
  assert.deepEqual(one('a FETCH $ FLAGS\r\n').args[0], { type: 'sequence', text: '$', set: { kind: 'saved' } });
  assert.deepEqual(tokenSequenceSet(one('a FETCH 5 FLAGS\r\n').args[0]), { kind: 'set', ranges: [{ from: 5, to: 5 }] });
  assert.equal(tokenSequenceSet(one('a FETCH 0 FLAGS\r\n').args[0]), null);
});

test('UID commands combine the name', () => {
  const c = one('u1 uid fetch 1:* (UID FLAGS)\r\n');
  assert.equal(c.name, 'UID FETCH');
  assert.equal(c.args.length, 2);
  assert.equal(one('u2 UID EXPUNGE 3:4\r\n').name, 'UID EXPUNGE');
});

test('LIST with quoted, atom, wildcard and literal names', () => {
  assert.deepEqual(one('a LIST "" *\r\n').args.map(tokenString), ['', '*']);
  assert.deepEqual(one('a LIST "" %\r\n').args.map(tokenString), ['', '%']);
  assert.deepEqual(one('a LIST {0}\r\n {4}\r\nInb%\r\n').args.map(tokenString), ['', 'Inb%']);
});
