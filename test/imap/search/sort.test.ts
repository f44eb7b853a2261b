import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseSortArgs, parseSortCriteria, sortMessages, type SortKey } from '../../../src/imap/search/sort.js';
import { evaluateSearchDetailed } from '../../../src/imap/search/evaluate.js';
import { formatSortResponse } from '../../../src/imap/search/respond.js';
import { casemapKey, compareCodePoints } from '../../../src/imap/search/text.js';
import { openFixture, tokens, type Fixture } from './helpers.js';

let fx: Fixture;
before(async () => {
  fx = await openFixture([
    { // 1
      headers: ['From: Zed <zed@x.com>', 'To: bob@x.com', 'Cc: mike@x.com', 'Subject: Re: apple', 'Date: Fri, 5 Jan 2024 10:00:00 +0000'],
      body: 'a', internalDate: '2024-01-10T00:00:00Z',
    },
    { // 2
      headers: ['From: "alpha" <Beta@x.com>', 'To: Anna <zz@x.com>', 'Subject: banana', 'Date: Wed, 3 Jan 2024 10:00:00 +0000'],
      body: 'b'.repeat(3000), internalDate: '2024-01-09T00:00:00Z',
    },
    { // 3: no Date (DATE falls back to INTERNALDATE), no To
      headers: ['From: "Xavier" <carl@x.com>', 'Cc: aaron@x.com', 'Subject: [list] Apple'],
      body: 'c'.repeat(10), internalDate: '2024-01-01T00:00:00Z',
    },
    { // 4
      headers: ['From: =?UTF-8?Q?=C3=89mile?= <emile@x.com>', 'To: "Yves" <yves@x.com>', 'Subject: Fwd: Cherry (fwd)', 'Date: Thu, 4 Jan 2024 10:00:00 +0000'],
      body: 'd'.repeat(500), internalDate: '2024-01-08T00:00:00Z',
    },
    { // 5: ties with 1 on ARRIVAL, DATE (same instant, other zone), SUBJECT and FROM
      headers: ['From: Zed <zed@x.com>', 'To: bob@x.com', 'Subject: apple', 'Date: Fri, 5 Jan 2024 11:00:00 +0100'],
      body: 'e'.repeat(100), internalDate: '2024-01-10T00:00:00Z',
    },
  ]);
});
after(async () => {
  await fx.close();
});

function criteria(text: string): SortKey[] {
  const r = parseSortCriteria(tokens(text)[0]);
  if ('error' in r) throw new Error(r.error);
  return r;
}

async function sorted(text: string, uids = [1, 2, 3, 4, 5]): Promise<number[]> {
  return sortMessages(uids, criteria(text), fx.ctx());
}

test('parseSortCriteria', () => {
  assert.deepEqual(criteria('(ARRIVAL)'), [{ criterion: 'arrival', reverse: false }]);
  assert.deepEqual(criteria('(reverse Date subject REVERSE size)'), [
    { criterion: 'date', reverse: true }, { criterion: 'subject', reverse: false }, { criterion: 'size', reverse: true },
  ]);
  assert.deepEqual(criteria('(CC FROM TO DISPLAYFROM DISPLAYTO)').map((k) => k.criterion), ['cc', 'from', 'to', 'displayfrom', 'displayto']);
  const err = (t: string) => {
    const r = parseSortCriteria(tokens(t)[0]);
    assert.ok('error' in r, t);
    return (r as { error: string }).error;
  };
  assert.match(err('()'), /Empty sort criteria/);
  assert.match(err('(REVERSE)'), /REVERSE must be followed/);
  assert.match(err('(REVERSE REVERSE DATE)'), /REVERSE REVERSE/);
  assert.match(err('(FOO)'), /Unknown sort criterion FOO/);
  assert.match(err('("DATE")'), /Unknown sort criterion/);
  assert.match(err('DATE'), /parenthesised list/);
});

test('parseSortArgs: criteria, mandatory charset, search keys', () => {
  assert.deepEqual(parseSortArgs(tokens('(DATE) UTF-8 SEEN')), {
    criteria: [{ criterion: 'date', reverse: false }], charset: 'UTF-8', key: { type: 'flag', flag: '\\Seen', set: true },
  });
  assert.deepEqual(parseSortArgs(tokens('(DATE) ISO-8859-1 ALL')), { error: 'Charset "ISO-8859-1" is not supported', code: 'BADCHARSET' });
  assert.match((parseSortArgs(tokens('(DATE) UTF-8')) as { error: string }).error, /Missing search criteria/);
  assert.match((parseSortArgs(tokens('(DATE) ALL')) as { error: string }).error, /Charset "ALL" is not supported/);
  assert.match((parseSortArgs(tokens('(BOGUS) UTF-8 ALL')) as { error: string }).error, /Unknown sort criterion/);
});

test('ARRIVAL and DATE, with REVERSE; ties keep mailbox order', async () => {
  assert.deepEqual(await sorted('(ARRIVAL)'), [3, 4, 2, 1, 5]);
  assert.deepEqual(await sorted('(REVERSE ARRIVAL)'), [1, 5, 2, 4, 3]);
  assert.deepEqual(await sorted('(DATE)'), [3, 2, 4, 1, 5]);
  assert.deepEqual(await sorted('(REVERSE DATE)'), [1, 5, 4, 2, 3]);
});

test('SUBJECT uses the base subject, case-insensitively', async () => {
  assert.deepEqual(await sorted('(SUBJECT)'), [1, 3, 5, 2, 4]);
  assert.deepEqual(await sorted('(REVERSE SUBJECT)'), [4, 2, 1, 3, 5]);
  assert.deepEqual(await sorted('(SUBJECT DATE)'), [3, 1, 5, 2, 4]);
  assert.deepEqual(await sorted('(SUBJECT REVERSE ARRIVAL)'), [1, 5, 3, 2, 4]);
});

test('FROM/TO/CC use the first address\'s mailbox; DISPLAYFROM/DISPLAYTO the display name', async () => {
  assert.deepEqual(await sorted('(FROM)'), [2, 3, 4, 1, 5]);
  assert.deepEqual(await sorted('(REVERSE FROM)'), [1, 5, 4, 3, 2]);
  assert.deepEqual(await sorted('(DISPLAYFROM)'), [2, 4, 3, 1, 5]);
  assert.deepEqual(await sorted('(TO)'), [3, 1, 5, 4, 2]);
  assert.deepEqual(await sorted('(DISPLAYTO)'), [3, 2, 1, 5, 4]);
  assert.deepEqual(await sorted('(CC)'), [2, 4, 5, 3, 1]);
  assert.deepEqual(await sorted('(REVERSE CC)'), [1, 3, 2, 4, 5]);
});

test('SIZE and multiple criteria', async () => {
  const sizes = new Map((await fx.store.listMessages(fx.mailboxId)).map((e) => [e.uid, e.size]));
  const bySize = [1, 2, 3, 4, 5].sort((a, b) => sizes.get(a)! - sizes.get(b)! || a - b);
  assert.deepEqual(bySize, [3, 1, 5, 4, 2]);
  assert.deepEqual(await sorted('(SIZE)'), bySize);
  assert.deepEqual(await sorted('(REVERSE SIZE)'), [2, 4, 5, 1, 3]);
  assert.deepEqual(await sorted('(TO SUBJECT)'), [3, 1, 5, 4, 2]);
  assert.deepEqual(await sorted('(REVERSE FROM SUBJECT)'), [1, 5, 4, 3, 2]);
  assert.deepEqual(await sorted('(FROM REVERSE SIZE)'), [2, 3, 4, 5, 1]);
});

test('a subset, expunged UIDs dropped, and the SORT response', async () => {
  assert.deepEqual(await sorted('(DATE)', [5, 2, 1]), [2, 1, 5]);
  assert.deepEqual(await sorted('(SIZE)', [5, 2, 99]), [5, 2]);
  assert.deepEqual(await sorted('(SUBJECT)', []), []);
  const r = await evaluateSearchDetailed({ type: 'flag', flag: '\\Seen', set: false }, fx.ctx());
  const order = await sortMessages(r.uids, criteria('(REVERSE ARRIVAL)'), fx.ctx());
  assert.equal(formatSortResponse(order, { uid: false, view: fx.uids }), '* SORT 1 5 2 4 3');
});

test('casemap collation', () => {
  const order = ['b', 'A', 'a_', 'aa', 'É', 'E', 'z', 'Ω', '😀', '\uffff'].sort((x, y) => compareCodePoints(casemapKey(x), casemapKey(y)));
  // "aa" < "a_" because titlecase maps a to A (0x41) < "_" (0x5f); É decomposes to E + U+0301.
  assert.deepEqual(order, ['A', 'aa', 'a_', 'b', 'E', 'É', 'z', 'Ω', '\uffff', '😀']);
  assert.equal(casemapKey('straße'), 'STRAßE');
  assert.equal(casemapKey('ﬁ'), 'fi'); // NFKD of the ligature
});
