// Read position over a reader's RawCommand: line segments with literals between them.
import type { RawCommand, RawLiteral } from './types.js';

/** peek() results that are not bytes. */
export const END = -1;
export const LITERAL = -2;

export class ParseError extends Error {}

export class Cursor {
  private seg = 0;
  private off = 0;

  constructor(private readonly raw: RawCommand) {}

  /** Next byte, LITERAL where a literal sits, or END after the last byte. */
  peek(): number {
    const line = this.raw.lines[this.seg]!;
    if (this.off < line.length) return line[this.off]!;
    return this.seg < this.raw.literals.length ? LITERAL : END;
  }

  /** Consumes one byte (never a literal). */
  advance(): void {
    this.off++;
  }

  takeLiteral(): RawLiteral {
    const lit = this.raw.literals[this.seg]!;
    this.seg++;
    this.off = 0;
    return lit;
  }

  /** Consumes the run of bytes matching `pred` within the current segment. */
  takeWhile(pred: (b: number) => boolean): Buffer {
    const line = this.raw.lines[this.seg]!;
    const start = this.off;
    while (this.off < line.length && pred(line[this.off]!)) this.off++;
    return line.subarray(start, this.off);
  }

  expect(byte: number, what: string): void {
    if (this.peek() !== byte) throw new ParseError(`Expected ${what}`);
    this.advance();
  }
}
