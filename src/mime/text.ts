// Plain-text rendering of a message body for search and snippets: transfer decoding,
// charset conversion, HTML to text, bounded output.
import { compile } from 'html-to-text';
import type { MimePart } from './types.js';
import { decodedParam } from './params.js';
import { decodeCharset } from './charset.js';

export const MAX_TEXT = 1024 * 1024; // characters of output
const MAX_PART_INPUT = 4 * 1024 * 1024; // bytes of encoded body looked at per part

// Compiled lazily (and guarded) so a converter problem can never break module loading.
let htmlConvert: ((html: string) => string) | null = null;
function converter(): (html: string) => string {
  if (htmlConvert === null) {
    const heading = { options: { uppercase: false } };
    htmlConvert = compile({
      wordwrap: false,
      selectors: [
        { selector: 'a', options: { ignoreHref: true } },
        { selector: 'img', format: 'skip' },
        ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => ({ selector: h, ...heading })),
        { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
      ],
      limits: { maxInputLength: 2 * 1024 * 1024 },
    });
  }
  return htmlConvert;
}

/** Tolerant base64: non-alphabet bytes are skipped (Node's decoder already ignores them). */
export function decodeBase64(buf: Buffer): Buffer {
  return Buffer.from(buf.toString('latin1'), 'base64');
}

/** Tolerant quoted-printable (RFC 2045 §6.7): soft breaks (with trailing blanks) removed,
 * =XX decoded (either case), anything malformed kept literally. */
export function decodeQuotedPrintable(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  const len = buf.length;
  for (let i = 0; i < len; i++) {
    const c = buf[i];
    if (c !== 0x3d) { out[n++] = c; continue; }
    const h1 = hexVal(buf[i + 1]);
    const h2 = hexVal(buf[i + 2]);
    if (i + 2 < len && h1 >= 0 && h2 >= 0) { out[n++] = (h1 << 4) | h2; i += 2; continue; }
    // Soft line break: '=' then optional blanks then CRLF/LF (or end of data).
    let j = i + 1;
    while (j < len && (buf[j] === 0x20 || buf[j] === 0x09)) j++;
    if (j >= len) { i = j; continue; }
    if (buf[j] === 0x0a) { i = j; continue; }
    if (buf[j] === 0x0d && buf[j + 1] === 0x0a) { i = j + 1; continue; }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

function hexVal(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Body bytes with the Content-Transfer-Encoding removed (unknown encodings: as is). */
export function decodeBody(raw: Buffer, part: MimePart, maxInput = Infinity): Buffer {
  const body = raw.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + maxInput));
  if (part.encoding === 'base64') return decodeBase64(body);
  if (part.encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** Decoded text of a text/* part as a JS string. */
export function partText(raw: Buffer, part: MimePart, maxInput = MAX_PART_INPUT): string {
  const bytes = decodeBody(raw, part, maxInput);
  return decodeCharset(bytes, decodedParam(part.params, 'charset'));
}

export function htmlToText(html: string): string {
  try {
    return converter()(html);
  } catch {
    return html.replace(/<[^>]*>/g, ' ');
  }
}

function isAttachment(p: MimePart): boolean {
  return p.disposition !== null && p.disposition.type === 'attachment';
}

function isLeaf(p: MimePart): boolean {
  return p.parts === undefined && p.message === undefined;
}

/** Text parts to render, in order: text/plain preferred inside multipart/alternative. */
function collect(p: MimePart, out: MimePart[]): void {
  if (p.parts !== undefined) {
    if (p.subtype === 'alternative' && p.parts.length > 0) {
      const plain = p.parts.find((c) => c.type === 'text' && c.subtype === 'plain' && !isAttachment(c));
      const nested = p.parts.find((c) => c.parts !== undefined);
      const html = p.parts.find((c) => c.type === 'text' && c.subtype === 'html' && !isAttachment(c));
      const pick = plain ?? nested ?? html;
      if (pick !== undefined) collect(pick, out);
      return;
    }
    for (const c of p.parts) collect(c, out);
    return;
  }
  // A forwarded message shown inline is part of what the reader sees; an attached one is not.
  if (p.message !== undefined) { if (!isAttachment(p)) collect(p.message.part, out); return; }
  if (!isLeaf(p) || p.type !== 'text' || isAttachment(p)) return;
  out.push(p);
}

/** UTF-8 plain-text rendering of the message, at most MAX_TEXT characters. */
export function renderText(raw: Buffer, tree: MimePart): string {
  const parts: MimePart[] = [];
  collect(tree, parts);
  let out = '';
  for (const p of parts) {
    if (out.length >= MAX_TEXT) break;
    let t: string;
    try {
      t = partText(raw, p);
      if (p.subtype === 'html') t = htmlToText(t);
    } catch {
      continue;
    }
    if (out.length > 0 && !out.endsWith('\n')) out += '\n';
    out += t.length > MAX_TEXT - out.length ? t.slice(0, MAX_TEXT - out.length) : t;
  }
  return out.length > MAX_TEXT ? out.slice(0, MAX_TEXT) : out;
}
