import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failure, one } from './feed.js';
import { parseFetchItems } from '../../src/imap/parser/index.js';

const items = (line: string) => {
  const c = one(`a FETCH 1 ${line}\r\n`);
  const t = c.args[1]!;
  return t.type === 'list' ? t.items : [t];
};

test('BODY[] and BODY.PEEK[] with text specs', () => {
  assert.deepEqual(items('BODY[]'), [{ type: 'section', name: 'BODY', section: { parts: [] } }]);
  assert.deepEqual(items('(body.peek[header] BODY[TEXT])'), [
    { type: 'section', name: 'BODY.PEEK', section: { parts: [], text: 'HEADER' } },
    { type: 'section', name: 'BODY', section: { parts: [], text: 'TEXT' } },
  ]);
});

test('part paths, MIME and partial ranges', () => {
  assert.deepEqual(items('BODY[1.2.MIME]<0.100>'), [
    { type: 'section', name: 'BODY', section: { parts: [1, 2], text: 'MIME' }, partial: { offset: 0, length: 100 } },
  ]);
  assert.deepEqual(items('BODY[3]'), [{ type: 'section', name: 'BODY', section: { parts: [3] } }]);
  assert.deepEqual(items('BODY[4.2.header]'), [{ type: 'section', name: 'BODY', section: { parts: [4, 2], text: 'HEADER' } }]);
});

test('HEADER.FIELDS lists with atoms, quoted and literal names', () => {
  assert.deepEqual(items('(UID BODY.PEEK[HEADER.FIELDS (From To)] FLAGS)'), [
    { type: 'atom', value: 'UID' },
    { type: 'section', name: 'BODY.PEEK', section: { parts: [], text: 'HEADER.FIELDS', fields: ['From', 'To'] } },
    { type: 'atom', value: 'FLAGS' },
  ]);
  const c = one('a FETCH 1 BODY[1.HEADER.FIELDS.NOT ("Subject" {4}\r\nDate)]<5.10>\r\n');
  assert.deepEqual(c.args[1], {
    type: 'section',
    name: 'BODY',
    section: { parts: [1], text: 'HEADER.FIELDS.NOT', fields: ['Subject', 'Date'] },
    partial: { offset: 5, length: 10 },
  });
});

test('BINARY, BINARY.PEEK, BINARY.SIZE', () => {
  assert.deepEqual(items('(BINARY[1] BINARY.PEEK[1.2]<0.9> BINARY.SIZE[1])'), [
    { type: 'section', name: 'BINARY', section: { parts: [1] } },
    { type: 'section', name: 'BINARY.PEEK', section: { parts: [1, 2] }, partial: { offset: 0, length: 9 } },
    { type: 'section', name: 'BINARY.SIZE', section: { parts: [1] } },
  ]);
});

test('invalid section specs are BAD', () => {
  for (const bad of [
    'BODY[MIME]', // MIME needs a part
    'BODY[0]',
    'BODY[1.]',
    'BODY[FOO]',
    'BODY[HEADER.FIELDS]',
    'BODY[HEADER.FIELDS ()]',
    'BODY[HEADER.FIELDS (From]',
    'BODY[TEXT',
    'BODY[]<0.0>',
    'BODY[]<1>',
    'BODY[]x',
    'BINARY[HEADER]',
    'BINARY.SIZE[1]<0.5>',
  ]) {
    const r = failure(`a FETCH 1 ${bad}\r\n`);
    assert.equal(r.kind, 'error', bad);
    assert.equal(r.kind === 'error' && r.tag, 'a', bad);
  }
});

test('parseFetchItems: macros, lists, single items, errors', () => {
  const arg = (s: string) => one(`a FETCH 1 ${s}\r\n`).args[1];
  assert.deepEqual(parseFetchItems(arg('fast')), [
    { kind: 'simple', name: 'FLAGS' },
    { kind: 'simple', name: 'INTERNALDATE' },
    { kind: 'simple', name: 'RFC822.SIZE' },
  ]);
  assert.deepEqual(parseFetchItems(arg('(uid BODY.PEEK[1]<0.5> rfc822.size)')), [
    { kind: 'simple', name: 'UID' },
    { kind: 'section', name: 'BODY.PEEK', section: { parts: [1] }, partial: { offset: 0, length: 5 } },
    { kind: 'simple', name: 'RFC822.SIZE' },
  ]);
  assert.deepEqual(parseFetchItems(arg('BINARY.SIZE[2]')), [{ kind: 'section', name: 'BINARY.SIZE', section: { parts: [2] } }]);
  assert.ok('error' in parseFetchItems(arg('(ALL)')));
  assert.ok('error' in parseFetchItems(arg('(FLAGS BOGUS)')));
  assert.ok('error' in parseFetchItems(arg('()')));
  assert.ok('error' in parseFetchItems(undefined));
});
