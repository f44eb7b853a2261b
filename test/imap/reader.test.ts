import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feed, pushDrain, prng } from './feed.js';
import { CommandReader } from '../../src/imap/parser/index.js';

const STREAM =
  'a1 LOGIN {4}\r\nuser {6+}\r\np\x00ss\r\n\r\n' + // NUL inside a literal: BAD but stream stays in sync
  'a2 SELECT "INBOX"\n' +
  'a3 APPEND INBOX (\\Seen) {21}\r\nSubject: hi\r\n\r\nbody\r\n\r\n' +
  'a4 UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From)] BINARY[1]<0.10>)\r\n' +
  'a5 SEARCH CHARSET UTF-8 SUBJECT {4+}\r\nGrüß\r\n' + // wrong count on purpose: ü/ß are 2 bytes each
  'a6 APPEND X ~{3}\r\n\x00\r\n\r\n' +
  'a7 NOOP\r\n';

test('same results for any chunking: whole, byte-by-byte, random sizes', () => {
  const whole = feed(STREAM);
  // a5's literal holds only "Gr\xc3\xbc"; the "ß" glued after it makes a5 BAD.
  assert.deepEqual(
    whole.results.map((r) => (r.kind === 'command' ? r.command.tag : `${r.kind}`)),
    ['error', 'a2', 'a3', 'a4', 'error', 'a6', 'a7'],
  );
  assert.deepEqual(feed(STREAM, {}, [1]).results, whole.results);
  const rand = prng(42);
  for (let k = 0; k < 200; k++) {
    const sizes = Array.from({ length: 7 }, () => 1 + Math.floor(rand() * 30));
    assert.deepEqual(feed(STREAM, {}, sizes).results, whole.results, `sizes ${sizes}`);
  }
});

test('continuation requested exactly once per synchronising literal, never for LITERAL+', () => {
  for (const sizes of [[], [1], [3, 7]]) {
    const f = feed('a LOGIN {4}\r\nuser {6}\r\npasswd\r\nb X {2+}\r\nab ~{1}\r\nc\r\n', {}, sizes);
    assert.deepEqual(f.continuations, [
      { tag: 'a', size: 4, binary: false },
      { tag: 'a', size: 6, binary: false },
      { tag: 'b', size: 1, binary: true },
    ]);
    assert.deepEqual(f.results.map((r) => r.kind), ['command', 'command']);
  }
});

test('continuation is requested before the literal bytes arrive', () => {
  const seen: string[] = [];
  const reader = new CommandReader({ onContinuationNeeded: (r) => void seen.push(`${r.tag}:${r.size}`) });
  assert.deepEqual(pushDrain(reader, 'a LOGIN {4}\r\n'), []);
  assert.deepEqual(seen, ['a:4']);
  assert.equal(reader.state, 'literal');
  assert.equal(reader.literalBytesRemaining, 4);
  assert.deepEqual(pushDrain(reader, 'user x\r\n').map((r) => r.kind), ['command']);
  assert.deepEqual(seen, ['a:4']);
});

test('server may refuse a synchronising literal; reader does not wait for its bytes', () => {
  const f = feed('a APPEND INBOX {10}\r\nb NOOP\r\n', { onContinuationNeeded: () => false });
  assert.deepEqual(f.results[0], { kind: 'error', tag: 'a', error: 'NO', text: 'Literal refused' });
  assert.equal(f.results[1]!.kind === 'command' && f.results[1]!.command.name, 'NOOP');
});

test('bare LF and CRLF both end lines; blank lines are ignored', () => {
  const f = feed('a NOOP\n\r\n\nb NOOP\r\n');
  assert.deepEqual(f.results.map((r) => r.kind === 'command' && r.command.tag), ['a', 'b']);
});

test('need-more-data is an empty result and nothing is lost', () => {
  const reader = new CommandReader();
  assert.deepEqual(pushDrain(reader, 'a SEL'), []);
  assert.deepEqual(pushDrain(reader, 'ECT INBOX\r'), []);
  const r = pushDrain(reader, '\n');
  assert.equal(r.length, 1);
  assert.equal(r[0]!.kind === 'command' && r[0]!.command.name, 'SELECT');
  assert.equal(reader.bufferedBytes, 0);
});

test('pull one result at a time; continuation fires only when the reader gets there', () => {
  const seen: number[] = [];
  const reader = new CommandReader({ onContinuationNeeded: (r) => void seen.push(r.size) });
  reader.push(Buffer.from('a NOOP\r\nb LOGIN {1}\r\n'));
  assert.equal(reader.pendingInputBytes, 21);
  const first = reader.next();
  assert.equal(first?.kind === 'command' && first.command.tag, 'a');
  assert.deepEqual(seen, []); // b's literal not reached yet: no premature "+ Ready"
  assert.equal(reader.next(), null);
  assert.deepEqual(seen, [1]);
  assert.equal(reader.pendingInputBytes, 0);
});

test('nextLine() reads IDLE DONE and AUTHENTICATE responses raw', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a IDLE\r\nDONE\r\ndGVzdA==\nb NOOP\r\n'));
  const idle = reader.next();
  assert.equal(idle?.kind === 'command' && idle.command.name, 'IDLE');
  assert.deepEqual(reader.nextLine(), { kind: 'line', data: Buffer.from('DONE') });
  assert.deepEqual(reader.nextLine(), { kind: 'line', data: Buffer.from('dGVzdA==') });
  const noop = reader.next();
  assert.equal(noop?.kind === 'command' && noop.command.tag, 'b');
  assert.equal(reader.nextLine(), null);
  reader.push(Buffer.from('{5}\r\n'));
  assert.deepEqual(reader.nextLine(), { kind: 'line', data: Buffer.from('{5}') }); // no literal handling
  reader.push(Buffer.from('x'.repeat(70_000)));
  assert.deepEqual(reader.nextLine(), { kind: 'fatal', text: 'Command line too long' });
});

test('discardInput() drops plaintext pipelined after STARTTLS', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a STARTTLS\r\nb LOGIN injected pw\r\nc NOO'));
  const r = reader.next();
  assert.equal(r?.kind === 'command' && r.command.name, 'STARTTLS');
  reader.discardInput();
  assert.equal(reader.pendingInputBytes + reader.bufferedBytes, 0);
  reader.push(Buffer.from('d CAPABILITY\r\n'));
  assert.deepEqual(reader.drain().map((x) => x.kind === 'command' && x.command.tag), ['d']);
});
