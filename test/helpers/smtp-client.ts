// A minimal raw SMTP client for tests and benchmarks: exact control over the bytes sent
// (pipelining, bare LF, NUL, over-long lines) and the exact replies received.
import net from 'node:net';
import tls from 'node:tls';

export interface Reply {
  code: number;
  lines: string[];
  /** All lines joined, without the code prefixes. */
  text: string;
}

export class SmtpTalk {
  private buf = '';
  private waiters: ((r: Reply) => void)[] = [];
  private replies: Reply[] = [];
  private closedErr: Error | null = null;
  private partial: string[] = [];

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', (e) => (this.closedErr = e));
    socket.on('close', () => {
      this.closedErr ??= new Error('connection closed');
      for (const w of this.waiters.splice(0)) w({ code: 0, lines: [], text: 'closed' });
    });
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<SmtpTalk> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, localAddress }, () => resolve(new SmtpTalk(s)));
      s.once('error', reject);
    });
  }

  private onData(d: string) {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      this.partial.push(line);
      if (line[3] !== '-') {
        const lines = this.partial;
        this.partial = [];
        const r = { code: Number(line.slice(0, 3)), lines, text: lines.map((l) => l.slice(4)).join('\n') };
        const w = this.waiters.shift();
        if (w) w(r);
        else this.replies.push(r);
      }
    }
  }

  read(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.closedErr && this.socket.destroyed) return Promise.resolve({ code: 0, lines: [], text: 'closed' });
    return new Promise((res) => this.waiters.push(res));
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  async cmd(line: string): Promise<Reply> {
    this.write(line + '\r\n');
    return this.read();
  }

  async startTls(servername = 'localhost'): Promise<void> {
    const r = await this.cmd('STARTTLS');
    if (r.code !== 220) throw new Error('STARTTLS refused: ' + r.text);
    this.socket.removeAllListeners('data');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const t = tls.connect({ socket: this.socket, servername, rejectUnauthorized: false }, () => resolve(t));
      t.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** Sends a message body with dot-stuffing and the terminating dot; returns the final reply. */
  async data(message: Buffer | string): Promise<Reply> {
    const r = await this.cmd('DATA');
    if (r.code !== 354) return r;
    this.write(dotStuff(typeof message === 'string' ? Buffer.from(message, 'latin1') : message));
    return this.read();
  }

  close(): void {
    this.socket.destroy();
  }

  async quit(): Promise<void> {
    await this.cmd('QUIT').catch(() => undefined);
    this.socket.destroy();
  }
}

/** Dot-stuffs a message and appends CRLF.CRLF (adding a CRLF first when the data lacks one). */
export function dotStuff(msg: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (msg[0] === 0x2e) {
    parts.push(Buffer.from('.'));
  }
  for (let i = 0; i < msg.length - 1; i++) {
    if (msg[i] === 0x0a && msg[i + 1] === 0x2e) {
      parts.push(msg.subarray(start, i + 1), Buffer.from('.'));
      start = i + 1;
    }
  }
  parts.push(msg.subarray(start));
  const endsCrlf = msg.length >= 2 && msg[msg.length - 2] === 0x0d && msg[msg.length - 1] === 0x0a;
  parts.push(Buffer.from(endsCrlf ? '.\r\n' : '\r\n.\r\n'));
  return Buffer.concat(parts);
}

/** A plain RFC 5322 message of roughly `size` bytes with CRLF line ends. */
export function makeMessage(opts: { from?: string; to: string; subject: string; size?: number; messageId?: string; body?: string }): Buffer {
  const head =
    `From: ${opts.from ?? 'Sender <sender@example.net>'}\r\n` +
    `To: ${opts.to}\r\n` +
    `Subject: ${opts.subject}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <${opts.messageId ?? Math.random().toString(36).slice(2) + '@example.net'}>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n';
  let body = opts.body ?? '';
  const target = opts.size ?? 0;
  const line = 'The quick brown fox jumps over the lazy dog while the mail server keeps every byte safe.\r\n';
  while (head.length + body.length < target) body += line;
  if (!body.endsWith('\r\n')) body += '\r\n';
  return Buffer.from(head + body, 'utf8');
}
