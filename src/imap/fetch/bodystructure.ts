// FETCH BODY / BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from the stored MIME tree.
//
// Edge-case choices:
//  - Type, subtype, encoding and disposition type are upper-cased; parameter names are sent
//    lower-case as stored and values raw (RFC 2231 sections as sent), like Dovecot.
//  - Missing Content-Transfer-Encoding is sent as "7BIT".
//  - A multipart with no children would be `("MIXED")`, which body-type-mpart (1*body)
//    forbids; like Dovecot we emit one empty text/plain child of size 0 and 0 lines.
//  - A message/rfc822 (or message/global) part without a parsed `message` (base64/QP encoded,
//    or beyond the parser's limits) is still sent in the body-type-msg form, because most
//    client parsers switch on "MESSAGE" "RFC822" and then require an envelope, body and
//    line count; a basic-form entry would make them fail. The envelope is all NIL, the
//    nested body is an empty text/plain (size 0, 0 lines) and the line count is the part's.
//    The size and encoding fields still describe the real (encoded) body, so a client can
//    fetch BODY[n] and decode it itself.
//  - body-fld-lang is NIL, a single string, or a list for several languages.
import type { Envelope, MimePart } from '../../mime/types.js';
import { type Chunk, type StringOptions, nstring, string, push } from './serialize.js';
import { writeEnvelope } from './envelope.js';

const EMPTY_ENVELOPE: Envelope = {
  date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null,
  inReplyTo: null, messageId: null,
};

function params(out: Chunk[], list: [string, string][], opts: StringOptions): void {
  if (list.length === 0) { push(out, 'NIL'); return; }
  push(out, '(');
  list.forEach(([k, v], i) => {
    if (i > 0) push(out, ' ');
    push(out, ...string(k, opts), ' ', ...string(v, opts));
  });
  push(out, ')');
}

function disposition(out: Chunk[], p: MimePart, opts: StringOptions): void {
  if (p.disposition === null) { push(out, 'NIL'); return; }
  push(out, '(', ...string(p.disposition.type.toUpperCase(), opts), ' ');
  params(out, p.disposition.params, opts);
  push(out, ')');
}

function language(out: Chunk[], p: MimePart, opts: StringOptions): void {
  const l = p.language;
  if (l === null || l.length === 0) push(out, 'NIL');
  else if (l.length === 1) push(out, ...string(l[0]!, opts));
  else {
    push(out, '(');
    l.forEach((s, i) => { if (i > 0) push(out, ' '); push(out, ...string(s, opts)); });
    push(out, ')');
  }
}

/** dsp, lang, loc: the tail shared by body-ext-1part and body-ext-mpart. */
function extTail(out: Chunk[], p: MimePart, opts: StringOptions): void {
  push(out, ' '); disposition(out, p, opts);
  push(out, ' '); language(out, p, opts);
  push(out, ' ', ...nstring(p.location, opts));
}

function emptyText(out: Chunk[], ext: boolean): void {
  push(out, ext ? '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)' : '("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0)');
}

function write(out: Chunk[], p: MimePart, raw: Buffer | number, ext: boolean, opts: StringOptions): void {
  if (p.type === 'multipart') {
    push(out, '(');
    const kids = p.parts ?? [];
    if (kids.length === 0) emptyText(out, ext);
    for (const k of kids) write(out, k, raw, ext, opts);
    push(out, ' ', ...string(p.subtype.toUpperCase(), opts));
    if (ext) {
      push(out, ' ');
      params(out, p.params, opts);
      extTail(out, p, opts);
    }
    push(out, ')');
    return;
  }
  const end = Math.min(p.bodyEnd, typeof raw === 'number' ? raw : raw.length);
  const size = Math.max(0, end - p.bodyStart);
  push(out, '(', ...string(p.type.toUpperCase(), opts), ' ', ...string(p.subtype.toUpperCase(), opts), ' ');
  params(out, p.params, opts);
  push(out, ' ', ...nstring(p.id, opts), ' ', ...nstring(p.description, opts), ' ',
    ...string(p.encoding === null || p.encoding === '' ? '7BIT' : p.encoding.toUpperCase(), opts), ` ${size}`);
  if (p.type === 'text') {
    push(out, ` ${p.bodyLines}`);
  } else if (p.type === 'message' && (p.subtype === 'rfc822' || p.subtype === 'global')) {
    push(out, ' ');
    if (p.message !== undefined) {
      writeEnvelope(out, p.message.envelope, opts);
      push(out, ' ');
      write(out, p.message.part, raw, ext, opts);
    } else {
      writeEnvelope(out, EMPTY_ENVELOPE, opts);
      push(out, ' ');
      emptyText(out, ext);
    }
    push(out, ` ${p.bodyLines}`);
  }
  if (ext) {
    push(out, ' ', ...nstring(p.md5, opts));
    extTail(out, p, opts);
  }
  push(out, ')');
}

/** BODYSTRUCTURE (extensible=true) or BODY (false) of `part`, without the label.
 * `raw` is the message the offsets point into, or just its length (sizes are clamped to it). */
export function bodyStructure(part: MimePart, raw: Buffer | number, extensible: boolean,
                              opts: StringOptions = { utf8: false }): Chunk[] {
  const out: Chunk[] = [];
  write(out, part, raw, extensible, opts);
  return out;
}
