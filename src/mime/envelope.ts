// IMAP ENVELOPE (raw, unfolded values) and the decoded header summary of a message.
import type { DecodedAddress, Envelope } from './types.js';
import { type HeaderField, headerValue, findField, fieldValue } from './headers.js';
import { parseAddressList, toDecoded, toEnvelope } from './addresses.js';
import { cutAtUnfoldedBreak } from './headers.js';

/** Message-ID / In-Reply-To / References: ids without angle brackets, in order. Values
 * without any <…> are split on whitespace (common breakage). */
export function parseMessageIds(value: string | null): string[] {
  if (value === null) return [];
  const v = cutAtUnfoldedBreak(value);
  const out: string[] = [];
  const re = /<([^<>]*)>/g;
  let m: RegExpExecArray | null;
  let any = false;
  while ((m = re.exec(v)) !== null) {
    any = true;
    const id = m[1].replace(/[\r\n]+/g, '').trim();
    if (id !== '') out.push(id);
  }
  if (!any) {
    for (const t of v.split(/[\s,]+/)) if (t !== '' && !t.startsWith('(')) out.push(t);
  }
  return out;
}

function addrField(raw: Buffer, fields: HeaderField[], name: string) {
  const v = headerValue(raw, fields, name);
  return v === null ? null : toEnvelope(parseAddressList(v));
}

export function buildEnvelope(raw: Buffer, fields: HeaderField[]): Envelope {
  const from = addrField(raw, fields, 'from');
  const sender = addrField(raw, fields, 'sender');
  const replyTo = addrField(raw, fields, 'reply-to');
  const orNull = (s: string | null) => (s === null || s === '' ? null : s);
  return {
    date: orNull(headerValue(raw, fields, 'date')),
    subject: headerValue(raw, fields, 'subject'),
    from,
    sender: sender ?? from,
    replyTo: replyTo ?? from,
    to: addrField(raw, fields, 'to'),
    cc: addrField(raw, fields, 'cc'),
    bcc: addrField(raw, fields, 'bcc'),
    inReplyTo: orNull(headerValue(raw, fields, 'in-reply-to')),
    messageId: orNull(headerValue(raw, fields, 'message-id')),
  };
}

export function decodedAddresses(raw: Buffer, fields: HeaderField[], name: string): DecodedAddress[] {
  const f = findField(fields, name);
  return f === null ? [] : toDecoded(parseAddressList(fieldValue(raw, f)));
}
