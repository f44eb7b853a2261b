// One POP3 connection (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034): commands are
// lines, answered in order (PIPELINING), one at a time.
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/types.js';
import type { PasswordVerifier } from '../auth/verifier.js';
import { Maildrop, SizeCache, crlfMessage, dotStuffed } from './maildrop.js';
import { isLoopback } from '../net/listeners.js';

export interface Pop3Context {
  config: Config;
  store: Store;
  logger: Logger;
  secureContext: tls.SecureContext;
  passwords: PasswordVerifier;
  sizes: SizeCache;
  /** Accounts with a session in TRANSACTION state (one per maildrop, RFC 1939 §8). */
  locked: Set<number>;
}

/** RFC 2449 §4: a command line is at most 255 octets; a little slack for sloppy clients. */
const MAX_LINE = 1024;
const MAX_INPUT = 64 * 1024;
const MAX_AUTH_FAILURES = 3;
const MAX_BAD_COMMANDS = 20;

type State = 'authorization' | 'transaction' | 'closed';

export class Pop3Session {
  private socket: net.Socket;
  private secure: boolean;
  private state: State = 'authorization';
  private input: Buffer = Buffer.alloc(0);
  private queue: string[] = [];
  private running = false;
  private user: string | null = null;
  private accountId: number | null = null;
  private drop: Maildrop | null = null;
  private authFailures = 0;
  private badCommands = 0;
  /** A SASL exchange waiting for the client's next line. */
  private saslWaiter: ((line: string | null) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private readonly remote: string;

  constructor(socket: net.Socket, private readonly ctx: Pop3Context, implicitTls: boolean, private readonly onClose: (s: Pop3Session) => void) {
    this.socket = socket;
    this.secure = implicitTls;
    this.remote = socket.remoteAddress ?? '';
    this.log = ctx.logger.child({ remote: this.remote });
    this.attach(socket);
    this.touch();
    this.reply(`+OK Fjord Mail POP3 ready`);
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => this.destroy());
  }

  private touch(): void {
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.reply('-ERR [SYS/TEMP] Idle for too long, closing');
        this.end();
      }, this.ctx.config.pop3.idleTimeout);
      this.timer.unref();
    }
  }

  private get plaintextAllowed(): boolean {
    return this.secure || isLoopback(this.remote) || this.ctx.config.pop3.allowPlaintextAuth;
  }

  private reply(line: string): void {
    if (this.state !== 'closed') this.socket.write(line + '\r\n');
  }

  private onData(d: Buffer): void {
    if (this.state === 'closed') return;
    this.touch();
    this.input = this.input.length === 0 ? d : Buffer.concat([this.input, d]);
    for (let nl = this.input.indexOf(0x0a); nl !== -1; nl = this.input.indexOf(0x0a)) {
      let line = this.input.subarray(0, nl);
      this.input = this.input.subarray(nl + 1);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      this.queue.push(line.length > MAX_LINE ? '\0too-long' : line.toString('utf8'));
    }
    if (this.input.length > MAX_LINE) {
      // No line end in sight: the line is too long to be a command; stop reading it.
      this.reply('-ERR Line too long');
      this.end();
      return;
    }
    // A SASL exchange in progress holds the command loop: hand it its line directly.
    if (this.saslWaiter && this.queue.length > 0) {
      const w = this.saslWaiter;
      this.saslWaiter = null;
      w(this.queue.shift()!);
    }
    if (this.queue.length > 1000 || this.socket.writableLength > MAX_INPUT * 16) this.socket.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && this.state !== 'closed') {
        const line = this.queue.shift()!;
        if (this.saslWaiter) {
          const w = this.saslWaiter;
          this.saslWaiter = null;
          w(line);
          continue;
        }
        await this.command(line);
        if (this.socket.writableLength > MAX_INPUT * 16) await new Promise((r) => this.socket.once('drain', r));
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'pop3 session failed');
      this.reply('-ERR [SYS/TEMP] Internal error');
      this.end();
    } finally {
      this.running = false;
      if (this.state !== 'closed') this.socket.resume();
    }
  }

  private async command(line: string): Promise<void> {
    if (line === '\0too-long') return this.bad('-ERR Command line too long');
    const sp = line.indexOf(' ');
    const verb = (sp === -1 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp === -1 ? '' : line.slice(sp + 1);
    const args = arg === '' ? [] : arg.split(' ');
    if (this.state === 'authorization') {
      switch (verb) {
        case 'CAPA': return this.capa();
        case 'QUIT': this.reply('+OK Bye'); return this.end();
        case 'NOOP': return this.reply('+OK');
        case 'STLS': return this.stls();
        case 'USER': return this.userCmd(arg);
        case 'PASS': return this.pass(arg);
        case 'AUTH': return this.auth(args);
        case 'APOP': return this.reply('-ERR APOP is not supported (passwords are stored hashed)');
        default:
          if (['STAT', 'LIST', 'RETR', 'DELE', 'RSET', 'TOP', 'UIDL', 'LAST'].includes(verb)) return this.bad('-ERR Log in first');
          return this.bad(`-ERR Unknown command`);
      }
    }
    const drop = this.drop!;
    const num = (s: string | undefined) => (s !== undefined && /^[0-9]{1,9}$/.test(s) ? Number(s) : NaN);
    switch (verb) {
      case 'CAPA': return this.capa();
      case 'NOOP': return this.reply('+OK');
      case 'STAT': {
        if (args.length) return this.bad('-ERR STAT takes no arguments');
        const st = drop.stat();
        return this.reply(`+OK ${st.count} ${st.octets}`);
      }
      case 'LIST':
      case 'UIDL': {
        const show = (n: number) => (verb === 'LIST' ? `${n} ${drop.messages[n - 1]!.size}` : `${n} ${drop.uidl(drop.messages[n - 1]!)}`);
        if (args.length > 1) return this.bad(`-ERR ${verb} takes at most one argument`);
        if (args.length === 1) {
          const n = num(args[0]);
          if (!drop.get(n)) return this.reply('-ERR No such message');
          return this.reply(`+OK ${show(n)}`);
        }
        const lines = [verb === 'LIST' ? `+OK ${drop.stat().count} messages` : '+OK'];
        for (let n = 1; n <= drop.messages.length; n++) if (!drop.messages[n - 1]!.deleted) lines.push(show(n));
        lines.push('.');
        this.socket.write(lines.join('\r\n') + '\r\n');
        return;
      }
      case 'RETR':
      case 'TOP': {
        const n = num(args[0]);
        const m = drop.get(n);
        if (args.length !== (verb === 'RETR' ? 1 : 2) || Number.isNaN(n)) return this.bad(`-ERR Usage: ${verb === 'RETR' ? 'RETR msg' : 'TOP msg lines'}`);
        if (!m) return this.reply('-ERR No such message');
        const lines = verb === 'TOP' ? num(args[1]) : Infinity;
        if (Number.isNaN(lines)) return this.bad('-ERR Invalid line count');
        let msg: Buffer;
        try {
          msg = crlfMessage(await this.ctx.store.readBlob(m.blobId));
        } catch {
          return this.reply('-ERR [SYS/TEMP] Message no longer available');
        }
        if (verb === 'TOP') msg = top(msg, lines);
        // One write per message: status line, stuffed body and terminator together.
        this.socket.cork();
        this.socket.write(`+OK ${verb === 'RETR' ? `${m.size} octets` : 'top of message follows'}\r\n`);
        for (const part of dotStuffed(msg)) this.socket.write(part);
        this.socket.uncork();
        return;
      }
      case 'DELE': {
        const m = drop.get(num(args[0]));
        if (args.length !== 1) return this.bad('-ERR Usage: DELE msg');
        if (!m) return this.reply('-ERR No such message');
        m.deleted = true;
        return this.reply('+OK Marked for deletion');
      }
      case 'RSET':
        drop.reset();
        return this.reply(`+OK ${drop.stat().count} messages`);
      case 'QUIT': {
        try {
          const n = await drop.commit(this.ctx.store);
          this.reply(`+OK Bye (${n} deleted)`);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'pop3 update failed');
          this.reply('-ERR [SYS/TEMP] Could not remove the deleted messages');
        }
        return this.end();
      }
      default:
        return this.bad('-ERR Unknown command');
    }
  }

  private bad(text: string): void {
    this.reply(text);
    if (++this.badCommands > MAX_BAD_COMMANDS) {
      this.reply('-ERR Too many bad commands');
      this.end();
    }
  }

  private capa(): void {
    const caps = ['CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'LOGIN-DELAY 0', 'IMPLEMENTATION Fjord-Mail'];
    if (this.state === 'authorization') {
      if (!this.secure) caps.push('STLS');
      if (this.plaintextAllowed) caps.push('USER', 'SASL PLAIN');
    }
    this.socket.write(['+OK Capability list follows', ...caps, '.'].join('\r\n') + '\r\n');
  }

  private stls(): void {
    if (this.secure) return this.reply('-ERR TLS is already active');
    this.reply('+OK Begin TLS negotiation');
    // Anything the client pipelined in clear text is dropped (RFC 2595 §4).
    this.queue = [];
    this.input = Buffer.alloc(0);
    const plain = this.socket;
    for (const ev of ['data', 'close', 'error', 'end']) plain.removeAllListeners(ev);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.ctx.secureContext });
    this.socket = secure;
    this.secure = true;
    this.attach(secure);
  }

  private userCmd(arg: string): void {
    if (!this.plaintextAllowed) return this.reply('-ERR [AUTH] Use STLS (or port 995) before logging in');
    if (!arg || arg.length > 320) return this.bad('-ERR Usage: USER name');
    this.user = arg;
    this.reply('+OK Send the password');
  }

  private async pass(arg: string): Promise<void> {
    if (this.user === null) return this.bad('-ERR USER first');
    const user = this.user;
    this.user = null;
    await this.login(user, arg);
  }

  private async auth(args: string[]): Promise<void> {
    if (args.length === 0) {
      // RFC 5034 §4: AUTH without arguments lists the mechanisms.
      this.socket.write(['+OK', ...(this.plaintextAllowed ? ['PLAIN'] : []), '.'].join('\r\n') + '\r\n');
      return;
    }
    if (args[0]!.toUpperCase() !== 'PLAIN') return this.reply('-ERR Unsupported mechanism');
    if (!this.plaintextAllowed) return this.reply('-ERR [AUTH] Use STLS (or port 995) before logging in');
    let response = args[1];
    if (response === undefined) {
      this.reply('+ ');
      // The line may already be queued (pipelined) or arrive later (handed over by onData).
      response = this.queue.length > 0 ? this.queue.shift()! : ((await new Promise<string | null>((r) => (this.saslWaiter = r))) ?? '*');
    } else if (response === '=') response = '';
    if (response === '*') return this.reply('-ERR Authentication cancelled');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(response) || response.length % 4 !== 0) return this.reply('-ERR Invalid base64');
    const parts = Buffer.from(response, 'base64').toString('utf8').split('\0');
    if (parts.length !== 3 || (parts[0] !== '' && parts[0]!.toLowerCase() !== parts[1]!.toLowerCase())) {
      return this.failed();
    }
    await this.login(parts[1]!, parts[2]!);
  }

  private async login(user: string, password: string): Promise<void> {
    const store = this.ctx.store;
    const account = user.length <= 320 ? await store.getAccount(user.trim().toLowerCase()) : null;
    if (!(await this.ctx.passwords.verify(account, password)) || !account) return this.failed();
    if (this.ctx.locked.has(account.id)) {
      return this.reply('-ERR [IN-USE] Another POP3 session is using this mailbox');
    }
    this.ctx.locked.add(account.id);
    this.accountId = account.id;
    try {
      this.drop = await Maildrop.open(store, account.id, this.ctx.sizes);
    } catch (err) {
      this.ctx.locked.delete(account.id);
      this.accountId = null;
      this.log.error({ err: (err as Error).message }, 'pop3 maildrop failed');
      return this.reply('-ERR [SYS/TEMP] Mailbox unavailable, try again later');
    }
    this.state = 'transaction';
    this.log.info({ user: account.address }, 'pop3 login');
    const st = this.drop.stat();
    this.reply(`+OK ${st.count} messages (${st.octets} octets)`);
  }

  private async failed(): Promise<void> {
    this.authFailures++;
    await new Promise((r) => setTimeout(r, this.ctx.config.imap.authFailureDelay));
    this.reply('-ERR [AUTH] Authentication failed');
    if (this.authFailures >= MAX_AUTH_FAILURES) this.end();
  }

  /** Closes after what was written; a session that quits without QUIT deletes nothing. */
  end(): void {
    if (this.state === 'closed') return;
    this.socket.end();
    this.release();
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.release();
    this.socket.destroy();
  }

  private release(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    if (this.accountId !== null) this.ctx.locked.delete(this.accountId);
    this.accountId = null;
    this.saslWaiter?.(null);
    this.saslWaiter = null;
    this.onClose(this);
  }

  /** Server shutdown. */
  shutdown(): void {
    this.reply('-ERR [SYS/TEMP] Server shutting down');
    this.end();
  }
}

/** The header, the blank line and the first `lines` body lines of a CRLF message. */
function top(msg: Buffer, lines: number): Buffer {
  let end = msg.indexOf('\r\n\r\n');
  if (end === -1) return msg;
  end += 4;
  for (let i = 0; i < lines && end < msg.length; i++) {
    const nl = msg.indexOf('\r\n', end);
    end = nl === -1 ? msg.length : nl + 2;
  }
  return msg.subarray(0, end);
}
