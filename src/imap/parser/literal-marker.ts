// Detects a literal announcement `{N}`, `{N+}`, `~{N}` or `~{N+}` at the end of a line.
import { BACKSLASH, DQUOTE, isDigit } from './chars.js';

export interface LiteralMarker {
  /** Byte offset where the marker (including `~`) starts. */
  start: number;
  /** Announced size; Infinity when too many digits to matter. */
  size: number;
  sync: boolean;
  binary: boolean;
}

export function findLiteralMarker(line: Buffer): LiteralMarker | null {
  let end = line.length - 1;
  if (end < 2 || line[end] !== 0x7d) return null; // }
  end--;
  const sync = line[end] !== 0x2b; // +
  if (!sync) end--;
  let d = end;
  while (d >= 0 && isDigit(line[d]!)) d--;
  if (d === end || d < 0 || line[d] !== 0x7b) return null; // need {digits
  let start = d;
  const binary = start > 0 && line[start - 1] === 0x7e; // ~
  if (binary) start--;
  // A `{5}` inside a quoted string is text, not a literal: quotes cannot span lines.
  if (insideQuote(line, start)) return null;
  const digits = line.toString('latin1', d + 1, end + 1);
  const size = digits.length > 15 ? Infinity : Number(digits);
  return { start, size, sync, binary };
}

function insideQuote(line: Buffer, upTo: number): boolean {
  let inQuote = false;
  for (let i = 0; i < upTo; i++) {
    const b = line[i];
    if (inQuote && b === BACKSLASH) i++;
    else if (b === DQUOTE) inQuote = !inQuote;
  }
  return inQuote;
}
