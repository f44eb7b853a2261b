// A minimal raw-socket IMAP client for load generation: one command at a time per connection,
// tagged replies, untagged lines counted (and kept only when asked), literals in responses
// (`{n}\r\n` + n octets) skipped without copying, IDLE/DONE. Kept lean so that the generator,
// which shares the machine's cores with the server under test, costs little CPU.
import net from 'node:net';

export interface Reply {
  status: 'OK' | 'NO' | 'BAD';
  /** The tagged line after the tag, e.g. "OK [READ-WRITE] Select completed". */
  text: string;
  /** Untagged lines (only when collected), literal contents replaced by nothing: the `{n}`
   * marker stays in the text, the n octets do not. */
  lines: string[];
  /** Every untagged line received while the command ran. */
  untagged: number;
  /** How many of them were `* n FETCH`. */
  fetches: number;
  /** Octets of literals received (e.g. BODY[] contents). */
  literalBytes: number;
}

export class ImapError extends Error {}

interface Pending {
  tag: string;
  collect: boolean;
  reply: Reply;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
}

export interface ConnectOptions {
  host?: string;
  localAddress?: string;
  /** Per-command timeout (ms); 0 = none. */
  timeoutMs?: number;
}

const CR = 13;
const LF = 10;
const PLUS = 43;
const STAR = 42;
const FETCH = Buffer.from(' FETCH');

let tagCounter = 0;

export class ImapClient {
  greeting = '';
  private partial: Buffer[] = [];
  /** Text of the current logical line before its literal(s). */
  private lineHead: Buffer[] = [];
  private literal = 0;
  private pending: Pending | null = null;
  private onGreeting: ((line: string) => void) | null = null;
  private onContinue: ((line: string) => void) | null = null;
  private closed = false;
  private closeError: Error | null = null;
  /** Untagged lines received with no command running (e.g. during an IDLE's aftermath). */
  unsolicited = 0;

  private constructor(readonly socket: net.Socket, private readonly timeoutMs: number) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new ImapError('connection closed by server')));
  }

  static connect(port: number, opts: ConnectOptions = {}): Promise<ImapClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
      const c = new ImapClient(socket, opts.timeoutMs ?? 60_000);
      const timer = setTimeout(() => {
        c.destroy();
        reject(new ImapError('no greeting within 30 s'));
      }, 30_000);
      c.onGreeting = (line) => {
        clearTimeout(timer);
        c.greeting = line;
        if (line.startsWith('* OK') || line.startsWith('* PREAUTH')) resolve(c);
        else {
          c.destroy();
          reject(new ImapError('bad greeting: ' + line));
        }
      };
      c.closeHook = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
  }

  private closeHook: ((e: Error) => void) | null = null;

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = e;
    this.closeHook?.(e);
    this.closeHook = null;
    const p = this.pending;
    if (p) {
      this.pending = null;
      if (p.timer) clearTimeout(p.timer);
      p.reject(new ImapError(`${e.message} (while waiting for ${p.tag})`));
    }
    this.onContinue = null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.literal > 0) {
        const n = Math.min(this.literal, len - pos);
        this.literal -= n;
        pos += n;
        if (this.pending) this.pending.reply.literalBytes += n;
        continue;
      }
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) {
        this.partial.push(chunk.subarray(pos));
        return;
      }
      let line = chunk.subarray(pos, nl + 1);
      pos = nl + 1;
      if (this.partial.length) {
        this.partial.push(line);
        line = Buffer.concat(this.partial);
        this.partial = [];
      }
      const lit = literalAtEnd(line);
      if (lit >= 0) {
        this.lineHead.push(line.subarray(0, line.length - (line[line.length - 2] === CR ? 2 : 1)));
        this.literal = lit;
        continue;
      }
      if (this.lineHead.length) {
        this.lineHead.push(line);
        line = Buffer.concat(this.lineHead);
        this.lineHead = [];
      }
      this.onLine(line);
    }
  }

  private onLine(line: Buffer): void {
    const first = line[0];
    if (first === STAR) {
      if (this.onGreeting) {
        const g = this.onGreeting;
        this.onGreeting = null;
        this.closeHook = null;
        g(lineText(line));
        return;
      }
      const p = this.pending;
      if (!p) {
        this.unsolicited++;
        return;
      }
      p.reply.untagged++;
      if (isFetch(line)) p.reply.fetches++;
      if (p.collect) p.reply.lines.push(lineText(line));
      return;
    }
    if (first === PLUS) {
      const c = this.onContinue;
      this.onContinue = null;
      if (c) c(lineText(line));
      return;
    }
    const p = this.pending;
    const sp = line.indexOf(32);
    if (!p || sp < 0 || line.toString('latin1', 0, sp) !== p.tag) {
      // a tagged line for nobody: protocol error on the server's side
      this.fail(new ImapError('unexpected line from server: ' + lineText(line).slice(0, 200)));
      this.destroy();
      return;
    }
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    const rest = lineText(line).slice(sp + 1);
    const word = rest.slice(0, rest.indexOf(' ') >= 0 ? rest.indexOf(' ') : rest.length).toUpperCase();
    p.reply.text = rest;
    if (word === 'OK' || word === 'NO' || word === 'BAD') {
      p.reply.status = word;
      p.resolve(p.reply);
    } else p.reject(new ImapError('bad tagged status: ' + rest));
  }

  private send(cmd: string, collect: boolean, timeout: boolean): Promise<Reply> {
    if (this.closed) return Promise.reject(new ImapError(`connection is closed (${this.closeError?.message ?? ''})`));
    if (this.pending) return Promise.reject(new ImapError('a command is already running'));
    const tag = 'B' + (++tagCounter).toString(36);
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = {
        tag, collect, resolve, reject, timer: null,
        reply: { status: 'OK', text: '', lines: [], untagged: 0, fetches: 0, literalBytes: 0 },
      };
      if (timeout && this.timeoutMs > 0) {
        p.timer = setTimeout(() => {
          if (this.pending !== p) return;
          this.fail(new ImapError(`no reply to "${cmd.slice(0, 80)}" within ${this.timeoutMs} ms`));
          this.destroy();
        }, this.timeoutMs);
      }
      this.pending = p;
      this.socket.write(`${tag} ${cmd}\r\n`);
    });
  }

  /** Sends one command and resolves with its reply (NO/BAD included; see `ok` to require OK). */
  command(cmd: string, collect = true): Promise<Reply> {
    return this.send(cmd, collect, true);
  }

  /** Like command() but rejects unless the status is OK. */
  async ok(cmd: string, collect = true): Promise<Reply> {
    const r = await this.send(cmd, collect, true);
    if (r.status !== 'OK') throw new ImapError(`${cmd.split(' ')[0]} failed: ${r.status} ${r.text}`);
    return r;
  }

  private idleReply: Promise<Reply> | null = null;

  /** Sends IDLE and resolves on the server's continuation ("+ idling"). */
  idle(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.onContinue = () => resolve();
      const r = this.send('IDLE', false, false);
      this.idleReply = r;
      r.then(
        (rep) => reject(new ImapError(`IDLE refused: ${rep.status} ${rep.text}`)),
        reject,
      );
    });
  }

  /** Ends IDLE and resolves on the tagged reply. */
  async done(): Promise<Reply> {
    const r = this.idleReply;
    if (!r) throw new ImapError('not idling');
    this.idleReply = null;
    const p = this.pending;
    if (p && this.timeoutMs > 0) {
      p.timer = setTimeout(() => {
        if (this.pending !== p) return;
        this.fail(new ImapError(`no reply to DONE within ${this.timeoutMs} ms`));
        this.destroy();
      }, this.timeoutMs);
    }
    this.socket.write('DONE\r\n');
    const rep = await r.catch((e: Error) => {
      throw e;
    });
    if (rep.status !== 'OK') throw new ImapError(`IDLE ended with ${rep.status} ${rep.text}`);
    return rep;
  }

  /** LOGOUT, then wait briefly for the server to close (so TIME_WAIT stays on its side). */
  async logout(): Promise<Reply> {
    const r = await this.ok('LOGOUT', false);
    if (!this.closed) {
      const s = this.socket;
      const t = setTimeout(() => s.destroy(), 1000);
      s.once('close', () => clearTimeout(t));
      s.once('end', () => s.end());
    }
    return r;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** n when the line ends with `{n}` or `{n+}` before its CRLF (a literal follows), else -1. */
function literalAtEnd(line: Buffer): number {
  let e = line.length - 1; // LF
  if (e > 0 && line[e - 1] === CR) e--;
  e--;
  if (e < 2 || line[e] !== 125 /* } */) return -1;
  e--;
  if (line[e] === PLUS) e--;
  let n = 0;
  let mul = 1;
  let digits = 0;
  while (e >= 0 && line[e]! >= 48 && line[e]! <= 57) {
    n += (line[e]! - 48) * mul;
    mul *= 10;
    e--;
    digits++;
  }
  if (digits === 0 || e < 0 || line[e] !== 123 /* { */) return -1;
  return n;
}

function isFetch(line: Buffer): boolean {
  // "* 123 FETCH "
  let i = 2;
  while (i < line.length && line[i]! >= 48 && line[i]! <= 57) i++;
  if (i === 2) return false;
  return line.compare(FETCH, 0, FETCH.length, i, i + FETCH.length) === 0;
}

function lineText(line: Buffer): string {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  return line.toString('utf8', 0, end);
}

/** IMAP quoted string. */
export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}
