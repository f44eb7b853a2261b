// Turns a complete RawCommand into a typed Command, or a BAD result.
import { BACKSLASH, DQUOTE, SP, isAtomChar, isTagChar, isWordChar } from './chars.js';
import { Cursor, END, LITERAL, ParseError } from './cursor.js';
import { parseSection } from './section.js';
import { parseSequenceSet } from './sequence-set.js';
import type { Command, ParseResult, RawCommand, Token } from './types.js';

const UINT64_MAX = (1n << 64n) - 1n;
const SECTION_ITEMS = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The tag if `line` starts with a valid tag followed by SP, else null. */
export function extractTag(line: Buffer): string | null {
  let i = 0;
  while (i < line.length && isTagChar(line[i]!)) i++;
  return i > 0 && line[i] === SP ? line.toString('latin1', 0, i) : null;
}

export function parseCommand(raw: RawCommand, maxDepth: number): ParseResult {
  const tag = extractTag(raw.lines[0]!);
  if (tag === null) return { kind: 'error', tag: '*', error: 'BAD', text: 'Invalid tag' };
  try {
    const cur = new Cursor(raw);
    cur.takeWhile(isTagChar);
    cur.advance(); // the SP extractTag saw
    let name = readCommandName(cur);
    if (name === 'UID') {
      cur.expect(SP, 'command after UID');
      name = `UID ${readCommandName(cur)}`;
    }
    const args: Token[] = [];
    while (cur.peek() !== END) {
      cur.expect(SP, 'space between arguments');
      args.push(parseToken(cur, 0, maxDepth));
    }
    const command: Command = { tag, name, args };
    return { kind: 'command', command };
  } catch (err) {
    // Anything else is a parser bug; still answer BAD rather than crash the connection.
    const text = err instanceof ParseError ? err.message : 'Internal parser error';
    return { kind: 'error', tag, error: 'BAD', text };
  }
}

function readCommandName(cur: Cursor): string {
  const name = cur.takeWhile(isAtomChar);
  if (name.length === 0) throw new ParseError('Missing or invalid command name');
  return name.toString('latin1').toUpperCase();
}

/** One argument: literal, quoted, list, or bare word (atom/number/NIL/sequence/section). */
export function parseToken(cur: Cursor, depth: number, maxDepth: number): Token {
  const c = cur.peek();
  switch (c) {
    case LITERAL: {
      const lit = cur.takeLiteral();
      // CHAR8 excludes NUL: only literal8 may carry it (RFC 9051 4.3).
      if (!lit.binary && lit.data.includes(0)) throw new ParseError('NUL in literal; use literal8');
      return { type: 'literal', value: lit.data, binary: lit.binary };
    }
    case END:
      throw new ParseError('Missing argument');
    case 0x28:
      return parseList(cur, depth + 1, maxDepth);
    case 0x29:
      throw new ParseError('Unexpected )');
    case DQUOTE:
      return { type: 'string', value: parseQuoted(cur) };
    case SP:
      throw new ParseError('Unexpected space');
    case 0x7b:
      throw new ParseError('Literal marker must end the line');
    default:
      return parseWord(cur, depth, maxDepth);
  }
}

function parseList(cur: Cursor, depth: number, maxDepth: number): Token {
  if (depth > maxDepth) throw new ParseError('Lists nested too deeply');
  cur.advance(); // (
  const items: Token[] = [];
  if (cur.peek() === 0x29) {
    cur.advance();
    return { type: 'list', items };
  }
  for (;;) {
    items.push(parseToken(cur, depth, maxDepth));
    const c = cur.peek();
    if (c === 0x29) {
      cur.advance();
      return { type: 'list', items };
    }
    if (c !== SP) throw new ParseError(c === END ? 'Unbalanced parenthesis' : 'Expected space or ) in list');
    cur.advance();
  }
}

function parseQuoted(cur: Cursor): string {
  cur.advance(); // opening quote
  const bytes: number[] = [];
  for (;;) {
    const c = cur.peek();
    if (c === END || c === LITERAL) throw new ParseError('Unterminated quoted string');
    cur.advance();
    if (c === DQUOTE) break;
    if (c === 0) throw new ParseError('NUL in quoted string');
    if (c === BACKSLASH) {
      const e = cur.peek();
      if (e !== DQUOTE && e !== BACKSLASH) throw new ParseError('Invalid escape in quoted string');
      cur.advance();
      bytes.push(e);
    } else {
      bytes.push(c);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes)); // RFC 9051/6855: UTF-8 allowed, but must be valid
  } catch {
    throw new ParseError('Invalid UTF-8 in quoted string');
  }
}

function parseWord(cur: Cursor, depth: number, maxDepth: number): Token {
  // `[` starts a section only after BODY/BINARY names, so it is excluded from the first run.
  const head = cur.takeWhile((b) => isWordChar(b) && b !== 0x5b);
  if (head.length === 0) throw new ParseError(cur.peek() === 0 ? 'NUL in command' : 'Invalid character in command');
  const text = head.toString('latin1');
  const upper = text.toUpperCase();
  if (cur.peek() === 0x5b) {
    if (SECTION_ITEMS.has(upper)) {
      const tok = parseSection(cur, upper, (c) => parseToken(c, depth + 1, maxDepth));
      ensureWordEnd(cur);
      return tok;
    }
    const rest = cur.takeWhile(isWordChar).toString('latin1');
    ensureWordEnd(cur);
    return { type: 'atom', value: text + rest };
  }
  ensureWordEnd(cur);
  if (upper === 'NIL') return { type: 'nil' };
  if (/^[0-9]+$/.test(text)) {
    const value = BigInt(text.length > 25 ? '1' + '0'.repeat(25) : text);
    if (value > UINT64_MAX) throw new ParseError('Number out of range');
    return { type: 'number', value, text };
  }
  if (/^[0-9:,*$]+$/.test(text)) {
    const set = parseSequenceSet(text);
    if ('error' in set) throw new ParseError(set.error);
    return { type: 'sequence', set, text };
  }
  return { type: 'atom', value: text };
}

/** A bare word must be followed by SP, `)`, the end, or nothing else. */
function ensureWordEnd(cur: Cursor): void {
  const c = cur.peek();
  if (c === SP || c === 0x29 || c === END) return;
  if (c === 0) throw new ParseError('NUL in command');
  if (c === LITERAL || c === 0x28 || c === DQUOTE || c === 0x7b) throw new ParseError('Missing space between arguments');
  throw new ParseError('Invalid character in command');
}
