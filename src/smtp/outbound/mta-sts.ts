// MTA-STS discovery (RFC 8461 §3, §5): the `_mta-sts.<domain>` TXT record through our
// Resolver, then the policy from https://mta-sts.<domain>/.well-known/mta-sts.txt (host also
// resolved through our Resolver; system CAs plus outbound.caFile; no redirects; 64 KB; bounded
// time), cached in the queue database by policy id until max_age runs out. A fetch that fails
// falls back to the cached policy while it is valid (§5.1), so an attacker who blocks the
// policy host cannot downgrade a domain we already know to enforce.
import https from 'node:https';
import { withTimeout, type Resolver } from '../../dns/resolver.js';
import type { Logger } from '../../log/logger.js';
import { parseStsPolicy, parseStsRecord, type StsPolicy } from './mta-sts-policy.js';
import { resolverLookup } from './dns-lookup.js';
import type { StsPolicyRow } from './queue.js';

const MAX_POLICY_BYTES = 64 * 1024;

/** Where policies are cached (the outbound queue's database). */
export interface StsCache {
  stsPolicy(domain: string): StsPolicyRow | null;
  putStsPolicy(p: StsPolicyRow): void;
}

export interface MtaStsOptions {
  cache: StsCache;
  resolver: Resolver;
  /** Port of the policy host (443; tests use another). */
  port: number;
  /** Trusted CAs (PEM): the system's plus outbound.caFile. */
  ca: string[];
  timeoutMs: number;
  logger: Logger;
}

export class MtaSts {
  private readonly lookup;

  constructor(private readonly o: MtaStsOptions) {
    this.lookup = resolverLookup(o.resolver, o.timeoutMs);
  }

  /** The policy in force for a domain, or null (no MTA-STS: deliver opportunistically). */
  async policyFor(domain: string): Promise<StsPolicy | null> {
    if (domain.startsWith('[')) return null;
    const now = Date.now();
    const cached = this.o.cache.stsPolicy(domain);
    const fresh = cached && cached.expiresAt > now ? cached : null;
    let id: string | null = null;
    try {
      const txt = await withTimeout(this.o.resolver.resolveTxt(`_mta-sts.${domain}`), this.o.timeoutMs, () => new Error('timeout'));
      id = parseStsRecord(txt);
    } catch {
      id = null; // no record, or DNS trouble: a cached policy still applies (§5.1)
    }
    if (id === null) return fresh ? rowPolicy(fresh) : null;
    if (fresh && fresh.policyId === id) return rowPolicy(fresh);
    try {
      const policy = parseStsPolicy(await this.fetch(domain));
      this.o.cache.putStsPolicy({ domain, policyId: id, mode: policy.mode, mx: policy.mx, maxAge: policy.maxAge, fetchedAt: now, expiresAt: now + policy.maxAge * 1000 });
      this.o.logger.info({ domain, policyId: id, mode: policy.mode, mx: policy.mx }, 'mta-sts policy fetched');
      return policy;
    } catch (e) {
      this.o.logger.warn({ domain, policyId: id, err: (e as Error).message, usingCached: !!fresh }, 'mta-sts policy fetch failed');
      return fresh ? rowPolicy(fresh) : null;
    }
  }

  private fetch(domain: string): Promise<string> {
    return fetchStsPolicyText(domain, { port: this.o.port, ca: this.o.ca, timeoutMs: this.o.timeoutMs, lookup: this.lookup });
  }
}

/** The policy file of a domain as served at https://mta-sts.<domain>/.well-known/mta-sts.txt
 * (RFC 8461 §3.3: no redirects, 200 and text/plain only, at most 64 KB, bounded time). Also
 * used by `fjord dns check`. */
export function fetchStsPolicyText(domain: string, o: { port: number; ca: string[]; timeoutMs: number; lookup: ReturnType<typeof resolverLookup> }): Promise<string> {
  const host = `mta-sts.${domain}`;
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const done = (e: Error | null, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(text!);
    };
    const req = https.request(
      { host, port: o.port, path: '/.well-known/mta-sts.txt', method: 'GET', ca: o.ca, servername: host, agent: false, lookup: o.lookup, headers: { 'user-agent': 'Fjord-Mail-MTA-STS/1' } },
      (res) => {
        // §3.3: redirects are not followed; anything but 200 is no policy
        if (res.statusCode !== 200) {
          res.resume();
          req.destroy();
          done(new Error(`HTTP ${res.statusCode} from ${host}`));
          return;
        }
        // §3.2: the policy is served as text/plain
        const type = String(res.headers['content-type'] ?? '');
        if (!/^text\/plain\s*(;|$)/i.test(type)) {
          res.resume();
          req.destroy();
          done(new Error(`policy from ${host} is ${type || 'untyped'}, not text/plain`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_POLICY_BYTES) {
            req.destroy();
            done(new Error(`policy from ${host} is larger than 64 KB`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (e) => done(e));
      },
    );
    req.on('error', (e) => done(e));
    const timer = setTimeout(() => {
      req.destroy();
      done(new Error(`timeout fetching the policy from ${host}`));
    }, o.timeoutMs);
    req.end();
  });
}

function rowPolicy(r: StsPolicyRow): StsPolicy {
  return { mode: r.mode, mx: r.mx, maxAge: r.maxAge };
}
