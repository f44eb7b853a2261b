// One resolver for every DNS lookup (DNSBL, SPF, DKIM, MX, reverse DNS), so that the
// `--dns HOST:PORT` setting reaches them all and tests can point it at a loopback server.
import { promises as dnsPromises } from 'node:dns';
import { parseListen } from '../config/listen.js';

export type Resolver = dnsPromises.Resolver;

export function createResolver(server: string | null, timeoutMs = 5000): Resolver {
  const r = new dnsPromises.Resolver({ timeout: timeoutMs, tries: 2 });
  if (server) {
    const a = parseListen(server);
    if (!a) throw new Error('dns server cannot be "off"');
    r.setServers([a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`]);
  }
  return r;
}

/** Settles like p, or rejects with timeoutError() after ms (a DNS server that never answers must
 * not hold an SMTP transaction). */
export function withTimeout<T>(p: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
