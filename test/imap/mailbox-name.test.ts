import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMutf7, encodeMutf7, fromWire, patternRegExp, validNewName } from '../../src/imap/mailbox-name.js';

test('modified UTF-7 round-trips the RFC 3501 examples and astral characters', () => {
  // RFC 3501 §5.1.3 example: "~peter/mail/台北/日本語"
  assert.equal(encodeMutf7('~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  assert.equal(decodeMutf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e');
  assert.equal(encodeMutf7('Tom & Jerry'), 'Tom &- Jerry');
  assert.equal(decodeMutf7('Tom &- Jerry'), 'Tom & Jerry');
  for (const name of ['Entwürfe', 'Ärger/Öl', '📬 Inbox', 'a&b&c', 'Gesendete Objekte', '日本語']) {
    assert.equal(decodeMutf7(encodeMutf7(name)), name);
  }
});

test('invalid modified UTF-7 is refused', () => {
  assert.equal(decodeMutf7('&U,BTFw'), null); // unterminated
  assert.equal(decodeMutf7('&AGE-'), null); // "a" must not be encoded
  assert.equal(decodeMutf7('&2D0-'), null); // lone surrogate
  assert.equal(decodeMutf7('caf\u00e9'), null); // 8-bit is not modified UTF-7
});

test('names from the wire: INBOX is case-insensitive, UTF-8 when enabled', () => {
  assert.equal(fromWire('inbox', false), 'INBOX');
  assert.equal(fromWire('InBoX/sub', false), 'INBOX/sub');
  assert.equal(fromWire('Entw&APw-rfe', false), 'Entwürfe');
  assert.equal(fromWire('Entwürfe', true), 'Entwürfe');
  assert.ok(validNewName('a/b/c'));
  assert.ok(!validNewName('a//b'));
  assert.ok(!validNewName('a*'));
  assert.ok(!validNewName(''));
});

test('LIST patterns: * crosses levels, % does not', () => {
  assert.ok(patternRegExp('', '*').test('a/b/c'));
  assert.ok(patternRegExp('', '%').test('a'));
  assert.ok(!patternRegExp('', '%').test('a/b'));
  assert.ok(patternRegExp('a/', '%').test('a/b'));
  assert.ok(patternRegExp('', 'inbox').test('INBOX'));
  assert.ok(!patternRegExp('', 'a.c').test('abc')); // regex characters are literal
});
