// What the recipient has shown about a sender: written to it, moved its mail out of Junk, or
// into Junk. That is the best evidence of wanted (or unwanted) mail a provider has: webmail
// providers use their users' contacts and "not spam" clicks the same way. It keeps a friend's
// "free tickets, click here!" out of Junk, and the next issue of a newsletter the user rescued
// in the Inbox, whatever the shared filter thinks of them. The addresses each account wrote to
// are kept by the sending limits, the user's verdicts in their spam reports.
//
// Only for a From address the message authenticates (a valid DKIM signature aligned with its
// domain, or SPF passing for an aligned envelope sender: what DMARC accepts, with or without a
// DMARC record). Otherwise a spammer could borrow any likely correspondent's address, and a
// forger of a friend's address could get the friend's real mail junked.
import type { AuthVerdict } from './auth/index.js';
import type { SpamVerdict } from '../store/types.js';
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

/** One account's history with senders. */
export interface SenderHistory {
  wroteTo(address: string): Promise<boolean>;
  /** The account's latest "spam / not spam" on mail from this address, or null. */
  verdict(address: string): Promise<SpamVerdict | null>;
}

export interface SenderScores {
  /** Written to, or mail moved out of Junk (negative). */
  knownSender: number;
  /** Mail moved into Junk (positive). */
  junkedSender: number;
}

/** The user's latest verdict on the sender wins; else having written to it. */
export async function senderSignals(h: SenderHistory, from: string | null, scores: SenderScores): Promise<Signal[]> {
  if (from === null) return [];
  const said = await h.verdict(from);
  if (said === 'spam') return scores.junkedSender === 0 ? [] : [{ name: 'USER_JUNKED_SENDER', score: scores.junkedSender, detail: `${from}: this user moved its mail to Junk` }];
  if (scores.knownSender === 0) return [];
  if (said === 'ham') return [{ name: 'USER_RESCUED_SENDER', score: scores.knownSender, detail: `${from}: this user moved its mail out of Junk` }];
  if (await h.wroteTo(from)) return [{ name: 'KNOWN_CORRESPONDENT', score: scores.knownSender, detail: `${from}: written to before` }];
  return [];
}
