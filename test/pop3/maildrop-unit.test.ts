import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crlfMessage, dotStuffed } from '../../src/pop3/maildrop.js';

test('POP3 messages go out with CRLF line ends and a final CRLF', () => {
  const ok = Buffer.from('A: b\r\n\r\nbody\r\n');
  assert.equal(crlfMessage(ok), ok); // already right: no copy
  assert.equal(crlfMessage(Buffer.from('A: b\n\nx\ny')).toString(), 'A: b\r\n\r\nx\r\ny\r\n');
  assert.equal(crlfMessage(Buffer.from('\nA')).toString(), '\r\nA\r\n');
  assert.equal(crlfMessage(Buffer.from('A\r\nB')).toString(), 'A\r\nB\r\n');
});

test('dot-stuffing doubles leading dots and ends with CRLF.CRLF', () => {
  const stuffed = (s: string) => Buffer.concat(dotStuffed(Buffer.from(s))).toString();
  assert.equal(stuffed('.a\r\nb\r\n..c\r\n.\r\n'), '..a\r\nb\r\n...c\r\n..\r\n.\r\n');
  assert.equal(stuffed('x.\r\n'), 'x.\r\n.\r\n');
  assert.equal(dotStuffed(Buffer.from('plain\r\n'))[0]!.toString(), 'plain\r\n'); // sent as is
});
