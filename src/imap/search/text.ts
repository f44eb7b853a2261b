// String helpers of the search engine: case folding for substring search, the RFC 5051
// i;unicode-casemap collation (approximated) for SORT/THREAD, header field extraction from raw
// header bytes, and the safe full-text prefilter words.
import { decodeHeaderValue, fieldValue, splitHeader } from '../../mime/index.js';

/** Search folding: NFC, then Unicode lower case (simple case folding is close enough). */
export function foldForSearch(s: string): string {
  return s.normalize('NFC').toLowerCase();
}

/**
 * Collation key approximating i;unicode-casemap (RFC 5051): each character mapped to its
 * (simple, one-character) upper case as a stand-in for titlecase, then NFKD. Compare keys with
 * compareCodePoints.
 */
export function casemapKey(s: string): string {
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += u.length === ch.length || [...u].length === 1 ? u : ch;
  }
  return out.normalize('NFKD');
}

/** Orders strings by Unicode code point (the octet order of their UTF-8 forms). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only between a surrogate (a code point above
    // U+FFFF) and a unit in U+E000..U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (xs ? y >= 0xe000 : x >= 0xe000)) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Unfolded raw values (line breaks removed, surrounding whitespace trimmed, not decoded) of
 * every field named `name` (lower-case) in a raw header block, in order.
 */
export function rawHeaderValues(header: Buffer, name: string): string[] {
  const out: string[] = [];
  for (const f of splitHeader(header, 0, header.length, null, true).fields) {
    if (f.name === name) out.push(fieldValue(header, f).trim());
  }
  return out;
}

/** Like rawHeaderValues, RFC 2047-decoded (as the full-text index stores header text). */
export function decodedHeaderValues(header: Buffer, name: string): string[] {
  const out: string[] = [];
  for (const f of splitHeader(header, 0, header.length, null, true).fields) {
    if (f.name === name) out.push(decodeHeaderValue(fieldValue(header, f)));
  }
  return out;
}

const WORD = /[\p{L}\p{N}\p{Co}]+/gu;

/**
 * Words of a substring query that every text containing the query must have as word
 * prefixes in the full-text index, so a prefilter by them never drops a true match. Only the
 * words that follow a separator inside the query qualify: the first word may begin in the
 * middle of an indexed word ("ohn" in "John"). Only for ASCII queries, where the index's
 * case folding and word splitting agree with ours. Empty when no word qualifies.
 */
export function prefilterWords(query: string): string[] {
  if (!/^[\x20-\x7e]*$/.test(query)) return [];
  const out: string[] = [];
  for (const m of query.matchAll(WORD)) {
    if (m.index! > 0) out.push(m[0]);
  }
  return out;
}
