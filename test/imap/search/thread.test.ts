import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatThread, formatThreadResponse, parseThreadArgs, threadByOrderedSubject, threadByReferences, threadMessages,
  type ThreadInput, type ThreadNode,
} from '../../../src/imap/search/thread.js';
import { sequenceNumberOf } from '../../../src/imap/search/respond.js';
import { openFixture, tokens } from './helpers.js';

const n = (uid: number | null, ...children: ThreadNode[]): ThreadNode => ({ uid, children });

test('formatThread follows the RFC 5256 grammar', () => {
  assert.equal(formatThread([]), '');
  assert.equal(formatThread([n(1)]), '(1)');
  assert.equal(formatThread([n(1, n(2))]), '(1 2)');
  assert.equal(formatThread([n(1, n(2, n(3)))]), '(1 2 3)');
  assert.equal(formatThread([n(3, n(4), n(5))]), '(3 (4)(5))');
  assert.equal(formatThread([n(1, n(2)), n(3, n(4), n(5))]), '(1 2)(3 (4)(5))');
  // The RFC 5256 §4 example: (2)(3 6 (4 23)(44 7 96))
  assert.equal(formatThread([n(2), n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))))]), '(2)(3 6 (4 23)(44 7 96))');
  // Dummy parents: only their children appear.
  assert.equal(formatThread([n(null, n(1), n(2))]), '((1)(2))');
  assert.equal(formatThread([n(null, n(1, n(2)), n(3))]), '((1 2)(3))');
  assert.equal(formatThread([n(null, n(1, n(2), n(5)), n(3))]), '((1 (2)(5))(3))');
  assert.equal(formatThread([n(null, n(7))]), '(7)');
  assert.equal(formatThread([n(null)]), '');
  // The RFC 5256 §4 THREAD=REFERENCES example response, rebuilt from its tree.
  const rfc = [
    n(166), n(167), n(168), n(169), n(172), n(null, n(170), n(179)), n(171), n(173),
    n(null, n(174), n(175), n(176), n(178), n(181), n(180)),
    n(null, n(177), n(183), n(182), n(188, n(184), n(189)), n(185, n(186)), n(187)),
    n(190), n(191), n(192), n(193), n(null, n(194), n(195, n(196))), n(197, n(198)), n(199), n(200, n(202)), n(201),
    n(203), n(204), n(205, n(206, n(207))), n(208),
  ];
  assert.equal(formatThreadResponse(rfc), '* THREAD (166)(167)(168)(169)(172)((170)(179))(171)(173)((174)(175)(176)(178)(181)(180))' +
    '((177)(183)(182)(188 (184)(189))(185 186)(187))(190)(191)(192)(193)((194)(195 196))(197 198)(199)(200 202)(201)(203)(204)' +
    '(205 206 207)(208)');
  assert.equal(formatThread([n(10, n(20))], (uid) => uid / 10), '(1 2)');
  assert.equal(formatThreadResponse([n(1, n(2))]), '* THREAD (1 2)');
  assert.equal(formatThreadResponse([]), '* THREAD');
});

test('formatThread handles very long reply chains', () => {
  let node = n(5000);
  for (let i = 4999; i >= 1; i--) node = n(i, node);
  const text = formatThread([node]);
  assert.equal(text, '(' + Array.from({ length: 5000 }, (_, i) => i + 1).join(' ') + ')');
});

let clock = Date.UTC(2024, 0, 1);
function msg(uid: number, o: Partial<ThreadInput> = {}): ThreadInput {
  clock += 60000;
  return { uid, messageId: `m${uid}@x`, references: [], inReplyTo: [], subject: `subject ${uid}`, sentDate: clock, ...o };
}
const refs = (list: ThreadInput[]) => formatThread(threadByReferences(list));

test('REFERENCES: reply chains and branches', () => {
  assert.equal(refs([
    msg(1),
    msg(2, { references: ['m1@x'] }),
    msg(3, { references: ['m1@x', 'm2@x'] }),
  ]), '(1 2 3)');
  assert.equal(refs([
    msg(1),
    msg(2, { references: ['m1@x'] }),
    msg(3, { references: ['m1@x'] }),
    msg(4, { references: ['m1@x', 'm3@x'] }),
  ]), '(1 (2)(3 4))');
  // In-Reply-To is used when there are no References; References win over In-Reply-To.
  assert.equal(refs([
    msg(1),
    msg(2, { inReplyTo: ['m1@x', 'm9@x'] }),
    msg(3, { references: ['m2@x'], inReplyTo: ['m1@x'] }),
  ]), '(1 2 3)');
  // Message ids are case-sensitive.
  assert.equal(refs([msg(1, { messageId: 'Abc@x' }), msg(2, { references: ['abc@x'] })]), '(1)(2)');
});

test('REFERENCES: missing parents become dummies, pruned per step 3', () => {
  // Two replies to a missing message: a dummy at the top keeps them together.
  assert.equal(refs([msg(1, { references: ['gone@x'] }), msg(2, { references: ['gone@x'] })]), '((1)(2))');
  // One reply to a missing message: the dummy is dropped (so the reply, not a dummy, meets
  // the original by subject in step 5).
  assert.equal(refs([msg(1, { references: ['gone@x'] })]), '(1)');
  assert.equal(refs([msg(1, { references: ['gone@x'], subject: 'Re: X' }), msg(2, { subject: 'X' })]), '(2 1)');
  // A missing message in the middle of a chain: its child moves up to the grandparent.
  assert.equal(refs([msg(1), msg(2, { references: ['m1@x', 'gone@x'] })]), '(1 2)');
  assert.equal(refs([
    msg(1),
    msg(2, { references: ['m1@x', 'gone@x'] }),
    msg(3, { references: ['m1@x', 'gone@x'] }),
  ]), '(1 (2)(3))');
  // Missing ancestors two levels up: the dummies collapse to one level under the top dummy.
  assert.equal(refs([
    msg(1, { references: ['a@x', 'b@x'] }),
    msg(2, { references: ['a@x', 'c@x'] }),
  ]), '((1)(2))');
  // Messages without or with duplicate Message-ID.
  assert.equal(refs([
    msg(1),
    msg(2, { messageId: 'm1@x' }),
    msg(3, { messageId: null, references: ['m1@x'] }),
    msg(4, { references: ['m1@x'] }),
  ]), '(1 (3)(4))(2)');
});

test('REFERENCES: the last reference wins over links made by other messages', () => {
  // 3 says its parent is 1; 4's truncated References claim 2 -> 3, which must not override it.
  assert.equal(refs([
    msg(1),
    msg(2),
    msg(3, { references: ['m1@x'] }),
    msg(4, { references: ['m2@x', 'm3@x'] }),
  ]), '(1 3 4)(2)');
  // Same when the wrong link is seen first.
  assert.equal(refs([
    msg(1),
    msg(2),
    msg(4, { references: ['m2@x', 'm3@x'] }),
    msg(3, { references: ['m1@x'] }),
  ]), '(1 3 4)(2)');
  // A message without references loses a parent assigned by another message's References.
  assert.equal(refs([msg(1), msg(2, { references: ['m1@x', 'm3@x'] }), msg(3)]), '(1)(3 2)');
});

test('REFERENCES: loops are never created', () => {
  assert.equal(refs([msg(1, { references: ['m2@x'] }), msg(2, { references: ['m1@x'] })]), '(2 1)');
  assert.equal(refs([msg(1, { references: ['m1@x'] })]), '(1)');
  // Bogus self-references: (A) makes 2 the parent of 1 before (B) refuses the loop.
  assert.equal(refs([msg(1), msg(2, { references: ['m2@x', 'm1@x', 'm2@x'] })]), '(2 1)');
});

test('REFERENCES: threads with the same base subject are gathered (step 5)', () => {
  // A reply by subject only becomes a child of the original.
  assert.equal(refs([msg(1, { subject: 'Hello' }), msg(2, { subject: 'Re: hello' })]), '(1 2)');
  assert.equal(refs([msg(1, { subject: 'Re: Hello' }), msg(2, { subject: 'hello' })]), '(2 1)');
  // Two originals with the same subject: siblings under a new dummy.
  assert.equal(refs([msg(1, { subject: 'Hello' }), msg(2, { subject: '[list] Hello' })]), '((1)(2))');
  // Two replies with the same subject: likewise.
  assert.equal(refs([msg(1, { subject: 'Re: Hello' }), msg(2, { subject: 'Fwd: Hello' })]), '((1)(2))');
  // A dummy top (two replies to a missing message) takes in a thread with its subject.
  assert.equal(refs([
    msg(1, { subject: 'Re: Party', references: ['gone@x'] }),
    msg(2, { subject: 'Re: Party', references: ['gone@x'] }),
    msg(3, { subject: 'Party' }),
  ]), '((1)(2)(3))');
  // Two dummies with the same subject merge their children.
  assert.equal(refs([
    msg(1, { subject: 'Re: Party', references: ['gone@x'] }),
    msg(2, { subject: 'Re: Party', references: ['gone@x'] }),
    msg(3, { subject: 'Re: Party', references: ['lost@x'] }),
    msg(4, { subject: 'Re: Party', references: ['lost@x'] }),
  ]), '((1)(2)(3)(4))');
  // Empty base subjects are never gathered.
  assert.equal(refs([msg(1, { subject: '' }), msg(2, { subject: 'Re:' })]), '(1)(2)');
  // Only top-level messages take part: a reply deep in a thread is not moved.
  assert.equal(refs([
    msg(1, { subject: 'Hello' }),
    msg(2, { subject: 'Other', references: ['m1@x'] }),
    msg(3, { subject: 'Re: Other' }),
  ]), '(1 2)(3)');
});

test('REFERENCES: ordering by sent date, ties by sequence number', () => {
  const t = Date.UTC(2024, 1, 1);
  assert.equal(refs([
    msg(1, { sentDate: t + 3000 }),
    msg(2, { sentDate: t + 1000 }),
    msg(3, { sentDate: t + 2000, references: ['m1@x'] }),
    msg(4, { sentDate: t + 500, references: ['m1@x'] }),
    msg(5, { sentDate: t + 2000, references: ['m1@x'] }),
  ]), '(2)(1 (4)(3)(5))');
  // A dummy top sorts by its first child.
  assert.equal(refs([
    msg(1, { sentDate: t + 5000 }),
    msg(2, { sentDate: t + 4000, references: ['gone@x'] }),
    msg(3, { sentDate: t + 3000, references: ['gone@x'] }),
  ]), '((3)(2))(1)');
  // Equal dates: sequence (UID) order, whatever the input order.
  assert.equal(refs([msg(9, { sentDate: t }), msg(4, { sentDate: t }), msg(6, { sentDate: t })]), '(4)(6)(9)');
});

test('ORDEREDSUBJECT', () => {
  const t = Date.UTC(2024, 2, 1);
  const list = [
    msg(1, { subject: 'Hello', sentDate: t + 2000 }),
    msg(2, { subject: 'Re: hello', sentDate: t + 3000 }),
    msg(3, { subject: 'Other', sentDate: t + 500 }),
    msg(4, { subject: 'Fwd: HELLO', sentDate: t + 1000 }),
    msg(5, { subject: 'single', sentDate: t + 9000 }),
    msg(6, { subject: 're: other', sentDate: t + 500 }),
  ];
  assert.equal(formatThread(threadByOrderedSubject(list)), '(3 6)(4 (1)(2))(5)');
  // References are ignored.
  assert.equal(formatThread(threadByOrderedSubject([msg(1, { subject: 'a' }), msg(2, { subject: 'b', references: ['m1@x'] })])), '(1)(2)');
  assert.equal(formatThread(threadByOrderedSubject([])), '');
});

test('parseThreadArgs', () => {
  assert.deepEqual(parseThreadArgs(tokens('REFERENCES UTF-8 ALL')), { algorithm: 'references', charset: 'UTF-8', key: { type: 'all' } });
  assert.deepEqual(parseThreadArgs(tokens('orderedsubject us-ascii SEEN')),
    { algorithm: 'orderedsubject', charset: 'US-ASCII', key: { type: 'flag', flag: '\\Seen', set: true } });
  assert.deepEqual(parseThreadArgs(tokens('REFS UTF-8 ALL')), { error: 'Unsupported threading algorithm' });
  assert.equal((parseThreadArgs(tokens('REFERENCES KOI8-R ALL')) as { code?: string }).code, 'BADCHARSET');
  assert.match((parseThreadArgs(tokens('REFERENCES UTF-8')) as { error: string }).error, /Missing search criteria/);
});

test('THREAD against the store: References from the raw header, In-Reply-To from the envelope', async () => {
  const fx = await openFixture([
    { headers: ['Message-ID: <root@x>', 'Subject: Plan', 'Date: Mon, 1 Jan 2024 10:00:00 +0000'], body: '1' },
    { // folded References, reply to a missing message in the middle
      headers: ['Message-ID: <r2@x>', 'Subject: Re: Plan', 'Date: Mon, 1 Jan 2024 12:00:00 +0000',
        'References: <root@x>', '   <missing@x>'], body: '2' },
    { headers: ['Message-ID: <r1@x>', 'Subject: Re: Plan', 'Date: Mon, 1 Jan 2024 11:00:00 +0000', 'In-Reply-To: <root@x>'], body: '3' },
    { headers: ['Message-ID: <other@x>', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'Date: Sun, 31 Dec 2023 09:00:00 +0000'], body: '4' },
    { headers: ['Message-ID: <r3@x>', 'Subject: Re: =?UTF-8?Q?GR=C3=9C=C3=9FE?=', 'Date: Tue, 2 Jan 2024 09:00:00 +0000'], body: '5' },
    { // no Date: INTERNALDATE is the sent date
      headers: ['Message-ID: <late@x>', 'Subject: Late', 'References: <r2@x>'], body: '6', internalDate: '2023-06-01T00:00:00Z' },
  ]);
  try {
    const ctx = fx.ctx();
    assert.equal(formatThread(await threadMessages(fx.uids, 'references', ctx)), '(4 5)(1 (3)(2 6))');
    assert.equal(formatThread(await threadMessages(fx.uids, 'orderedsubject', ctx)), '(6)(4 5)(1 (3)(2))');
    // A subset (e.g. a search result); sequence numbers of a view where uid 1 is gone.
    const view = [2, 3, 4, 5, 6];
    const tree = await threadMessages([2, 3, 6], 'references', fx.ctx({ view }));
    assert.equal(formatThreadResponse(tree, (uid) => sequenceNumberOf(view, uid)), '* THREAD ((2)(1 5))');
  } finally {
    await fx.close();
  }
});
