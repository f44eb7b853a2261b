import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateSearch, evaluateSearchDetailed } from '../../../src/imap/search/evaluate.js';
import { parseSearchArgs } from '../../../src/imap/search/parse.js';
import type { Store } from '../../../src/store/types.js';
import { openFixture, tokens, type Fixture, type TestMessage } from './helpers.js';

const MESSAGES: TestMessage[] = [
  { // uid 1
    headers: [
      'From: "John Smith" <john@example.com>',
      'To: Alice <alice@fjord.test>',
      'Cc: Bob Builder <bob@example.org>',
      'Subject: Hello world',
      'Date: Mon, 1 Jan 2024 10:00:00 +0000',
      'Message-ID: <m1@example.com>',
      'X-Mailer: Foo Mail 1.0',
    ],
    body: 'The quick brown fox jumps over the lazy dog.',
    flags: ['\\Seen'],
    internalDate: '2024-01-01T12:00:00Z',
  },
  { // uid 2
    headers: [
      'From: =?UTF-8?B?SsO2cmc=?= <jorg@example.de>',
      'To: alice@fjord.test',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=',
      'Date: Tue, 2 Jan 2024 23:30:00 -0800',
      'Message-ID: <m2@example.de>',
      'X-Folded: first part',
      '  second part',
    ],
    body: 'Bier und Brezel',
    flags: ['\\Flagged', '$Important'],
    internalDate: '2024-01-03T00:30:00Z',
  },
  { // uid 3
    headers: [
      'From: alice@fjord.test',
      'To: Team: carol@example.com, "Dave D." <dave@example.com>;',
      'Bcc: secret@example.net',
      'Subject: Re: Hello world',
      'Date: Wed, 3 Jan 2024 00:30:00 +0100',
      'Message-ID: <m3@fjord.test>',
      'In-Reply-To: <m1@example.com>',
      'References: <m1@example.com>',
    ],
    body: 'Reply body with a café.',
    flags: ['\\Answered', '\\Draft'],
    internalDate: '2024-01-02T23:59:59Z',
  },
  { // uid 4: no Date, no Subject, big
    headers: ['From: noreply@service.example', 'To: alice@fjord.test', 'Message-ID: <m4@service.example>'],
    body: Array.from({ length: 100 }, (_, i) => `line ${i} ` + 'x'.repeat(60)).join('\r\n'),
    flags: ['\\Deleted'],
    internalDate: '2024-02-10T00:00:00Z',
  },
  { // uid 5: unparsable Date
    headers: [
      'From: "Smith, Johnson" <jsmith@example.com>',
      'To: alice@fjord.test',
      'Subject: Meeting notes [2024]',
      'Date: garbage',
      'X-Priority: 1',
    ],
    body: 'notes about johnson and JOHNNY',
    flags: ['Work'],
    internalDate: '2024-03-01T00:00:00Z',
  },
  { // uid 6: 8-bit UTF-8 header, ISO-8859-1 encoded subject
    headers: [
      'From: Ünal Öztürk <unal@example.tr>',
      'To: alice@fjord.test',
      'Subject: =?ISO-8859-1?Q?caf=E9_cr=E8me?=',
      'Date: 3 Jan 2024 09:00 GMT',
      'X-Spam-Flag: YES',
    ],
    body: 'Ἀθῆναι text',
    internalDate: '2024-01-03T09:00:00Z',
  },
];

let fx: Fixture;
before(async () => {
  fx = await openFixture(MESSAGES);
  assert.deepEqual(fx.uids, [1, 2, 3, 4, 5, 6]);
});
after(async () => {
  await fx.close();
});

async function search(args: string, opts: { view?: number[]; saved?: number[] | null; literals?: string[]; store?: Store } = {}): Promise<number[]> {
  const p = parseSearchArgs(tokens(args, opts.literals ?? []), { esearch: true });
  if ('error' in p) throw new Error(p.error);
  const ctx = fx.ctx(opts);
  if (opts.store !== undefined) ctx.store = opts.store;
  return evaluateSearch(p.key, ctx);
}

async function expect(args: string, want: number[], opts: { view?: number[]; saved?: number[] | null; literals?: string[] } = {}) {
  assert.deepEqual(await search(args, opts), want, args);
}

test('flags', async () => {
  await expect('ALL', [1, 2, 3, 4, 5, 6]);
  await expect('ANSWERED', [3]);
  await expect('UNANSWERED', [1, 2, 4, 5, 6]);
  await expect('DELETED', [4]);
  await expect('UNDELETED', [1, 2, 3, 5, 6]);
  await expect('DRAFT', [3]);
  await expect('UNDRAFT', [1, 2, 4, 5, 6]);
  await expect('FLAGGED', [2]);
  await expect('UNFLAGGED', [1, 3, 4, 5, 6]);
  await expect('SEEN', [1]);
  await expect('UNSEEN', [2, 3, 4, 5, 6]);
  await expect('KEYWORD $Important', [2]);
  await expect('KEYWORD $IMPORTANT', [2]);
  await expect('KEYWORD work', [5]);
  await expect('KEYWORD Nothing', []);
  await expect('UNKEYWORD Work', [1, 2, 3, 4, 6]);
  await expect('RECENT', []);
  await expect('NEW', []);
  await expect('OLD', [1, 2, 3, 4, 5, 6]);
  await expect('NOT NEW', [1, 2, 3, 4, 5, 6]);
});

test('sizes', async () => {
  const sizes = new Map((await fx.store.listMessages(fx.mailboxId)).map((e) => [e.uid, e.size]));
  assert.ok(sizes.get(4)! > 6000 && [1, 2, 3, 5, 6].every((u) => sizes.get(u)! < 1000));
  await expect('LARGER 2000', [4]);
  await expect('SMALLER 2000', [1, 2, 3, 5, 6]);
  const s1 = sizes.get(1)!;
  assert.ok(![2, 3, 5, 6].some((u) => sizes.get(u) === s1));
  const smaller = [2, 3, 5, 6].filter((u) => sizes.get(u)! < s1);
  const larger = [2, 3, 4, 5, 6].filter((u) => sizes.get(u)! > s1);
  await expect(`LARGER ${s1}`, larger);
  await expect(`SMALLER ${s1}`, smaller);
  await expect(`LARGER ${s1 - 1}`, [1, ...larger].sort((a, b) => a - b));
  await expect(`SMALLER ${s1 + 1}`, [1, ...smaller].sort((a, b) => a - b));
  await expect('LARGER 0', [1, 2, 3, 4, 5, 6]);
  await expect('SMALLER 0', []);
});

test('INTERNALDATE keys use the UTC calendar date', async () => {
  await expect('ON 3-Jan-2024', [2, 6]);
  await expect('ON 2-jan-2024', [3]);
  await expect('BEFORE 3-Jan-2024', [1, 3]);
  await expect('SINCE 3-Jan-2024', [2, 4, 5, 6]);
  await expect('SINCE "1-Mar-2024"', [5]);
  await expect('BEFORE 1-Jan-2024', []);
  await expect('SINCE 2-Mar-2024', []);
});

test('SENT* keys use the date written in the Date header', async () => {
  // uid 2 is written 2-Jan (3-Jan in UTC); uid 3 is written 3-Jan (2-Jan in UTC); 4 has no
  // Date, 5 an unparsable one.
  await expect('SENTON 2-Jan-2024', [2]);
  await expect('SENTON 3-Jan-2024', [3, 6]);
  await expect('SENTON 1-Jan-2024', [1]);
  await expect('SENTBEFORE 3-Jan-2024', [1, 2]);
  await expect('SENTSINCE 2-Jan-2024', [2, 3, 6]);
  await expect('SENTSINCE 4-Jan-2024', []);
  await expect('NOT SENTON 1-Jan-2024', [2, 3, 4, 5, 6]);
  await expect('NOT SENTBEFORE 1-Jan-2100', [4, 5]);
});

test('FROM/TO/CC/BCC: case-insensitive substrings of names and addresses', async () => {
  await expect('FROM john', [1, 5]);
  await expect('FROM ohn', [1, 5]);
  await expect('FROM SMITH', [1, 5]);
  await expect('FROM "john@example.com"', [1]);
  await expect('FROM "<john@"', [1]);
  await expect('FROM "Smith <john"', [1]);
  await expect('FROM "n Smith"', [1]);
  await expect('FROM "Smith, Johnson"', [5]);
  await expect('FROM "h, j"', [5]);
  await expect('FROM "jörg"', [2]);
  await expect('FROM "JÖRG"', [2]);
  await expect('FROM {}', [2], { literals: ['Jörg <jorg@'] });
  await expect('FROM "example.de"', [2]);
  await expect('FROM "ünal öz"', [6]);
  await expect('FROM nobody', []);
  await expect('FROM "alice@fjord.test"', [3]);
  await expect('TO alice', [1, 2, 4, 5, 6]);
  await expect('TO team', [3]);
  await expect('TO "dave d."', [3]);
  await expect('TO "carol@example.com"', [3]);
  await expect('TO "Alice <alice@fjord.test>"', [1]);
  await expect('CC bob', [1]);
  await expect('CC "BUILDER <bob"', [1]);
  await expect('CC alice', []);
  await expect('BCC secret', [3]);
  await expect('BCC "@example.net"', [3]);
  await expect('CC ""', [1, 2, 3, 4, 5, 6]);
});

test('SUBJECT: decoded (RFC 2047, 8-bit and ISO-8859-1), UTF-8 search strings', async () => {
  await expect('SUBJECT hello', [1, 3]);
  await expect('SUBJECT "ELLO WOR"', [1, 3]);
  await expect('SUBJECT "re: hello"', [3]);
  await expect('SUBJECT "grüße"', [2]);
  await expect('SUBJECT {}', [2], { literals: ['MÜNCHEN'] });
  await expect('CHARSET UTF-8 SUBJECT "aus m"', [2]);
  await expect('SUBJECT "café crème"', [6]);
  await expect('SUBJECT "[2024]"', [5]);
  await expect('SUBJECT "2024]"', [5]);
  await expect('SUBJECT "hello  world"', []);
  await expect('SUBJECT ""', [1, 2, 3, 4, 5, 6]);
  await expect('SUBJECT =?UTF-8?', []);
});

test('HEADER: unfolded, decoded value of the named field', async () => {
  await expect('HEADER X-Mailer "foo mail"', [1]);
  await expect('HEADER x-mailer ""', [1]);
  // Unfolding removes the line break only: the continuation's two spaces stay.
  await expect('HEADER X-Folded "part  second"', [2]);
  await expect('HEADER X-Folded "first part  second part"', [2]);
  await expect('HEADER X-Folded "part second"', []);
  await expect('HEADER Subject "Grüße"', [2]);
  await expect('HEADER Subject "=?UTF-8?"', []);
  await expect('HEADER Message-ID "m3@"', [3]);
  await expect('HEADER In-Reply-To "<m1@example.com>"', [3]);
  await expect('HEADER X-Spam-Flag ""', [6]);
  await expect('HEADER X-Nothing ""', []);
  await expect('HEADER Date ""', [1, 2, 3, 5, 6]);
  await expect('HEADER From "Jörg <"', [2]);
  await expect('HEADER From "ohn"', [1, 5]);
  await expect('HEADER To "alice"', [1, 2, 4, 5, 6]);
  await expect('HEADER Subject ""', [1, 2, 3, 5, 6]);
});

test('TEXT and BODY use the full-text index (words, prefixes, no diacritics)', async () => {
  await expect('BODY fox', [1]);
  await expect('BODY qui', [1]);
  await expect('BODY "LAZY DOG"', [1]);
  await expect('BODY uick', []); // word semantics: not a substring search
  await expect('BODY hello', []);
  await expect('TEXT hello', [1, 3]);
  await expect('BODY CAFE', [3]);
  await expect('TEXT john', [1, 5]);
  await expect('TEXT "brezel bier"', [2]);
  await expect('BODY "brezel dog"', []);
  await expect('TEXT "example.tr"', [6]);
  await expect('BODY ""', [1, 2, 3, 4, 5, 6]);
});

test('UID sets, sequence sets, * and $', async () => {
  await expect('UID 2:4', [2, 3, 4]);
  await expect('UID 4:2', [2, 3, 4]);
  await expect('UID *', [6]);
  await expect('UID 5:*', [5, 6]);
  await expect('UID 100:*', [6]);
  await expect('UID 1,3,5,7:9', [1, 3, 5]);
  await expect('UID 1:*,2:3,1', [1, 2, 3, 4, 5, 6]);
  await expect('1:2', [1, 2]);
  await expect('*', [6]);
  await expect('2,4:5', [2, 4, 5]);
  await expect('5:*', [5, 6]);
  await expect('7:9', []);
  await expect('$', []);
  await expect('UID $', []);
  await expect('$', [1, 3], { saved: [1, 3, 9] });
  await expect('UID $', [2, 5], { saved: [2, 5] });
  await expect('NOT $', [2, 4, 5, 6], { saved: [1, 3] });
  await expect('$ SEEN', [1], { saved: [1, 3] });
});

test('only messages of the view count; * is the view\'s last message', async () => {
  const view = [1, 2, 3];
  await expect('ALL', [1, 2, 3], { view });
  await expect('*', [3], { view });
  await expect('2:*', [2, 3], { view });
  await expect('UID *', [3], { view });
  await expect('UID 3:*', [3], { view });
  await expect('FROM john', [1], { view });
  await expect('TEXT john', [1], { view });
  await expect('UID 1:*', [], { view: [] });
  await expect('*', [], { view: [] });
  await expect('ALL', [], { view: [] });
  // Sequence numbers follow the view: with messages 2 and 3 gone from it, seq 2 is uid 4.
  await expect('2', [4], { view: [1, 4, 5, 6] });
  await expect('2:3', [4, 5], { view: [1, 4, 5, 6] });
});

test('OR, NOT, lists and nesting', async () => {
  await expect('OR SEEN FLAGGED', [1, 2]);
  await expect('NOT OR SEEN FLAGGED', [3, 4, 5, 6]);
  await expect('OR (FROM john SUBJECT meeting) DELETED', [4, 5]);
  await expect('(OR ANSWERED DELETED) NOT DRAFT', [4]);
  await expect('NOT NOT SEEN', [1]);
  await expect('SUBJECT hello UNSEEN', [3]);
  await expect('OR SUBJECT hello BODY fox', [1, 3]);
  await expect('OR OR SEEN DRAFT FROM "ünal"', [1, 3, 6]);
  await expect('NOT (SINCE 2-Jan-2024 BEFORE 1-Feb-2024)', [1, 4, 5]);
  await expect('UNDELETED (OR HEADER X-Priority "" (FROM "jörg" FLAGGED)) NOT 1', [2, 5]);
  await expect('OR NOT SEEN NOT UNSEEN', [1, 2, 3, 4, 5, 6]);
  await expect('SEEN UNSEEN', []);
});

test('MODSEQ, EMAILID, THREADID', async () => {
  const entries = await fx.store.listMessages(fx.mailboxId);
  const byUid = new Map(entries.map((e) => [e.uid, e]));
  const m3 = byUid.get(3)!.modseq;
  await expect(`MODSEQ ${m3}`, entries.filter((e) => e.modseq >= m3).map((e) => e.uid));
  await expect('MODSEQ 0', [1, 2, 3, 4, 5, 6]);
  await expect('MODSEQ 9223372036854775807', []);
  await expect(`MODSEQ "/flags/\\\\seen" all ${m3}`, entries.filter((e) => e.modseq >= m3).map((e) => e.uid));
  await expect(`EMAILID ${byUid.get(3)!.emailId}`, [3]);
  await expect('EMAILID Mzzzzzz', []);
  const t1 = byUid.get(1)!.threadId;
  await expect(`THREADID ${t1}`, entries.filter((e) => e.threadId === t1).map((e) => e.uid));
  await expect('THREADID Tzzzzzz', []);
  const p = parseSearchArgs(tokens(`MODSEQ ${m3} UNSEEN`), { esearch: false });
  if ('error' in p) throw new Error(p.error);
  const r = await evaluateSearchDetailed(p.key, fx.ctx());
  const want = entries.filter((e) => e.modseq >= m3 && e.uid !== 1);
  assert.deepEqual(r.uids, want.map((e) => e.uid));
  assert.deepEqual([...r.modseqs!.entries()], want.map((e) => [e.uid, e.modseq]));
  const q = parseSearchArgs(tokens('NOT SEEN'), { esearch: false });
  if ('error' in q) throw new Error(q.error);
  assert.equal((await evaluateSearchDetailed(q.key, fx.ctx())).modseqs, null);
});

/** The store with getMessages/searchText calls recorded. */
function recording(store: Store) {
  const fetched: number[][] = [];
  const fts: string[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'getMessages') {
        return (mailboxId: number, uids: number[]) => {
          fetched.push(uids.slice());
          return target.getMessages(mailboxId, uids);
        };
      }
      if (prop === 'searchText') {
        return (mailboxId: number, query: string, where?: 'text' | 'body' | 'header') => {
          fts.push(`${where}:${query}`);
          return target.searchText(mailboxId, query, where);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { store: proxy, fetched, fts };
}

test('records are fetched only for candidates left by cheaper keys', async () => {
  const r = recording(fx.store);
  assert.deepEqual(await search('SUBJECT hello DELETED', { store: r.store }), []);
  assert.deepEqual(r.fetched, [[4]]);
  const r2 = recording(fx.store);
  assert.deepEqual(await search('FROM ohn UNSEEN UNDELETED', { store: r2.store }), [5]);
  assert.deepEqual(r2.fetched, [[2, 3, 5, 6]]);
  assert.deepEqual(r2.fts, []); // "ohn" may start inside a word: no prefilter
  const r3 = recording(fx.store);
  assert.deepEqual(await search('OR SEEN SUBJECT hello', { store: r3.store }), [1, 3]);
  assert.deepEqual(r3.fetched, [[2, 3, 4, 5, 6]]);
  const r4 = recording(fx.store);
  assert.deepEqual(await search('SEEN DRAFT FROM x', { store: r4.store }), []);
  assert.deepEqual(r4.fetched, []);
});

test('the header full-text prefilter uses only words that cannot start mid-word', async () => {
  const r = recording(fx.store);
  assert.deepEqual(await search('FROM "John Smith"', { store: r.store }), [1]);
  assert.deepEqual(r.fts, ['header:Smith']);
  assert.deepEqual(r.fetched, [[1, 5]]);
  const r2 = recording(fx.store);
  assert.deepEqual(await search('HEADER X-Mailer "foo mail"', { store: r2.store }), [1]);
  assert.deepEqual(r2.fts, ['header:x mailer mail']);
  assert.deepEqual(r2.fetched, [[1]]);
  const r3 = recording(fx.store);
  assert.deepEqual(await search('SUBJECT "aus München"', { store: r3.store }), [2]);
  assert.deepEqual(r3.fts, []); // non-ASCII: no prefilter
  assert.deepEqual(r3.fetched, [[1, 2, 3, 4, 5, 6]]);
});

test('messages too big for a complete header index are never prefiltered out', async () => {
  const big = await openFixture([
    { headers: ['From: John Smith <john@example.com>', 'Subject: small'], body: 'hi' },
    { headers: ['From: Other <other@example.com>', 'Subject: big'], body: 'y'.repeat(200 * 1024) },
  ]);
  try {
    const r = recording(big.store);
    const p = parseSearchArgs(tokens('FROM "n Smith"'), { esearch: false });
    if ('error' in p) throw new Error(p.error);
    const ctx = big.ctx();
    ctx.store = r.store;
    assert.deepEqual(await evaluateSearch(p.key, ctx), [1]);
    assert.deepEqual(r.fetched, [[1, 2]]);
  } finally {
    await big.close();
  }
});

test('messages expunged from the store but still in the view match nothing', async () => {
  const f = await openFixture([
    { headers: ['From: a@example.com', 'Subject: one'], body: 'x', flags: ['\\Deleted'] },
    { headers: ['From: b@example.com', 'Subject: two'], body: 'x' },
  ]);
  try {
    const view = f.uids.slice();
    assert.deepEqual(await f.store.expunge(f.mailboxId), [1]);
    const run = async (args: string) => {
      const p = parseSearchArgs(tokens(args), { esearch: false });
      if ('error' in p) throw new Error(p.error);
      return evaluateSearch(p.key, f.ctx({ view }));
    };
    assert.deepEqual(await run('ALL'), [2]);
    assert.deepEqual(await run('SUBJECT o'), [2]);
    assert.deepEqual(await run('NOT SUBJECT two'), []);
    assert.deepEqual(await run('1'), []);
  } finally {
    await f.close();
  }
});

test('end to end: UID SEARCH RETURN (...) with MODSEQ to an ESEARCH line', async () => {
  const { formatEsearchResponse, formatSearchResponse } = await import('../../../src/imap/search/respond.js');
  const entries = await fx.store.listMessages(fx.mailboxId);
  const ms = new Map(entries.map((e) => [e.uid, e.modseq]));
  const p = parseSearchArgs(tokens('RETURN (MIN MAX COUNT ALL) MODSEQ 1 NOT 4'), { esearch: true });
  if ('error' in p || p.returnOpts === null) throw new Error('parse');
  const r = await evaluateSearchDetailed(p.key, fx.ctx());
  assert.deepEqual(r.uids, [1, 2, 3, 5, 6]);
  const top = Math.max(...[1, 2, 3, 5, 6].map((u) => ms.get(u)!));
  assert.equal(formatEsearchResponse(r.uids, { tag: 'A1', uid: true, view: fx.uids, returnOpts: p.returnOpts, modseqs: r.modseqs }),
    `* ESEARCH (TAG "A1") UID MIN 1 MAX 6 COUNT 5 ALL 1:3,5:6 MODSEQ ${top}`);
  assert.equal(formatSearchResponse(r.uids, { uid: false, view: [1, 2, 3, 5, 6], modseqs: r.modseqs }), `* SEARCH 1 2 3 4 5 (MODSEQ ${top})`);
  assert.equal(formatEsearchResponse(r.uids, { tag: 'A1', uid: false, view: fx.uids, returnOpts: { min: false, max: true, all: false, count: false, save: false }, modseqs: r.modseqs }),
    `* ESEARCH (TAG "A1") MAX 6 MODSEQ ${ms.get(6)}`);
});
