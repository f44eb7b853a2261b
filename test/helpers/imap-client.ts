// A raw IMAP client for tests: sends exact command bytes and returns the exact response lines,
// literals included, so tests can assert on the wire format.
import { WireTalk, type WireConnectOptions } from './wire-talk.js';

export interface Reply {
  /** Untagged and continuation lines before the tagged one (literals inlined as text). */
  lines: string[];
  /** The tagged completion line, e.g. "a1 OK SELECT completed". */
  tagged: string;
  status: 'OK' | 'NO' | 'BAD';
}

export class ImapTalk extends WireTalk {
  private tagN = 0;
  /** Every line received, for debugging failures. */
  readonly log: string[] = [];

  static async connect(port: number, opts: WireConnectOptions = {}): Promise<ImapTalk> {
    const t = new ImapTalk(await WireTalk.open(port, opts));
    await t.line(); // greeting
    return t;
  }

  protected override context(): string {
    return '; got: ' + this.log.slice(-5).join(' | ');
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
}
