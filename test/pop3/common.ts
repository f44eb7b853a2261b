// Shared pieces of the POP3 tests: a raw POP3 client (exact wire lines), bulk seeding through
// the store, and a python3 poplib driver. Client binaries are located and run with the helpers
// of the IMAP client tests (async execFile only: the server runs in this process).
import { WireTalk } from '../helpers/wire-talk.js';
import { parseMessage } from '../../src/mime/index.js';
import type { Store } from '../../src/store/types.js';

export { addUser, findBinary, run, waitFor, plainMessage, multipartMessage, attachmentMessage, utf8HeaderMessage, type RunResult } from '../imap/clients/common.js';

/** CRLF line ends, a final CRLF: the form in which POP3 delivers a message. */
export const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');

/** Messages with lines starting with dots, a bare-LF body and no final newline: the awkward cases. */
export function awkwardMessages(): Buffer[] {
  return [
    crlf('From: a@example.net\nTo: x@fjord.test\nSubject: dots\nMessage-ID: <dots@example.net>\n\n.leading dot\n..two dots\n.\nend\n'),
    Buffer.from('From: b@example.net\nTo: x@fjord.test\nSubject: bare lf\nMessage-ID: <lf@example.net>\n\nline one\nline two\n', 'utf8'),
    Buffer.from('From: c@example.net\r\nTo: x@fjord.test\r\nSubject: no final newline\r\nMessage-ID: <nonl@example.net>\r\n\r\nlast line', 'utf8'),
  ];
}

/** What RETR must deliver (after the client removes dot-stuffing) for a stored message. */
export function asDelivered(raw: Buffer): Buffer {
  const s = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.from(s.endsWith('\r\n') ? s : s + '\r\n', 'latin1');
}

/** Appends messages to the account's INBOX in one store call; returns their UIDs. */
export async function seedInbox(store: Store, accountId: number, raws: Buffer[]): Promise<number[]> {
  const inbox = (await store.getMailbox(accountId, 'INBOX'))!;
  if (raws.length === 0) return [];
  const r = await store.appendMany(inbox.id, raws.map((raw) => ({ raw, parsed: parseMessage(raw) })));
  return r.uids;
}

export async function inboxUids(store: Store, accountId: number): Promise<number[]> {
  const inbox = (await store.getMailbox(accountId, 'INBOX'))!;
  return (await store.listMessages(inbox.id)).map((m) => m.uid);
}

/** A small generated message; `n` makes it unique. */
export function numbered(n: number, to = 'user@fjord.test'): Buffer {
  return crlf(`From: Bulk <bulk@example.net>\nTo: ${to}\nSubject: Bulk ${n}\nMessage-ID: <bulk-${n}@example.net>\nDate: Mon, 6 Jan 2025 10:00:00 +0000\n\nBody of bulk message ${n}.\n${n % 7 === 0 ? '.dot line\n' : ''}`);
}

/** A raw POP3 client for wire-level assertions. */
export class Pop3Talk extends WireTalk {
  greeting = '';

  static async connect(port: number, opts: { tls?: boolean } = {}): Promise<Pop3Talk> {
    const t = new Pop3Talk(await WireTalk.open(port, opts));
    t.greeting = await t.line();
    return t;
  }

  /** One response line without its CRLF. */
  async line(timeoutMs = 10_000): Promise<string> {
    for (;;) {
      const nl = this.buf.indexOf('\r\n');
      if (nl !== -1) {
        const text = this.buf.subarray(0, nl).toString('utf8');
        this.buf = this.buf.subarray(nl + 2);
        return text;
      }
      await this.waitData(timeoutMs);
    }
  }

  /** The raw bytes of a multi-line body up to (not including) the ".CRLF" terminator, still dot-stuffed. */
  async multiline(timeoutMs = 10_000): Promise<Buffer> {
    for (;;) {
      const end = this.buf.indexOf('\r\n.\r\n');
      const atStart = this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'));
      if (atStart) {
        this.buf = this.buf.subarray(3);
        return Buffer.alloc(0);
      }
      if (end !== -1) {
        const body = this.buf.subarray(0, end + 2);
        this.buf = this.buf.subarray(end + 5);
        return body;
      }
      await this.waitData(timeoutMs);
    }
  }

  async cmd(command: string): Promise<string> {
    this.write(command + '\r\n');
    return this.line();
  }

  /** A command with a multi-line answer: status line, and the body lines when +OK. */
  async multi(command: string): Promise<{ status: string; lines: string[] }> {
    const status = await this.cmd(command);
    if (!status.startsWith('+OK')) return { status, lines: [] };
    const body = (await this.multiline()).toString('utf8');
    return { status, lines: body === '' ? [] : body.replace(/\r\n$/, '').split('\r\n') };
  }

  /** RETR n: the message with dot-stuffing removed. */
  async retr(n: number): Promise<{ status: string; msg: Buffer }> {
    const status = await this.cmd(`RETR ${n}`);
    if (!status.startsWith('+OK')) return { status, msg: Buffer.alloc(0) };
    const body = (await this.multiline()).toString('latin1');
    return { status, msg: Buffer.from(body.replace(/^\./, '').replace(/\r\n\./g, '\r\n'), 'latin1') };
  }

  async login(user: string, pass = 'secret'): Promise<string> {
    const u = await this.cmd(`USER ${user}`);
    if (!u.startsWith('+OK')) return u;
    return this.cmd(`PASS ${pass}`);
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    while (!this.closed) await this.waitData(timeoutMs);
  }
}
