// A fast, tolerant one-pass HTML scanner for the spam filter: visible text, links, images and
// the structural facts spammers' HTML gives away (hidden text, comments inside words, tiny or
// invisible fonts, forms and scripts). Not a conforming HTML parser: it never throws and never
// backtracks, so hostile input costs linear time.
import iconv from 'iconv-lite';
import { isSpaceCode } from './space.js';

export interface HtmlLink { href: string; text: string }

export interface HtmlInfo {
  /** Visible text, entities decoded, block elements turned into line breaks. */
  text: string;
  /** Tag and attribute tokens ("tag:font", "attr:font.color", "val:font.color=#ff0000"). */
  tokens: Set<string>;
  links: HtmlLink[];
  /** URLs from src/background/action attributes (images, forms, frames). */
  resources: string[];
  tags: number;
  unknownTags: number;
  images: number;
  /** Letters of the words inside elements styled invisible (display:none, zero or tiny font, white on
   * default background), not counting a preheader: hidden text before any visible text, which mail
   * templates use for the preview line that mail programs show beside the subject. */
  hiddenChars: number;
  comments: number;
  /** Comments glued between two letters: "vi<!-- x -->agra". */
  commentsInWords: number;
  /** Letters written as numeric entities ("&#105;"), an obfuscation of words. */
  entityLetters: number;
  script: boolean;
  form: boolean;
  iframe: boolean;
  objectEmbed: boolean;
  metaRefresh: boolean;
  /** Largest font size seen (HTML size 1-7 scale, "+n" taken from 3). */
  maxFontSize: number;
}

const MAX_INPUT = 512 * 1024;
const MAX_TOKENS = 400;

const VOID = new Set(['br', 'img', 'hr', 'meta', 'link', 'input', 'area', 'base', 'col', 'param', 'embed', 'wbr', 'source', 'basefont', 'frame', 'isindex', 'spacer']);
const BLOCK = new Set(['p', 'br', 'div', 'tr', 'td', 'th', 'li', 'ul', 'ol', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'title', 'blockquote', 'pre', 'hr', 'center', 'dd', 'dt', 'dl', 'form', 'tbody', 'thead', 'body', 'html', 'head', 'address', 'option', 'select', 'caption', 'fieldset', 'legend', 'frameset', 'frame']);
const KNOWN = new Set([...VOID, ...BLOCK, 'a', 'b', 'i', 'u', 's', 'em', 'strong', 'font', 'span', 'small', 'big', 'sup', 'sub', 'strike', 'tt', 'code', 'abbr', 'acronym', 'cite', 'label', 'button', 'textarea', 'script', 'style', 'noscript', 'iframe', 'object', 'map', 'nobr', 'o:p', 'xml', 'blink', 'marquee', 'ins', 'del', 'q', 'kbd', 'var', 'dfn', 'samp', 'bdo', 'colgroup', 'tfoot', 'optgroup', 'applet', 'noframes', 'layer', 'ilayer', 'nolayer', 'multicol', 'bgsound', 'o', 'st1', 'v']);
/** Attributes whose values say something general about the message (not per-message ids). */
const VALUE_ATTRS = new Set(['color', 'bgcolor', 'size', 'face', 'align', 'border', 'width', 'height', 'type', 'method', 'target', 'http-equiv', 'text', 'link', 'cellpadding', 'cellspacing']);
const NAMED: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', trade: '™',
  euro: '€', pound: '£', yen: '¥', cent: '¢', middot: '·', bull: '•', hellip: '…', mdash: '—',
  ndash: '–', laquo: '«', raquo: '»', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', deg: '°',
  times: '×', eacute: 'é', egrave: 'è', agrave: 'à', aacute: 'á', ouml: 'ö', uuml: 'ü', auml: 'ä',
  szlig: 'ß', ntilde: 'ñ', ccedil: 'ç', iexcl: '¡', iquest: '¿', shy: '',
};

function countLetters(s: string): number {
  let n = 0;
  for (const ch of s) if (/[\p{L}\p{N}]/u.test(ch)) n++;
  return n;
}

/** Letters of the plain words in s: links, paths and addresses (a hidden message id in a
 * notification) are not the text that hides to fool a filter. */
function wordLetters(s: string): number {
  let n = 0;
  for (const w of s.split(/\s+/)) if (!IDENTIFIER.test(w)) n += countLetters(w);
  return n;
}

/** A link, an address or a path of several segments ("org/repo/issues/1839"), not a word. */
const IDENTIFIER = /:\/\/|^www\.|\S@\S+\.\S|\S\/\S+\/\S/i;
/** Letters of a preview line (templates cap it near 100-150 characters). */
const PREHEADER_LETTERS = 200;

function isLetter(c: string | undefined): boolean {
  return c !== undefined && /\p{L}/u.test(c);
}

/** What &#128; to &#159; stand for: HTML reads them as windows-1252 characters (curly quotes,
 * dashes, €), as Windows tools wrote them, not as the invisible C1 controls of those numbers. */
const C1_AS_WINDOWS_1252 = [...iconv.decode(Buffer.from(Array.from({ length: 32 }, (_, i) => 0x80 + i)), 'windows-1252')]
  .map((c, i) => (c === '\ufffd' ? String.fromCharCode(0x80 + i) : c)); // the five it leaves undefined stay as they are

/** Decode character references; counts letters written as numeric references. */
export function decodeEntities(s: string, stats?: { entityLetters: number }): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z][a-zA-Z0-9]{1,9});?/g, (m, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff)) return ' ';
      const ch = code >= 0x80 && code <= 0x9f ? C1_AS_WINDOWS_1252[code - 0x80] : String.fromCodePoint(code);
      if (stats !== undefined && /[A-Za-z]/.test(ch)) stats.entityLetters++;
      return ch;
    }
    const v = NAMED[ref.toLowerCase()];
    return v === undefined ? m : v;
  });
}

interface Attr { name: string; value: string }

/** Parse attributes of a tag body (the text between the tag name and '>'). */
function parseAttrs(s: string): Attr[] {
  const out: Attr[] = [];
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s>]*)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null && out.length < 40) {
    out.push({ name: m[1].toLowerCase(), value: m[2] ?? m[3] ?? m[4] ?? '' });
  }
  return out;
}

function whiteish(color: string): boolean {
  const c = color.trim().toLowerCase();
  if (c === 'white' || c === '#fff') return true;
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(c);
  return m !== null && parseInt(m[1], 16) > 0xf0 && parseInt(m[2], 16) > 0xf0 && parseInt(m[3], 16) > 0xf0;
}

function fontSize(v: string): number {
  const t = v.trim();
  const n = parseInt(t, 10);
  if (Number.isNaN(n)) return 3;
  return t[0] === '+' || t[0] === '-' ? 3 + n : n;
}

/** What a style attribute says, read once per distinct value in a document: templates repeat
 * the same few styles on every cell, and reading each again cost a third of the scan. */
interface StyleFacts {
  /** display:none, visibility:hidden, or a font size of 0 or 1. */
  hidden: boolean;
  /** A white text colour (hidden unless on a coloured background). */
  white: boolean;
  background: boolean;
  /** "style:PROPERTY" tokens. */
  tokens: string[];
}

function readStyle(value: string): StyleFacts {
  const lower = value.toLowerCase();
  const st = lower.replace(/\s+/g, '');
  const col = /(?:^|;)color:([^;]+)/.exec(st);
  const tokens: string[] = [];
  for (const prop of lower.split(';')) {
    const k = prop.split(':')[0].trim();
    if (k.length > 0 && k.length <= 24) tokens.push(`style:${k}`);
  }
  return {
    hidden: st.includes('display:none') || st.includes('visibility:hidden') || /font-size:(0|1)(px|pt)?(;|$)/.test(st),
    white: col !== null && whiteish(col[1]),
    background: /background/i.test(value),
    tokens,
  };
}

/** Distinct style values remembered per document; beyond it each is read where it stands. */
const MAX_STYLES = 512;

/** Does this element hide what it contains? */
function hides(tag: string, attrs: Attr[], inBgColor: boolean, style: (v: string) => StyleFacts): boolean {
  for (const a of attrs) {
    if (a.name === 'style') {
      const f = style(a.value);
      if (f.hidden || (f.white && !inBgColor)) return true;
    } else if (tag === 'font') {
      if (a.name === 'color' && whiteish(a.value) && !inBgColor) return true;
      if (a.name === 'size' && fontSize(a.value) <= 0) return true;
    }
  }
  return false;
}

function isBeacon(attrs: Attr[]): boolean {
  let w = -1, h = -1;
  for (const a of attrs) {
    if (a.name === 'width') w = parseInt(a.value, 10);
    else if (a.name === 'height') h = parseInt(a.value, 10);
  }
  return w >= 0 && w <= 2 && h >= 0 && h <= 2;
}

interface Frame { tag: string; hidden: boolean; bg: boolean }

/** Where a script, style or xml element ends. Searched case-insensitively in place: lower-casing
 * the whole document instead cost more than the rest of the scan when it holds characters
 * beyond Latin-1 (curly quotes, emoji), which go through the Unicode case tables. */
const CLOSING = { script: /<\/script/gi, style: /<\/style/gi, xml: /<\/xml/gi };

/** A tag's name, matched where it starts (sticky: no slice per tag); at most 32 characters. */
const TAG_NAME = /[a-zA-Z][a-zA-Z0-9:_-]{0,31}/y;

/** May a quote after this character open an attribute value: "=" or white space (as /[=\s]/). */
function opensValue(c: number): boolean {
  return c === 61 || c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

export function scanHtml(input: string): HtmlInfo {
  const html = input.length > MAX_INPUT ? input.slice(0, MAX_INPUT) : input;
  const info: HtmlInfo = {
    text: '', tokens: new Set(), links: [], resources: [], tags: 0, unknownTags: 0, images: 0,
    hiddenChars: 0, comments: 0, commentsInWords: 0, entityLetters: 0, script: false, form: false,
    iframe: false, objectEmbed: false, metaRefresh: false, maxFontSize: 3,
  };
  const out: string[] = [];
  const stack: Frame[] = [];
  let openLink: { href: string; start: number } | null = null;
  let pos = 0;
  const n = html.length;
  const addToken = (t: string) => { if (info.tokens.size < MAX_TOKENS) info.tokens.add(t); };
  const styles = new Map<string, StyleFacts>();
  const style = (v: string): StyleFacts => {
    let f = styles.get(v);
    if (f === undefined) { f = readStyle(v); if (styles.size < MAX_STYLES) styles.set(v, f); }
    return f;
  };
  let seenVisible = false;
  let preheader = 0;
  const emitText = (raw: string) => {
    if (raw.length === 0) return;
    const t = decodeEntities(raw, info);
    const top = stack.length > 0 ? stack[stack.length - 1] : null;
    if (top !== null && top.hidden) {
      const n = wordLetters(t);
      // A preview line is one short sentence: hidden text before the visible text beyond that
      // is stuffing like any other.
      if (seenVisible || preheader + n > PREHEADER_LETTERS) info.hiddenChars += n;
      else preheader += n;
    }
    else if (!seenVisible && top?.tag !== 'title' && countLetters(t) > 0) seenVisible = true;
    out.push(t);
  };
  while (pos < n) {
    const lt = html.indexOf('<', pos);
    if (lt < 0) { emitText(html.slice(pos)); break; }
    if (lt > pos) emitText(html.slice(pos, lt));
    // Comment
    if (html.startsWith('<!--', lt)) {
      let end = html.indexOf('-->', lt + 4);
      end = end < 0 ? n : end + 3;
      info.comments++;
      if (isLetter(html[lt - 1]) && isLetter(html[end])) info.commentsInWords++;
      pos = end;
      continue;
    }
    const c1 = html[lt + 1];
    if (c1 === '!' || c1 === '?') {
      const gt = html.indexOf('>', lt);
      pos = gt < 0 ? n : gt + 1;
      continue;
    }
    const closing = c1 === '/';
    const nameStart = closing ? lt + 2 : lt + 1;
    TAG_NAME.lastIndex = nameStart;
    const nm = TAG_NAME.exec(html);
    if (nm === null) {
      // A bare '<' in text.
      emitText('<');
      pos = lt + 1;
      continue;
    }
    const tag = nm[0].toLowerCase();
    // Find the end of the tag, honouring quotes (bounded so a stray quote cannot eat the document).
    let i = nameStart + nm[0].length;
    let quote = 0;
    const limit = Math.min(n, i + 4096);
    for (; i < limit; i++) {
      const ch = html.charCodeAt(i);
      if (quote !== 0) { if (ch === quote) quote = 0; }
      else if (ch === 34 || ch === 39) { if (i > 0 && opensValue(html.charCodeAt(i - 1))) quote = ch; } // " or '
      else if (ch === 62) break; // >
    }
    const tagEnd = Math.min(i, n);
    pos = tagEnd + 1;
    info.tags++;
    if (!KNOWN.has(tag)) info.unknownTags++;
    if (BLOCK.has(tag)) out.push('\n');
    if (closing) {
      if (tag === 'a' && openLink !== null) {
        info.links.push({ href: openLink.href, text: out.slice(openLink.start).join('').trim().slice(0, 300) });
        openLink = null;
      }
      for (let k = stack.length - 1; k >= 0 && k >= stack.length - 8; k--) {
        if (stack[k].tag === tag) { stack.length = k; break; }
      }
      continue;
    }
    addToken(`tag:${tag}`);
    const attrs = parseAttrs(html.slice(nameStart + nm[0].length, tagEnd));
    const parent = stack.length > 0 ? stack[stack.length - 1] : null;
    let bg = parent !== null && parent.bg;
    for (const a of attrs) {
      if (a.name.length > 20) continue;
      addToken(`attr:${tag}.${a.name}`);
      if (VALUE_ATTRS.has(a.name) && a.value.length > 0 && a.value.length <= 24) addToken(`val:${tag}.${a.name}=${a.value.toLowerCase().trim()}`);
      if (a.name === 'style') {
        const f = style(a.value);
        for (const t of f.tokens) addToken(t);
        if (f.background) bg = true;
      }
      if (a.name === 'bgcolor') bg = true;
      if (tag === 'font' && a.name === 'size') info.maxFontSize = Math.max(info.maxFontSize, fontSize(a.value));
      if (a.name === 'href' && tag === 'a') {
        if (openLink !== null) info.links.push({ href: openLink.href, text: out.slice(openLink.start).join('').trim().slice(0, 300) });
        openLink = { href: decodeEntities(a.value.trim()), start: out.length };
      } else if (a.name === 'src' || a.name === 'background' || a.name === 'action' || (a.name === 'href' && tag !== 'a')) {
        if (a.value.trim().length > 0 && info.resources.length < 200) info.resources.push(decodeEntities(a.value.trim()));
      }
      if (tag === 'meta' && a.name === 'http-equiv' && a.value.toLowerCase() === 'refresh') info.metaRefresh = true;
    }
    // A 1x1 image is a read-receipt beacon, which nearly all bulk and transactional mail carries;
    // it shows nothing, so it does not make a message "mostly images".
    if (tag === 'img') { if (!isBeacon(attrs)) info.images++; }
    else if (tag === 'form' || tag === 'input') info.form = true;
    else if (tag === 'iframe' || tag === 'frame') info.iframe = true;
    else if (tag === 'object' || tag === 'embed' || tag === 'applet') info.objectEmbed = true;
    if (tag === 'script' || tag === 'style' || tag === 'xml') {
      // JSON-LD (schema.org actions that mail programs show as buttons) is data, not a program.
      if (tag === 'script' && !attrs.some((a) => a.name === 'type' && /json/i.test(a.value))) info.script = true;
      const end = CLOSING[tag as 'script' | 'style' | 'xml'];
      end.lastIndex = pos;
      pos = end.exec(html)?.index ?? n;
      continue;
    }
    if (!VOID.has(tag) && html[tagEnd - 1] !== '/') {
      const hidden = (parent !== null && parent.hidden) || hides(tag, attrs, bg, style);
      if (stack.length < 256) stack.push({ tag, hidden, bg });
    }
  }
  if (openLink !== null) info.links.push({ href: openLink.href, text: out.slice(openLink.start).join('').trim().slice(0, 300) });
  info.text = tidySpace(out.join(''));
  return info;
}

/** Rendered text's white space: a run of white space holding a line break becomes one line
 * break, and within other runs each stretch of spaces, tabs and no-break spaces one space (as
 * replacing /[ \t\u00a0]+/ by ' ' and then /\s*\n\s*\/ by '\n' would, in one pass: those two
 * replaces cost a fifth of the scan of a modern newsletter). */
export function tidySpace(s: string): string {
  const n = s.length;
  let out = '';
  let from = 0;
  for (let i = 0; i < n;) {
    const c = s.charCodeAt(i);
    if (!isSpaceCode(c)) { i++; continue; }
    let j = i + 1;
    let lineBreak = c === 10;
    while (j < n) { const d = s.charCodeAt(j); if (!isSpaceCode(d)) break; if (d === 10) lineBreak = true; j++; }
    if (j === i + 1 && c === 32) { i = j; continue; }
    let rep = '\n';
    if (!lineBreak) {
      rep = '';
      for (let k = i; k < j; k++) {
        const d = s.charCodeAt(k);
        if (d === 32 || d === 9 || d === 0xa0) { if (k === i || !isBlank(s.charCodeAt(k - 1))) rep += ' '; }
        else rep += s[k];
      }
    }
    out += s.slice(from, i) + rep;
    from = j;
    i = j;
  }
  return from === 0 ? s : out + s.slice(from);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 0xa0;
}
