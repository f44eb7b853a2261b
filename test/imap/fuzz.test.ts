// Seeded fuzzing: random and mutated commands in random chunkings must never throw,
// hang, over-emit or break resynchronisation. Reproduce a failure from its printed seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feed, pushDrain, prng } from './feed.js';
import type { CommandReaderOptions, ParseResult } from '../../src/imap/parser/index.js';

const CORPUS = [
  'a1 LOGIN "user@example.com" "pa\\"ss\\\\word"\r\n',
  'a2 LOGIN {4}\r\nuser {8+}\r\npassword\r\n',
  'a3 SELECT INBOX (CONDSTORE)\r\n',
  'a4 FETCH 1:*,3,5:7 (FLAGS UID BODY.PEEK[HEADER.FIELDS (From To "Subject")] BODY[1.2.MIME]<0.100>)\r\n',
  'a5 UID FETCH 100:* (BINARY.PEEK[1]<0.2048> BINARY.SIZE[2] MODSEQ) (CHANGEDSINCE 12345678901)\r\n',
  'a6 STORE 2:4 +FLAGS.SILENT (\\Seen \\Flagged $Label1)\r\n',
  'a7 SEARCH CHARSET UTF-8 SUBJECT {7}\r\nGrüße FROM "bob" NOT DELETED\r\n',
  'a8 APPEND Drafts (\\Draft) "01-Jan-2024 10:00:00 +0000" {29}\r\nSubject: x\r\n\r\nHello world!!\r\n\r\n',
  'a9 APPEND Sent ~{5+}\r\n\x00\x01\x02\x03\x04\r\n',
  'b1 LIST "" "*"\r\n',
  'b2 LIST (SUBSCRIBED) {0}\r\n {7+}\r\nINBOX/% RETURN (CHILDREN)\r\n',
  'b3 ID ("name" "Thunderbird" "version" "115.0" "os" NIL)\r\n',
  'b4 UID SEARCH RETURN (SAVE) 1:* UNSEEN\r\n',
  'b5 UID COPY $ "Archive 2024"\r\n',
  'b6 IDLE\r\n',
  'b7 STATUS "Grüße" (MESSAGES UNSEEN UIDNEXT)\r\n',
];

const LIMITS: CommandReaderOptions = { maxLineLength: 512, maxLiteralSize: 256, maxCommandSize: 2048, maxLiterals: 8, maxDepth: 8 };
const INTERESTING = Buffer.from('{}()[]<>"\\ \r\n+~*:,.$0123456789\x00\xff%');
const ITERATIONS = 20_000;
const BASE_SEED = 0x5eed;

function mutate(input: Buffer, rand: () => number): Buffer {
  const bytes = [...input];
  const n = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(rand() * (bytes.length + 1));
    const pick = () => (rand() < 0.7 ? INTERESTING[Math.floor(rand() * INTERESTING.length)]! : Math.floor(rand() * 256));
    switch (Math.floor(rand() * 7)) {
      case 0:
        if (pos < bytes.length) bytes[pos] = pick();
        break;
      case 1:
        bytes.splice(pos, 0, pick());
        break;
      case 2:
        bytes.splice(pos, 1 + Math.floor(rand() * 3));
        break;
      case 3:
        bytes.length = Math.min(bytes.length, pos); // truncate
        break;
      case 4: {
        // Inflate a literal count so size limits are hit.
        const brace = bytes.indexOf(0x7b, pos);
        if (brace !== -1) bytes.splice(brace + 1, 0, ...Buffer.from(String(Math.floor(rand() * 100000))));
        break;
      }
      case 5:
        bytes.splice(pos, 0, ...Buffer.alloc(Math.floor(rand() * 700), 0x78)); // long runs hit the line limit
        break;
      default: {
        const from = Math.floor(rand() * bytes.length);
        bytes.splice(pos, 0, ...bytes.slice(from, from + Math.floor(rand() * 20)));
      }
    }
  }
  return Buffer.from(bytes);
}

function randomSizes(rand: () => number): number[] {
  return Array.from({ length: 1 + Math.floor(rand() * 6) }, () => 1 + Math.floor(rand() * (rand() < 0.5 ? 4 : 64)));
}

// Deterministic refusals so some sync literals take the refused path.
const options: CommandReaderOptions = { ...LIMITS, onContinuationNeeded: (r) => r.size % 7 !== 3 };

function checkResults(results: ParseResult[], input: Buffer, seed: number): void {
  const lineEnds = input.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
  assert.ok(results.length <= lineEnds + 1, `seed ${seed}: ${results.length} results from ${lineEnds} line ends`);
  results.forEach((r, i) => {
    switch (r.kind) {
      case 'command':
        assert.ok(r.command.tag.length > 0 && r.command.name === r.command.name.toUpperCase(), `seed ${seed}`);
        break;
      case 'error':
        assert.ok(r.tag.length > 0, `seed ${seed}`);
        assert.notEqual(r.text, 'Internal parser error', `seed ${seed}`);
        break;
      case 'fatal':
        assert.equal(i, results.length - 1, `seed ${seed}: fatal must be last`);
        break;
      default:
        assert.fail(`seed ${seed}: unknown result ${JSON.stringify(r)}`);
    }
  });
}

test('corpus commands are valid, alone and concatenated', () => {
  for (const c of CORPUS) {
    const { results } = feed(c, options);
    assert.deepEqual(results.map((r) => r.kind), ['command'], c);
  }
  const all = CORPUS.join('');
  assert.deepEqual(feed(all, options, [1]).results, feed(all, options).results);
  assert.equal(feed(all, options).results.length, CORPUS.length);
});

test(`fuzz: ${ITERATIONS} random and mutated inputs`, () => {
  const started = Date.now();
  const stats = { commands: 0, errors: 0, fatals: 0, resyncChecked: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = BASE_SEED + i;
    const rand = prng(seed);
    let input: Buffer;
    const mode = rand();
    if (mode < 0.1) {
      input = Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => (rand() < 0.5 ? INTERESTING[Math.floor(rand() * INTERESTING.length)]! : Math.floor(rand() * 256))));
    } else {
      const picks = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => CORPUS[Math.floor(rand() * CORPUS.length)]!);
      input = Buffer.from(picks.join(''), 'utf8');
      if (mode < 0.85) input = mutate(input, rand);
    }

    const whole = feed(input, options);
    const chunked = feed(input, options, randomSizes(rand));
    assert.deepEqual(chunked.results, whole.results, `seed ${seed}: chunking changed the results`);
    assert.deepEqual(chunked.continuations, whole.continuations, `seed ${seed}: chunking changed the continuations`);
    checkResults(whole.results, input, seed);
    if (mode >= 0.85) assert.ok(whole.results.every((r) => r.kind === 'command'), `seed ${seed}: valid input rejected`);
    assert.ok(whole.reader.bufferedBytes <= 2048 + 512 + 2, `seed ${seed}: buffered ${whole.reader.bufferedBytes}`);
    for (const r of whole.results) stats[r.kind === 'command' ? 'commands' : r.kind === 'error' ? 'errors' : 'fatals']++;

    // Resync: finish any literal and line in progress, then a valid command must parse.
    const reader = chunked.reader;
    for (let k = 0; k < 12 && reader.state !== 'closed' && (reader.state === 'literal' || reader.bufferedBytes > 0); k++) {
      if (reader.state === 'literal') pushDrain(reader, Buffer.alloc(reader.literalBytesRemaining, 0x78));
      pushDrain(reader, '\r\n');
    }
    if (reader.state === 'closed') {
      assert.deepEqual(pushDrain(reader, 'Z9 NOOP\r\n'), [], `seed ${seed}`);
      continue;
    }
    assert.equal(reader.bufferedBytes, 0, `seed ${seed}: could not resync`);
    const after = pushDrain(reader, 'Z9 NOOP\r\n');
    assert.deepEqual(after, [{ kind: 'command', command: { tag: 'Z9', name: 'NOOP', args: [] } }], `seed ${seed}`);
    stats.resyncChecked++;
  }
  const ms = Date.now() - started;
  console.log(`fuzz: ${ITERATIONS} iterations in ${ms} ms`, stats);
  assert.ok(stats.errors > 1000 && stats.commands > 1000 && stats.fatals > 10, JSON.stringify(stats));
  assert.ok(ms < 10_000, `fuzz took ${ms} ms`);
});
