// Charset conversion to UTF-8 strings. iconv-lite covers the legacy charsets; the WHATWG
// decoders built into Node (TextDecoder) cover the few it lacks, notably ISO-2022-JP, in which
// much Japanese mail is still written; anything neither knows falls back to UTF-8 when the
// bytes are valid UTF-8, else latin1 (no byte is ever dropped, and nothing throws).
import iconv from 'iconv-lite';
import { isUtf8 } from 'node:buffer';

const cache = new Map<string, string | null>();

/** The labels of ISO-8859-1 (the Encoding Standard's list for windows-1252, less the ASCII ones,
 * which are handled below). */
const LATIN1_LABELS = ['iso-8859-1', 'iso8859-1', 'iso_8859-1', 'iso_8859-1:1987', 'iso88591', 'latin1', 'l1', 'cp819', 'ibm819', 'iso-ir-100', 'csisolatin1'];

/** Common mislabels seen in real mail. Latin-1 is read as windows-1252, as the WHATWG Encoding
 * Standard (and so every browser and most mail programs) reads it: Windows wrote its curly
 * quotes, dashes and € (0x80-0x9f) into mail it labelled iso-8859-1, where strictly they are
 * invisible control characters ("I\x92m" instead of "I’m"). */
const ALIAS: Record<string, string> = {
  'ks_c_5601-1987': 'cp949', 'x-unknown': '', 'unknown-8bit': '', 'x-user-defined': '',
  'iso-8859-8-i': 'iso-8859-8', 'utf8': 'utf-8', 'ansi_x3.4-1968': 'us-ascii', 'cp-850': 'cp850',
  ...Object.fromEntries(LATIN1_LABELS.map((l) => [l, 'windows-1252'])),
};

/** Normalise a charset label to one iconv-lite knows, or null. */
function resolve(label: string): string | null {
  let key = label.trim().toLowerCase();
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let name: string | null = null;
  const a = ALIAS[key];
  if (a !== undefined) key = a;
  if (key !== '') {
    try {
      if (iconv.encodingExists(key)) name = key;
    } catch { name = null; }
  }
  if (cache.size < 1000) cache.set(label.trim().toLowerCase(), name);
  return name;
}

const webCache = new Map<string, TextDecoder | null>();

/** Node's own decoder for a label iconv-lite does not know, or null. Not the WHATWG
 * "replacement" decoder (ISO-2022-KR/CN, HZ), which turns the whole text into one U+FFFD. */
function webDecoder(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  let d = webCache.get(key);
  if (d !== undefined) return d;
  try {
    d = new TextDecoder(key);
    // x-user-defined maps high bytes to private-use characters: the guess below reads better.
    if (d.encoding === 'replacement' || d.encoding === 'x-user-defined') d = null;
  } catch {
    d = null; // not a label the Encoding Standard knows (TextDecoder throws RangeError)
  }
  if (webCache.size < 1000) webCache.set(key, d);
  return d;
}

function hasHighBit(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] >= 0x80) return true;
  return false;
}

/** Decode bytes in `charset` (may be null/unknown) to a JS string. */
export function decodeCharset(buf: Buffer, charset: string | null): string {
  if (!hasHighBit(buf)) {
    // 7-bit data is the same in every ASCII-compatible charset; only UTF-16/32 and
    // UTF-7 style charsets need real conversion.
    const cs = charset === null ? '' : charset.trim().toLowerCase();
    if (!/^(utf-?(16|32|7)|ucs|unicode|iso-2022|hz|cp1200|csunicode)/.test(cs)) return buf.toString('latin1');
  }
  const name = charset === null ? null : resolve(charset);
  if (name === null && charset !== null) {
    const web = webDecoder(charset);
    if (web !== null) return web.decode(buf);
  }
  if (name === null || name === 'us-ascii' || name === 'ascii') {
    // Unknown or 7-bit label on 8-bit data: UTF-8 when it is, else windows-1252 (a
    // latin1 superset that gives real characters for 0x80-0x9f).
    return isUtf8(buf) ? buf.toString('utf8') : iconv.decode(buf, 'windows-1252');
  }
  if (name === 'utf-8') return buf.toString('utf8');
  try {
    return iconv.decode(buf, name);
  } catch {
    return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
  }
}
