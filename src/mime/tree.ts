// Byte scanner that builds the MimePart tree with absolute offsets. One forward pass:
// every part's end is the next delimiter line of any enclosing multipart (innermost
// boundary wins), so malformed nesting degrades the way Dovecot's parser does.
import type { Envelope, MimePart } from './types.js';
import { type HeaderField, splitHeader, findField, fieldValue, lineEnd } from './headers.js';
import { parseContentType } from './params.js';
import { buildEnvelope } from './envelope.js';

export const MAX_DEPTH = 100;
export const MAX_PARTS = 10000;

const NL_DASH = Buffer.from('\n--', 'latin1');

interface Delim {
  /** Start of the "--boundary" line. */
  lineStart: number;
  /** Start of the line break before it (belongs to the delimiter, RFC 2046 §5.1.1). */
  lbStart: number;
  /** Just after the delimiter line's line break. */
  lineEnd: number;
  /** Index into the boundary stack (0 = innermost). */
  level: number;
  close: boolean;
}

interface Ctx {
  raw: Buffer;
  parts: number;
}

interface Result {
  part: MimePart;
  fields: HeaderField[];
  next: Delim | null;
}

/** Does a delimiter line for one of `stack` start at `p`? Returns level and close flag.
 * The full boundary must match and be followed by "--", whitespace or end of line, so
 * boundary "a" does not match "--ab". */
function matchAt(raw: Buffer, p: number, limit: number, stack: Buffer[]): { level: number; close: boolean } | null {
  if (p + 2 > limit || raw[p] !== 0x2d || raw[p + 1] !== 0x2d) return null;
  for (let k = 0; k < stack.length; k++) {
    const b = stack[k];
    const q = p + 2 + b.length;
    if (q > limit || raw.compare(b, 0, b.length, p + 2, q) !== 0) continue;
    if (q === limit) return { level: k, close: false };
    const c = raw[q];
    if (c === 0x2d && q + 1 < limit && raw[q + 1] === 0x2d) return { level: k, close: true };
    if (c === 0x0d || c === 0x0a || c === 0x20 || c === 0x09) return { level: k, close: false };
  }
  return null;
}

function makeDelim(raw: Buffer, p: number, limit: number, m: { level: number; close: boolean }): Delim {
  let lb = p;
  if (p > 0 && raw[p - 1] === 0x0a) lb = p >= 2 && raw[p - 2] === 0x0d ? p - 2 : p - 1;
  return { lineStart: p, lbStart: lb, lineEnd: lineEnd(raw, p, limit), level: m.level, close: m.close };
}

/** First delimiter line at or after `from` (which must be a line start). */
function findDelim(raw: Buffer, from: number, limit: number, stack: Buffer[]): Delim | null {
  if (stack.length === 0 || from >= limit) return null;
  let m = matchAt(raw, from, limit, stack);
  if (m !== null) return makeDelim(raw, from, limit, m);
  let p = from;
  for (;;) {
    const i = raw.indexOf(NL_DASH, p);
    if (i < 0 || i + 3 > limit) return null;
    p = i + 1;
    m = matchAt(raw, p, limit, stack);
    if (m !== null) return makeDelim(raw, p, limit, m);
  }
}

export function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  let p = start;
  while (p < end) {
    const i = raw.indexOf(0x0a, p);
    if (i < 0 || i >= end) return n + 1; // unterminated non-empty last line
    n++;
    p = i + 1;
  }
  return n;
}

function boundaryBytes(b: string): Buffer {
  // Params were read as UTF-8 when valid, else latin1; go back to the bytes.
  for (let i = 0; i < b.length; i++) if (b.charCodeAt(i) > 0xff) return Buffer.from(b, 'utf8');
  return Buffer.from(b, 'latin1');
}

function trimmedOrNull(raw: Buffer, fields: HeaderField[], name: string): string | null {
  const f = findField(fields, name);
  if (f === null) return null;
  return fieldValue(raw, f).trim();
}

function parsePart(ctx: Ctx, start: number, limit: number, stack: Buffer[], depth: number,
                   inDigest: boolean, top: boolean): Result {
  const raw = ctx.raw;
  ctx.parts++;
  const stop = stack.length > 0 ? (p: number) => matchAt(raw, p, limit, stack) !== null : null;
  const hb = splitHeader(raw, start, limit, stop, top);
  const fields = hb.fields;

  let type = inDigest ? 'message' : 'text';
  let subtype = inDigest ? 'rfc822' : 'plain';
  let params: [string, string][] = [];
  const ctf = findField(fields, 'content-type');
  if (ctf !== null) {
    const ct = parseContentType(fieldValue(raw, ctf));
    if (ct !== null) params = ct.params;
    if (ct !== null && ct.subtype !== null) { type = ct.type; subtype = ct.subtype; }
    else { type = 'text'; subtype = 'plain'; } // unparsable: RFC 2045 §5.2 default
  }
  const boundaryParam = params.find((p) => p[0] === 'boundary')?.[1] ?? '';
  // Multipart without a usable boundary can't be split: Dovecot treats it as text/plain,
  // and so do we (it is then an ordinary leaf; params are kept as sent).
  if (type === 'multipart' && boundaryParam === '') { type = 'text'; subtype = 'plain'; }

  const cte = trimmedOrNull(raw, fields, 'content-transfer-encoding');
  const encoding = cte === null ? null : cte.toLowerCase();
  const dispValue = trimmedOrNull(raw, fields, 'content-disposition');
  const disp = dispValue === null ? null : parseContentType(dispValue);
  const langValue = trimmedOrNull(raw, fields, 'content-language');
  const language = langValue === null ? null : langValue.split(/[\s,]+/).filter((s) => s !== '');
  const location = trimmedOrNull(raw, fields, 'content-location');

  const part: MimePart = {
    headerStart: start,
    bodyStart: hb.bodyStart,
    bodyEnd: limit,
    type,
    subtype,
    params,
    id: trimmedOrNull(raw, fields, 'content-id'),
    description: trimmedOrNull(raw, fields, 'content-description'),
    encoding,
    md5: trimmedOrNull(raw, fields, 'content-md5'),
    disposition: disp === null ? null : { type: disp.type, params: disp.params },
    language: language === null || language.length === 0 ? null : language,
    location: location === null ? null : location.replace(/\s+/g, ''),
    bodyLines: 0,
  };
  if (type === 'multipart') part.parts = [];

  let next: Delim | null = null;
  let end = limit;
  const room = depth < MAX_DEPTH && ctx.parts < MAX_PARTS;
  if (hb.stoppedAt >= 0) {
    // Header cut short by a delimiter line: the part has no body.
    const m = matchAt(raw, hb.stoppedAt, limit, stack);
    next = m === null ? null : makeDelim(raw, hb.stoppedAt, limit, m);
    end = next === null ? limit : next.lbStart;
  } else if (type === 'multipart' && room) {
    const own = boundaryBytes(boundaryParam);
    const st = [own, ...stack];
    const children = part.parts as MimePart[];
    const digest = subtype === 'digest';
    let d = findDelim(raw, part.bodyStart, limit, st);
    for (;;) {
      if (d === null) { end = limit; next = null; break; }
      if (d.level !== 0) { end = d.lbStart; next = { ...d, level: d.level - 1 }; break; }
      // An open delimiter with nothing after it starts no part (it is treated like a close).
      if (d.close || d.lineEnd >= limit || ctx.parts >= MAX_PARTS) {
        // After the close delimiter (or past the part cap) the rest up to an enclosing
        // delimiter is epilogue.
        next = findDelim(raw, d.lineEnd, limit, stack);
        end = next === null ? limit : next.lbStart;
        break;
      }
      const r = parsePart(ctx, d.lineEnd, limit, st, depth + 1, digest, false);
      children.push(r.part);
      d = r.next;
    }
  } else if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && room &&
             (encoding === null || encoding === '7bit' || encoding === '8bit' || encoding === 'binary')) {
    // Encapsulated message: parsed in place (its header starts at our body). Not done for
    // base64/QP-encoded messages, whose offsets would not be byte-exact.
    const r = parsePart(ctx, part.bodyStart, limit, stack, depth + 1, false, false);
    part.message = { envelope: buildEnvelope(raw, r.fields) as Envelope, part: r.part };
    end = r.part.bodyEnd;
    next = r.next;
  } else {
    next = findDelim(raw, part.bodyStart, limit, stack);
    end = next === null ? limit : next.lbStart;
  }
  // The line break before a delimiter may be the header's own blank line; keep offsets
  // ordered (headerStart <= bodyStart <= bodyEnd).
  if (end < start) end = start;
  part.bodyEnd = end;
  if (part.bodyStart > end) part.bodyStart = end;
  part.bodyLines = countLines(raw, part.bodyStart, end);
  return { part, fields, next };
}

/** Parse the whole buffer as a message: the root part and its top-level header fields. */
export function parseTree(raw: Buffer): { tree: MimePart; fields: HeaderField[] } {
  const ctx: Ctx = { raw, parts: 0 };
  const r = parsePart(ctx, 0, raw.length, [], 0, false, true);
  return { tree: r.part, fields: r.fields };
}
