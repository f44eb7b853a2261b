import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utcDay, writtenDay } from '../../../src/imap/search/dates.js';

const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 86400000;

test('writtenDay: the calendar date as written, time and zone disregarded', () => {
  assert.equal(writtenDay('Tue, 1 Feb 1994 23:30 -0800'), day(1994, 2, 1));
  assert.equal(writtenDay('Tue, 1 Feb 1994 00:30:00 +0100'), day(1994, 2, 1));
  assert.equal(writtenDay('1 Feb 1994 23:59:59.5 +1400 (odd zone)'), day(1994, 2, 1));
  assert.equal(writtenDay('Tue, 01 Feb 94 23:30:00 PST'), day(1994, 2, 1));
  assert.equal(writtenDay('Tue, 1 Feb 1994 23:30:00 EST5EDT'), day(1994, 2, 1));
  assert.equal(writtenDay('Tue Feb  1 23:30:00 1994'), day(1994, 2, 1));
  assert.equal(writtenDay('Tue, 1 Feb 1994'), day(1994, 2, 1));
  assert.equal(writtenDay('Tue,1 Feb 1994 23:30:00+0200'), day(1994, 2, 1));
  assert.equal(writtenDay('Sat, 31 Dec 2039 23:59:59 -1200'), day(2039, 12, 31));
  assert.equal(writtenDay('Tue, 1 Feb 1994 25:30:00 +0000'), null);
  assert.equal(writtenDay('garbage'), null);
  assert.equal(writtenDay(''), null);
  assert.equal(writtenDay(null), null);
});

test('utcDay', () => {
  assert.equal(utcDay(new Date('2024-01-03T00:30:00Z')), day(2024, 1, 3));
  assert.equal(utcDay(new Date('2024-01-02T23:59:59.999Z')), day(2024, 1, 2));
  assert.equal(utcDay(new Date('1969-12-31T23:00:00Z')), -1);
});
