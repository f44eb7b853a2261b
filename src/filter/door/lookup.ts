// Small helpers shared by the door's DNS lookups: a deadline per lookup, error classification
// (node:dns error codes), and making DNS-sourced text safe to quote in an SMTP reply.
import { withTimeout as withDeadline } from '../../dns/resolver.js';

/** A DNS error that means "the name has no A records": the address is not listed. */
export function isNegative(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

export function errorCode(e: unknown): string {
  const code = (e as { code?: string } | null)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}

/** Runs a lookup with a deadline; a timeout rejects with code ETIMEOUT. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(p, ms, () => {
    const err: NodeJS.ErrnoException = new Error(`${what}: ETIMEOUT after ${ms} ms`);
    err.code = 'ETIMEOUT';
    return err;
  });
}

/** Printable ASCII only, one line, bounded: TXT data is quoted in SMTP replies. */
export function cleanText(s: string, max = 200): string {
  const t = s.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}
