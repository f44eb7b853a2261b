// Matching server response lines against script patterns.
//
// A pattern is the expected line, literally, with these inserts:
//   {{*}}            any text (also across inlined literals)
//   {{name:REGEX}}   a regular expression whose match is saved as ${name} for later lines
//   {{:REGEX}}       a regular expression
//   {{=TEXT}}        TEXT as an IMAP astring: quoted, literal, or (when valid) a bare atom
//   {{~TEXT}}        TEXT, ASCII letters in any case (e.g. {{~"TEXT"}} for a MIME type string)
//   {{has:A B !C}}   a space-separated list of atoms containing A and B but not C
//                    (case-insensitive; used for capability lists)
//   <<name>>         the blob `name` as a literal: {N}CRLF + bytes (<<~name>>: literal8)
//   <<'text'>>       inline literal text (escapes \r \n \t \0 \xNN \\ \')
//   ?NAME value      (inside a FETCH response's list) an optional data item, e.g. ?UID 5
//
// Before matching, both the expected and the received line are put in a canonical order where
// RFC 9051 leaves the order free: FETCH data items, flag lists, LIST attributes, STATUS and
// ESEARCH items, CAPABILITY and ENABLED atoms, QUOTA resources, SEARCH numbers. A script can
// therefore state items in any order, and a server may send them in any order.

export type Blobs = ReadonlyMap<string, string>;

/** Text (UTF-8 in the script) as a byte string: one JS char per byte. */
export function bin(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Processes \r \n \t \0 \xNN \\ \' \" escapes. */
export function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_m, e: string) => {
    if (e[0] === 'x' && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    switch (e) {
      case 'r': return '\r';
      case 'n': return '\n';
      case 't': return '\t';
      case '0': return '\0';
      default: return e;
    }
  });
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The bytes a `<<...>>` insert stands for, with its literal prefix. */
export function literalInsert(spec: string, blobs: Blobs): { data: string; binary: boolean; nonSync: boolean } {
  let s = spec;
  let binary = false;
  let nonSync = false;
  if (s.startsWith('~')) {
    binary = true;
    s = s.slice(1);
  }
  if (s.endsWith('+')) {
    nonSync = true;
    s = s.slice(0, -1);
  }
  let data: string;
  if (s.startsWith("'") && s.endsWith("'") && s.length >= 2) data = unescape(s.slice(1, -1));
  else {
    const b = blobs.get(s);
    if (b === undefined) throw new Error(`unknown blob <<${s}>>`);
    data = b;
  }
  return { data, binary, nonSync };
}

// ---- Tokens of a response line (enough to reorder items) ----

interface Tok {
  start: number;
  end: number;
  /** For parenthesised lists. */
  items?: Tok[];
}

type Mode = 'actual' | 'pattern';

class TokError extends Error {}

function skipInsert(s: string, i: number): number {
  // At `{{` or `<<` in a pattern: the insert is opaque.
  const close = s.startsWith('{{', i) ? '}}' : '>>';
  const j = s.indexOf(close, i + 2);
  if (j === -1) throw new TokError('unterminated insert');
  return j + 2;
}

function readToken(s: string, i: number, mode: Mode): Tok {
  const c = s[i];
  if (c === undefined || c === ' ' || c === ')') throw new TokError('no token');
  if (c === '(') {
    const items: Tok[] = [];
    let j = i + 1;
    if (s[j] === ')') return { start: i, end: j + 1, items };
    for (;;) {
      const t = readToken(s, j, mode);
      items.push(t);
      j = t.end;
      if (s[j] === ')') return { start: i, end: j + 1, items };
      if (s[j] !== ' ') throw new TokError('bad list');
      j++;
    }
  }
  if (c === '"') {
    let j = i + 1;
    while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) throw new TokError('unterminated quoted');
    return { start: i, end: j + 1 };
  }
  if (mode === 'actual') {
    const m = /^~?\{(\d+)\}\r\n/.exec(s.slice(i, i + 30));
    if (m) return { start: i, end: i + m[0].length + Number(m[1]) };
  }
  // A word; brackets may hold spaces and parentheses (BODY[HEADER.FIELDS (A B)]<0>).
  let j = i;
  let depth = 0;
  while (j < s.length) {
    const ch = s[j]!;
    if (mode === 'pattern' && (s.startsWith('{{', j) || s.startsWith('<<', j))) {
      j = skipInsert(s, j);
      continue;
    }
    if (ch === '[') depth++;
    else if (ch === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (ch === ' ' || ch === ')' || ch === '(')) break;
    else if (ch === '"' && depth > 0) {
      j++;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    }
    j++;
  }
  if (j === i) throw new TokError('empty word');
  return { start: i, end: j };
}

/** Reads up to `max` space-separated tokens; stops quietly at anything it cannot read. */
function readTokens(s: string, from: number, mode: Mode, max = Infinity): Tok[] {
  const out: Tok[] = [];
  let i = from;
  while (out.length < max && i < s.length) {
    let t: Tok;
    try {
      t = readToken(s, i, mode);
    } catch {
      break;
    }
    out.push(t);
    i = t.end;
    if (s[i] !== ' ') break;
    i++;
  }
  return out;
}

const hasInsert = (t: string) => t.includes('{{') || t.includes('<<');
const text = (s: string, t: Tok) => s.slice(t.start, t.end);

/** Sorted copy of a list's items ("(b a)" → "(a b)"), grouping `n` tokens per item. */
function sortList(s: string, list: Tok, group: number, sortInner?: (name: string, value: string) => string): string | null {
  const items = list.items!;
  const src = text(s, list);
  if (items.length % group !== 0) return null;
  const groups: { key: string; text: string }[] = [];
  for (let k = 0; k < items.length; k += group) {
    const parts = items.slice(k, k + group).map((t) => text(s, t));
    if (hasInsert(parts[0]!)) return null;
    if (sortInner && group === 2) parts[1] = sortInner(parts[0]!, parts[1]!);
    groups.push({ key: parts[0]!.toUpperCase(), text: parts.join(' ') });
  }
  // Only normalise well-formed (single-spaced) lists, so odd spacing is still seen.
  const rejoined = '(' + items.map((t) => text(s, t)).join(' ') + ')';
  if (rejoined !== src) return null;
  groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return '(' + groups.map((g) => g.text).join(' ') + ')';
}

function sortFlagList(value: string, mode: Mode): string {
  if (hasInsert(value) && mode === 'pattern') return value;
  const t = tryToken(value, mode);
  if (!t?.items || t.end !== value.length) return value;
  const items = t.items.map((x) => text(value, x));
  if ('(' + items.join(' ') + ')' !== value) return value;
  return '(' + [...items].sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0)).join(' ') + ')';
}

function tryToken(s: string, mode: Mode, at = 0): Tok | null {
  try {
    return readToken(s, at, mode);
  } catch {
    return null;
  }
}

function splice(s: string, t: Tok, replacement: string | null): string {
  return replacement === null ? s : s.slice(0, t.start) + replacement + s.slice(t.end);
}

function sortWords(words: string[]): string[] {
  return [...words].sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
}

/** Canonical order inside a response code `[...]`. */
function normalizeCode(code: string, mode: Mode): string {
  // code includes the brackets
  const inner = code.slice(1, -1);
  const m = /^(CAPABILITY|PERMANENTFLAGS) (.*)$/i.exec(inner);
  if (!m) return code;
  if (m[1]!.toUpperCase() === 'CAPABILITY') {
    if (hasInsert(m[2]!) && mode === 'pattern') return code;
    return `[${m[1]} ${sortWords(m[2]!.split(' ')).join(' ')}]`;
  }
  return `[${m[1]} ${sortFlagList(m[2]!, mode)}]`;
}

/** The line with order-free parts in canonical order (see the header comment). */
export function normalize(line: string, mode: Mode): string {
  try {
    return normalizeInner(line, mode);
  } catch (e) {
    if (e instanceof TokError) return line;
    throw e;
  }
}

function normalizeInner(s: string, mode: Mode): string {
  const head = readTokens(s, 0, mode, 4);
  if (head.length < 2) return s;
  const w = (k: number) => (head[k] ? text(s, head[k]!).toUpperCase() : '');
  const isUntagged = text(s, head[0]!) === '*';
  // Status responses (tagged or untagged) with a response code.
  const status = w(1);
  if (['OK', 'NO', 'BAD', 'BYE', 'PREAUTH'].includes(status) && head[2] && s[head[2].start] === '[') {
    const codeTok = head[2];
    return splice(s, codeTok, normalizeCode(text(s, codeTok), mode));
  }
  if (!isUntagged) return s;
  const kind = w(1);
  if (w(2) === 'FETCH' && head[3]?.items) {
    const r = sortList(s, head[3], 2, (name, value) => (name.toUpperCase() === 'FLAGS' ? sortFlagList(value, mode) : value));
    return splice(s, head[3], r);
  }
  if (kind === 'FLAGS' && head[2]?.items) return splice(s, head[2], sortFlagList(text(s, head[2]), mode));
  if ((kind === 'LIST' || kind === 'LSUB') && head[2]?.items) return splice(s, head[2], sortFlagList(text(s, head[2]), mode));
  if (kind === 'STATUS') {
    const all = readTokens(s, 0, mode);
    const last = all[all.length - 1];
    if (all.length === 4 && last?.items) return splice(s, last, sortList(s, last, 2));
    return s;
  }
  if (kind === 'QUOTA') {
    const all = readTokens(s, 0, mode);
    const last = all[all.length - 1];
    if (all.length === 4 && last?.items) return splice(s, last, sortList(s, last, 3));
    return s;
  }
  if (kind === 'CAPABILITY' || kind === 'ENABLED') {
    const rest = s.slice(head[1]!.end + 1);
    if (s.length <= head[1]!.end || (mode === 'pattern' && hasInsert(rest))) return s;
    return s.slice(0, head[1]!.end + 1) + sortWords(rest.split(' ')).join(' ');
  }
  if (kind === 'SEARCH') {
    const rest = s.slice(head[1]!.end + 1);
    if (s.length <= head[1]!.end || (mode === 'pattern' && hasInsert(rest))) return s;
    const m = /^([0-9 ]*?)( \(MODSEQ [0-9]+\))?$/.exec(rest);
    if (!m || m[1]!.startsWith(' ') || m[1]!.includes('  ')) return s;
    const nums = m[1]!.split(' ').filter((x) => x !== '').map(Number).sort((a, b) => a - b);
    return s.slice(0, head[1]!.end + 1) + nums.join(' ') + (m[2] ?? '');
  }
  if (kind === 'ESEARCH') {
    const all = readTokens(s, 0, mode);
    let k = 2;
    if (all[k]?.items) k++; // (TAG "x")
    if (all[k] && text(s, all[k]!).toUpperCase() === 'UID') k++;
    const pairs = all.slice(k);
    if (pairs.length % 2 !== 0 || pairs.length === 0) return s;
    if (all[all.length - 1]!.end !== s.length) return s;
    const groups: { key: string; text: string }[] = [];
    for (let p = 0; p < pairs.length; p += 2) {
      const name = text(s, pairs[p]!);
      if (hasInsert(name)) return s;
      groups.push({ key: name.toUpperCase(), text: `${name} ${text(s, pairs[p + 1]!)}` });
    }
    const start = pairs[0]!.start;
    if (s.slice(start) !== groups.map((g) => g.text).join(' ')) return s;
    groups.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return s.slice(0, start) + groups.map((g) => g.text).join(' ');
  }
  return s;
}

// ---- Compiling a pattern ----

export interface MatchResult {
  ok: boolean;
  captures: Record<string, string>;
  /** Why a structurally matching line was still refused (e.g. a {{has:}} check). */
  why?: string;
}

interface Compiled {
  re: RegExp;
  checks: { group: string; test: (v: string) => string | null }[];
}

export class Pattern {
  private readonly variants: Compiled[];
  readonly source: string;

  /** `pattern` is a byte string with ${vars} already expanded. */
  constructor(pattern: string, private readonly blobs: Blobs) {
    this.source = pattern;
    this.variants = optionalVariants(pattern).map((v) => this.compile(v));
  }

  private compile(pattern: string): Compiled {
    const checks: Compiled['checks'] = [];
    const p = normalize(pattern, 'pattern');
    let re = '';
    let i = 0;
    let n = 0;
    while (i < p.length) {
      if (p.startsWith('{{', i)) {
        const j = p.indexOf('}}', i + 2);
        if (j === -1) throw new Error(`unterminated {{ in pattern: ${pattern}`);
        const ins = p.slice(i + 2, j);
        i = j + 2;
        if (ins === '*') re += '[\\s\\S]*?';
        else if (ins.startsWith('=')) re += astringRe(ins.slice(1));
        else if (ins.startsWith('~')) re += caseless(ins.slice(1));
        else if (/^has:/i.test(ins)) {
          const g = `_c${n++}`;
          re += `(?<${g}>[^\\]\\r\\n]*)`;
          const want = ins.slice(4).trim().split(/\s+/).filter(Boolean);
          checks.push({
            group: g,
            test: (v) => {
              const have = new Set(v.split(' ').map((x) => x.toUpperCase()));
              for (const x of want) {
                if (x.startsWith('!') && have.has(x.slice(1).toUpperCase())) return `${x.slice(1)} must not be listed`;
                if (!x.startsWith('!') && !have.has(x.toUpperCase())) return `${x} missing`;
              }
              return null;
            },
          });
        } else {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)?:([\s\S]*)$/.exec(ins);
          if (!m) throw new Error(`bad insert {{${ins}}} in pattern: ${pattern}`);
          re += m[1] ? `(?<${m[1]}>${m[2]})` : `(?:${m[2]})`;
        }
        continue;
      }
      if (p.startsWith('<<', i)) {
        const j = p.indexOf('>>', i + 2);
        if (j === -1) throw new Error(`unterminated << in pattern: ${pattern}`);
        const lit = literalInsert(p.slice(i + 2, j), this.blobs);
        re += reEscape(`${lit.binary ? '~' : ''}{${lit.data.length}}\r\n${lit.data}`);
        i = j + 2;
        continue;
      }
      re += reEscape(p[i]!);
      i++;
    }
    return { re: new RegExp(`^${re}$`), checks };
  }

  match(line: string): MatchResult {
    const actual = normalize(line, 'actual');
    let why: string | undefined;
    for (const v of this.variants) {
      const m = v.re.exec(actual);
      if (!m) continue;
      const captures: Record<string, string> = {};
      for (const [k, val] of Object.entries(m.groups ?? {})) {
        if (!k.startsWith('_c') && val !== undefined) captures[k] = val;
      }
      why = undefined;
      for (const c of v.checks) {
        why = c.test(m.groups?.[c.group] ?? '') ?? undefined;
        if (why) break;
      }
      if (!why) return { ok: true, captures };
    }
    return why ? { ok: false, captures: {}, why } : { ok: false, captures: {} };
  }
}

/**
 * FETCH data items marked optional with a leading "?" (e.g. "* 1 FETCH (FLAGS (\\Seen) ?UID 1)"):
 * every combination of present / absent items, as separate patterns.
 */
function optionalVariants(pattern: string): string[] {
  let head: Tok[];
  try {
    head = readTokens(pattern, 0, 'pattern', 4);
  } catch {
    return [pattern];
  }
  const list = head[3];
  if (head.length < 4 || text(pattern, head[0]!) !== '*' || text(pattern, head[2]!).toUpperCase() !== 'FETCH' || !list?.items) return [pattern];
  const items = list.items;
  if (items.length % 2 !== 0) return [pattern];
  const pairs: { text: string; optional: boolean }[] = [];
  for (let k = 0; k < items.length; k += 2) {
    const name = text(pattern, items[k]!);
    const value = text(pattern, items[k + 1]!);
    pairs.push({ text: `${name.replace(/^\?/, '')} ${value}`, optional: name.startsWith('?') });
  }
  const opt = pairs.filter((x) => x.optional);
  if (opt.length === 0) return [pattern];
  const out: string[] = [];
  for (let mask = 0; mask < 1 << opt.length; mask++) {
    const keep = pairs.filter((x) => !x.optional || (mask & (1 << opt.indexOf(x))) !== 0);
    out.push(pattern.slice(0, list.start) + '(' + keep.map((x) => x.text).join(' ') + ')' + pattern.slice(list.end));
  }
  return out;
}

/** `t` with ASCII letters matched case-insensitively (IMAP strings such as "TEXT" / "text"). */
function caseless(t: string): string {
  return t.replace(/[\s\S]/g, (ch) => (/[A-Za-z]/.test(ch) ? `[${ch.toUpperCase()}${ch.toLowerCase()}]` : reEscape(ch)));
}

/** An IMAP astring holding exactly `t`: quoted, literal, or a bare atom when `t` is one. */
function astringRe(t: string): string {
  const quoted = '"' + t.replace(/[\\"]/g, (c) => '\\' + c) + '"';
  const alts = [reEscape(quoted), reEscape(`{${t.length}}\r\n${t}`)];
  if (/^[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c-\x7e]+$/.test(t)) alts.push(reEscape(t));
  return `(?:${alts.join('|')})`;
}
