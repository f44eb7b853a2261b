// Deterministic generator of realistic messages for the IMAP benchmark: both servers receive the
// same bytes (CRLF line ends), the same internal dates and the same initial flags.
//
// Profile 'mix' (the 10,000-message mailbox):
//   65 % text/plain, 2-8 KB (most near 2-3 KB)
//   25 % multipart/alternative (text + HTML), 5-25 KB
//   10 % multipart/mixed with a base64 attachment (pdf/png/zip/docx), 20-50 KB
// Profile 'small' (the 100,000-message mailbox): text/plain, 1-3 KB.
// Profile '20k' (the POP3 download, bench/pop3.ts): text/plain of about 20 KB (19.5-20.5 KB
// aimed at; a quoted reply and the signature may add a little).
// Threads: about 40 % of the messages reply to a recent one (In-Reply-To, References, "Re:").
// Dates: spread over one year, in order, with a few time zones. Flags: ~80 % \Seen, some
// \Answered and \Flagged.
import { prng as rng } from '../../test/helpers/prng.js';

export { rng };

export type Profile = 'mix' | 'small' | '20k';

export interface GeneratedMessage {
  raw: Buffer;
  /** Arrival time (IMAP INTERNALDATE; Maildir file mtime). */
  internalDate: Date;
  /** IMAP system flags, e.g. ['\\Seen', '\\Answered']. */
  flags: string[];
}


const FIRST = ['Anna', 'Bjørn', 'Carla', 'David', 'Elin', 'Farid', 'Greta', 'Hannes', 'Ingrid', 'Jonas', 'Karin', 'Lars', 'Maja', 'Nils',
  'Olga', 'Pedro', 'Quentin', 'Rosa', 'Sven', 'Tove', 'Ulrich', 'Vera', 'William', 'Xenia', 'Yusuf', 'Zoé', 'Amélie', 'Chen', 'Priya', 'Tomasz'];
const LAST = ['Andersen', 'Berg', 'Costa', 'Dahl', 'Eriksson', 'Fischer', 'García', 'Hansen', 'Iversen', 'Jensen', 'Kowalski', 'Lind',
  'Müller', 'Nakamura', 'Olsen', 'Petrov', 'Quist', 'Rossi', 'Svensson', 'Thorsen', 'Ueda', 'Virtanen', 'Wang', 'Yilmaz', 'Zimmermann'];
const DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example.no', 'corp.example', 'lists.example.org', 'uni.example.edu',
  'shop.example', 'bank.example', 'travel.example', 'news.example.com', 'dev.example.io'];
const LISTS = ['dev@lists.example.org', 'announce@lists.example.org', 'users@lists.example.org'];
const TOPICS = ['quarterly report', 'meeting notes', 'project Fjord', 'invoice', 'travel plans', 'release 2.4', 'budget review',
  'team offsite', 'server migration', 'design review', 'your order', 'password policy', 'onboarding', 'code review', 'roadmap',
  'customer feedback', 'weekly update', 'holiday schedule', 'contract draft', 'performance numbers', 'bug triage', 'newsletter'];
const OPENERS = ['Question about', 'Update on', 'Re-scheduling', 'Draft:', 'FYI:', 'Reminder:', 'Notes from', 'Proposal for', 'Thoughts on', ''];
const WORDS = ('the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'her she there been one all we their has would when if so no will more about up out them some could what into than then only ' +
  'other time new people these also may first any like now my such over two me even most made after well its our last where much ' +
  'server mailbox message delivery storage latency release planning schedule meeting budget customer invoice report design review ' +
  'deadline migration network backup quarter figures analysis proposal contract feedback agenda minutes summary estimate version ' +
  'deployment monitoring incident capacity throughput index thread folder archive attachment calendar contact account domain ' +
  'café naïve fjörd smörgåsbord Zürich São façade déjà coöperate jalapeño Ærø Tromsø').split(' ');
const ATTACH = [
  ['application/pdf', 'report', 'pdf'], ['image/png', 'screenshot', 'png'], ['application/zip', 'logs', 'zip'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'contract', 'docx'], ['image/jpeg', 'photo', 'jpg'],
] as const;
const MAILERS = ['Thunderbird 128.3.1', 'Apple Mail (2.3776)', 'Microsoft Outlook 16.0', 'K-9 Mail 6.8', 'Roundcube Webmail/1.6.9', 'Mutt/2.2.12'];
const ZONES = [0, 60, 120, -300, 330, 540];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function rfc5322Date(d: Date, zoneMin: number): string {
  const l = new Date(d.getTime() + zoneMin * 60_000);
  const sign = zoneMin < 0 ? '-' : '+';
  const z = Math.abs(zoneMin);
  return `${DAYS[l.getUTCDay()]}, ${pad(l.getUTCDate())} ${MONTHS[l.getUTCMonth()]} ${l.getUTCFullYear()} ` +
    `${pad(l.getUTCHours())}:${pad(l.getUTCMinutes())}:${pad(l.getUTCSeconds())} ${sign}${pad(Math.floor(z / 60))}${pad(z % 60)}`;
}

/** RFC 2047 B-encoding when the text is not ASCII. */
function encodeWord(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`;
}

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

interface Person { name: string; address: string }
interface Sent { messageId: string; references: string[]; subject: string }

export const BENCH_DOMAIN = 'bench.test';

export class MessageFactory {
  private readonly r: () => number;
  private index = 0;
  private readonly recent: Sent[] = [];
  private readonly start: number;
  private readonly span: number;

  /** `count` spreads the dates of that many messages over a year ending 2025-10-31. */
  constructor(private readonly seed: number, private readonly count: number, private readonly profile: Profile, private readonly owner: string) {
    this.r = rng(seed);
    this.span = 365 * 86_400_000;
    this.start = Date.UTC(2025, 10, 1) - this.span;
  }

  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.r() * a.length)]!;
  }

  private person(): Person {
    const first = this.pick(FIRST);
    const last = this.pick(LAST);
    const local = `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[^a-z.]/g, '');
    return { name: `${first} ${last}`, address: `${local}@${this.pick(DOMAINS)}` };
  }

  private mailbox(p: Person): string {
    return `${encodeWord(p.name)} <${p.address}>`;
  }

  private sentence(): string {
    const n = 6 + Math.floor(this.r() * 11);
    const w: string[] = [];
    for (let i = 0; i < n; i++) w.push(this.pick(WORDS));
    const s = w.join(' ');
    return s[0]!.toUpperCase() + s.slice(1) + (this.r() < 0.1 ? '?' : '.');
  }

  /** Paragraphs of text of about `bytes` UTF-8 bytes. */
  private paragraphs(bytes: number): string[] {
    const out: string[] = [];
    let size = 0;
    while (size < bytes) {
      const k = 2 + Math.floor(this.r() * 4);
      const sentences: string[] = [];
      for (let i = 0; i < k; i++) sentences.push(this.sentence());
      const p = sentences.join(' ');
      out.push(p);
      size += Buffer.byteLength(p) + 4;
    }
    return out;
  }

  /** Plain text wrapped at 72 columns, CRLF. */
  private wrap(paras: string[], quote = ''): string {
    const lines: string[] = [];
    for (const p of paras) {
      let line = '';
      for (const w of p.split(' ')) {
        if (line.length + w.length + 1 > 72 && line) {
          lines.push(quote + line);
          line = w;
        } else line = line ? `${line} ${w}` : w;
      }
      if (line) lines.push(quote + line);
      lines.push(quote.trimEnd());
    }
    return lines.join('\r\n') + '\r\n';
  }

  private html(paras: string[]): string {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const out = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
      '<style>body{font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#222}p{margin:0 0 1em}</style>', '</head><body>'];
    for (const p of paras) {
      // short lines, far below the 998-octet limit
      const words = esc(p).split(' ');
      let line = '<p>';
      for (const w of words) {
        if (line.length + w.length > 74) {
          out.push(line);
          line = w;
        } else line = line === '<p>' ? line + w : `${line} ${w}`;
      }
      out.push(line + '</p>');
    }
    out.push('</body></html>');
    return out.join('\r\n') + '\r\n';
  }

  private base64Blob(bytes: number): string {
    const buf = Buffer.allocUnsafe(bytes + 4);
    for (let i = 0; i < bytes; i += 4) buf.writeUInt32LE((this.r() * 4294967296) >>> 0, i);
    const b64 = buf.subarray(0, bytes).toString('base64');
    const lines: string[] = [];
    for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
    return lines.join('\r\n') + '\r\n';
  }

  next(): GeneratedMessage {
    const i = this.index++;
    const r = this.r;
    const date = new Date(this.start + Math.floor(((i + r() * 0.8) / this.count) * this.span));
    const internalDate = new Date(date.getTime() + 2_000 + Math.floor(r() * 60_000));
    internalDate.setUTCMilliseconds(0);
    const zone = this.pick(ZONES);
    const from = this.person();
    const domain = from.address.split('@')[1]!;
    const messageId = `${(this.seed >>> 0).toString(36)}.${i.toString(36)}.${Math.floor(r() * 1e9).toString(36)}@${domain}`;

    // Thread: reply to a recent message or start a new conversation
    let subject: string;
    let references: string[] = [];
    let inReplyTo: string | null = null;
    const replying = this.recent.length > 0 && r() < 0.4;
    if (replying) {
      const parent = this.recent[Math.floor(r() * this.recent.length)]!;
      subject = parent.subject.startsWith('Re: ') ? parent.subject : `Re: ${parent.subject}`;
      references = [...parent.references.slice(-9), parent.messageId];
      inReplyTo = parent.messageId;
    } else {
      const opener = this.pick(OPENERS);
      const topic = this.pick(TOPICS);
      const extra = r() < 0.3 ? ` ${this.pick(WORDS)} ${this.pick(WORDS)}` : '';
      subject = (opener ? `${opener} ${topic}` : topic[0]!.toUpperCase() + topic.slice(1)) + extra;
      if (r() < 0.5) subject += ` #${1000 + Math.floor(r() * 9000)}`;
    }
    this.recent.push({ messageId, references, subject });
    if (this.recent.length > 300) this.recent.shift();

    // Recipients: the mailbox owner, directly, on Cc or through a list
    const toList: string[] = [];
    const cc: string[] = [];
    let listId: string | null = null;
    const route = r();
    if (route < 0.15) {
      const list = this.pick(LISTS);
      toList.push(list);
      listId = `<${list.replace('@', '.')}>`;
    } else if (route < 0.3) {
      toList.push(this.mailbox(this.person()));
      cc.push(`Bench User <${this.owner}>`);
    } else {
      toList.push(`Bench User <${this.owner}>`);
      if (r() < 0.3) toList.push(this.mailbox(this.person()));
    }
    if (r() < 0.2) cc.push(this.mailbox(this.person()), this.mailbox(this.person()));

    // Size class and structure
    let kind: 'plain' | 'alt' | 'mixed';
    let target: number;
    if (this.profile === 'small') {
      kind = 'plain';
      target = 1000 + Math.floor(r() * 2000);
    } else if (this.profile === '20k') {
      kind = 'plain';
      target = 19_500 + Math.floor(r() * 1000);
    } else {
      const k = r();
      if (k < 0.65) {
        kind = 'plain';
        target = 2000 + Math.floor(r() * r() * 6000);
      } else if (k < 0.9) {
        kind = 'alt';
        target = 5000 + Math.floor(r() * r() * 20000);
      } else {
        kind = 'mixed';
        target = 20000 + Math.floor(r() * 30000);
      }
    }

    const relayIp = `192.0.2.${1 + Math.floor(r() * 250)}`;
    const headers = [
      `Return-Path: <${from.address}>`,
      `Received: from mx.${domain} (mx.${domain} [${relayIp}])\r\n\tby mx.${BENCH_DOMAIN} with ESMTPS id ${i.toString(16).padStart(8, '0')}\r\n\tfor <${this.owner}>; ${rfc5322Date(internalDate, 0)}`,
      `Received: from [198.51.100.${1 + Math.floor(r() * 250)}] by mx.${domain} with ESMTPSA; ${rfc5322Date(new Date(date.getTime() + 1000), zone)}`,
      `Date: ${rfc5322Date(date, zone)}`,
      `From: ${this.mailbox(from)}`,
      `To: ${toList.join(',\r\n ')}`,
    ];
    if (cc.length) headers.push(`Cc: ${cc.join(',\r\n ')}`);
    headers.push(`Subject: ${encodeWord(subject)}`, `Message-ID: <${messageId}>`);
    if (inReplyTo) headers.push(`In-Reply-To: <${inReplyTo}>`, `References: ${references.map((x) => `<${x}>`).join('\r\n ')}`);
    if (listId) headers.push(`List-Id: ${listId}`, `List-Unsubscribe: <mailto:${listId.slice(1, -1)}-leave@lists.example.org>`);
    headers.push(`User-Agent: ${this.pick(MAILERS)}`, 'MIME-Version: 1.0');
    const head = headers.join('\r\n') + '\r\n';
    const room = Math.max(300, target - Buffer.byteLength(head) - 200);

    let body: string;
    if (kind === 'plain') {
      const paras = this.paragraphs(room);
      let text = this.wrap(paras);
      if (replying && r() < 0.6) text += `\r\nOn ${rfc5322Date(new Date(date.getTime() - 86_400_000), zone)}, ${from.name} wrote:\r\n` + this.wrap(this.paragraphs(400), '> ');
      text += `-- \r\n${from.name}\r\n`;
      const enc = isAscii(text) ? '7bit' : '8bit';
      body = `Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: ${enc}\r\n\r\n${text}`;
    } else {
      const boundary = `----=_Part_${i}_${Math.floor(r() * 1e9)}`;
      const textShare = kind === 'alt' ? room * 0.35 : 1500;
      const paras = this.paragraphs(textShare);
      const text = this.wrap(paras);
      const alt =
        `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${isAscii(text) ? '7bit' : '8bit'}\r\n\r\n${text}`;
      if (kind === 'alt') {
        body = `Content-Type: multipart/alternative; boundary="${boundary}"\r\n\r\nThis is a multi-part message in MIME format.\r\n` +
          `--${boundary}\r\n${alt}--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n` +
          this.html(paras) + `--${boundary}--\r\n`;
      } else {
        const [type, base, ext] = this.pick(ATTACH);
        const name = `${base}-${2024 + Math.floor(r() * 2)}-${pad(1 + Math.floor(r() * 12))}.${ext}`;
        const raw = Math.floor(Math.max(1000, room - Buffer.byteLength(text)) * 0.75);
        body = `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\nThis is a multi-part message in MIME format.\r\n` +
          `--${boundary}\r\n${alt}--${boundary}\r\nContent-Type: ${type}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\n` +
          `Content-Transfer-Encoding: base64\r\n\r\n` + this.base64Blob(raw) + `--${boundary}--\r\n`;
      }
    }
    const raw = Buffer.from(head + body, 'utf8');

    const flags: string[] = [];
    const seen = r() < 0.8;
    if (r() < 0.1 && seen) flags.push('\\Answered');
    if (r() < 0.03) flags.push('\\Flagged');
    if (seen) flags.push('\\Seen');
    return { raw, internalDate, flags };
  }
}

/** Maildir info suffix (":2," + letters in ASCII order) for IMAP system flags. */
export function maildirFlags(flags: string[]): string {
  const letters: string[] = [];
  if (flags.includes('\\Draft')) letters.push('D');
  if (flags.includes('\\Flagged')) letters.push('F');
  if (flags.includes('\\Answered')) letters.push('R');
  if (flags.includes('\\Seen')) letters.push('S');
  if (flags.includes('\\Deleted')) letters.push('T');
  return ':2,' + letters.join('');
}
