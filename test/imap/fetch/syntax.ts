// A small strict reader for IMAP response data, used to check that BODYSTRUCTURE, BODY and
// ENVELOPE output is well-formed: balanced parentheses, valid tokens, quoted strings with
// only legal escapes, literal byte counts that match, and the RFC 9051 body/envelope grammar.

export type Node =
  | { t: 'list'; items: Node[] }
  | { t: 'nil' }
  | { t: 'num'; v: number }
  | { t: 'str'; v: Buffer };

/** Parses exactly one value filling all of `b`; throws with the offset on any error. */
export function parseValue(b: Buffer, utf8 = false): Node {
  let p = 0;
  const fail = (msg: string): never => { throw new Error(`${msg} at ${p}: ${b.toString('latin1', Math.max(0, p - 20), p + 20)}`); };
  const value = (): Node => {
    const c = b[p];
    if (c === 0x28) { // (
      p++;
      const items: Node[] = [];
      while (b[p] !== 0x29) {
        if (p >= b.length) fail('unterminated list');
        if (items.length > 0) {
          // a space separates items, except between adjacent lists (body parts, addresses)
          if (b[p] === 0x20) p++;
          else if (!(b[p] === 0x28 && items[items.length - 1]!.t === 'list')) fail('missing space');
        }
        items.push(value());
      }
      p++;
      return { t: 'list', items };
    }
    if (c === 0x22) { // "
      p++;
      const start = p;
      const bytes: number[] = [];
      for (;;) {
        if (p >= b.length) fail('unterminated quoted string');
        const d = b[p]!;
        if (d === 0x22) break;
        if (d === 0x0d || d === 0x0a || d === 0) fail('CR/LF/NUL in quoted string');
        if (d >= 0x80 && !utf8) fail('8-bit byte in quoted string');
        if (d === 0x5c) {
          const e = b[p + 1];
          if (e !== 0x5c && e !== 0x22) fail('bad escape');
          bytes.push(e!); p += 2; continue;
        }
        bytes.push(d); p++;
      }
      const v = Buffer.from(bytes);
      if (utf8 && !Buffer.from(v.toString('utf8'), 'utf8').equals(v)) { p = start; fail('invalid UTF-8 in quoted string'); }
      p++;
      return { t: 'str', v };
    }
    if (c === 0x7b) { // {N}\r\n
      const close = b.indexOf('}\r\n', p, 'latin1');
      if (close < 0) fail('bad literal');
      const digits = b.toString('latin1', p + 1, close);
      if (!/^[0-9]+$/.test(digits)) fail('bad literal length');
      const n = Number(digits);
      const start = close + 3;
      if (start + n > b.length) fail('literal overruns the response');
      p = start + n;
      return { t: 'str', v: b.subarray(start, start + n) };
    }
    if (c !== undefined && c >= 0x30 && c <= 0x39) {
      const s = p;
      while (b[p] !== undefined && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
      return { t: 'num', v: Number(b.toString('latin1', s, p)) };
    }
    if (b.toString('latin1', p, p + 3) === 'NIL') { p += 3; return { t: 'nil' }; }
    return fail('unexpected token');
  };
  const v = value();
  if (p !== b.length) fail('trailing data');
  return v;
}

function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error('grammar: ' + what);
}

const isStr = (n: Node | undefined): boolean => n !== undefined && n.t === 'str';
const isNstr = (n: Node | undefined): boolean => n !== undefined && (n.t === 'str' || n.t === 'nil');
const isNum = (n: Node | undefined): boolean => n !== undefined && n.t === 'num';
const upper = (n: Node | undefined): string => (n !== undefined && n.t === 'str' ? n.v.toString('latin1').toUpperCase() : '');

function checkParams(n: Node | undefined, what: string): void {
  check(n !== undefined, what + ' missing');
  if (n.t === 'nil') return;
  check(n.t === 'list' && n.items.length > 0 && n.items.length % 2 === 0 && n.items.every(isStr), what + ' param list');
}

function checkDsp(n: Node | undefined): void {
  check(n !== undefined, 'dsp missing');
  if (n.t === 'nil') return;
  check(n.t === 'list' && n.items.length === 2 && isStr(n.items[0]), 'dsp');
  checkParams(n.items[1], 'dsp');
}

function checkLang(n: Node | undefined): void {
  check(n !== undefined, 'lang missing');
  if (isNstr(n)) return;
  check(n.t === 'list' && n.items.length > 0 && n.items.every(isStr), 'lang');
}

function checkAddresses(n: Node | undefined): void {
  check(n !== undefined, 'address list missing');
  if (n.t === 'nil') return;
  check(n.t === 'list' && n.items.length > 0, 'address list');
  for (const a of n.items) check(a.t === 'list' && a.items.length === 4 && a.items.every(isNstr), 'address');
}

export function checkEnvelope(n: Node): void {
  check(n.t === 'list' && n.items.length === 10, 'envelope has 10 fields');
  const it = n.items;
  check(isNstr(it[0]) && isNstr(it[1]) && isNstr(it[8]) && isNstr(it[9]), 'envelope nstrings');
  for (let i = 2; i < 8; i++) checkAddresses(it[i]);
}

/** Validates a `body` per RFC 9051 (ext=true: the extension data we always send). */
export function checkBody(n: Node, ext: boolean): void {
  check(n.t === 'list' && n.items.length > 0, 'body is a non-empty list');
  const it = n.items;
  if (it[0]!.t === 'list') {
    let i = 0;
    while (i < it.length && it[i]!.t === 'list') checkBody(it[i++]!, ext);
    check(isStr(it[i]), 'multipart subtype');
    i++;
    if (ext) {
      checkParams(it[i++], 'multipart');
      checkDsp(it[i++]); checkLang(it[i++]); check(isNstr(it[i++]), 'location');
    }
    check(i === it.length, 'multipart field count');
    return;
  }
  check(isStr(it[0]) && isStr(it[1]), 'media type');
  checkParams(it[2], 'body');
  check(isNstr(it[3]) && isNstr(it[4]) && isStr(it[5]) && isNum(it[6]), 'body-fields');
  let i = 7;
  const type = upper(it[0]);
  const sub = upper(it[1]);
  if (type === 'TEXT') {
    check(isNum(it[i++]), 'text lines');
  } else if (type === 'MESSAGE' && (sub === 'RFC822' || sub === 'GLOBAL')) {
    checkEnvelope(it[i++]!);
    checkBody(it[i++]!, ext);
    check(isNum(it[i++]), 'message lines');
  }
  if (ext) {
    check(isNstr(it[i++]), 'md5');
    checkDsp(it[i++]); checkLang(it[i++]); check(isNstr(it[i++]), 'location');
  }
  check(i === it.length, `body field count ${it.length} != ${i}`);
}
