import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseSubject, extractBaseSubject } from '../../../src/imap/search/sort.js';

// [input, base subject, is reply or forward] — each derived from a rule of RFC 5256 §2.1.
const VECTORS: [string, string, boolean][] = [
  // (1) whitespace: tabs and continuations become spaces, runs collapse
  ['Hello world', 'Hello world', false],
  ['Hello \t  world', 'Hello world', false],
  ['Hello\r\n world', 'Hello world', false],
  ['  Hello world  ', 'Hello world', false],
  ['', '', false],
  ['   ', '', false],
  // (2) trailers: "(fwd)" and whitespace, repeatedly, case-insensitive
  ['Hello (fwd)', 'Hello', true],
  ['Hello (FWD) (fwd)  ', 'Hello', true],
  ['Hello(fwd)', 'Hello', true],
  ['Hello (fwd) x', 'Hello (fwd) x', false],
  ['(fwd)', '', true],
  // (3) leaders: re / fw / fwd, optional whitespace and blob before the colon
  ['Re: Hello', 'Hello', true],
  ['RE: Hello', 'Hello', true],
  ['re:Hello', 'Hello', true],
  ['Re : Hello', 'Hello', true],
  ['Fw: Hello', 'Hello', true],
  ['FWD: Hello', 'Hello', true],
  ['Fwd:Re: Re:  Hello', 'Hello', true],
  ['Re[2]: Hello', 'Hello', true],
  ['Re [2] : Hello', 'Hello', true],
  ['Re[2][3]: Hello', 'Re[2][3]: Hello', false],
  ['Ref: Hello', 'Ref: Hello', false],
  ['Reply: Hello', 'Reply: Hello', false],
  ['Aw: Hello', 'Aw: Hello', false],
  ['Fwdd: Hello', 'Fwdd: Hello', false],
  ['Re Hello', 'Re Hello', false],
  ['Re:', '', true],
  // blobs before a refwd belong to the leader
  ['[list] Re: Hello', 'Hello', true],
  ['[a][b] Re: [c] Fwd: Hello', 'Hello', true],
  // (4) a leading blob goes only when something non-empty remains
  ['[list] Hello', 'Hello', false],
  ['[list]Hello', 'Hello', false],
  ['[a] [b] Hello', 'Hello', false],
  ['[list]', '[list]', false],
  ['[a] [b]', '[b]', false],
  ['[list]   ', '[list]', false],
  ['[] Hello', 'Hello', false],
  ['[unclosed Hello', '[unclosed Hello', false],
  ['Hello [list]', 'Hello [list]', false],
  ['[PATCH v2 1/3] Fix it', 'Fix it', false],
  // (5) leaders and blobs alternate until none applies
  ['[list] Re: [list] Re: Hello', 'Hello', true],
  ['Re: [list] Hello', 'Hello', true],
  // (6) [fwd: ...] wrapper, then again from (2)
  ['[Fwd: Hello]', 'Hello', true],
  ['[fwd: Re: Hello (fwd)]', 'Hello', true],
  ['Re: [Fwd: Re: Hello]', 'Hello', true],
  ['[Fwd: [Fwd: Hello]]', 'Hello', true],
  ['[fwd: Hello] x', 'x', false],
  ['[fwd:]', '', true],
  ['[fwd: Hello', '[fwd: Hello', false],
  // Non-ASCII text is kept (case preserved; comparisons use the collation)
  ['Re: Grüße aus München', 'Grüße aus München', true],
  ['[日本] Re: こんにちは', 'こんにちは', true],
];

test('RFC 5256 base subject vectors', () => {
  for (const [input, base, reply] of VECTORS) {
    assert.deepEqual(extractBaseSubject(input), { base, isReplyOrForward: reply }, JSON.stringify(input));
    assert.equal(baseSubject(input), base);
  }
});
