// FETCH section specs: BODY[1.2.MIME]<0.100>, BODY.PEEK[HEADER.FIELDS (From To)], BINARY[1], BINARY.SIZE[1].
import { SP, isDigit } from './chars.js';
import { Cursor, ParseError } from './cursor.js';
import { tokenString } from './tokens.js';
import type { SectionItemName, SectionSpec, SectionText, Token } from './types.js';

const MSGTEXT = new Set(['HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT']);

/** Cursor is on `[`; `parseSub` parses the header-list so it may hold quoted names or literals. */
export function parseSection(cur: Cursor, name: string, parseSub: (cur: Cursor) => Token): Token {
  const item = name as SectionItemName;
  cur.advance(); // [
  const spec = readSpec(cur, item.startsWith('BINARY'), parseSub);
  cur.expect(0x5d, '] after section');
  const token: Token = { type: 'section', name: item, section: spec };
  if (cur.peek() === 0x3c) {
    if (item === 'BINARY.SIZE') throw new ParseError('BINARY.SIZE takes no partial range');
    cur.advance();
    const offset = readNumber(cur);
    cur.expect(0x2e, '. in partial range');
    const length = readNumber(cur);
    if (length === 0) throw new ParseError('Partial length must be non-zero');
    cur.expect(0x3e, '> after partial range');
    token.partial = { offset, length };
  }
  return token;
}

function readSpec(cur: Cursor, binary: boolean, parseSub: (cur: Cursor) => Token): SectionSpec {
  // The spec word runs up to `]` or (for HEADER.FIELDS) the SP before its list.
  const word = cur.takeWhile((b) => b > 0x20 && b < 0x7f && b !== 0x5d && b !== 0x28).toString('latin1');
  const spec: SectionSpec = { parts: [] };
  if (word === '') return spec;
  const pieces = word.split('.');
  let i = 0;
  for (; i < pieces.length && /^[0-9]+$/.test(pieces[i]!); i++) {
    if (!/^[1-9][0-9]{0,9}$/.test(pieces[i]!) || Number(pieces[i]) > 0xffffffff) {
      throw new ParseError('Invalid section part number');
    }
    spec.parts.push(Number(pieces[i]));
  }
  if (i === pieces.length) return spec;
  if (binary) throw new ParseError('BINARY sections take part numbers only');
  const text = pieces.slice(i).join('.').toUpperCase();
  if (!(MSGTEXT.has(text) || (text === 'MIME' && spec.parts.length > 0))) {
    throw new ParseError('Invalid section text');
  }
  spec.text = text as SectionText;
  if (text === 'HEADER.FIELDS' || text === 'HEADER.FIELDS.NOT') {
    cur.expect(SP, 'space before header list');
    if (cur.peek() !== 0x28) throw new ParseError('Expected header field list');
    const list = parseSub(cur);
    const fields: string[] = [];
    if (list.type === 'list') {
      for (const t of list.items) {
        const s = tokenString(t);
        if (s === null) throw new ParseError('Invalid header field name');
        fields.push(s);
      }
    }
    if (fields.length === 0) throw new ParseError('Empty header field list');
    spec.fields = fields;
  }
  return spec;
}

function readNumber(cur: Cursor): number {
  const digits = cur.takeWhile(isDigit).toString('latin1');
  if (digits === '' || digits.length > 15) throw new ParseError('Invalid number in partial range');
  return Number(digits);
}
