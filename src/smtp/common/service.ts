// What every SMTP listener of ours shares (MX and submission): listening, a graceful close that
// lets transactions under way finish, hook wrappers that turn our replies and unexpected errors
// into SMTP answers, and reading DATA within a size limit and a memory budget shared by all
// sessions of the listener.
import type { AddressInfo } from 'node:net';
import type { SMTPServer, SMTPServerDataStream, SMTPServerAddress, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { Config } from '../../config/config.js';
import type { TlsMaterial } from '../../tls/certificate.js';
import type { Logger } from '../../log/logger.js';
import { reply, SmtpReply } from './replies.js';
import { scanData } from './data-checks.js';

export interface DataLimits {
  maxMessageSize: number;
  /** Message data all sessions together may hold in memory; beyond it DATA gets 452 4.3.1. */
  maxBufferedBytes: number;
}

export interface DataPolicy {
  acceptBareLf: boolean;
  accept8bitWithout8bitmime: boolean;
}

/** smtp-server options every listener of ours shares: name, certificate, limits, our own
 * enhanced status codes and logging. Each listener adds its hooks and policy. */
export function baseServerOptions(config: Config, tls: TlsMaterial, banner: string): SMTPServerOptions {
  return {
    name: config.hostname,
    banner,
    key: tls.key,
    cert: tls.cert,
    size: config.smtp.maxMessageSize,
    maxClients: config.smtp.maxClients,
    socketTimeout: config.smtp.socketTimeout,
    closeTimeout: 30_000,
    hideENHANCEDSTATUSCODES: false,
    logger: false,
  };
}

export abstract class SmtpService {
  protected abstract readonly server: SMTPServer;
  private readonly inflight = new Set<Promise<unknown>>();
  protected closing = false;
  /** Bytes of message data held by all sessions right now. */
  private heldBytes = 0;

  constructor(protected readonly logger: Logger, protected readonly hostname: string) {}

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.server.off('error', reject);
        resolve(this.server.server.address() as AddressInfo);
      });
    });
  }

  /** Stop accepting, let transactions that are under way finish, then close the rest. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    const connections = (this.server as unknown as { connections: Set<{ send(code: number, text: string): void; close(): void }> }).connections;
    for (const c of connections) {
      c.send(421, `${this.hostname} Service shutting down`);
      c.close();
    }
    await closed;
  }

  protected guard(cb: (err?: Error | null) => void, fn: () => Promise<void>): void {
    this.track(fn().then(() => cb(), (e) => cb(this.toSmtpError(e))));
  }

  protected track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  protected toSmtpError(e: unknown): Error {
    if (e instanceof SmtpReply) return e;
    this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'smtp transaction failed');
    return reply(451, '4.3.0', 'Local error in processing, try again later');
  }

  protected refuseWhileClosing(): void {
    if (this.closing) throw reply(421, '4.3.2', 'Service shutting down, try again later');
  }

  /** Reads the message data. Data past the size limit, or beyond the shared memory budget, is
   * read and dropped (the client is still sending) and then refused. */
  protected async readData(stream: SMTPServerDataStream, limits: DataLimits): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0; // bytes of this message counted in this.heldBytes
    let over = false;
    let busy = false;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limits.maxMessageSize) over = true;
        else if (busy || this.heldBytes + chunk.length > limits.maxBufferedBytes) busy = true;
        else {
          chunks.push(chunk);
          held += chunk.length;
          this.heldBytes += chunk.length;
        }
        if ((over || busy) && chunks.length) {
          chunks.length = 0;
          this.heldBytes -= held;
          held = 0;
        }
      }
      if (over || stream.sizeExceeded) throw reply(552, '5.3.4', `Message size exceeds fixed maximum message size ${limits.maxMessageSize}`);
      if (busy) throw reply(452, '4.3.1', 'Insufficient system resources, try again later');
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    } finally {
      // The caller holds the data from here on; the budget covers reception only.
      this.heldBytes -= held;
    }
  }

  /** Refuses data RFC 5321/6152 forbid (and bare line ends, which enable SMTP smuggling). */
  protected checkData(data: Buffer, session: SMTPServerSession, policy: DataPolicy): void {
    const facts = scanData(data);
    if (facts.hasNul) throw reply(554, '5.6.0', 'Message contains NUL characters');
    if (facts.bareLineEnd && !policy.acceptBareLf) throw reply(554, '5.6.0', 'Message contains bare CR or LF line endings (RFC 5321 section 2.3.8)');
    if (facts.longLine) throw reply(554, '5.6.0', 'Message contains a line longer than 998 characters (RFC 5321 section 4.5.3.1.6)');
    const args = session.envelope.mailFrom ? ((session.envelope.mailFrom as SMTPServerAddress).args as Record<string, string> | false) : false;
    const declared8bit = typeof (args || {}).BODY === 'string' && (args as Record<string, string>).BODY.toUpperCase() === '8BITMIME';
    if (facts.eightBit && !declared8bit && !session.envelope.smtpUtf8 && !policy.accept8bitWithout8bitmime) {
      throw reply(554, '5.6.0', '8-bit data requires BODY=8BITMIME (RFC 6152)');
    }
  }
}

/** The TLS details of a session for trace fields, or null for plain text. */
export function sessionTls(session: SMTPServerSession): { protocol: string; cipher: string } | null {
  const s = session as unknown as { secure?: boolean; tlsOptions?: { name?: string; version?: string } | false };
  return s.secure && s.tlsOptions ? { protocol: s.tlsOptions.version ?? 'TLS', cipher: s.tlsOptions.name ?? 'unknown' } : null;
}
