// Hand-made messages for the store tests: one text/plain part, with the ParsedMessage the MIME
// parser would produce (offsets computed from the bytes), so the store is tested without it.
import type { ParsedMessage, MimePart } from '../../src/mime/types.js';
import type { NewMessage } from '../../src/store/types.js';

let counter = 0;

export interface FixtureOptions {
  subject?: string;
  from?: string;
  fromName?: string;
  to?: string;
  body?: string;
  /** null: no Message-ID header. Default: a unique one. */
  messageId?: string | null;
  inReplyTo?: string[];
  references?: string[];
  date?: Date;
  flags?: string[];
  internalDate?: Date;
  /** Pads the body to about this many bytes. */
  size?: number;
}

export function baseSubject(subject: string): string {
  let s = subject.replace(/\s+/g, ' ').trim();
  let prev: string;
  do {
    prev = s;
    s = s.replace(/^(re|fwd?|aw)\s*(\[\d+\])?\s*:\s*/i, '').replace(/^\[[^\]]*\]\s*/, '').trim();
  } while (s !== prev);
  return s.toLowerCase();
}

export function makeMessage(opts: FixtureOptions = {}): { raw: Buffer; parsed: ParsedMessage } {
  const n = ++counter;
  const subject = opts.subject ?? `Test message ${n}`;
  const from = opts.from ?? 'sender@example.net';
  const fromName = opts.fromName ?? 'Sender Person';
  const to = opts.to ?? 'alice@example.org';
  const date = opts.date ?? new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
  const messageId = opts.messageId === undefined ? `fixture-${n}-${process.pid}@example.net` : opts.messageId;
  let body = opts.body ?? `Hello,\r\n\r\nThis is message number ${n}.\r\n\r\nBye\r\n`;
  if (opts.size && body.length < opts.size) {
    const line = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\r\n';
    body += line.repeat(Math.ceil((opts.size - body.length) / line.length));
  }
  body = body.replace(/\r?\n/g, '\r\n');
  const headers: [string, string][] = [
    ['From', `${fromName} <${from}>`],
    ['To', to],
    ['Subject', subject],
    ['Date', date.toUTCString().replace('GMT', '+0000')],
  ];
  if (messageId) headers.push(['Message-ID', `<${messageId}>`]);
  if (opts.inReplyTo?.length) headers.push(['In-Reply-To', opts.inReplyTo.map((x) => `<${x}>`).join(' ')]);
  if (opts.references?.length) headers.push(['References', opts.references.map((x) => `<${x}>`).join(' ')]);
  headers.push(['MIME-Version', '1.0'], ['Content-Type', 'text/plain; charset=utf-8'], ['Content-Transfer-Encoding', '8bit']);
  const head = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  const headBytes = Buffer.from(head, 'utf8');
  const bodyBytes = Buffer.from(body, 'utf8');
  const raw = Buffer.concat([headBytes, bodyBytes]);
  const tree: MimePart = {
    headerStart: 0,
    bodyStart: headBytes.length,
    bodyEnd: raw.length,
    type: 'text',
    subtype: 'plain',
    params: [['charset', 'utf-8']],
    id: null,
    description: null,
    encoding: '8bit',
    md5: null,
    disposition: null,
    language: null,
    location: null,
    bodyLines: body.split('\r\n').length - (body.endsWith('\r\n') ? 1 : 0),
  };
  const [, fromMailbox = '', fromHost = ''] = /^(.*)@(.*)$/.exec(from) ?? [];
  const [, toMailbox = '', toHost = ''] = /^(.*)@(.*)$/.exec(to) ?? [];
  const fromAddr = [{ name: fromName, adl: null, mailbox: fromMailbox, host: fromHost }];
  const parsed: ParsedMessage = {
    tree,
    envelope: {
      date: headers[3]![1],
      subject,
      from: fromAddr,
      sender: fromAddr,
      replyTo: fromAddr,
      to: [{ name: null, adl: null, mailbox: toMailbox, host: toHost }],
      cc: null,
      bcc: null,
      inReplyTo: opts.inReplyTo?.length ? opts.inReplyTo.map((x) => `<${x}>`).join(' ') : null,
      messageId: messageId ? `<${messageId}>` : null,
    },
    subject,
    from: [{ name: fromName, address: from }],
    to: [{ name: '', address: to }],
    cc: [],
    date,
    messageId,
    inReplyTo: opts.inReplyTo ?? [],
    references: opts.references ?? [],
    baseSubject: baseSubject(subject),
    text: body.replace(/\r\n/g, '\n'),
    headerText: `From: ${fromName} <${from}>\nTo: ${to}\nSubject: ${subject}\n`,
    hasAttachments: false,
  };
  return { raw, parsed };
}

export function newMessage(opts: FixtureOptions = {}): NewMessage {
  const m = makeMessage(opts);
  const out: NewMessage = { raw: m.raw, parsed: m.parsed };
  if (opts.flags) out.flags = opts.flags;
  if (opts.internalDate) out.internalDate = opts.internalDate;
  return out;
}
