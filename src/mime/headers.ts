// Header block splitting on raw bytes. Values are never copied out until asked for, so
// splitting a header costs one pass over its lines and no string conversion.
import { isUtf8 } from 'node:buffer';

export interface HeaderField {
  /** Lower-cased field name (trailing whitespace before the colon dropped). */
  name: string;
  /** Field name as sent. */
  rawName: string;
  /** Offset of the first byte of the field line. */
  start: number;
  /** Offset just after the colon. */
  valueStart: number;
  /** End of the value, excluding the line break of its last line. */
  valueEnd: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Start of the body: after the blank line, or at the first non-header line. */
  bodyStart: number;
  /** True when the header ended with a blank line. */
  blankLine: boolean;
  /** Set when scanning stopped at a line the caller flagged (a boundary delimiter). */
  stoppedAt: number;
}

const LF = 10, CR = 13, SP = 32, HT = 9, COLON = 58;

/** "From :" (white space before the colon, RFC 5322 §4.5.3 obsolete syntax) is a From field,
 * not an mbox separator ("From sender date"): other parsers (mailauth's DKIM and DMARC) read it
 * as the From, and so must we. */
function isObsFromField(raw: Buffer, pos: number, end: number): boolean {
  while (pos < end && (raw[pos] === SP || raw[pos] === HT)) pos++;
  return pos < end && raw[pos] === COLON;
}

/**
 * Split the header block starting at `start`, not looking past `end`. `stopLine` lets the
 * multipart scanner end the header at a boundary delimiter line (a header may legally be
 * cut short by one). `skipMbox` treats a leading "From " line (mbox separator) as ignorable.
 */
export function splitHeader(
  raw: Buffer,
  start: number,
  end: number,
  stopLine: ((lineStart: number) => boolean) | null,
  skipMbox: boolean,
): HeaderBlock {
  const fields: HeaderField[] = [];
  let pos = start;
  let current: HeaderField | null = null;
  if (skipMbox && end - pos >= 5 && raw[pos] === 0x46 && raw[pos + 1] === 0x72 && raw[pos + 2] === 0x6f &&
      raw[pos + 3] === 0x6d && raw[pos + 4] === SP && !isObsFromField(raw, pos + 4, end)) {
    pos = lineEnd(raw, pos, end);
  }
  while (pos < end) {
    const c = raw[pos];
    // Blank line ends the header (LF or CRLF).
    if (c === LF) return { fields, bodyStart: pos + 1, blankLine: true, stoppedAt: -1 };
    if (c === CR && pos + 1 < end && raw[pos + 1] === LF) {
      return { fields, bodyStart: pos + 2, blankLine: true, stoppedAt: -1 };
    }
    if (c === CR && pos + 1 === end) return { fields, bodyStart: end, blankLine: true, stoppedAt: -1 };
    if (stopLine !== null && c === 0x2d && stopLine(pos)) {
      return { fields, bodyStart: pos, blankLine: false, stoppedAt: pos };
    }
    const next = lineEnd(raw, pos, end);
    if (c === SP || c === HT) {
      // Continuation line: extends the open field; whitespace lines before any field are
      // tolerated as part of the header.
      if (current !== null) current.valueEnd = trimLineBreak(raw, pos, next);
      pos = next;
      continue;
    }
    // Field name: printable ASCII up to the colon; tolerate whitespace before the colon.
    let i = pos;
    while (i < next) {
      const b = raw[i];
      if (b === COLON || b <= SP || b >= 127) break;
      i++;
    }
    let nameEnd = i;
    while (i < next && (raw[i] === SP || raw[i] === HT)) i++;
    if (i >= next || raw[i] !== COLON || nameEnd === pos) {
      // Not a header field: the body starts here.
      return { fields, bodyStart: pos, blankLine: false, stoppedAt: -1 };
    }
    const rawName = raw.toString('latin1', pos, nameEnd);
    current = { name: rawName.toLowerCase(), rawName, start: pos, valueStart: i + 1, valueEnd: trimLineBreak(raw, pos, next) };
    if (current.valueEnd < current.valueStart) current.valueEnd = current.valueStart;
    fields.push(current);
    pos = next;
  }
  return { fields, bodyStart: end, blankLine: false, stoppedAt: -1 };
}

/** Offset just after the LF ending the line at `pos` (or `end`). */
export function lineEnd(raw: Buffer, pos: number, end: number): number {
  const i = raw.indexOf(LF, pos);
  return i < 0 || i >= end ? end : i + 1;
}

function trimLineBreak(raw: Buffer, lineStart: number, next: number): number {
  let e = next;
  if (e > lineStart && raw[e - 1] === LF) e--;
  if (e > lineStart && raw[e - 1] === CR) e--;
  return e;
}

/** Bytes to string: UTF-8 when valid (RFC 6532 headers), else latin1 so no byte is lost. */
export function bytesToString(buf: Buffer): string {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] >= 0x80) return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
  }
  return buf.toString('latin1');
}

/** Unfolded value (line breaks removed, the following whitespace kept), untrimmed. */
export function fieldValue(raw: Buffer, f: HeaderField): string {
  const s = bytesToString(raw.subarray(f.valueStart, f.valueEnd));
  return s.indexOf('\n') < 0 && s.indexOf('\r') < 0 ? s : s.replace(/\r?\n|\r(?=[ \t])/g, '');
}

/** First field with that (lower-case) name. */
export function findField(fields: HeaderField[], name: string): HeaderField | null {
  for (const f of fields) if (f.name === name) return f;
  return null;
}

/** Unfolded, trimmed value of the first field with that name, or null when absent. */
export function headerValue(raw: Buffer, fields: HeaderField[], name: string): string | null {
  const f = findField(fields, name);
  return f === null ? null : fieldValue(raw, f).trim();
}

/** Cut a raw value at the first line break not followed by whitespace (the end of a
 * field when a caller hands us more than one), so field parsers accept test vectors. */
export function cutAtUnfoldedBreak(v: string): string {
  const m = /\r?\n(?![ \t])/.exec(v);
  return m === null ? v : v.slice(0, m.index);
}
