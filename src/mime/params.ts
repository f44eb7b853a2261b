// Content-Type / Content-Disposition parsing (RFC 2045 §5.1, RFC 2183) and parameter
// decoding (RFC 2231 continuations and charsets, plus RFC 2047 words seen in the wild).
import { decodeCharset } from './charset.js';
import { decodeWords } from './encoded-words.js';
import { cutAtUnfoldedBreak } from './headers.js';

export interface ContentType {
  type: string;
  /** null when missing (e.g. "text/" or a Content-Disposition value). */
  subtype: string | null;
  params: [string, string][];
}

/** Remove RFC 5322 comments outside quoted strings (nested, with quoted-pairs). */
export function stripComments(s: string): string {
  if (s.indexOf('(') < 0) return s;
  let out = '';
  let depth = 0;
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && (inQuote || depth > 0)) {
      if (depth === 0) out += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (depth === 0 && c === '"') inQuote = !inQuote;
    else if (!inQuote && c === '(') { depth++; continue; }
    else if (!inQuote && c === ')' && depth > 0) { depth--; if (depth === 0) out += ' '; continue; }
    if (depth === 0) out += c;
  }
  return out;
}

const TSPECIAL_IN_TYPE = /[()<>@,;:\\"/[\]?=\s]/;

/**
 * Parse a Content-Type (or Content-Disposition) value. Returns null when there is no
 * usable type token. Types are lower-cased; parameter names are lower-cased and values
 * unquoted but otherwise kept as sent.
 */
export function parseContentType(value: string): ContentType | null {
  const v = stripComments(cutAtUnfoldedBreak(value).replace(/\r?\n/g, ''));
  const semi = v.indexOf(';');
  const head = (semi < 0 ? v : v.slice(0, semi)).trim();
  const params = parseParams(v, semi < 0 ? v.length : semi);
  const slash = head.indexOf('/');
  const type = (slash < 0 ? head : head.slice(0, slash)).trim().toLowerCase();
  if (type === '' || TSPECIAL_IN_TYPE.test(type)) return null;
  let subtype: string | null = null;
  if (slash >= 0) {
    // Subtype ends at whitespace; "multipart/mixed boundary=x" (missing ';') still yields
    // the parameters that follow.
    const rest = head.slice(slash + 1).trim();
    const m = /^[^\s;]*/.exec(rest);
    const st = (m === null ? '' : m[0]).toLowerCase();
    subtype = st === '' || /[()<>@,;:\\"[\]?=]/.test(st) ? null : st;
    const after = rest.slice(st.length);
    if (subtype !== null && after.indexOf('=') >= 0) params.unshift(...parseParams(after, 0));
  }
  return { type, subtype, params };
}

/** Parameters after `from` (a ';' or end). Tolerates missing ';' between parameters,
 * spaces around '=', unterminated quotes and unquoted values with spaces. */
function parseParams(s: string, from: number): [string, string][] {
  const out: [string, string][] = [];
  let i = from;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ';' || s[i] === ' ' || s[i] === '\t' || s[i] === '\r')) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && s[i] !== '=' && s[i] !== ';') i++;
    const name = s.slice(nameStart, i).trim().toLowerCase();
    if (i >= n || s[i] === ';') continue; // a token without '=': ignore
    i++; // '='
    while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r')) i++;
    let val = '';
    if (s[i] === '"') {
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        val += s[i++];
      }
      i++; // closing quote (or past end)
    } else {
      // Unquoted: up to ';', or up to whitespace that is followed by another "name=".
      const start = i;
      while (i < n && s[i] !== ';') {
        if ((s[i] === ' ' || s[i] === '\t') && /^[ \t]+[^\s=;"]+[ \t]*=/.test(s.slice(i, i + 80))) break;
        i++;
      }
      val = s.slice(start, i).trim();
    }
    if (name !== '' && !/[\s"]/.test(name) && val !== '') out.push([name, val]);
  }
  return out;
}

/** Percent-decode RFC 2231 extended-value text to bytes (bad escapes kept literally). */
function pctBytes(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.substr(i + 1, 2))) {
      bytes.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(s[i], 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes);
}

/** Split "charset'lang'text" of an RFC 2231 extended value. */
function splitExtended(v: string): { charset: string | null; text: string } {
  const a = v.indexOf("'");
  const b = a < 0 ? -1 : v.indexOf("'", a + 1);
  if (a < 0 || b < 0) return { charset: null, text: v };
  return { charset: v.slice(0, a) || null, text: v.slice(b + 1) };
}

/**
 * Display value of parameter `name` (lower-case): RFC 2231 `name*` or `name*0`, `name*1*`
 * … sections (sorted by number) win over a plain `name`; RFC 2047 words in plain values
 * are decoded. Returns null when the parameter is absent.
 */
export function decodedParam(params: [string, string][], name: string): string | null {
  try {
    const want = name.toLowerCase();
    let plain: string | null = null;
    let ext: string | null = null;
    const sections: { n: number; enc: boolean; v: string }[] = [];
    for (const [k, v] of params) {
      if (k === want) { if (plain === null) plain = v; continue; }
      if (!k.startsWith(want) || k[want.length] !== '*') continue;
      const rest = k.slice(want.length + 1);
      if (rest === '') { if (ext === null) ext = v; continue; }
      const m = /^(\d{1,6})(\*?)$/.exec(rest);
      if (m !== null) sections.push({ n: Number(m[1]), enc: m[2] === '*', v });
    }
    if (ext !== null) {
      const { charset, text } = splitExtended(ext);
      return decodeCharset(pctBytes(text), charset);
    }
    if (sections.length > 0) {
      sections.sort((x, y) => x.n - y.n);
      let charset: string | null = null;
      const bufs: Buffer[] = [];
      sections.forEach((sec, idx) => {
        if (sec.enc) {
          let text = sec.v;
          if (idx === 0) ({ charset, text } = splitExtended(sec.v));
          bufs.push(pctBytes(text));
        } else {
          bufs.push(Buffer.from(sec.v, 'utf8'));
        }
      });
      const s = decodeCharset(Buffer.concat(bufs), charset);
      return s.indexOf('=?') >= 0 ? decodeWords(s, false) : s;
    }
    if (plain !== null) return plain.indexOf('=?') >= 0 ? decodeWords(plain, false) : plain;
    return null;
  } catch {
    return null;
  }
}
