// RFC 2047 encoded-word decoding for unstructured text, phrases and (non-standard but
// common) parameter values.
import { decodeCharset } from './charset.js';
import { bytesToString, cutAtUnfoldedBreak } from './headers.js';

// charset (optionally *lang per RFC 2231 §5), B or Q, then encoded text. The text may
// contain folding whitespace from broken mailers; it is removed before decoding.
/** A line fold with the blanks around it. Matched only from the start of a run of blanks (the
 * look-behind): tried at every blank, a long run without a line break is scanned again from each
 * one, quadratic (a 50 KB run of tabs in a Subject took a second). */
const FOLD = /(?<![ \t])[ \t]*\r?\n[ \t]*/g;
const EW = /=\?([^?\s"()<>]+)\?([bBqQ])\?([^?]*?)\?=/g;

/** Decode the text of one encoded word to bytes. */
export function encodedWordBytes(enc: string, text: string): Buffer {
  if (enc === 'b' || enc === 'B') return Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  return qDecode(text);
}

function qDecode(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out[n++] = 0x20;
    else if (c === 0x3d && i + 2 < text.length + 0 && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      out[n++] = parseInt(text.substr(i + 1, 2), 16);
      i += 2;
    } else if (c < 256) out[n++] = c;
    else {
      const b = Buffer.from(text[i], 'utf8');
      // Rare: non-latin text inside a Q word; grow by falling back to concat.
      return Buffer.concat([out.subarray(0, n), b, qDecode(text.slice(i + 1))]);
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function charsetOf(label: string): string {
  const star = label.indexOf('*');
  return (star >= 0 ? label.slice(0, star) : label).toLowerCase();
}

/**
 * Decode all encoded words in `s` (already a JS string). Whitespace between adjacent
 * encoded words is dropped (RFC 2047 §6.2); adjacent words in the same charset are joined
 * at byte level first so multi-byte characters split across words survive. With
 * `spaceGlued`, an encoded word glued to surrounding text gets a separating space
 * (subjects like "[SPAM]=?utf-8?...?=").
 */
export function decodeWords(s: string, spaceGlued: boolean): string {
  if (s.indexOf('=?') < 0) return s;
  let out = '';
  let last = 0;
  let pendingBytes: Buffer[] = [];
  let pendingCharset = '';
  const flush = () => {
    if (pendingBytes.length > 0) {
      out += decodeCharset(pendingBytes.length === 1 ? pendingBytes[0] : Buffer.concat(pendingBytes), pendingCharset);
      pendingBytes = [];
    }
  };
  EW.lastIndex = 0;
  let m: RegExpExecArray | null;
  let prevWasWord = false;
  while ((m = EW.exec(s)) !== null) {
    const between = s.slice(last, m.index);
    const betweenIsWs = /^[ \t\r\n]*$/.test(between);
    const cs = charsetOf(m[1]);
    if (prevWasWord && betweenIsWs) {
      if (cs !== pendingCharset) flush();
    } else {
      flush();
      if (spaceGlued && prevWasWord && between.length > 0 && !/^[ \t]/.test(between)) out += ' ';
      out += between;
      if (spaceGlued && between.length > 0 && !/[ \t\r\n("]$/.test(between)) out += ' ';
    }
    pendingCharset = cs;
    pendingBytes.push(encodedWordBytes(m[2], m[3].replace(FOLD, '')));
    last = EW.lastIndex;
    prevWasWord = true;
  }
  flush();
  const tail = s.slice(last);
  if (spaceGlued && prevWasWord && tail.length > 0 && !/^[ \t\r\n),."]/.test(tail)) out += ' ';
  return out + tail;
}

/** Decode an unstructured header value: unfold, decode encoded words, trim. Raw 8-bit
 * bytes are taken as UTF-8 when valid, else latin1. */
export function decodeHeaderValue(raw: string | Buffer): string {
  try {
    let s = typeof raw === 'string' ? raw : bytesToString(raw);
    s = cutAtUnfoldedBreak(s);
    // Folding whitespace inside encoded words is removed by decodeWords; elsewhere a fold
    // (and the blanks around it) becomes one space.
    s = decodeWords(s, true);
    s = s.replace(FOLD, ' ');
    return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
  } catch {
    return typeof raw === 'string' ? raw : raw.toString('latin1');
  }
}
