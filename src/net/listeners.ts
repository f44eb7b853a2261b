// Listening sockets shared by the session-based protocol servers (IMAP, POP3): plain TCP or
// implicit TLS, and a shutdown that ends sessions while the listeners close.
import net from 'node:net';
import tls from 'node:tls';
import type { TlsMaterial } from '../tls/certificate.js';

/** Listens on host:port, with implicit TLS when `tlsMaterial` is given. */
export function listen(host: string, port: number, tlsMaterial: TlsMaterial | null, onSocket: (s: net.Socket) => void, backlog: number): Promise<{ server: net.Server; address: net.AddressInfo }> {
  const server = tlsMaterial
    ? tls.createServer({ key: tlsMaterial.key, cert: tlsMaterial.cert, minVersion: 'TLSv1.2' }, onSocket)
    : net.createServer(onSocket);
  if (tlsMaterial) server.on('tlsClientError', () => {}); // a failed handshake is the client's problem
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog }, () => {
      server.off('error', reject);
      resolve({ server, address: server.address() as net.AddressInfo });
    });
  });
}

export interface ClosableSession {
  shutdown(): void;
  destroy(): void;
}

/** Stops listening; sessions are told to go (up to 2 s), then cut. server.close() settles only
 * once every connection is gone, so the sessions are ended meanwhile. */
export async function closeAll(servers: net.Server[], sessions: Set<ClosableSession>): Promise<void> {
  const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  for (const s of Array.from(sessions)) s.shutdown();
  const deadline = Date.now() + 2000;
  while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const s of Array.from(sessions)) s.destroy();
  await closed;
}

/** A peer on this machine's loopback (plain-text login is allowed there). */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
