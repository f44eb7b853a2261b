// The socket plumbing shared by the raw protocol clients of the tests (ImapTalk, Pop3Talk):
// connect (plain or implicit TLS, optionally from a chosen local address), buffer what arrives,
// wait for more with a timeout, upgrade in place after STARTTLS/STLS.
import net from 'node:net';
import tls from 'node:tls';

export interface WireConnectOptions {
  tls?: boolean;
  host?: string;
  localAddress?: string;
}

export class WireTalk {
  protected buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  protected constructor(public socket: net.Socket) {
    this.attach(socket);
  }

  protected static async open(port: number, opts: WireConnectOptions = {}): Promise<net.Socket> {
    const host = opts.host ?? '127.0.0.1';
    const socket = opts.tls
      ? tls.connect({ port, host, rejectUnauthorized: false })
      : net.connect({ port, host, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return socket;
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

  /** What the last lines were, for error messages (clients that keep a log override it). */
  protected context(): string {
    return '';
  }

  /** Upgrades the connection in place after the server's STARTTLS/STLS go-ahead. */
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

  protected async waitData(timeoutMs: number): Promise<void> {
    if (this.closed) throw new Error('connection closed' + this.context());
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timeout waiting for the server' + this.context())), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}
