// SEARCH arguments (RFC 9051 §6.4.4, RFC 3501 §6.4.4) from parser tokens into a SearchKey tree,
// with RFC 4731 RETURN options, RFC 5182 SAVE and `$`, RFC 7162 MODSEQ and RFC 8474
// EMAILID/THREADID.
//
//   search         = "SEARCH" [search-return-opts] SP search-program
//   search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
import { tokenSequenceSet, tokenString } from '../parser/tokens.js';
import type { Token } from '../parser/types.js';
import type { DayNumber, ParsedSearch, ReturnOptions, SearchError, SearchKey } from './types.js';

/** More keys than this in one command is refused (each key costs evaluation work). */
export const MAX_SEARCH_KEYS = 1000;

/** Charsets we accept; anything else is NO [BADCHARSET (UTF-8 US-ASCII)]. */
export const SEARCH_CHARSETS: readonly string[] = ['UTF-8', 'US-ASCII'];

const MOD_SEQUENCE_MAX = (1n << 63n) - 1n;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class SearchSyntaxError extends Error {
  constructor(message: string, readonly code?: 'BADCHARSET') {
    super(message);
  }
}

/**
 * Parses the arguments of SEARCH / UID SEARCH. With `esearch` (ESEARCH or IMAP4rev2 enabled,
 * RFC 4731), a leading `RETURN (...)` is recognised. Never throws.
 */
export function parseSearchArgs(args: Token[], opts: { esearch: boolean }): ParsedSearch | SearchError {
  try {
    let pos = 0;
    let returnOpts: ReturnOptions | null = null;
    const first = args[0];
    if (opts.esearch && first?.type === 'atom' && first.value.toUpperCase() === 'RETURN') {
      returnOpts = parseReturnOptions(args[1]);
      pos = 2;
    }
    const { charset, key } = parseProgram(args, pos, false);
    return { charset, returnOpts, key };
  } catch (err) {
    if (err instanceof SearchSyntaxError) return err.code ? { error: err.message, code: err.code } : { error: err.message };
    throw err;
  }
}

/**
 * A search program starting at `args[start]`. SEARCH has an optional `CHARSET x` prefix;
 * SORT and THREAD have a mandatory charset without the keyword (`charsetRequired`).
 */
export function parseSearchProgram(args: Token[], start: number, charsetRequired: boolean): { charset: string | null; key: SearchKey } | SearchError {
  try {
    return parseProgram(args, start, charsetRequired);
  } catch (err) {
    if (err instanceof SearchSyntaxError) return err.code ? { error: err.message, code: err.code } : { error: err.message };
    throw err;
  }
}

/** Parses `RETURN (...)`'s list: MIN MAX ALL COUNT SAVE; `()` means ALL. */
function parseReturnOptions(t: Token | undefined): ReturnOptions {
  if (t?.type !== 'list') throw new SearchSyntaxError('RETURN must be followed by a list of result options');
  const r: ReturnOptions = { min: false, max: false, all: false, count: false, save: false };
  if (t.items.length === 0) {
    r.all = true;
    return r;
  }
  for (const item of t.items) {
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    switch (name) {
      case 'MIN': r.min = true; break;
      case 'MAX': r.max = true; break;
      case 'ALL': r.all = true; break;
      case 'COUNT': r.count = true; break;
      case 'SAVE': r.save = true; break;
      default: throw new SearchSyntaxError(`Unknown search result option ${describe(item)}`);
    }
  }
  return r;
}

function parseProgram(args: Token[], start: number, charsetRequired: boolean): { charset: string | null; key: SearchKey } {
  let pos = start;
  let charset: string | null = null;
  if (charsetRequired) {
    charset = checkCharset(args[pos]);
    pos++;
  } else {
    const t = args[pos];
    if (t?.type === 'atom' && t.value.toUpperCase() === 'CHARSET') {
      charset = checkCharset(args[pos + 1]);
      pos += 2;
    }
  }
  if (pos >= args.length) throw new SearchSyntaxError('Missing search criteria');
  const p = new KeyParser();
  const keys = p.parseAll(args, pos);
  return { charset, key: keys.length === 1 ? keys[0]! : { type: 'and', keys } };
}

function checkCharset(t: Token | undefined): string {
  const s = astring(t, 'charset');
  const upper = s.toUpperCase();
  if (!SEARCH_CHARSETS.includes(upper)) {
    throw new SearchSyntaxError(`Charset ${quoteForText(s)} is not supported`, 'BADCHARSET');
  }
  return upper;
}

class KeyParser {
  private count = 0;

  parseAll(tokens: Token[], start: number): SearchKey[] {
    const keys: SearchKey[] = [];
    let pos = start;
    while (pos < tokens.length) {
      const r = this.parseKey(tokens, pos);
      keys.push(r.key);
      pos = r.next;
    }
    return keys;
  }

  private parseKey(tokens: Token[], pos: number): { key: SearchKey; next: number } {
    const t = tokens[pos];
    if (t === undefined) throw new SearchSyntaxError('Missing search key');
    if (++this.count > MAX_SEARCH_KEYS) throw new SearchSyntaxError(`Too many search keys (at most ${MAX_SEARCH_KEYS})`);
    if (t.type === 'list') {
      if (t.items.length === 0) throw new SearchSyntaxError('Empty search key list');
      const keys = this.parseAll(t.items, 0);
      return { key: keys.length === 1 ? keys[0]! : { type: 'and', keys }, next: pos + 1 };
    }
    if (t.type === 'sequence' || t.type === 'number') {
      const set = tokenSequenceSet(t);
      if (set === null) throw new SearchSyntaxError(`Invalid sequence set ${describe(t)}`);
      return { key: { type: 'seq', set }, next: pos + 1 };
    }
    if (t.type !== 'atom') throw new SearchSyntaxError(`Invalid search key ${describe(t)}`);
    const name = t.value.toUpperCase();
    const arg = (i: number) => tokens[pos + i];
    const one = (key: SearchKey) => ({ key, next: pos + 1 });
    const two = (key: SearchKey) => ({ key, next: pos + 2 });
    switch (name) {
      case 'ALL': return one({ type: 'all' });
      case 'ANSWERED': return one(flag('\\Answered', true));
      case 'DELETED': return one(flag('\\Deleted', true));
      case 'DRAFT': return one(flag('\\Draft', true));
      case 'FLAGGED': return one(flag('\\Flagged', true));
      case 'SEEN': return one(flag('\\Seen', true));
      case 'UNANSWERED': return one(flag('\\Answered', false));
      case 'UNDELETED': return one(flag('\\Deleted', false));
      case 'UNDRAFT': return one(flag('\\Draft', false));
      case 'UNFLAGGED': return one(flag('\\Flagged', false));
      case 'UNSEEN': return one(flag('\\Seen', false));
      case 'RECENT': return one({ type: 'recent' });
      // NEW = RECENT UNSEEN; OLD = NOT RECENT (RFC 3501 §6.4.4).
      case 'NEW': return one({ type: 'and', keys: [{ type: 'recent' }, flag('\\Seen', false)] });
      case 'OLD': return one({ type: 'not', key: { type: 'recent' } });
      case 'KEYWORD':
      case 'UNKEYWORD': {
        const kw = astring(arg(1), `${name} argument`);
        if (kw === '' || /[\x00-\x20\x7f(){%*"\]]/.test(kw)) throw new SearchSyntaxError(`Invalid keyword ${quoteForText(kw)}`);
        return two(flag(kw, name === 'KEYWORD'));
      }
      case 'BCC':
      case 'CC':
      case 'FROM':
      case 'TO':
        return two({ type: 'address', field: name.toLowerCase() as 'bcc' | 'cc' | 'from' | 'to', value: astring(arg(1), `${name} argument`) });
      case 'SUBJECT':
        return two({ type: 'subject', value: astring(arg(1), 'SUBJECT argument') });
      case 'BODY':
      case 'TEXT':
        return two({ type: 'text', where: name === 'BODY' ? 'body' : 'text', value: astring(arg(1), `${name} argument`) });
      case 'HEADER': {
        const field = astring(arg(1), 'HEADER field name');
        if (field === '' || /[\x00-\x20\x7f-\uffff:]/.test(field)) throw new SearchSyntaxError(`Invalid header field name ${quoteForText(field)}`);
        const value = astring(arg(2), 'HEADER string');
        return { key: { type: 'header', field: asciiLower(field), value }, next: pos + 3 };
      }
      case 'BEFORE':
      case 'ON':
      case 'SINCE':
        return two({ type: 'date', field: 'internal', op: name.toLowerCase() as 'before' | 'on' | 'since', day: dateArg(arg(1), name) });
      case 'SENTBEFORE':
      case 'SENTON':
      case 'SENTSINCE':
        return two({ type: 'date', field: 'sent', op: name.slice(4).toLowerCase() as 'before' | 'on' | 'since', day: dateArg(arg(1), name) });
      case 'LARGER':
      case 'SMALLER': {
        const n = arg(1);
        if (n?.type !== 'number' || n.value > MOD_SEQUENCE_MAX) throw new SearchSyntaxError(`${name} needs a number`);
        return two({ type: 'size', op: name === 'LARGER' ? 'larger' : 'smaller', size: Number(n.value) });
      }
      case 'UID': {
        const set = tokenSequenceSet(arg(1));
        if (set === null) throw new SearchSyntaxError('UID needs a sequence set');
        return two({ type: 'uid', set });
      }
      case 'NOT': {
        const r = this.parseKey(tokens, pos + 1);
        return { key: { type: 'not', key: r.key }, next: r.next };
      }
      case 'OR': {
        const a = this.parseKey(tokens, pos + 1);
        const b = this.parseKey(tokens, a.next);
        return { key: { type: 'or', keys: [a.key, b.key] }, next: b.next };
      }
      case 'MODSEQ':
        return this.parseModseq(tokens, pos);
      case 'EMAILID':
      case 'THREADID': {
        const id = astring(arg(1), `${name} argument`);
        // objectid = 1*255(ALPHA / DIGIT / "_" / "-")   (RFC 8474 §4)
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) throw new SearchSyntaxError(`Invalid object id ${quoteForText(id)}`);
        return two({ type: name === 'EMAILID' ? 'emailid' : 'threadid', id });
      }
      default:
        throw new SearchSyntaxError(`Unknown search key ${quoteForText(t.value)}`);
    }
  }

  /** MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer   (RFC 7162 §3.1.5) */
  private parseModseq(tokens: Token[], pos: number): { key: SearchKey; next: number } {
    let i = pos + 1;
    let entry: { name: string; type: 'priv' | 'shared' | 'all' } | null = null;
    const t = tokens[i];
    if (t !== undefined && t.type !== 'number') {
      // entry-name = entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE
      if (t.type !== 'string' || !/^\/flags\/\\?[^\x00-\x20\x7f(){%*"\\\]]+$/i.test(t.value)) {
        throw new SearchSyntaxError('MODSEQ needs a mod-sequence value or an entry name');
      }
      const ty = tokens[i + 1];
      const type = ty?.type === 'atom' ? ty.value.toLowerCase() : '';
      if (type !== 'priv' && type !== 'shared' && type !== 'all') throw new SearchSyntaxError('MODSEQ entry type must be priv, shared or all');
      entry = { name: t.value, type };
      i += 2;
    }
    const n = tokens[i];
    if (n?.type !== 'number' || n.value > MOD_SEQUENCE_MAX) throw new SearchSyntaxError('MODSEQ needs a mod-sequence value');
    return { key: { type: 'modseq', modseq: n.value, entry }, next: i + 1 };
  }
}

function flag(name: string, set: boolean): SearchKey {
  return { type: 'flag', flag: name, set };
}

/** astring: atom, number, quoted string or literal (strict UTF-8); NIL is the string "NIL". */
function astring(t: Token | undefined, what: string): string {
  if (t === undefined) throw new SearchSyntaxError(`Missing ${what}`);
  if (t.type === 'nil') return 'NIL';
  if (t.type === 'literal') {
    try {
      return utf8.decode(t.value);
    } catch {
      throw new SearchSyntaxError(`Invalid UTF-8 in ${what}`);
    }
  }
  const text = tokenString(t);
  if (text === null) throw new SearchSyntaxError(`Invalid ${what}`);
  return text;
}

function dateArg(t: Token | undefined, key: string): DayNumber {
  const s = t?.type === 'atom' || t?.type === 'string' ? t.value : null;
  const day = s === null ? null : parseSearchDate(s);
  if (day === null) throw new SearchSyntaxError(`${key} needs a date like 1-Feb-1994`);
  return day;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * date-text = date-day "-" date-month "-" date-year: 1 or 2 digit day, case-insensitive
 * three-letter month, 4-digit year. Returns the day number, or null when malformed or not a
 * calendar date (31-Feb-2024).
 */
export function parseSearchDate(s: string): DayNumber | null {
  const m = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(s);
  if (m === null) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  const year = Number(m[3]);
  if (month < 0 || day < 1) return null;
  return dayNumber(year, month + 1, day);
}

/** Day number of a calendar date, or null when the day does not exist in that month. */
export function dayNumber(year: number, month: number, day: number): DayNumber | null {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, years 0-99 stay as given
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return Math.floor(d.getTime() / 86400000);
}

export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

function describe(t: Token): string {
  switch (t.type) {
    case 'atom': return quoteForText(t.value);
    case 'string': return quoteForText(t.value);
    case 'number':
    case 'sequence': return t.text;
    case 'list': return '(...)';
    case 'literal': return 'literal';
    case 'nil': return 'NIL';
    case 'section': return t.name;
  }
}

/** User input quoted for a one-line response text (no CR/LF or other controls, bounded). */
function quoteForText(s: string): string {
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return '"' + (clean.length > 40 ? clean.slice(0, 40) + '...' : clean) + '"';
}
