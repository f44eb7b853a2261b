// Incremental splitter of a client byte stream into IMAP commands (lines + literals).
//
//   const reader = new CommandReader({ onContinuationNeeded: () => void socket.write('+ Ready\r\n') });
//   socket.on('data', (chunk) => {
//     reader.push(chunk);
//     for (let r = reader.next(); r; r = reader.next()) {
//       if (r.kind === 'fatal') { socket.end(`* BYE ${r.text}\r\n`); return; }
//       if (r.kind === 'error') socket.write(`${r.tag} ${r.error} ${r.code ? `[${r.code}] ` : ''}${r.text}\r\n`);
//       else dispatch(r.command); // may stop pulling: nextLine() for IDLE, discardInput() after STARTTLS
//     }
//   });
import { ByteAccumulator } from './byte-accumulator.js';
import { CR, LF } from './chars.js';
import { extractTag, parseCommand } from './grammar.js';
import { type ParserLimits, resolveLimits } from './limits.js';
import { findLiteralMarker } from './literal-marker.js';
import type { ParseResult, RawLiteral } from './types.js';

export interface ContinuationRequest {
  tag: string;
  size: number;
  binary: boolean;
}

export interface CommandReaderOptions extends Partial<ParserLimits> {
  /**
   * Called once per synchronising literal within the limits, before its bytes are
   * read: reply `+ Ready` and return true/undefined, or return false to refuse, in
   * which case the reader emits a tagged NO and expects a new command next.
   */
  onContinuationNeeded?: (req: ContinuationRequest) => boolean | void;
}

export type ReaderState = 'line' | 'literal' | 'closed';

export class CommandReader {
  readonly limits: ParserLimits;
  private readonly onContinuation: CommandReaderOptions['onContinuationNeeded'];
  private _state: ReaderState = 'line';
  // Current line segment; copied so socket chunks are not retained.
  private readonly line: ByteAccumulator;
  // The command assembled so far.
  private lines: Buffer[] = [];
  private literals: RawLiteral[] = [];
  private commandTextBytes = 0;
  private commandLiteralBytes = 0;
  // The literal being read.
  private literal = new ByteAccumulator(0);
  private litRemaining = 0;
  private litSync = true;
  private litBinary = false;
  // Unexamined input, and a raw line completed for nextLine().
  private input: Buffer[] = [];
  private inputOffset = 0;
  private inputBytes = 0;
  private rawLine: Buffer | null = null;

  constructor(options: CommandReaderOptions = {}) {
    const { onContinuationNeeded, ...limits } = options;
    this.limits = resolveLimits(limits);
    this.onContinuation = onContinuationNeeded;
    this.line = new ByteAccumulator(this.limits.maxLineLength + 1);
  }

  get state(): ReaderState {
    return this._state;
  }

  /** Bytes still expected for the literal being read (0 outside literals). */
  get literalBytesRemaining(): number {
    return this._state === 'literal' ? this.litRemaining : 0;
  }

  /** Bytes currently held for incomplete commands. */
  get bufferedBytes(): number {
    return this.line.length + this.commandTextBytes + this.commandLiteralBytes + this.literal.length;
  }

  /** Bytes pushed but not yet examined (pause the socket when this grows). */
  get pendingInputBytes(): number {
    return this.inputBytes;
  }

  /**
   * Queues socket bytes. Nothing is parsed until next()/drain()/nextLine(), so the
   * server decides how far to read: e.g. stop after STARTTLS or IDLE. Chunks are
   * referenced, not copied, until examined.
   */
  push(chunk: Buffer): void {
    if (this._state === 'closed' || chunk.length === 0) return;
    this.input.push(chunk);
    this.inputBytes += chunk.length;
  }

  /**
   * The next result, or null when more data is needed. Continuation callbacks
   * fire from here. After a fatal result, always null.
   */
  next(): ParseResult | null {
    const out: ParseResult[] = [];
    while (out.length === 0 && this.step(out, false));
    return out[0] ?? null;
  }

  /** All results the queued input completes, in stream order. */
  drain(): ParseResult[] {
    const all: ParseResult[] = [];
    for (let r = this.next(); r !== null; r = this.next()) all.push(r);
    return all;
  }

  /**
   * The next raw line (no literal processing, line end stripped), for IDLE's DONE
   * and AUTHENTICATE responses; null when more data is needed. Only between commands.
   */
  nextLine(): { kind: 'line'; data: Buffer } | { kind: 'fatal'; text: string } | null {
    if (this.lines.length > 0 || this._state === 'literal') throw new Error('nextLine() called inside a command');
    const out: ParseResult[] = [];
    while (this.rawLine === null && out.length === 0 && this.step(out, true));
    const fatal = out[0];
    if (fatal?.kind === 'fatal') return fatal;
    const data = this.rawLine;
    this.rawLine = null;
    return data === null ? null : { kind: 'line', data };
  }

  /** Drops queued input and any partial line, e.g. plaintext pipelined after STARTTLS. */
  discardInput(): void {
    this.input = [];
    this.inputOffset = 0;
    this.inputBytes = 0;
    this.line.clear();
    if (this._state === 'literal') this._state = 'line';
    this.literal.clear();
    this.resetCommand();
  }

  /** Examines queued input up to one line end or literal piece; false if none is queued. */
  private step(out: ParseResult[], raw: boolean): boolean {
    const chunk = this.input[0];
    if (this._state === 'closed' || chunk === undefined) return false;
    const i = this.inputOffset;
    if (this._state === 'literal') {
      const take = Math.min(this.litRemaining, chunk.length - i);
      this.literal.append(chunk.subarray(i, i + take));
      this.litRemaining -= take;
      this.consume(i + take);
      if (this.litRemaining === 0) this.finishLiteral();
      return true;
    }
    const lf = chunk.indexOf(LF, i);
    const end = lf === -1 ? chunk.length : lf;
    // +1 tolerates the CR of a line that is exactly at the limit.
    const textBytes = this.commandTextBytes + this.line.length + (end - i);
    if (textBytes > this.limits.maxLineLength + 1 || textBytes + this.commandLiteralBytes > this.limits.maxCommandSize + 1) {
      this.fatal(out, 'Command line too long');
      return true;
    }
    if (end > i) this.line.append(chunk.subarray(i, end));
    this.consume(lf === -1 ? end : lf + 1);
    if (lf !== -1) {
      if (raw) this.rawLine = stripCR(this.line.take());
      else this.endOfLine(out);
    }
    return true;
  }

  private consume(to: number): void {
    const chunk = this.input[0]!;
    this.inputBytes -= to - this.inputOffset;
    this.inputOffset = to;
    if (to === chunk.length) {
      this.input.shift();
      this.inputOffset = 0;
    }
  }

  private endOfLine(out: ParseResult[]): void {
    const line = stripCR(this.line.take());
    if (line.length > this.limits.maxLineLength) return this.fatal(out, 'Command line too long');

    const marker = findLiteralMarker(line);
    if (!marker) {
      if (this.lines.length === 0 && line.length === 0) return; // stray blank line: ignore
      this.lines.push(line);
      const result = parseCommand({ lines: this.lines, literals: this.literals }, this.limits.maxDepth);
      this.resetCommand();
      out.push(result);
      return;
    }

    this.lines.push(line.subarray(0, marker.start));
    this.commandTextBytes += marker.start;
    const tag = extractTag(this.lines[0]!);
    const refusal = this.checkLiteral(marker.size, tag);
    if (refusal !== null) {
      // A synchronising client waits for `+`, so nothing of the literal follows: resync here.
      // A LITERAL+ client is already sending bytes we will not hold: give up (RFC 7888 4).
      if (marker.sync) {
        out.push({ ...refusal, tag: tag ?? '*' });
        this.resetCommand();
      } else {
        this.fatal(out, refusal.text);
      }
      return;
    }
    if (marker.sync) {
      if (tag === null) {
        out.push({ kind: 'error', tag: '*', error: 'BAD', text: 'Invalid tag' });
        return this.resetCommand();
      }
      if (this.onContinuation?.({ tag, size: marker.size, binary: marker.binary }) === false) {
        out.push({ kind: 'error', tag, error: 'NO', text: 'Literal refused' });
        return this.resetCommand();
      }
    }
    this._state = 'literal';
    this.litRemaining = marker.size;
    this.literal = new ByteAccumulator(marker.size); // sized to the literal: no over-allocation
    this.litSync = marker.sync;
    this.litBinary = marker.binary;
    if (marker.size === 0) this.finishLiteral();
  }

  private checkLiteral(size: number, tag: string | null): (ParseResult & { kind: 'error' }) | null {
    const t = tag ?? '*';
    if (this.literals.length + 1 > this.limits.maxLiterals) {
      return { kind: 'error', tag: t, error: 'BAD', code: 'LIMIT', text: 'Too many literals in command' };
    }
    if (size > this.limits.maxLiteralSize) {
      return { kind: 'error', tag: t, error: 'NO', code: 'TOOBIG', text: 'Literal too big' };
    }
    if (this.commandTextBytes + this.commandLiteralBytes + size > this.limits.maxCommandSize) {
      return { kind: 'error', tag: t, error: 'NO', code: 'TOOBIG', text: 'Command too big' };
    }
    return null;
  }

  private finishLiteral(): void {
    const data = this.literal.take();
    this.literals.push({ data, binary: this.litBinary, sync: this.litSync });
    this.commandLiteralBytes += data.length;
    this._state = 'line';
  }

  private resetCommand(): void {
    this.lines = [];
    this.literals = [];
    this.commandTextBytes = 0;
    this.commandLiteralBytes = 0;
  }

  private fatal(out: ParseResult[], text: string): void {
    out.push({ kind: 'fatal', text });
    this._state = 'closed';
    // Drop everything: a closed reader must not pin memory until the socket goes away.
    this.discardInput();
  }
}

function stripCR(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}
