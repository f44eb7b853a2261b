// Public entry points of the MIME module.
import type { MimePart, ParsedMessage, Envelope } from './types.js';
import { parseTree } from './tree.js';
import { buildEnvelope, decodedAddresses, parseMessageIds } from './envelope.js';
import { fieldValue, findField, headerValue, bytesToString } from './headers.js';
import { decodeHeaderValue } from './encoded-words.js';
import { decodedParam } from './params.js';
import { parseDate } from './dates.js';
import { baseSubject } from './subject.js';
import { renderText } from './text.js';

export type * from './types.js';
export { decodedParam, parseContentType, type ContentType } from './params.js';
export { decodeHeaderValue } from './encoded-words.js';
export { parseAddressList, toDecoded, toEnvelope, type AddressItem, type ParsedMailbox, type ParsedGroup } from './addresses.js';
export { parseDate } from './dates.js';
export { parseMessageIds, buildEnvelope } from './envelope.js';
export { baseSubject } from './subject.js';
export { splitHeader, fieldValue, type HeaderField } from './headers.js';
export { countLines, MAX_DEPTH, MAX_PARTS } from './tree.js';
export { decodeBody, partText, htmlToText, decodeQuotedPrintable, decodeBase64 } from './text.js';

const MAX_HEADER_TEXT = 256 * 1024;

function hasAttachment(p: MimePart): boolean {
  if (p.disposition !== null && p.disposition.type === 'attachment') return true;
  if (p.parts !== undefined) return p.parts.some(hasAttachment);
  if (p.message !== undefined) return hasAttachment(p.message.part);
  if (p.type !== 'text' &&
      ((p.disposition !== null && decodedParam(p.disposition.params, 'filename') !== null) ||
       decodedParam(p.params, 'name') !== null)) return true;
  return false;
}

function emptyEnvelope(): Envelope {
  return { date: null, subject: null, from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null };
}

/** Last resort for input the parser chokes on: one text/plain part over everything. */
function fallback(raw: Buffer): ParsedMessage {
  let lines = 0;
  for (let i = raw.indexOf(10); i >= 0; i = raw.indexOf(10, i + 1)) lines++;
  if (raw.length > 0 && raw[raw.length - 1] !== 10) lines++;
  return {
    tree: {
      headerStart: 0, bodyStart: 0, bodyEnd: raw.length, type: 'text', subtype: 'plain', params: [],
      id: null, description: null, encoding: null, md5: null, disposition: null, language: null,
      location: null, bodyLines: lines,
    },
    envelope: emptyEnvelope(), subject: '', from: [], to: [], cc: [], date: null, messageId: null,
    inReplyTo: [], references: [], baseSubject: '', text: '', headerText: '', hasAttachments: false,
  };
}

/** Replaces a lazy getter by its value on first use. */
function once<T>(o: object, key: string, make: () => T): T {
  const value = make();
  Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });
  return value;
}

/** Decoded header fields as "Name: value" lines, bounded. */
function headerSearchText(raw: Buffer, fields: ReturnType<typeof parseTree>['fields']): string {
  let headerText = '';
  for (const f of fields) {
    if (headerText.length > MAX_HEADER_TEXT) break;
    headerText += `${f.rawName}: ${decodeHeaderValue(bytesToString(raw.subarray(f.valueStart, f.valueEnd)))}\n`;
  }
  return headerText;
}

/** Parse a raw RFC 5322 message. Never throws. */
export function parseMessage(raw: Buffer): ParsedMessage {
  try {
    const { tree, fields } = parseTree(raw);
    const envelope = buildEnvelope(raw, fields);
    const subjectField = findField(fields, 'subject');
    const subject = subjectField === null ? '' : decodeHeaderValue(fieldValue(raw, subjectField));
    const ids = parseMessageIds(headerValue(raw, fields, 'message-id'));
    let attachments = false;
    try { attachments = hasAttachment(tree); } catch { attachments = false; }
    return {
      tree,
      envelope,
      subject,
      from: decodedAddresses(raw, fields, 'from'),
      to: decodedAddresses(raw, fields, 'to'),
      cc: decodedAddresses(raw, fields, 'cc'),
      date: parseDate(headerValue(raw, fields, 'date')),
      messageId: ids.length > 0 ? ids[0] : null,
      inReplyTo: parseMessageIds(headerValue(raw, fields, 'in-reply-to')),
      references: parseMessageIds(headerValue(raw, fields, 'references')),
      baseSubject: baseSubject(subject),
      // Search text is rendered on first use: the spam filter and most readers never ask for
      // it, and turning HTML into text is a fifth of the cost of a parse.
      get text(): string { return once(this, 'text', () => { try { return renderText(raw, tree); } catch { return ''; } }); },
      get headerText(): string { return once(this, 'headerText', () => { try { return headerSearchText(raw, fields); } catch { return ''; } }); },
      hasAttachments: attachments,
    };
  } catch {
    return fallback(raw);
  }
}
