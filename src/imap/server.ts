// The IMAP listeners: port 143-style (clear text + STARTTLS) and 993-style (implicit TLS).
// Each accepted connection becomes a Session; the server tracks them for limits and shutdown.
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/types.js';
import type { TlsMaterial } from '../tls/certificate.js';
import { ChangeHub } from './change-hub.js';
import { PasswordVerifier } from '../auth/verifier.js';
import { IndexCache } from './index-cache.js';
import { ContentCache } from './content-cache.js';
import { Session, type ImapContext } from './session.js';
import type { JunkReporter } from './junk-events.js';

export interface ImapServerOptions {
  config: Config;
  store: Store;
  tls: TlsMaterial;
  logger: Logger;
  junk?: JunkReporter;
  /** Shared with the other protocols (one login cache, one Argon2 budget). */
  passwords?: PasswordVerifier;
}

export class ImapServer {
  private readonly ctx: ImapContext;
  private readonly servers: net.Server[] = [];
  private readonly sessions = new Set<Session>();
  private readonly tlsMaterial: TlsMaterial;

  constructor(opts: ImapServerOptions) {
    this.tlsMaterial = opts.tls;
    this.ctx = {
      config: opts.config,
      store: opts.store,
      hub: new ChangeHub(opts.store),
      logger: opts.logger,
      secureContext: tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' }),
      junk: opts.junk ?? (() => {}),
      passwords: opts.passwords ?? new PasswordVerifier(),
      indexCache: new IndexCache(opts.store),
      contentCache: new ContentCache(),
    };
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** Listens on host:port; implicitTls for the imaps port. Resolves with the bound address. */
  listen(host: string, port: number, implicitTls: boolean): Promise<net.AddressInfo> {
    const server = implicitTls
      ? tls.createServer({ key: this.tlsMaterial.key, cert: this.tlsMaterial.cert, minVersion: 'TLSv1.2' }, (s) => this.accept(s, true))
      : net.createServer((s) => this.accept(s, false));
    if (implicitTls) server.on('tlsClientError', () => {}); // a failed handshake is the client's problem
    server.maxConnections = this.ctx.config.imap.maxClients;
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve(server.address() as net.AddressInfo);
      });
    });
  }

  private accept(socket: net.Socket, implicitTls: boolean): void {
    socket.on('error', () => {});
    if (this.sessions.size >= this.ctx.config.imap.maxClients) {
      socket.end('* BYE Too many connections, try again later\r\n');
      return;
    }
    const session = new Session(socket, this.ctx, implicitTls, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    session.send(`* OK [CAPABILITY ${session.capabilities().join(' ')}] Fjord Mail IMAP ready`);
    session.flush();
  }

  /** Stops listening and ends every session with BYE. */
  async close(): Promise<void> {
    // server.close() settles only once every connection is gone: end the sessions meanwhile.
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of Array.from(this.sessions)) s.shutdown();
    const deadline = Date.now() + 2000;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of Array.from(this.sessions)) s.destroy();
    await closed;
    this.ctx.hub.close();
  }
}
