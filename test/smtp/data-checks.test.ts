import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanData } from '../../src/smtp/common/data-checks.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('clean CRLF text passes every check', () => {
  assert.deepEqual(scanData(b('Subject: x\r\n\r\nhello\r\n')), { hasNul: false, bareLineEnd: false, longLine: false, eightBit: false });
  assert.deepEqual(scanData(b('')), { hasNul: false, bareLineEnd: false, longLine: false, eightBit: false });
});

test('each defect is found wherever it sits', () => {
  assert.equal(scanData(b('a\nb\r\n')).bareLineEnd, true);
  assert.equal(scanData(b('\nb\r\n')).bareLineEnd, true);
  assert.equal(scanData(b('a\r\nb\rc\r\n')).bareLineEnd, true);
  assert.equal(scanData(b('a\r\nb\r')).bareLineEnd, true);
  assert.equal(scanData(b('a\x00b\r\n')).hasNul, true);
  assert.equal(scanData(b('caf\xe9\r\n')).eightBit, true);
  assert.equal(scanData(b('x'.repeat(998) + '\r\n')).longLine, false);
  assert.equal(scanData(b('x'.repeat(999) + '\r\n')).longLine, true);
  assert.equal(scanData(b('ok\r\n' + 'x'.repeat(999))).longLine, true, 'unterminated last line');
  assert.equal(scanData(b('ok\r\n' + 'x'.repeat(998))).longLine, false);
});
