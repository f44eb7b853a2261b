import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compressSet, formatEsearchResponse, formatSearchResponse, formatSortResponse, returnedUids, savedResult,
  sequenceNumberOf, wantsEsearch,
} from '../../../src/imap/search/respond.js';
import type { ReturnOptions } from '../../../src/imap/search/types.js';

const none: ReturnOptions = { min: false, max: false, all: false, count: false, save: false };
// Sequence numbers 1..6 hold UIDs 10, 11, 12, 20, 21, 30.
const view = Uint32Array.from([10, 11, 12, 20, 21, 30]);

test('compressSet', () => {
  assert.equal(compressSet([]), '');
  assert.equal(compressSet([5]), '5');
  assert.equal(compressSet([1, 2, 3, 5]), '1:3,5');
  assert.equal(compressSet([9, 3, 1, 2, 2, 10, 7]), '1:3,7,9:10');
  assert.equal(compressSet([4294967295, 4294967294]), '4294967294:4294967295');
});

test('sequenceNumberOf', () => {
  assert.equal(sequenceNumberOf(view, 10), 1);
  assert.equal(sequenceNumberOf(view, 30), 6);
  assert.equal(sequenceNumberOf(view, 21), 5);
  assert.equal(sequenceNumberOf(view, 15), 0);
  assert.equal(sequenceNumberOf([], 1), 0);
});

test('plain SEARCH response: sequence numbers or UIDs, MODSEQ when used', () => {
  assert.equal(formatSearchResponse([11, 20, 30], { uid: false, view }), '* SEARCH 2 4 6');
  assert.equal(formatSearchResponse([11, 20, 30], { uid: true, view }), '* SEARCH 11 20 30');
  assert.equal(formatSearchResponse([], { uid: false, view }), '* SEARCH');
  const modseqs = new Map([[11, 7], [20, 19], [30, 4]]);
  assert.equal(formatSearchResponse([11, 20, 30], { uid: false, view, modseqs }), '* SEARCH 2 4 6 (MODSEQ 19)');
  assert.equal(formatSearchResponse([], { uid: true, view, modseqs: new Map() }), '* SEARCH');
});

test('ESEARCH response (RFC 4731)', () => {
  const all = { ...none, min: true, max: true, count: true, all: true };
  assert.equal(formatEsearchResponse([10, 11, 12, 30], { tag: 'a1', uid: true, view, returnOpts: all }),
    '* ESEARCH (TAG "a1") UID MIN 10 MAX 30 COUNT 4 ALL 10:12,30');
  assert.equal(formatEsearchResponse([10, 11, 12, 30], { tag: 'a1', uid: false, view, returnOpts: all }),
    '* ESEARCH (TAG "a1") MIN 1 MAX 6 COUNT 4 ALL 1:3,6');
  assert.equal(formatEsearchResponse([20, 21], { tag: 'A282', uid: false, view, returnOpts: { ...none, min: true, count: true } }),
    '* ESEARCH (TAG "A282") MIN 4 COUNT 2');
  assert.equal(formatEsearchResponse([], { tag: 'a', uid: false, view, returnOpts: all }), '* ESEARCH (TAG "a") COUNT 0');
  assert.equal(formatEsearchResponse([], { tag: 'a', uid: true, view, returnOpts: { ...none, min: true, max: true } }), '* ESEARCH (TAG "a") UID');
  assert.equal(formatEsearchResponse([10], { tag: 'a', uid: false, view, returnOpts: { ...none, all: true } }), '* ESEARCH (TAG "a") ALL 1');
  // RETURN (SAVE) alone: no ESEARCH response at all.
  assert.equal(formatEsearchResponse([10], { tag: 'a', uid: false, view, returnOpts: { ...none, save: true } }), null);
  assert.equal(wantsEsearch({ ...none, save: true }), false);
  assert.equal(wantsEsearch({ ...none, count: true }), true);
});

test('ESEARCH MODSEQ describes the returned messages (RFC 4731 §3.2)', () => {
  const modseqs = new Map([[10, 5], [11, 50], [12, 7], [30, 9]]);
  const result = [10, 11, 12, 30];
  const esearch = (r: ReturnOptions) => formatEsearchResponse(result, { tag: 't', uid: true, view, returnOpts: r, modseqs });
  assert.equal(esearch({ ...none, min: true }), '* ESEARCH (TAG "t") UID MIN 10 MODSEQ 5');
  assert.equal(esearch({ ...none, max: true }), '* ESEARCH (TAG "t") UID MAX 30 MODSEQ 9');
  assert.equal(esearch({ ...none, min: true, max: true }), '* ESEARCH (TAG "t") UID MIN 10 MAX 30 MODSEQ 9');
  assert.equal(esearch({ ...none, all: true }), '* ESEARCH (TAG "t") UID ALL 10:12,30 MODSEQ 50');
  assert.equal(esearch({ ...none, min: true, count: true }), '* ESEARCH (TAG "t") UID MIN 10 COUNT 4 MODSEQ 50');
  assert.equal(formatEsearchResponse([], { tag: 't', uid: true, view, returnOpts: { ...none, count: true }, modseqs: new Map() }),
    '* ESEARCH (TAG "t") UID COUNT 0');
});

test('tags are quoted safely', () => {
  assert.equal(formatEsearchResponse([10], { tag: 'x"\\y', uid: true, view, returnOpts: { ...none, count: true } }),
    '* ESEARCH (TAG "x\\"\\\\y") UID COUNT 1');
});

test('saved result (RFC 5182 §2.4)', () => {
  const r = [10, 11, 30];
  assert.equal(savedResult(r, null), null);
  assert.equal(savedResult(r, { ...none, all: true }), null);
  assert.deepEqual(savedResult(r, { ...none, save: true }), [10, 11, 30]);
  assert.deepEqual(savedResult(r, { ...none, save: true, min: true }), [10]);
  assert.deepEqual(savedResult(r, { ...none, save: true, max: true }), [30]);
  assert.deepEqual(savedResult(r, { ...none, save: true, min: true, max: true }), [10, 30]);
  assert.deepEqual(savedResult(r, { ...none, save: true, min: true, count: true }), [10, 11, 30]);
  assert.deepEqual(savedResult([], { ...none, save: true, min: true }), []);
  assert.deepEqual(returnedUids([7], { ...none, min: true, max: true }), [7]);
});

test('SORT response keeps the given order', () => {
  assert.equal(formatSortResponse([30, 10, 20], { uid: false, view }), '* SORT 6 1 4');
  assert.equal(formatSortResponse([30, 10, 20], { uid: true, view }), '* SORT 30 10 20');
  assert.equal(formatSortResponse([], { uid: true, view }), '* SORT');
  assert.equal(formatSortResponse([30, 10], { uid: true, view, modseqs: new Map([[30, 2], [10, 3]]) }), '* SORT 30 10 (MODSEQ 3)');
});
