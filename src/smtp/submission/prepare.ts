// What a message submission agent does to a message before it leaves (RFC 6409 §8): Bcc is
// removed (its recipients are in the envelope only), Date and Message-ID are added when the
// client left them out, a From naming the account is added when there is none, and a Received
// field records the submission without the client's IP address (the user's location is theirs).
// Also reads what the sending limits look at: the From/Sender addresses, bulk-mail headers and a
// hash of the body (one body sent to many people).
import { createHash, randomBytes } from 'node:crypto';
import { splitHeader, fieldValue, type HeaderField } from '../../mime/headers.js';
import { parseAddressList } from '../../mime/addresses.js';
import { rfc5322Date } from '../inbound/trace-headers.js';
import { reply } from '../common/replies.js';

export interface Prepared {
  raw: Buffer;
  /** Addresses in From: (lower-case). */
  from: string[];
  /** Address in Sender:, if any (lower-case). */
  sender: string | null;
  messageId: string;
  /** List-Unsubscribe, or Precedence: bulk/list/junk: the marks of bulk mail. */
  bulkHeaders: boolean;
  /** SHA-256 of the normalised body text: the same mailing to many people has the same one. */
  bodyHash: string;
}

export interface PrepareOptions {
  hostname: string;
  account: string;
  queueId: string;
  tls: { protocol: string; cipher: string } | null;
  now: Date;
}

const DROP = new Set(['bcc', 'resent-bcc', 'return-path']);

export function prepareSubmission(data: Buffer, o: PrepareOptions): Prepared {
  const head = splitHeader(data, 0, data.length, null, false);
  const fields = head.fields;
  const one = (name: string): HeaderField | null => {
    const all = fields.filter((f) => f.name === name);
    if (all.length > 1) throw reply(554, '5.6.0', `Message has more than one ${all[0].rawName}: field (RFC 5322 section 3.6)`);
    return all[0] ?? null;
  };
  const fromField = one('from');
  const senderField = one('sender');
  const dateField = one('date');
  const idField = one('message-id');

  const mailboxes = (f: HeaderField | null): string[] => {
    if (!f) return [];
    const out: string[] = [];
    for (const item of parseAddressList(fieldValue(data, f))) {
      if (item.kind === 'mailbox') out.push(item.address.toLowerCase());
      else for (const m of item.members) out.push(m.address.toLowerCase());
    }
    return out;
  };
  const from = mailboxes(fromField);
  if (fromField && from.length === 0) throw reply(554, '5.6.0', 'The From: field has no address');
  const senders = mailboxes(senderField);
  if (from.length > 1 && senders.length !== 1) throw reply(554, '5.6.0', 'A From: field with several addresses needs a Sender: field (RFC 5322 section 3.6.2)');

  const added: string[] = [];
  added.push(`Received: from authenticated-user (${o.hostname} [local])\r\n\tby ${o.hostname} (Fjord Mail) with ${o.tls ? 'ESMTPSA' : 'ESMTPA'} id ${o.queueId};\r\n\t${rfc5322Date(o.now)}\r\n`);
  let messageId = idField ? fieldValue(data, idField).trim() : '';
  if (!/^<[^<>\s]+@[^<>\s]+>$/.test(messageId)) {
    if (idField) throw reply(554, '5.6.0', 'The Message-ID: field is malformed (RFC 5322 section 3.6.4)');
    messageId = `<${Date.now().toString(36)}.${randomBytes(9).toString('base64url')}@${o.hostname}>`;
    added.push(`Message-ID: ${messageId}\r\n`);
  }
  if (!dateField) added.push(`Date: ${rfc5322Date(o.now)}\r\n`);
  if (!fromField) {
    added.push(`From: <${o.account}>\r\n`);
    from.push(o.account);
  }

  // Copy the header without the dropped fields (each field runs to the next one's start).
  const parts: Buffer[] = [Buffer.from(added.join(''))];
  let keptFrom = 0;
  for (let i = 0; i < fields.length; i++) {
    if (!DROP.has(fields[i].name)) continue;
    parts.push(data.subarray(keptFrom, fields[i].start));
    keptFrom = i + 1 < fields.length ? fields[i + 1].start : head.blankLine ? blankLineStart(data, head.bodyStart) : head.bodyStart;
  }
  parts.push(data.subarray(keptFrom));
  const raw = Buffer.concat(parts);

  const precedenceField = fields.find((f) => f.name === 'precedence');
  const precedence = precedenceField ? fieldValue(data, precedenceField).trim().toLowerCase() : '';
  const bulkHeaders = fields.some((f) => f.name === 'list-unsubscribe') || ['bulk', 'list', 'junk'].includes(precedence);
  return { raw, from, sender: senders[0] ?? null, messageId, bulkHeaders, bodyHash: bodyHash(data.subarray(head.bodyStart)) };
}

/** Where the blank line that ends the header starts (CRLF or LF). */
function blankLineStart(data: Buffer, bodyStart: number): number {
  return bodyStart >= 2 && data[bodyStart - 2] === 13 ? bodyStart - 2 : bodyStart - 1;
}

/** Body hash insensitive to what mass mailers vary per recipient: whitespace, digits (ids, dates)
 * and case. Only the first 64 KiB count. */
function bodyHash(body: Buffer): string {
  const text = body.subarray(0, 64 * 1024).toString('latin1').toLowerCase().replace(/[0-9]+/g, '0').replace(/\s+/g, ' ').trim();
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}
