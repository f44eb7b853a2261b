// A raw IMAP client for tests: sends exact command bytes and returns the exact response lines,
// literals included, so tests can assert on the wire format.
import net from 'node:net';
import tls from 'node:tls';

export interface Reply {
  /** Untagged and continuation lines before the tagged one (literals inlined as text). */
  lines: string[];
  /** The tagged completion line, e.g. "a1 OK SELECT completed". */
  tagged: string;
  status: 'OK' | 'NO' | 'BAD';
}

export class ImapTalk {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private tagN = 0;
  closed = false;
  /** Every line received, for debugging failures. */
  readonly log: string[] = [];

  private constructor(public socket: net.Socket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(port: number, opts: { tls?: boolean; host?: string; localAddress?: string } = {}): Promise<ImapTalk> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls
      ? tls.connect({ port, host, rejectUnauthorized: false })
      : net.connect({ port, host, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const t = new ImapTalk(socket);
    await t.line(); // greeting
    return t;
  }

  /** Upgrades the connection after a STARTTLS OK. */
  async startTls(): Promise<void> {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  private async waitData(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error('connection closed; got: ' + this.log.slice(-5).join(' | '));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timeout waiting for server; got: ' + this.log.slice(-5).join(' | '))), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** One response line with any literals inlined ({n}\r\n + bytes kept as-is). */
  async line(timeoutMs = 10_000): Promise<string> {
    let out = '';
    for (;;) {
      const nl = this.buf.indexOf('\r\n');
      if (nl === -1) {
        await this.waitData(timeoutMs);
        continue;
      }
      const text = this.buf.subarray(0, nl).toString('utf8');
      const m = /\{(\d+)\}$/.exec(text);
      if (m) {
        const n = Number(m[1]);
        while (this.buf.length < nl + 2 + n) await this.waitData(timeoutMs);
        out += text + '\r\n' + this.buf.subarray(nl + 2, nl + 2 + n).toString('utf8');
        this.buf = this.buf.subarray(nl + 2 + n);
        continue;
      }
      out += text;
      this.buf = this.buf.subarray(nl + 2);
      this.log.push(out);
      return out;
    }
  }

  /** Lines until the tagged reply of `tag`. */
  async until(tag: string, timeoutMs = 10_000): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l.startsWith(tag + ' ')) {
        const status = l.slice(tag.length + 1).split(' ')[0] as Reply['status'];
        return { lines, tagged: l, status };
      }
      lines.push(l);
    }
  }

  nextTag(): string {
    return `a${++this.tagN}`;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends `tag command` and waits for its tagged reply. */
  async cmd(command: string, timeoutMs?: number): Promise<Reply> {
    const tag = this.nextTag();
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag, timeoutMs);
  }

  /** Sends a command that has synchronising literals: waits for each `+` before the literal. */
  async cmdLiterals(parts: (string | Buffer)[], timeoutMs?: number): Promise<Reply> {
    const tag = this.nextTag();
    // parts: text ending in {n}, literal, text ending in {n}, literal, ..., final text
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i % 2 === 0) {
        this.write((i === 0 ? `${tag} ` : '') + p + (i === parts.length - 1 ? '\r\n' : '\r\n'));
        if (i < parts.length - 1) {
          const cont = await this.line(timeoutMs);
          if (!cont.startsWith('+')) return { lines: [], tagged: cont, status: cont.split(' ')[1] as Reply['status'] };
        }
      } else {
        this.write(p);
      }
    }
    return this.until(tag, timeoutMs);
  }

  async login(user: string, pass = 'secret'): Promise<Reply> {
    return this.cmd(`LOGIN "${user}" "${pass}"`);
  }

  close(): void {
    this.socket.destroy();
  }
}
