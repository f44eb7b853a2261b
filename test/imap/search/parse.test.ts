import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSearchArgs, parseSearchDate, MAX_SEARCH_KEYS } from '../../../src/imap/search/parse.js';
import type { ParsedSearch, SearchKey } from '../../../src/imap/search/types.js';
import { tokens } from './helpers.js';

function key(args: string, literals: string[] = [], esearch = false): SearchKey {
  const r = parseSearchArgs(tokens(args, literals), { esearch });
  if ('error' in r) throw new Error(`unexpected error: ${r.error}`);
  return r.key;
}

function parsed(args: string, esearch = true): ParsedSearch {
  const r = parseSearchArgs(tokens(args), { esearch });
  if ('error' in r) throw new Error(`unexpected error: ${r.error}`);
  return r;
}

function error(args: string, esearch = false): { error: string; code?: string } {
  const r = parseSearchArgs(tokens(args), { esearch });
  if (!('error' in r)) throw new Error(`expected an error for ${args}: ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return r;
}

const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 86400000;

test('flag keys and their negations', () => {
  assert.deepEqual(key('ANSWERED'), { type: 'flag', flag: '\\Answered', set: true });
  assert.deepEqual(key('deleted'), { type: 'flag', flag: '\\Deleted', set: true });
  assert.deepEqual(key('Draft'), { type: 'flag', flag: '\\Draft', set: true });
  assert.deepEqual(key('FLAGGED'), { type: 'flag', flag: '\\Flagged', set: true });
  assert.deepEqual(key('SEEN'), { type: 'flag', flag: '\\Seen', set: true });
  assert.deepEqual(key('UNANSWERED'), { type: 'flag', flag: '\\Answered', set: false });
  assert.deepEqual(key('UNDELETED'), { type: 'flag', flag: '\\Deleted', set: false });
  assert.deepEqual(key('UNDRAFT'), { type: 'flag', flag: '\\Draft', set: false });
  assert.deepEqual(key('UNFLAGGED'), { type: 'flag', flag: '\\Flagged', set: false });
  assert.deepEqual(key('UNSEEN'), { type: 'flag', flag: '\\Seen', set: false });
  assert.deepEqual(key('KEYWORD $Forwarded'), { type: 'flag', flag: '$Forwarded', set: true });
  assert.deepEqual(key('UNKEYWORD Work'), { type: 'flag', flag: 'Work', set: false });
  assert.deepEqual(key('ALL'), { type: 'all' });
  assert.deepEqual(key('RECENT'), { type: 'recent' });
  assert.deepEqual(key('NEW'), { type: 'and', keys: [{ type: 'recent' }, { type: 'flag', flag: '\\Seen', set: false }] });
  assert.deepEqual(key('OLD'), { type: 'not', key: { type: 'recent' } });
});

test('string keys accept atoms, quoted strings, literals, numbers and NIL', () => {
  assert.deepEqual(key('FROM john'), { type: 'address', field: 'from', value: 'john' });
  assert.deepEqual(key('TO "Alice Liddell"'), { type: 'address', field: 'to', value: 'Alice Liddell' });
  assert.deepEqual(key('CC {}', ['bob@example.org']), { type: 'address', field: 'cc', value: 'bob@example.org' });
  assert.deepEqual(key('BCC ""'), { type: 'address', field: 'bcc', value: '' });
  assert.deepEqual(key('SUBJECT {}', ['Grüße']), { type: 'subject', value: 'Grüße' });
  assert.deepEqual(key('SUBJECT "日本語"'), { type: 'subject', value: '日本語' });
  assert.deepEqual(key('SUBJECT 2024'), { type: 'subject', value: '2024' });
  assert.deepEqual(key('SUBJECT NIL'), { type: 'subject', value: 'NIL' });
  assert.deepEqual(key('BODY fox'), { type: 'text', where: 'body', value: 'fox' });
  assert.deepEqual(key('TEXT "quick brown"'), { type: 'text', where: 'text', value: 'quick brown' });
  assert.deepEqual(key('HEADER X-Mailer "Foo"'), { type: 'header', field: 'x-mailer', value: 'Foo' });
  assert.deepEqual(key('HEADER "List-Id" ""'), { type: 'header', field: 'list-id', value: '' });
});

test('size, modseq and object id keys', () => {
  assert.deepEqual(key('LARGER 100'), { type: 'size', op: 'larger', size: 100 });
  assert.deepEqual(key('SMALLER 4294967296'), { type: 'size', op: 'smaller', size: 4294967296 });
  assert.deepEqual(key('MODSEQ 12'), { type: 'modseq', modseq: 12n, entry: null });
  assert.deepEqual(key('MODSEQ 0'), { type: 'modseq', modseq: 0n, entry: null });
  assert.deepEqual(key('MODSEQ "/flags/\\\\draft" all 620162338'),
    { type: 'modseq', modseq: 620162338n, entry: { name: '/flags/\\draft', type: 'all' } });
  assert.deepEqual(key('MODSEQ "/flags/$Junk" PRIV 5'), { type: 'modseq', modseq: 5n, entry: { name: '/flags/$Junk', type: 'priv' } });
  assert.deepEqual(key('EMAILID M1a'), { type: 'emailid', id: 'M1a' });
  assert.deepEqual(key('THREADID T_x-9'), { type: 'threadid', id: 'T_x-9' });
  assert.deepEqual(key('EMAILID 123'), { type: 'emailid', id: '123' });
});

test('sequence sets, UID sets and $', () => {
  assert.deepEqual(key('1:5,7'), { type: 'seq', set: { kind: 'set', ranges: [{ from: 1, to: 5 }, { from: 7, to: 7 }] } });
  assert.deepEqual(key('5'), { type: 'seq', set: { kind: 'set', ranges: [{ from: 5, to: 5 }] } });
  assert.deepEqual(key('*'), { type: 'seq', set: { kind: 'set', ranges: [{ from: '*', to: '*' }] } });
  assert.deepEqual(key('$'), { type: 'seq', set: { kind: 'saved' } });
  assert.deepEqual(key('UID 3:*'), { type: 'uid', set: { kind: 'set', ranges: [{ from: 3, to: '*' }] } });
  assert.deepEqual(key('UID 9'), { type: 'uid', set: { kind: 'set', ranges: [{ from: 9, to: 9 }] } });
  assert.deepEqual(key('UID $'), { type: 'uid', set: { kind: 'saved' } });
});

test('dates: internal and sent, quoted, case-insensitive month, one- or two-digit day', () => {
  assert.deepEqual(key('SINCE 1-Feb-1994'), { type: 'date', field: 'internal', op: 'since', day: day(1994, 2, 1) });
  assert.deepEqual(key('BEFORE "01-feb-1994"'), { type: 'date', field: 'internal', op: 'before', day: day(1994, 2, 1) });
  assert.deepEqual(key('ON 29-FEB-2024'), { type: 'date', field: 'internal', op: 'on', day: day(2024, 2, 29) });
  assert.deepEqual(key('SENTBEFORE 31-Dec-1999'), { type: 'date', field: 'sent', op: 'before', day: day(1999, 12, 31) });
  assert.deepEqual(key('SENTON 7-Jul-2007'), { type: 'date', field: 'sent', op: 'on', day: day(2007, 7, 7) });
  assert.deepEqual(key('SENTSINCE "1-Jan-1970"'), { type: 'date', field: 'sent', op: 'since', day: 0 });
  assert.equal(parseSearchDate('1-Jan-0050'), Math.round((new Date('0050-01-01T00:00:00Z').getTime()) / 86400000));
  for (const bad of ['29-Feb-2023', '31-Apr-2024', '0-Jan-2024', '32-Jan-2024', '1-Foo-2024', '1-Jan-24', '1-January-2024',
    '001-Jan-2024', '1 Jan 2024', '1-Jan-2024 ', '', '1-Jan-20245']) {
    assert.equal(parseSearchDate(bad), null, bad);
  }
  assert.match(error('SINCE 29-Feb-2023').error, /SINCE needs a date/);
  assert.match(error('SENTON').error, /SENTON needs a date/);
  assert.match(error('ON 12').error, /ON needs a date/);
});

test('NOT, OR, lists and nesting', () => {
  assert.deepEqual(key('NOT SEEN'), { type: 'not', key: { type: 'flag', flag: '\\Seen', set: true } });
  assert.deepEqual(key('OR SEEN FLAGGED'), { type: 'or', keys: [{ type: 'flag', flag: '\\Seen', set: true }, { type: 'flag', flag: '\\Flagged', set: true }] });
  assert.deepEqual(key('OR (SEEN FROM x) NOT (1:2)'), {
    type: 'or',
    keys: [
      { type: 'and', keys: [{ type: 'flag', flag: '\\Seen', set: true }, { type: 'address', field: 'from', value: 'x' }] },
      { type: 'not', key: { type: 'seq', set: { kind: 'set', ranges: [{ from: 1, to: 2 }] } } },
    ],
  });
  assert.deepEqual(key('SEEN DELETED'), { type: 'and', keys: [{ type: 'flag', flag: '\\Seen', set: true }, { type: 'flag', flag: '\\Deleted', set: true }] });
  assert.deepEqual(key('((SEEN))'), { type: 'flag', flag: '\\Seen', set: true });
  assert.deepEqual(key('OR OR SEEN DRAFT NOT NOT ALL'), {
    type: 'or',
    keys: [
      { type: 'or', keys: [{ type: 'flag', flag: '\\Seen', set: true }, { type: 'flag', flag: '\\Draft', set: true }] },
      { type: 'not', key: { type: 'not', key: { type: 'all' } } },
    ],
  });
});

test('CHARSET: UTF-8 and US-ASCII accepted, anything else is BADCHARSET', () => {
  assert.equal(parsed('CHARSET UTF-8 ALL').charset, 'UTF-8');
  assert.equal(parsed('CHARSET utf-8 ALL').charset, 'UTF-8');
  assert.equal(parsed('CHARSET "us-ascii" ALL').charset, 'US-ASCII');
  assert.equal(parsed('ALL').charset, null);
  assert.deepEqual(error('CHARSET ISO-8859-1 ALL'), { error: 'Charset "ISO-8859-1" is not supported', code: 'BADCHARSET' });
  assert.equal(error('CHARSET KOI8-R SUBJECT x').code, 'BADCHARSET');
  assert.equal(error('CHARSET UTF8 ALL').code, 'BADCHARSET');
  assert.equal(error('CHARSET').code, undefined);
  assert.match(error('CHARSET UTF-8').error, /Missing search criteria/);
});

test('RETURN options (ESEARCH) and SAVE', () => {
  const none = { min: false, max: false, all: false, count: false, save: false };
  assert.deepEqual(parsed('RETURN (MIN MAX) ALL').returnOpts, { ...none, min: true, max: true });
  assert.deepEqual(parsed('RETURN () UNSEEN').returnOpts, { ...none, all: true });
  assert.deepEqual(parsed('RETURN (count all SAVE) UNSEEN').returnOpts, { ...none, count: true, all: true, save: true });
  assert.deepEqual(parsed('RETURN (SAVE) UNSEEN').returnOpts, { ...none, save: true });
  assert.deepEqual(parsed('RETURN (MIN) CHARSET UTF-8 SUBJECT x'), {
    charset: 'UTF-8', returnOpts: { ...none, min: true }, key: { type: 'subject', value: 'x' },
  });
  assert.equal(parsed('UNSEEN').returnOpts, null);
  assert.match(error('RETURN (FOO) ALL', true).error, /Unknown search result option "FOO"/);
  assert.match(error('RETURN MIN ALL', true).error, /RETURN must be followed by a list/);
  // Without ESEARCH, RETURN is just an unknown key.
  assert.match(error('RETURN (MIN) ALL', false).error, /Unknown search key "RETURN"/);
});

test('syntax errors', () => {
  assert.match(error('').error, /Missing search criteria/);
  assert.match(error('FOO').error, /Unknown search key "FOO"/);
  assert.match(error('SAVEDBEFORE 1-Jan-2024').error, /Unknown search key/);
  assert.match(error('FROM').error, /Missing FROM argument/);
  assert.match(error('FROM (a)').error, /Invalid FROM argument/);
  assert.match(error('HEADER Subject').error, /Missing HEADER string/);
  assert.match(error('HEADER "a b" x').error, /Invalid header field name/);
  assert.match(error('HEADER "" x').error, /Invalid header field name/);
  assert.match(error('LARGER x').error, /LARGER needs a number/);
  assert.match(error('SMALLER').error, /SMALLER needs a number/);
  assert.match(error('UID x').error, /UID needs a sequence set/);
  assert.match(error('UID').error, /UID needs a sequence set/);
  assert.match(error('NOT').error, /Missing search key/);
  assert.match(error('OR SEEN').error, /Missing search key/);
  assert.match(error('()').error, /Empty search key list/);
  assert.match(error('"SEEN"').error, /Invalid search key "SEEN"/);
  assert.match(error('MODSEQ').error, /MODSEQ needs/);
  assert.match(error('MODSEQ "/flags/x"').error, /entry type/);
  assert.match(error('MODSEQ "/flags/x" bogus 5').error, /entry type/);
  assert.match(error('MODSEQ "x" all 5').error, /MODSEQ needs a mod-sequence value or an entry name/);
  assert.match(error('MODSEQ 9223372036854775808').error, /MODSEQ needs a mod-sequence value/);
  assert.match(error('EMAILID a.b').error, /Invalid object id/);
  assert.match(error('THREADID ""').error, /Invalid object id/);
  assert.match(error('KEYWORD ""').error, /Invalid keyword/);
  const bad = parseSearchArgs(tokens('SUBJECT {}', [Buffer.from([0x66, 0xff, 0x66])]), { esearch: false });
  assert.deepEqual(bad, { error: 'Invalid UTF-8 in SUBJECT argument' });
});

test('the number of keys is bounded', () => {
  const ok = Array.from({ length: MAX_SEARCH_KEYS }, () => 'SEEN').join(' ');
  assert.equal((key(ok) as { keys: unknown[] }).keys.length, MAX_SEARCH_KEYS);
  assert.match(error(ok + ' SEEN').error, /Too many search keys/);
  assert.match(error('NOT '.repeat(MAX_SEARCH_KEYS) + 'SEEN').error, /Too many search keys/);
});
