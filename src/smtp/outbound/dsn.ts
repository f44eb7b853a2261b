// Delivery status notifications (RFC 3464) for mail we could not deliver, are still trying, or
// handed on at the sender's request: multipart/report; report-type=delivery-status with a
// human-readable part, the message/delivery-status part (one per-recipient block for each
// recipient reported together) and the original message (message/rfc822) or only its header
// (text/rfc822-headers, RET=HDRS). Marked Auto-Submitted: auto-replied and sent from the null
// sender's mailbox (MAILER-DAEMON), and only ever delivered locally (see sender.ts): no loops,
// no backscatter.
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../inbound/trace-headers.js';

export type DsnAction = 'failed' | 'delayed' | 'relayed';

export interface DsnRecipient {
  address: string;
  /** ORCPT as given at submission ("rfc822;addr", or a bare address). */
  orcpt: string | null;
  action: DsnAction;
  /** Enhanced status code, e.g. 5.1.1. */
  status: string;
  /** Host that gave the reply ("mx.example.com[192.0.2.1]"), null for our own verdicts. */
  remoteMta: string | null;
  /** The last reply ("550 5.1.1 …"). */
  reply: string | null;
  lastAttemptAt: Date | null;
  /** delayed only: when we give up. */
  willRetryUntil?: Date;
}

export interface DsnInput {
  /** Our host name (Reporting-MTA, From, Message-ID). */
  hostname: string;
  queueId: string;
  /** The original envelope sender: the DSN's recipient. */
  to: string;
  envid: string | null;
  arrivalDate: Date;
  ret: 'FULL' | 'HDRS' | null;
  original: Buffer;
  recipients: DsnRecipient[];
  now: Date;
}

/** Text safe for a delivery-status field: ASCII only, one line. */
function ascii(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
}

/** A header field folded at spaces to lines of at most ~78 characters. */
function field(name: string, value: string): string {
  const words = ascii(value).split(' ');
  let line = `${name}:`;
  const lines: string[] = [];
  for (const w of words) {
    if (line.length + 1 + w.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ' ' + w;
    } else {
      line += ' ' + w;
    }
  }
  lines.push(line);
  return lines.join('\r\n') + '\r\n';
}

/** The header block of a message, without the empty line that ends it. */
export function headerBlock(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return raw.subarray(0, crlf + 2);
  if (lf >= 0) return raw.subarray(0, lf + 1);
  return raw;
}

function originalMessageId(raw: Buffer): string | null {
  const head = headerBlock(raw).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const m = /^message-id:\s*(<[^<>\s]+>)/im.exec(head);
  return m ? m[1] : null;
}

function hostOnly(remote: string): string {
  return remote.replace(/\[[^\]]*\]$/, '') || remote;
}

function orcptField(orcpt: string): string {
  return orcpt.includes(';') ? orcpt.replace(/;\s*/, '; ') : `rfc822; ${orcpt}`;
}

function humanText(i: DsnInput): string {
  const failed = i.recipients.filter((r) => r.action === 'failed');
  const delayed = i.recipients.filter((r) => r.action === 'delayed');
  const relayed = i.recipients.filter((r) => r.action === 'relayed');
  const line = (r: DsnRecipient) => `<${r.address}>: ${r.remoteMta ? `${r.remoteMta} said: ` : ''}${r.reply ?? r.status}`;
  const out = [`This is the mail system at host ${i.hostname}.`, ''];
  if (failed.length) {
    out.push('Your message could not be delivered to the recipients below; this will not', 'be retried. The reasons are given after each address.', '', ...failed.map(line), '');
  }
  if (delayed.length) {
    const until = delayed[0].willRetryUntil;
    out.push('Your message has not been delivered yet to the recipients below. Delivery is', `still being tried${until ? ` until ${rfc5322Date(until)}` : ''}; you do not need to send it again.`, '', ...delayed.map(line), '');
  }
  if (relayed.length) {
    out.push("Your message was handed to the following recipients' mail servers, which", 'send no delivery notifications of their own:', '', ...relayed.map(line), '');
  }
  out.push(`Queue ID: ${i.queueId}`, '');
  return out.join('\r\n');
}

function subject(i: DsnInput): string {
  if (i.recipients.some((r) => r.action === 'failed')) return 'Undelivered Mail Returned to Sender';
  if (i.recipients.some((r) => r.action === 'delayed')) return 'Delayed Mail (still being retried)';
  return 'Successful Mail Delivery Report';
}

function statusPart(i: DsnInput): string {
  let s = field('Reporting-MTA', `dns; ${i.hostname}`) + field('X-Fjord-Queue-ID', i.queueId);
  if (i.envid) s += field('Original-Envelope-Id', i.envid);
  s += field('Arrival-Date', rfc5322Date(i.arrivalDate));
  for (const r of i.recipients) {
    s += '\r\n';
    if (r.orcpt) s += field('Original-Recipient', orcptField(r.orcpt));
    s += field('Final-Recipient', `rfc822; ${r.address}`);
    s += field('Action', r.action);
    s += field('Status', r.status);
    if (r.remoteMta) s += field('Remote-MTA', `dns; ${hostOnly(r.remoteMta)}`);
    if (r.reply) s += field('Diagnostic-Code', `${r.remoteMta ? 'smtp' : 'X-Fjord'}; ${r.reply}`);
    if (r.lastAttemptAt) s += field('Last-Attempt-Date', rfc5322Date(r.lastAttemptAt));
    if (r.willRetryUntil) s += field('Will-Retry-Until', rfc5322Date(r.willRetryUntil));
  }
  return s;
}

/** The complete DSN message (CRLF line ends). */
export function buildDsn(i: DsnInput): Buffer {
  let boundary: string;
  do boundary = `=_fjord-dsn-${randomBytes(12).toString('hex')}`;
  while (i.original.includes(boundary));
  const inReplyTo = originalMessageId(i.original);
  const head =
    `From: Mail Delivery System <MAILER-DAEMON@${i.hostname}>\r\n` +
    `To: <${i.to}>\r\n` +
    `Subject: ${subject(i)}\r\n` +
    `Date: ${rfc5322Date(i.now)}\r\n` +
    `Message-ID: <${i.queueId}.${i.now.getTime().toString(36)}.${randomBytes(4).toString('hex')}@${i.hostname}>\r\n` +
    (inReplyTo ? `In-Reply-To: ${inReplyTo}\r\nReferences: ${inReplyTo}\r\n` : '') +
    'Auto-Submitted: auto-replied\r\n' +
    'MIME-Version: 1.0\r\n' +
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n` +
    '\r\n' +
    'This is a MIME-encapsulated message.\r\n';
  const text = humanText(i);
  const textPart =
    `\r\n--${boundary}\r\n` +
    'Content-Description: Notification\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    (/[^\x00-\x7f]/.test(text) ? 'Content-Transfer-Encoding: 8bit\r\n' : '') +
    `\r\n${text}`;
  const reportPart = `\r\n--${boundary}\r\n` + 'Content-Description: Delivery report\r\n' + 'Content-Type: message/delivery-status\r\n' + `\r\n${statusPart(i)}`;
  const headersOnly = i.ret === 'HDRS';
  const original = headersOnly ? headerBlock(i.original) : i.original;
  const eightBit = original.some((b) => b > 0x7f);
  const originalHead =
    `\r\n--${boundary}\r\n` +
    `Content-Description: ${headersOnly ? 'Headers of the undelivered message' : 'Undelivered message'}\r\n` +
    `Content-Type: ${headersOnly ? 'text/rfc822-headers' : 'message/rfc822'}\r\n` +
    (eightBit ? 'Content-Transfer-Encoding: 8bit\r\n' : '') +
    '\r\n';
  // the CRLF before a boundary belongs to the delimiter (RFC 2046 §5.1.1): the part is `original` exactly
  const tail = `\r\n--${boundary}--\r\n`;
  return Buffer.concat([Buffer.from(head + textPart + reportPart + originalHead, 'utf8'), original, Buffer.from(tail)]);
}
