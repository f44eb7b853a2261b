// BODY[section]<partial> content (RFC 9051 §6.4.5, RFC 3501 §6.4.5) cut from the raw message
// using the stored MIME tree; nothing is re-parsed except header field boundaries for
// HEADER.FIELDS[.NOT].
//
// Part-number resolution (same as Dovecot):
//  - In a message, part n is child n of its multipart root; a non-multipart root has only
//    part 1, which is the root itself.
//  - Below a message/rfc822 (or message/global) part, numbers address the encapsulated
//    message by the rule above.
//  - Below a non-multipart, non-message part, only 1 exists and means the part itself.
//    A message/rfc822 part whose encapsulated message was not parsed (encoded) has no
//    sub-parts: BODYSTRUCTURE describes its body as an empty text/plain, so `n.1` is null.
//  - HEADER, HEADER.FIELDS[.NOT] and TEXT need a message: the top one (no part numbers) or
//    a message/rfc822 part; otherwise null. MIME needs at least one part number.
import type { MimePart } from '../../mime/types.js';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  parts: number[];
  text?: SectionText;
  /** Field names for HEADER.FIELDS / HEADER.FIELDS.NOT (case-insensitive). */
  fields?: string[];
}

export interface PartialRange {
  offset: number;
  length?: number;
}

const CRLF = Buffer.from('\r\n', 'latin1');

function isMessage(p: MimePart): boolean {
  return p.type === 'message' && (p.subtype === 'rfc822' || p.subtype === 'global');
}

/** Part `n` (1-based) of a message whose root is `root`. */
function inMessage(root: MimePart, n: number): MimePart | null {
  if (root.type === 'multipart') return root.parts?.[n - 1] ?? null;
  return n === 1 ? root : null;
}

/** Part `n` directly below part `p`. */
function below(p: MimePart, n: number): MimePart | null {
  if (p.type === 'multipart') return p.parts?.[n - 1] ?? null;
  if (isMessage(p)) return p.message === undefined ? null : inMessage(p.message.part, n);
  return n === 1 ? p : null;
}

/** Resolves a part path; null when it names no part. */
export function findPart(tree: MimePart, path: number[]): MimePart | null {
  let cur: MimePart | null = null;
  for (const n of path) {
    if (!Number.isInteger(n) || n < 1) return null;
    cur = cur === null ? inMessage(tree, n) : below(cur, n);
    if (cur === null) return null;
  }
  return cur;
}

/** Splits a header block [start, end) into fields: [lineStart, fieldEnd, lower-case name].
 * A field runs up to the next line that does not start with SP/HTAB; the blank line (and
 * anything after it) is not a field. A line without a colon gets name null. */
function headerFields(raw: Buffer, start: number, end: number): [number, number, string | null][] {
  const out: [number, number, string | null][] = [];
  let p = start;
  while (p < end) {
    const c = raw[p];
    if (c === 0x0a || (c === 0x0d && p + 1 < end && raw[p + 1] === 0x0a) || (c === 0x0d && p + 1 === end)) break;
    const fieldStart = p;
    // field name: up to ':' on the first line
    let name: string | null = null;
    const nl0 = raw.indexOf(0x0a, p);
    const firstEnd = nl0 < 0 || nl0 >= end ? end : nl0;
    const colon = raw.indexOf(0x3a, p);
    if (colon >= 0 && colon < firstEnd) name = raw.toString('latin1', p, colon).trimEnd().toLowerCase();
    // advance past first line and continuation lines
    p = firstEnd < end ? firstEnd + 1 : end;
    while (p < end && (raw[p] === 0x20 || raw[p] === 0x09)) {
      const nl = raw.indexOf(0x0a, p);
      p = nl < 0 || nl >= end ? end : nl + 1;
    }
    out.push([fieldStart, p, name]);
  }
  return out;
}

function headerFieldsSubset(raw: Buffer, start: number, end: number, names: string[], not: boolean): Buffer {
  const want = new Set(names.map((s) => s.toLowerCase()));
  const chunks: Buffer[] = [];
  for (const [s, e, name] of headerFields(raw, start, end)) {
    const match = name !== null && want.has(name);
    if (match === not) continue;
    chunks.push(raw.subarray(s, e));
    if (raw[e - 1] !== 0x0a) chunks.push(CRLF); // last field not terminated: end its line
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

function content(raw: Buffer, tree: MimePart, spec: SectionSpec): Buffer | null {
  const clamp = (s: number, e: number) => raw.subarray(Math.min(s, raw.length), Math.min(Math.max(s, e), raw.length));
  if (spec.parts.length === 0 && spec.text === undefined) return raw;
  const part = spec.parts.length === 0 ? tree : findPart(tree, spec.parts);
  if (part === null) return null;
  if (spec.text === undefined) return clamp(part.bodyStart, part.bodyEnd);
  if (spec.text === 'MIME') return spec.parts.length === 0 ? null : clamp(part.headerStart, part.bodyStart);
  let msg: MimePart;
  if (spec.parts.length === 0) msg = tree;
  else if (isMessage(part) && part.message !== undefined) msg = part.message.part;
  else return null;
  switch (spec.text) {
    case 'HEADER': return clamp(msg.headerStart, msg.bodyStart);
    case 'TEXT': return clamp(msg.bodyStart, spec.parts.length === 0 ? raw.length : part.bodyEnd);
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const s = Math.min(msg.headerStart, raw.length);
      const e = Math.min(Math.max(msg.bodyStart, s), raw.length);
      return headerFieldsSubset(raw, s, e, spec.fields ?? [], spec.text === 'HEADER.FIELDS.NOT');
    }
    default: return null;
  }
}

/** The bytes of BODY[section]<partial>, or null when the section does not exist (the
 * caller answers that with an empty string or NIL). A partial range beyond the end gives
 * an empty Buffer. Returned Buffers may share memory with `raw`. */
export function sectionBytes(raw: Buffer, tree: MimePart, spec: SectionSpec, partial?: PartialRange): Buffer | null {
  const b = content(raw, tree, spec);
  if (b === null || partial === undefined) return b;
  const start = Math.min(Math.max(0, partial.offset), b.length);
  const end = partial.length === undefined ? b.length : Math.min(b.length, start + Math.max(0, partial.length));
  return b.subarray(start, end);
}
