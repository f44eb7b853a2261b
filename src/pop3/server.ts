// The POP3 listeners: port 110-style (clear text + STLS) and 995-style (implicit TLS).
import net from 'node:net';
import tls from 'node:tls';
import { closeAll, listen } from '../net/listeners.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/types.js';
import type { TlsMaterial } from '../tls/certificate.js';
import type { PasswordVerifier } from '../auth/verifier.js';
import { SizeCache } from './maildrop.js';
import { Pop3Session, type Pop3Context } from './session.js';

export class Pop3Server {
  private readonly ctx: Pop3Context;
  private readonly servers: net.Server[] = [];
  private readonly sessions = new Set<Pop3Session>();

  constructor(opts: { config: Config; store: Store; tls: TlsMaterial; logger: Logger; passwords: PasswordVerifier }, private readonly tlsMaterial = opts.tls) {
    this.ctx = {
      config: opts.config, store: opts.store, logger: opts.logger, passwords: opts.passwords,
      secureContext: tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' }),
      sizes: new SizeCache(), locked: new Set(),
    };
  }

  async listen(host: string, port: number, implicitTls: boolean): Promise<net.AddressInfo> {
    const { server, address } = await listen(host, port, implicitTls ? this.tlsMaterial : null, (s) => this.accept(s, implicitTls), 511);
    this.servers.push(server);
    return address;
  }

  private accept(socket: net.Socket, implicitTls: boolean): void {
    socket.on('error', () => {});
    if (this.sessions.size >= this.ctx.config.pop3.maxClients) {
      socket.end('-ERR [SYS/TEMP] Too many connections, try again later\r\n');
      return;
    }
    this.sessions.add(new Pop3Session(socket, this.ctx, implicitTls, (s) => this.sessions.delete(s)));
  }

  async close(): Promise<void> {
    await closeAll(this.servers, this.sessions);
  }

}
