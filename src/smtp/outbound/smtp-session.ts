// One SMTP client connection to one address of one MX host, on nodemailer's SMTPConnection
// (greeting, EHLO, STARTTLS, PIPELINING, dot-stuffing), wrapped so the engine gets promises and
// an answer per recipient: every recipient of a transaction either has the remote's reply (to
// its RCPT, or to the end of DATA) or the transaction is "broken" (no reply: the connection was
// lost or timed out), which the engine must treat as not delivered.
import net from 'node:net';
import type tls from 'node:tls';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { cleanReply, localReply } from './reply.js';

export interface SessionOptions {
  ip: string;
  port: number;
  /** The MX host name: SNI and, in verify mode, the name the certificate must be valid for. */
  mxHost: string;
  /** Our EHLO name. */
  helo: string;
  /** opportunistic: STARTTLS when offered, certificate unchecked; verify: STARTTLS required with a
   * valid certificate for mxHost; none: plain text (retry after a failed opportunistic handshake). */
  tls: 'opportunistic' | 'verify' | 'none';
  /** Trusted CAs (PEM). */
  ca: string[];
  connectTimeout: number;
  commandTimeout: number;
  dataTimeout: number;
}

/** Setting up the session failed; reply is the server's when it gave one. */
export class SessionError extends Error {
  constructor(
    message: string,
    readonly reply: string | null,
    readonly tlsFailure: boolean,
  ) {
    super(message);
  }
}

export type TxResult =
  /** Every recipient has a reply (2xx accepted, 4xx/5xx refused), keyed by address as given. */
  | { kind: 'replied'; replies: Map<string, string> }
  /** No reliable answer (connection lost, timeout, stream error); reply set when the server said
   * something final such as 421. Nothing may be marked delivered. */
  | { kind: 'broken'; reason: string; reply: string | null };

interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

/** RFC 3461 parameters of one transaction: RET and ENVID of the message, NOTIFY and ORCPT shared
 * by its recipients (nodemailer sends one NOTIFY/ORCPT for every RCPT of a transaction). */
export interface DsnParams { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: string[]; orcpt?: string }

/** nodemailer keeps the per-recipient RCPT replies of the transaction in flight here; its error
 * for a failed DATA does not carry them. */
type WithEnvelope = { _envelope?: { rejectedErrors?: NodemailerError[] } | false };

export class SmtpSession {
  private lastError: Error | null = null;

  private constructor(
    private readonly conn: SMTPConnection,
    readonly o: SessionOptions,
  ) {
    conn.on('error', (e: Error) => (this.lastError = e));
  }

  /** "mx.example.com[192.0.2.1]" for logs and replies. */
  get remote(): string {
    return `${this.o.mxHost}[${this.o.ip}]`;
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  get usable(): boolean {
    return !this.conn.destroyed;
  }

  /** The remote offers DSN (RFC 3461): the senders' notification requests go on to it, and it
   * takes over the duty to report. */
  get dsn(): boolean {
    return ((this.conn as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? []).includes('DSN');
  }

  /** TLS facts of the connection (null when plain text). */
  tlsInfo(): { authorized: boolean; error: string | null; protocol: string | null } | null {
    const s = this.conn._socket;
    if (!this.conn.secure || !s || !('authorized' in s)) return null;
    const t = s as tls.TLSSocket;
    return { authorized: t.authorized, error: t.authorizationError ? String(t.authorizationError) : null, protocol: t.getProtocol() };
  }

  static async open(o: SessionOptions): Promise<SmtpSession> {
    const servername = net.isIP(o.mxHost) || o.mxHost.startsWith('[') ? undefined : o.mxHost;
    const tlsOptions: tls.ConnectionOptions = { servername, ca: o.ca, rejectUnauthorized: o.tls === 'verify', minVersion: o.tls === 'verify' ? 'TLSv1.2' : 'TLSv1' };
    // The TCP connect is ours: nodemailer bounds connecting, the greeting and STARTTLS by one
    // deadline, which would let an address that never answers hold us for minutes.
    const socket = await connectTcp(o);
    const conn = new SMTPConnection({
      connection: socket,
      host: o.ip,
      port: o.port,
      secure: false,
      name: o.helo,
      servername,
      ignoreTLS: o.tls === 'none',
      requireTLS: o.tls === 'verify',
      opportunisticTLS: o.tls === 'opportunistic',
      tls: tlsOptions,
      // the greeting and the STARTTLS handshake each get a command timeout
      connectionTimeout: 2 * o.commandTimeout,
      greetingTimeout: o.commandTimeout,
      socketTimeout: o.commandTimeout,
      socketCloseTimeout: 1000,
      logger: false,
    });
    return new Promise<SmtpSession>((resolve, reject) => {
      let settled = false;
      const fail = (e: NodemailerError) => {
        if (settled) return;
        settled = true;
        conn.close();
        const reply = e.response ? cleanReply(e.response) : null;
        // a failed handshake (e.g. certificate verification) surfaces as a socket error during the upgrade
        const tlsFailure =
          e.code === 'ETLS' ||
          (!e.response && (conn.upgrading === true || /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(e.originalCode ?? '') || /certificate|ssl|tls/i.test(e.message)));
        reject(new SessionError(`${o.mxHost}[${o.ip}]:${o.port}: ${e.originalCode ?? e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '), reply, tlsFailure));
      };
      conn.on('error', fail);
      conn.once('end', () => fail(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' })));
      conn.connect((err) => {
        if (err) return fail(err as NodemailerError);
        if (settled) return;
        settled = true;
        conn.removeListener('error', fail);
        resolve(new SmtpSession(conn, o));
      });
    });
  }

  /** One transaction: MAIL, every RCPT, DATA (pipelined when offered). Never throws. */
  send(tx: { mailFrom: string; rcpts: string[]; body: Readable; size: number; eightBit: boolean; dsn?: DsnParams }): Promise<TxResult> {
    return new Promise<TxResult>((resolve) => {
      if (!this.usable) {
        tx.body.destroy();
        resolve({ kind: 'broken', reason: `connection to ${this.remote} is closed`, reply: null });
        return;
      }
      const socket = this.conn._socket;
      // the end of DATA may take the remote longer than a command (RFC 5321 §4.5.3.2)
      if (socket) socket.setTimeout(this.o.dataTimeout);
      // nodemailer adds the DSN parameters only when the remote offers DSN
      const envelope = { from: tx.mailFrom === '' ? (false as const) : tx.mailFrom, to: tx.rcpts, size: tx.size, use8BitMime: tx.eightBit, ...(tx.dsn ? { dsn: tx.dsn } : {}) };
      let settled = false;
      const settle = (r: TxResult) => {
        if (settled) return;
        settled = true;
        this.conn.removeListener('end', onEnd);
        if (socket && !socket.destroyed) socket.setTimeout(this.o.commandTimeout);
        resolve(r);
      };
      // close() (our destroy() at shutdown) drops the send in flight without calling back; when
      // nodemailer does call back (an error, a 421) it does so right after 'end', and wins
      const onEnd = () => setImmediate(() => settle({ kind: 'broken', reason: `connection to ${this.remote} closed`, reply: null }));
      this.conn.once('end', onEnd);
      this.conn.send(envelope, tx.body, (err, info) => settle(err ? this.failure(err as NodemailerError, tx.rcpts) : this.success(info, tx.rcpts)));
    });
  }

  private success(info: { response: string; accepted: string[]; rejectedErrors?: NodemailerError[] }, rcpts: string[]): TxResult {
    const replies = new Map<string, string>();
    for (const e of info.rejectedErrors ?? []) if (e.recipient && e.response) replies.set(e.recipient, cleanReply(e.response));
    for (const r of rcpts) if (!replies.has(r)) replies.set(r, cleanReply(info.response));
    return { kind: 'replied', replies };
  }

  private failure(err: NodemailerError, rcpts: string[]): TxResult {
    const all = (reply: string): TxResult => ({ kind: 'replied', replies: new Map(rcpts.map((r) => [r, reply])) });
    const reply = err.response ? cleanReply(err.response) : null;
    if (err.code === 'EMESSAGE' && !reply && /larger than allowed/.test(err.message)) {
      return all(localReply('552', '5.3.4', `message size exceeds the limit of ${this.remote}`));
    }
    if (!reply || /^421/.test(reply) || !this.usable) return { kind: 'broken', reason: `${this.remote}: ${err.message}`, reply };
    if (err.command === 'MAIL FROM') return all(reply);
    if (err.command === 'RCPT TO' && err.rejectedErrors) {
      const replies = new Map<string, string>();
      for (const e of err.rejectedErrors) if (e.recipient) replies.set(e.recipient, cleanReply(e.response ?? reply));
      for (const r of rcpts) if (!replies.has(r)) replies.set(r, reply);
      return { kind: 'replied', replies };
    }
    if (err.command === 'DATA') {
      // refused at DATA or at its end: accepted recipients get that reply, refused ones keep theirs
      const env = (this.conn as unknown as WithEnvelope)._envelope;
      const replies = new Map<string, string>();
      for (const e of (env && env.rejectedErrors) || []) if (e.recipient && e.response) replies.set(e.recipient, cleanReply(e.response));
      for (const r of rcpts) if (!replies.has(r)) replies.set(r, reply);
      return { kind: 'replied', replies };
    }
    return { kind: 'broken', reason: `${this.remote}: ${err.message}`, reply };
  }

  /** RSET before the next transaction on this connection; false (and closed) if it failed. */
  reset(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (!this.usable) return resolve(false);
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        this.conn.removeListener('end', onEnd);
        if (!ok) this.conn.close();
        resolve(ok);
      };
      const onEnd = () => finish(false);
      this.conn.once('end', onEnd);
      this.conn.reset((err) => finish(!err));
    });
  }

  /** QUIT and close (bounded: the socket is destroyed if the server does not close in time). */
  quit(): void {
    if (!this.usable) return;
    try {
      this.conn.quit();
    } catch {
      this.conn.close();
    }
    const t = setTimeout(() => this.conn.close(), 2000);
    t.unref();
  }

  /** Drops the connection at once (shutdown). */
  destroy(): void {
    this.conn.close();
  }

  /** The last connection-level error seen (for logs). */
  get error(): Error | null {
    return this.lastError;
  }
}

function connectTcp(o: SessionOptions): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: o.ip, port: o.port });
    const fail = (why: string) => {
      clearTimeout(timer);
      s.destroy();
      reject(new SessionError(`${o.mxHost}[${o.ip}]:${o.port}: ${why}`, null, false));
    };
    const timer = setTimeout(() => fail(`connect timeout after ${o.connectTimeout} ms`), o.connectTimeout);
    s.once('error', (e: NodeJS.ErrnoException) => fail(`${e.code ?? ''} ${e.message}`.trim()));
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.on('error', () => undefined); // nodemailer adds its own handler; never an unhandled 'error'
      resolve(s);
    });
  });
}
