// What the recipient has shown about a sender: written to it, moved its mail out of Junk, or
// into Junk. That is the best evidence of wanted (or unwanted) mail a provider has: webmail
// providers use their users' contacts and "not spam" clicks the same way. It keeps a friend's
// "free tickets, click here!" out of Junk, and the next issue of a newsletter the user rescued
// in the Inbox, whatever the shared filter thinks of them. The addresses each account wrote to
// are kept by the sending limits, the user's verdicts on senders with the account (store:
// sender verdicts; unlike spam reports they do not expire: a rescued newsletter stays in the
// Inbox, so the user never says it again).
//
// Only for a From address the message authenticates (a valid DKIM signature aligned with its
// domain, or SPF passing for an aligned envelope sender: what DMARC accepts, with or without a
// DMARC record), and only for moves into or out of Junk, not for $Junk / $NotJunk keywords that
// mail programs set by themselves. Otherwise a spammer could borrow any likely correspondent's
// address, and a forger of a friend's address could get the friend's real mail junked.
import type { AuthVerdict } from './auth/index.js';
import type { SpamVerdict } from '../store/types.js';
import type { Signal } from './verdict.js';
import { orgDomain } from './auth/org-domain.js';

/** The single From address when the message authenticates it, else null. DMARC's own verdict
 * when the domain publishes a record; without one, the same test by hand: a valid DKIM
 * signature or an SPF pass whose domain has the From domain's organisational domain. Nothing
 * when mailauth (which checked DKIM and DMARC) saw another From domain than our parser: a
 * message that reads differently to the two would let one domain's signature vouch for
 * another's address. */
export function authenticatedFrom(from: string[], auth: Pick<AuthVerdict, 'spf' | 'dkim' | 'dmarc'>): string | null {
  if (from.length !== 1) return null;
  const address = from[0]!.toLowerCase();
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1);
  if (at <= 0 || domain === '' || auth.dmarc.fromDomain !== domain) return null;
  if (auth.dmarc.result === 'pass') return address;
  if (auth.dmarc.result !== 'none' && auth.dmarc.result !== 'temperror') return null;
  const org = orgDomain(domain);
  if (auth.dkim.some((s) => s.result === 'pass' && s.aligned && orgDomain(s.domain) === org)) return address;
  const spf = auth.spf.mailFrom;
  if (spf.result === 'pass' && orgDomain(spf.domain) === org) return address;
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
