import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feed, pushDrain, failure } from './feed.js';
import { CommandReader, DEFAULT_LIMITS } from '../../src/imap/parser/index.js';

test('defaults', () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, {
    maxLineLength: 65536,
    maxLiteralSize: 52428800,
    maxCommandSize: 67108864,
    maxDepth: 32,
    maxLiterals: 64,
  });
  assert.throws(() => new CommandReader({ maxDepth: 0 }), RangeError);
});

test('line too long without a line end is fatal and memory stays bounded', () => {
  const reader = new CommandReader({ maxLineLength: 1024 });
  const chunk = Buffer.alloc(100, 0x61);
  let fatal = 0;
  for (let i = 0; i < 10_000; i++) {
    for (const r of pushDrain(reader, chunk)) if (r.kind === 'fatal') fatal++;
    assert.ok(reader.bufferedBytes <= 1025);
  }
  assert.equal(fatal, 1);
  assert.equal(reader.bufferedBytes, 0);
});

test('line length limit counts text across literal segments', () => {
  const parts = Array.from({ length: 5 }, () => `${'x'.repeat(300)} {1}\r\nz`).join(' ');
  const f = feed(`a X ${parts}\r\n`, { maxLineLength: 1000 });
  assert.equal(f.results.at(-1)!.kind, 'fatal');
  assert.equal(feed(`a X ${'x'.repeat(990)}\r\n`, { maxLineLength: 1000 }).results[0]!.kind, 'command');
});

test('synchronising literal over the limit: tagged NO [TOOBIG], no wait, no continuation', () => {
  const f = feed('a APPEND INBOX {1001}\r\nb NOOP\r\n', { maxLiteralSize: 1000 });
  assert.deepEqual(f.results[0], { kind: 'error', tag: 'a', error: 'NO', code: 'TOOBIG', text: 'Literal too big' });
  assert.equal(f.results[1]!.kind === 'command' && f.results[1]!.command.tag, 'b');
  assert.equal(f.continuations.length, 0);
  // Absurd sizes are just "too big".
  assert.equal(failure('a APPEND INBOX {99999999999999999999999}\r\n').kind, 'error');
});

test('LITERAL+ over the limit is fatal (RFC 7888: reject and close)', () => {
  const f = feed('a APPEND INBOX {1001+}\r\n' + 'x'.repeat(1001) + '\r\n', { maxLiteralSize: 1000 });
  assert.deepEqual(f.results, [{ kind: 'fatal', text: 'Literal too big' }]);
  assert.equal(f.reader.bufferedBytes, 0);
});

test('total command size counts all literals', () => {
  const f = feed('a X {600}\r\n' + 'x'.repeat(600) + ' {600}\r\nb NOOP\r\n', { maxCommandSize: 1000 });
  assert.deepEqual(f.results.map((r) => r.kind), ['error', 'command']);
  assert.equal(f.results[0]!.kind === 'error' && f.results[0]!.code, 'TOOBIG');
});

test('too many literals', () => {
  const lits = '{1}\r\nx '.repeat(4);
  const ok = feed(`a X ${lits}y\r\n`, { maxLiterals: 4 });
  assert.equal(ok.results[0]!.kind, 'command');
  const f = feed(`a X ${lits}{1}\r\nb NOOP\r\n`, { maxLiterals: 4 });
  assert.deepEqual(f.results[0], { kind: 'error', tag: 'a', error: 'BAD', code: 'LIMIT', text: 'Too many literals in command' });
  assert.equal(f.results[1]!.kind, 'command');
  assert.equal(feed(`a X ${lits}{1+}\r\nx\r\n`, { maxLiterals: 4 }).results[0]!.kind, 'fatal');
});

test('nesting depth', () => {
  const nest = (n: number) => `a X ${'('.repeat(n)}${')'.repeat(n)}\r\n`;
  assert.equal(feed(nest(32)).results[0]!.kind, 'command');
  const r = failure(nest(33));
  assert.equal(r.kind === 'error' && r.text, 'Lists nested too deeply');
  // Deep nesting up to the line limit must not overflow the stack.
  assert.equal(failure(nest(30_000)).kind, 'error');
});

test('huge literal is buffered only as far as it has arrived', () => {
  const reader = new CommandReader();
  pushDrain(reader, 'a APPEND INBOX {50000000+}\r\n');
  pushDrain(reader, Buffer.alloc(1000));
  assert.ok(reader.bufferedBytes < 2000);
  assert.equal(reader.literalBytesRemaining, 50_000_000 - 1000);
});

test('1-byte chunks: memory stays proportional to bytes held', () => {
  const reader = new CommandReader({ maxLineLength: 4096 });
  const before = process.memoryUsage().arrayBuffers;
  for (const b of Buffer.from(`a X ${'y'.repeat(4000)}`)) pushDrain(reader, Buffer.from([b]));
  assert.equal(reader.bufferedBytes, 4004);
  assert.ok(process.memoryUsage().arrayBuffers - before < 1_000_000);
  const r = pushDrain(reader, '\r\n');
  assert.equal(r[0]!.kind, 'command');
  assert.equal(reader.bufferedBytes, 0);
});

test('large APPEND literal in socket-sized chunks is exact and quick', () => {
  const size = 8 * 1024 * 1024;
  const body = Buffer.alloc(size, 0x41);
  body.write('\r\n', 100);
  const input = Buffer.concat([Buffer.from(`a APPEND INBOX {${size}}\r\n`), body, Buffer.from('\r\n')]);
  const started = Date.now();
  const f = feed(input, {}, [65536]);
  assert.ok(Date.now() - started < 2000);
  const r = f.results[0]!;
  assert.equal(f.results.length, 1);
  assert.ok(r.kind === 'command' && r.command.args[1]!.type === 'literal' && r.command.args[1]!.value.equals(body));
});
