// The IMAP listeners: port 143-style (clear text + STARTTLS) and 993-style (implicit TLS).
// Each accepted connection becomes a Session; the server tracks them for limits and shutdown.
import net from 'node:net';
import tls from 'node:tls';
import { closeAll, listen } from '../net/listeners.js';
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
  async listen(host: string, port: number, implicitTls: boolean): Promise<net.AddressInfo> {
    const { server, address } = await listen(host, port, implicitTls ? this.tlsMaterial : null, (s) => this.accept(s, implicitTls), 1024);
    server.maxConnections = this.ctx.config.imap.maxClients;
    this.servers.push(server);
    return address;
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
    await closeAll(this.servers, this.sessions);
    this.ctx.hub.close();
  }
}
