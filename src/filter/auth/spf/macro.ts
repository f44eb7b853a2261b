// SPF macros (RFC 7208 §7): parsed once when the record is checked for syntax (a bad macro is
// a permerror for the whole record, §4.6), expanded when a term is evaluated.
import { SpfAbort } from './result.js';

export interface MacroExpand {
  letter: string; // lower-case macro letter
  upper: boolean; // upper-case letter: URL-escape the value
  digits: number | null; // keep this many right-hand parts
  reverse: boolean;
  delimiters: string; // split characters (default ".")
}

export type MacroToken = string | MacroExpand;

const DOMAIN_LETTERS = 'slodiphv';
const EXPLAIN_LETTERS = 'slodiphvcrt';

/**
 * Parses a macro-string (or, with `explain`, an explain-string, where SP and c/r/t are allowed).
 * Throws SpfAbort('permerror') on a syntax error.
 */
export function parseMacroString(text: string, explain = false): MacroToken[] {
  return scanMacroString(text, explain).tokens;
}

/**
 * domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand.
 * The toplabel rule is checked on the text as written, not after expansion (§7.1).
 */
export function parseDomainSpec(text: string, isTopLabel: (label: string) => boolean): MacroToken[] {
  if (text === '') throw new SpfAbort('permerror', 'empty domain-spec');
  const { tokens, endsWithExpand } = scanMacroString(text, false);
  if (!endsWithExpand) {
    const m = /\.([^.]+)\.?$/.exec(text);
    if (!m || !isTopLabel(m[1])) throw new SpfAbort('permerror', `invalid domain-spec "${text}"`);
  }
  return tokens;
}

function scanMacroString(text: string, explain: boolean): { tokens: MacroToken[]; endsWithExpand: boolean } {
  const letters = explain ? EXPLAIN_LETTERS : DOMAIN_LETTERS;
  const tokens: MacroToken[] = [];
  let literal = '';
  let endsWithExpand = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = ch.charCodeAt(0);
    endsWithExpand = ch === '%';
    if (ch !== '%') {
      // macro-literal = %x21-24 / %x26-7E; explain-string also allows SP.
      if ((code < 0x21 || code > 0x7e) && !(explain && code === 0x20)) throw new SpfAbort('permerror', `invalid character 0x${code.toString(16)} in "${text}"`);
      literal += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '%') literal += '%';
    else if (next === '_') literal += ' ';
    else if (next === '-') literal += '%20';
    else if (next === '{') {
      const end = text.indexOf('}', i + 2);
      const m = end < 0 ? null : /^([A-Za-z])(\d*)([rR]?)([.\-+,/_=]*)$/.exec(text.slice(i + 2, end));
      if (!m || !letters.includes(m[1].toLowerCase())) throw new SpfAbort('permerror', `invalid macro in "${text}"`);
      if (literal) tokens.push(literal);
      literal = '';
      const digits = m[2] ? Number(m[2]) : null;
      if (digits === 0) throw new SpfAbort('permerror', `zero digit transformer in "${text}"`);
      tokens.push({ letter: m[1].toLowerCase(), upper: m[1] !== m[1].toLowerCase(), digits, reverse: m[3] !== '', delimiters: m[4] || '.' });
      i = end;
      continue;
    } else throw new SpfAbort('permerror', `invalid "%" in "${text}"`);
    i++;
  }
  if (literal) tokens.push(literal);
  return { tokens, endsWithExpand };
}

/** The values of the macro letters for one check_host() call. */
export type MacroValues = (letter: string) => Promise<string>;

export async function expandMacros(tokens: MacroToken[], values: MacroValues): Promise<string> {
  let out = '';
  for (const t of tokens) {
    if (typeof t === 'string') {
      out += t;
      continue;
    }
    const value = await values(t.letter);
    let parts = splitOn(value, t.delimiters);
    if (t.reverse) parts = parts.reverse();
    if (t.digits !== null && t.digits < parts.length) parts = parts.slice(parts.length - t.digits);
    const joined = parts.join('.');
    out += t.upper ? urlEscape(joined) : joined;
  }
  return out;
}

function splitOn(value: string, delimiters: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (const ch of value) {
    if (delimiters.includes(ch)) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** §7.3: upper-case macros are URL-escaped; everything outside RFC 3986 "unreserved" is escaped. */
function urlEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
