// One IMAP connection: socket I/O (plain, STARTTLS, implicit TLS, COMPRESS=DEFLATE), the
// command loop that runs one command at a time in stream order, and the session state that
// command handlers read and change. Handlers live in commands/; this file knows none of them
// except through the dispatch table.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import type { Logger } from '../log/logger.js';
import type { Account, Store } from '../store/types.js';
import type { Config } from '../config/config.js';
import { CommandReader } from './parser/reader.js';
import type { Command, ParseResult } from './parser/types.js';
import type { Chunk } from './fetch/serialize.js';
import type { ChangeHub } from './change-hub.js';
import type { MailboxView } from './mailbox-view.js';
import type { JunkReporter } from './junk-events.js';
import { capabilities } from './capabilities.js';
import { isLoopback } from '../net/listeners.js';
import type { PasswordVerifier } from '../auth/verifier.js';
import type { IndexCache } from './index-cache.js';
import type { ContentCache } from './content-cache.js';
import { COMMANDS } from './commands/index.js';

export interface ImapContext {
  config: Config;
  store: Store;
  hub: ChangeHub;
  logger: Logger;
  secureContext: tls.SecureContext;
  junk: JunkReporter;
  passwords: PasswordVerifier;
  indexCache: IndexCache;
  contentCache: ContentCache;
}

export type SessionState = 'notauth' | 'auth' | 'selected' | 'logout';

/** A handler waiting for a raw line (IDLE, AUTHENTICATE). */
type LineWaiter = (line: Buffer | null) => void;

const MAX_PENDING_INPUT = 256 * 1024;
const MAX_PENDING_OUTPUT = 1024 * 1024;
const MAX_BAD_COMMANDS = 20;
const OUTPUT_CHUNK = 64 * 1024;
const PREAUTH_LITERAL = 8 * 1024;
const PREAUTH_COMMAND = 64 * 1024;

export class Session {
  state: SessionState = 'notauth';
  account: Account | null = null;
  view: MailboxView | null = null;
  /** Extensions turned on with ENABLE (upper-case names) or implicitly (CONDSTORE). */
  readonly enabled = new Set<string>();
  /** RFC 5182 saved search result (UIDs). */
  saved: number[] | null = null;
  secure: boolean;
  compressed = false;
  authFailures = 0;
  readonly remoteAddress: string;
  readonly log: Logger;

  private socket: net.Socket;
  private readonly reader: CommandReader;
  private deflate: zlib.DeflateRaw | null = null;
  /** Output written into `deflate` since its last sync flush; the socket is corked meanwhile. */
  private deflateUnflushed = false;
  private inflate: zlib.InflateRaw | null = null;
  private out: Chunk[] = [];
  private outBytes = 0;
  private running = false;
  private closed = false;
  private lineWaiter: LineWaiter | null = null;
  private closing = false;
  private badCommands = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Called when the account's mailboxes change (IDLE listens here). */
  onAccountChange: (() => void) | null = null;

  constructor(socket: net.Socket, readonly ctx: ImapContext, implicitTls: boolean, private readonly onClose: (s: Session) => void) {
    this.socket = socket;
    this.secure = implicitTls;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.log = ctx.logger.child({ remote: this.remoteAddress });
    this.reader = new CommandReader({
      // Before login nothing needs more than a user name and password.
      maxLiteralSize: PREAUTH_LITERAL,
      maxCommandSize: PREAUTH_COMMAND,
      onContinuationNeeded: () => {
        this.write('+ Ready for literal data\r\n');
        this.flush();
      },
    });
    this.attach(socket);
    socket.setNoDelay(true);
    this.touch();
  }

  // ---- Output ----

  /** Quoted strings may carry UTF-8 (IMAP4rev2 or UTF8=ACCEPT). */
  get utf8(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }
  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }
  get condstore(): boolean {
    return this.enabled.has('CONDSTORE') || this.enabled.has('QRESYNC');
  }
  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  /** Queues output; it goes out in one write per command (or every 64 KB). */
  write(data: string | Buffer): void {
    if (this.closed) return;
    const last = this.out.length - 1;
    if (typeof data === 'string' && last >= 0 && typeof this.out[last] === 'string') this.out[last] += data;
    else this.out.push(data);
    this.outBytes += data.length;
    if (this.outBytes >= OUTPUT_CHUNK) this.flushOut();
  }

  private flushOut(): void {
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    this.outBytes = 0;
    if (this.deflate) {
      if (!this.deflateUnflushed) this.socket.cork();
      for (const c of out) this.deflate.write(c);
      this.deflateUnflushed = true;
      return;
    }
    if (out.length === 1) {
      this.socket.write(out[0]!);
      return;
    }
    this.socket.cork();
    for (const c of out) this.socket.write(c);
    this.socket.uncork();
  }

  /** A complete response line (CRLF added). */
  send(line: string): void {
    this.write(line + '\r\n');
  }

  /** A response made of chunks (literals as Buffers), CRLF added. */
  sendChunks(chunks: Chunk[]): void {
    for (const c of chunks) this.write(c);
    this.write('\r\n');
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.closed) return;
    this.flushOut();
    // The compressed output of one flush leaves in one write (the socket is corked from the
    // first byte written into the stream until the flush is through), and only when something
    // was written. A segment that inflates to nothing (a sync block alone, or the tail of one
    // split from its data) is what mbsync, reading it while it waits for a response, reports as
    // "empty response" before dropping the connection; seen under load, in about 1 run of 20.
    if (this.deflate && this.deflateUnflushed) {
      this.deflateUnflushed = false;
      const socket = this.socket;
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => socket.uncork());
    }
  }

  /** Waits while the client is slow to read (bounded output memory). */
  async drained(): Promise<void> {
    this.flush();
    const pending = () => this.socket.writableLength + (this.deflate?.writableLength ?? 0);
    while (!this.closed && pending() > MAX_PENDING_OUTPUT) {
      const before = pending();
      await new Promise<void>((resolve) => {
        const deflate = this.deflate;
        const done = () => {
          clearTimeout(timer);
          this.socket.off('drain', done);
          this.socket.off('close', done);
          deflate?.off('drain', done);
          resolve();
        };
        // With COMPRESS the backlog may sit in the deflate stream rather than the socket, so
        // either side draining (or a short re-check) ends the wait.
        const timer = setTimeout(done, 50);
        this.socket.once('drain', done);
        this.socket.once('close', done);
        deflate?.once('drain', done);
      });
      if (pending() < before) this.touch(); // reading a long response slowly is not idling
    }
  }

  ok(tag: string, text: string): void {
    this.send(`${tag} OK ${text}`);
  }
  no(tag: string, text: string): void {
    this.send(`${tag} NO ${text}`);
  }
  bad(tag: string, text: string): void {
    this.send(`${tag} BAD ${text}`);
  }

  // ---- Session transitions used by handlers ----

  loggedIn(account: Account): void {
    this.account = account;
    this.state = 'auth';
    // Logged-in clients may APPEND messages up to APPENDLIMIT.
    this.reader.limits.maxLiteralSize = this.ctx.config.imap.appendLimit;
    this.reader.limits.maxCommandSize = this.ctx.config.imap.appendLimit + 1024 * 1024;
    this.unsubscribe = this.ctx.hub.subscribe(account.id, () => {
      if (this.view) this.view.dirty = true;
      this.onAccountChange?.();
    });
  }

  /** Reads one raw line from the client (AUTHENTICATE continuation, IDLE's DONE) while the
   * calling handler holds the command loop; null when the connection closed. */
  readLine(): Promise<Buffer | null> {
    const now = this.tryLine();
    if (now !== undefined) return Promise.resolve(now);
    this.flush();
    return new Promise((resolve) => {
      this.lineWaiter = resolve;
      this.socket.resume();
      this.inflate?.resume();
    });
  }

  private tryLine(): Buffer | null | undefined {
    if (this.closed) return null;
    const r = this.reader.nextLine();
    if (r === null) return undefined;
    if (r.kind === 'fatal') {
      this.fatal(r.text);
      return null;
    }
    return r.data;
  }

  /** After STARTTLS's OK: wrap the socket; input pipelined in clear text is dropped. */
  startTls(): void {
    this.reader.discardInput();
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.removeAllListeners('end');
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.ctx.secureContext });
    this.socket = secure;
    this.secure = true;
    this.attach(secure);
  }

  /** After COMPRESS's OK: everything from here on is raw DEFLATE both ways (RFC 4978). */
  startCompression(): void {
    this.flush();
    const deflate = zlib.createDeflateRaw({ level: 6, windowBits: 15, memLevel: 8 });
    const inflate = zlib.createInflateRaw({ windowBits: 15 });
    deflate.on('data', (d: Buffer) => {
      if (!this.closed) this.socket.write(d);
    });
    deflate.on('error', () => this.destroy());
    inflate.on('data', (d: Buffer) => this.onData(d));
    inflate.on('error', () => this.fatal('Invalid compressed data'));
    this.deflate = deflate;
    this.inflate = inflate;
    this.compressed = true;
  }

  /** Ends the session after a BYE (or at once). */
  close(): void {
    if (this.closed) return;
    this.state = 'logout';
    this.flush();
    this.closing = true;
    if (this.deflate) {
      const d = this.deflate;
      d.end(() => this.socket.end());
    } else {
      this.socket.end();
    }
    setTimeout(() => this.destroy(), 5000).unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'logout';
    this.socket.destroy();
    this.cleanup();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Server shutdown. */
  shutdown(): void {
    if (this.closed) return;
    this.send('* BYE Server shutting down');
    this.close();
  }

  // ---- Input and the command loop ----

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.inflate) this.inflate.write(chunk);
      else this.onData(chunk);
    });
    socket.on('error', () => this.destroy());
    socket.on('end', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.touch();
    this.reader.push(chunk);
    if (this.lineWaiter) {
      const line = this.tryLine();
      if (line !== undefined) {
        const w = this.lineWaiter;
        this.lineWaiter = null;
        w(line);
      }
    }
    if (this.reader.pendingInputBytes > MAX_PENDING_INPUT) {
      this.socket.pause();
      this.inflate?.pause();
    }
    this.pump();
  }

  private touch(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        this.send('* BYE Autologout; idle for too long');
        this.close();
      }, this.ctx.config.imap.idleTimeout);
      this.idleTimer.unref();
    }
  }

  /** Runs queued commands one at a time, in order. */
  pump(): void {
    if (this.running || this.closed) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed && !this.closing) {
        const r = this.reader.next();
        if (r === null) break;
        await this.handle(r);
        await this.drained();
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'imap session failed');
      this.send('* BYE Internal server error');
      this.close();
    }
    this.flush();
    if (!this.closed && this.reader.pendingInputBytes <= MAX_PENDING_INPUT) {
      this.socket.resume();
      this.inflate?.resume();
    }
  }

  private fatal(text: string): void {
    this.send(`* BYE ${text}`);
    this.close();
  }

  private async handle(r: ParseResult): Promise<void> {
    if (r.kind === 'fatal') return this.fatal(r.text);
    if (r.kind === 'error') {
      if (++this.badCommands > MAX_BAD_COMMANDS) return this.fatal('Too many invalid commands');
      this.send(`${r.tag} ${r.error} ${r.code ? `[${r.code}] ` : ''}${r.text}`);
      return;
    }
    await this.run(r.command);
  }

  /** Runs one parsed command, then announces what changed in the selected mailbox. */
  async run(cmd: Command): Promise<void> {
    const spec = COMMANDS.get(cmd.name);
    if (!spec) {
      if (++this.badCommands > MAX_BAD_COMMANDS) return this.fatal('Too many invalid commands');
      return this.bad(cmd.tag, `Unknown command ${cmd.name.slice(0, 32)}`);
    }
    if (!spec.states.includes(this.state)) {
      const why = this.state === 'notauth' ? 'Log in first' : this.state === 'auth' ? 'Select a mailbox first' : 'Not allowed now';
      return this.bad(cmd.tag, `${why}`);
    }
    await spec.handler(this, cmd);
  }

  /** Sends pending EXPUNGE/EXISTS/FETCH updates of the selected mailbox (before a tagged reply). */
  async announce(expunge: boolean): Promise<void> {
    const view = this.view;
    if (!view || !this.account) return;
    const out = await view.sync(this.ctx.store, this.account.id, { expunge, condstore: this.condstore, qresync: this.qresync });
    for (const line of out.lines) this.send(line);
    if (out.gone && expunge) {
      this.send('* BYE Selected mailbox was deleted');
      this.close();
    }
  }

  capabilities(): string[] {
    return capabilities(this);
  }

  private cleanup(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.onAccountChange = null;
    this.view = null;
    if (this.lineWaiter) {
      const w = this.lineWaiter;
      this.lineWaiter = null;
      w(null);
    }
    this.deflate?.destroy();
    this.inflate?.destroy();
    this.reader.discardInput();
    this.onClose(this);
  }

  /** True when the client connects over loopback (plaintext login allowed there). */
  get loopback(): boolean {
    return isLoopback(this.remoteAddress);
  }

  /** LOGIN / AUTHENTICATE PLAIN are allowed on this connection. */
  get plaintextAuthAllowed(): boolean {
    return this.secure || this.loopback || this.ctx.config.imap.allowPlaintextAuth;
  }
}
