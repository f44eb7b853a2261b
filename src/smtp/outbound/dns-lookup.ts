// A `lookup` function for net/tls/https connections that resolves through our Resolver instead
// of getaddrinfo, so that host names we connect to by name (the MTA-STS policy host) follow
// `--dns` like every other lookup.
import net from 'node:net';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { withTimeout, type Resolver } from '../../dns/resolver.js';

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export function resolverLookup(resolver: Resolver, timeoutMs = 20_000): net.LookupFunction {
  const lookup = (hostname: string, options: LookupOptions | number | undefined, callback: Callback): void => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : { family: typeof options === 'number' ? options : 0 };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : (opts.family ?? 0);
    const timed = <T>(p: Promise<T>) => withTimeout(p, timeoutMs, () => Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' }));
    const found: Promise<string[]> = net.isIP(hostname)
      ? Promise.resolve([hostname])
      : Promise.allSettled([family === 6 ? Promise.resolve([]) : timed(resolver.resolve4(hostname)), family === 4 ? Promise.resolve([]) : timed(resolver.resolve6(hostname))]).then((r) =>
          r.flatMap((x) => (x.status === 'fulfilled' ? x.value : [])),
        );
    found.then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), '', 4);
          return;
        }
        if (opts.all) callback(null, addresses.map((a) => ({ address: a, family: net.isIPv6(a) ? 6 : 4 })));
        else callback(null, addresses[0], net.isIPv6(addresses[0]) ? 6 : 4);
      },
      (e: unknown) => callback(e as NodeJS.ErrnoException, '', 4),
    );
  };
  return lookup as unknown as net.LookupFunction;
}
