// Mail from someone the recipient has written to. That is the best sign of wanted mail a
// provider has (webmail providers use their users' contacts the same way), and it is what keeps
// a friend's "free tickets, click here!" out of Junk. The addresses each account wrote to are
// already kept by the sending limits (store: known recipients). The bonus is only given when
// the From address is authenticated: a valid DKIM signature aligned with its domain, or SPF
// passing for an aligned envelope sender (what DMARC accepts, with or without a DMARC record).
// Otherwise a spammer could borrow any likely correspondent's address.
import type { AuthVerdict } from './auth/index.js';
import type { Signal } from './verdict.js';
import { registrableDomain } from './urls.js';

/** The single From address when the message authenticates it, else null. */
export function authenticatedFrom(from: string[], auth: Pick<AuthVerdict, 'spf' | 'dkim' | 'dmarc'>): string | null {
  if (from.length !== 1) return null;
  const address = from[0]!.toLowerCase();
  const domain = address.slice(address.lastIndexOf('@') + 1);
  if (!address.includes('@') || domain === '') return null;
  if (auth.dmarc.result === 'pass' && auth.dmarc.fromDomain === domain) return address;
  if (auth.dkim.some((s) => s.result === 'pass' && s.aligned)) return address;
  const spf = auth.spf.mailFrom;
  if (spf.result === 'pass' && registrableDomain(spf.domain.toLowerCase()) === registrableDomain(domain)) return address;
  return null;
}

/** KNOWN_CORRESPONDENT when the account has written to this (authenticated) sender. */
export async function correspondentSignal(wroteTo: (address: string) => Promise<boolean>, from: string | null, score: number): Promise<Signal[]> {
  if (from === null || score === 0 || !(await wroteTo(from))) return [];
  return [{ name: 'KNOWN_CORRESPONDENT', score, detail: `${from}: written to before` }];
}
