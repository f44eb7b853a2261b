// Test helpers: run input through a CommandReader with a chosen chunking.
import { CommandReader, type CommandReaderOptions, type ContinuationRequest, type ParseResult } from '../../src/imap/parser/index.js';

export interface Fed {
  results: ParseResult[];
  continuations: ContinuationRequest[];
  reader: CommandReader;
}

/** Feeds `input` split at `sizes` (cycled); default is one chunk. */
export function feed(input: string | Buffer, options: CommandReaderOptions = {}, sizes: number[] = []): Fed {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const continuations: ContinuationRequest[] = [];
  const user = options.onContinuationNeeded;
  const reader = new CommandReader({
    ...options,
    onContinuationNeeded: (req) => {
      continuations.push(req);
      return user ? user(req) : true;
    },
  });
  const results: ParseResult[] = [];
  if (sizes.length === 0) {
    reader.push(buf);
    results.push(...reader.drain());
  } else {
    for (let i = 0, k = 0; i < buf.length; k++) {
      const n = Math.max(1, sizes[k % sizes.length]!);
      reader.push(buf.subarray(i, i + n));
      results.push(...reader.drain());
      i += n;
    }
  }
  return { results, continuations, reader };
}

/** The single command parsed from `input`; fails the test otherwise. */
export function one(input: string | Buffer, options: CommandReaderOptions = {}) {
  const { results } = feed(input, options);
  if (results.length !== 1 || results[0]!.kind !== 'command') {
    throw new Error(`expected one command, got ${JSON.stringify(results)}`);
  }
  return results[0]!.command;
}

/** The single error/fatal result from `input`. */
export function failure(input: string | Buffer, options: CommandReaderOptions = {}) {
  const { results } = feed(input, options);
  if (results.length !== 1 || results[0]!.kind === 'command') {
    throw new Error(`expected one failure, got ${JSON.stringify(results)}`);
  }
  return results[0]!;
}

/** Pushes and drains: the results `chunk` completes. */
export function pushDrain(reader: CommandReader, chunk: Buffer | string): ParseResult[] {
  reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  return reader.drain();
}

export { prng } from '../helpers/prng.js';
