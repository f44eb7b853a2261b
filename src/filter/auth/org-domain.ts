// The organisational domain of RFC 7489 §3.2, from the Public Suffix List (ICANN and private
// sections, as mailauth's DMARC uses it): where two names must belong to one owner for a
// security decision. (urls.ts registrableDomain is a cheap guess, good for spam tokens only:
// it would take anyone's attacker.eu.org for a sibling of friend.eu.org.)
import { getDomain } from 'tldts';

const OPTS = { allowIcannDomains: true, allowPrivateDomains: true };

/** Lower case; the name itself when the list knows no suffix for it (e.g. "localhost"). */
export function orgDomain(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  return getDomain(h, OPTS) ?? h;
}
