// URLs in message text and HTML: extraction, host normalisation and the registrable domain
// (an approximation of the public-suffix rule that covers the common two-level ccTLD suffixes).

const URL_IN_TEXT = /\b(?:(?:https?|ftp):\/\/|www\d{0,3}\.)[^\s<>"'()\[\]{}|\\^`]{2,300}/gi;
const MAX_URLS = 300;

/** Second-level labels that act as public suffixes under two-letter country TLDs (co.uk, com.au…). */
const CC_SLD = new Set(['co', 'com', 'net', 'org', 'ac', 'gov', 'edu', 'ne', 'or', 'go', 'gob', 'mil', 'nic', 'ltd', 'plc', 'sch', 'nom', 'biz', 'info', 'gen', 'firm', 'ind', 'gr', 'lg', 'ad', 'ed', 'me']);

export function urlsInText(text: string, out: string[] = []): string[] {
  URL_IN_TEXT.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = URL_IN_TEXT.exec(text)) !== null && out.length < MAX_URLS) {
    out.push(m[0].replace(/[.,;:!?]+$/, ''));
  }
  return out;
}

export interface UrlParts {
  scheme: string;
  /** Lower-case host without port or trailing dot; '' when none. */
  host: string;
  /** Host written as an IP address (dotted, or a single decimal/hex number). */
  ip: boolean;
  port: string;
  /** user@ part present (http://paypal.com@evil.example/). */
  userinfo: boolean;
  /** Percent-escapes in the host (obfuscation). */
  escapedHost: boolean;
  path: string;
}

/** Split a URL the way a browser would read it (tolerant; never throws). */
export function urlParts(url: string): UrlParts | null {
  let u = url.trim();
  let scheme = 'http';
  const sm = /^([a-z][a-z0-9+.-]{1,15}):/i.exec(u);
  if (sm !== null) {
    scheme = sm[1].toLowerCase();
    u = u.slice(sm[0].length);
    if (scheme === 'mailto') {
      const at = u.lastIndexOf('@');
      const host = at < 0 ? '' : u.slice(at + 1).split(/[?&]/)[0].toLowerCase();
      return { scheme, host, ip: false, port: '', userinfo: false, escapedHost: false, path: '' };
    }
    if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ftp') return null;
  } else if (!/^www\d{0,3}\./i.test(u) && !u.startsWith('//')) {
    return null;
  }
  u = u.replace(/^[\\/]+/, '');
  const end = u.search(/[/?#\\]/);
  let authority = end < 0 ? u : u.slice(0, end);
  const path = end < 0 ? '' : u.slice(end);
  let userinfo = false;
  const at = authority.lastIndexOf('@');
  if (at >= 0) { userinfo = true; authority = authority.slice(at + 1); }
  let escapedHost = false;
  if (authority.includes('%')) {
    escapedHost = true;
    try { authority = decodeURIComponent(authority); } catch { /* keep as is */ }
  }
  let port = '';
  const pm = /:(\d*)$/.exec(authority);
  if (pm !== null) { port = pm[1]; authority = authority.slice(0, pm.index); }
  const host = authority.toLowerCase().replace(/\.+$/, '');
  const ip = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^(0x[0-9a-f]+|\d{8,10})$/.test(host) || host.startsWith('[');
  return { scheme, host, ip, port, userinfo, escapedHost, path };
}

/** The domain a registrant controls: example.co.uk for www.shop.example.co.uk. */
export function registrableDomain(host: string): string {
  if (host === '' || /^[\d.]+$/.test(host) || host.startsWith('[')) return host;
  const labels = host.split('.').filter((l) => l.length > 0);
  if (labels.length <= 2) return labels.join('.');
  const tld = labels[labels.length - 1];
  const sld = labels[labels.length - 2];
  const take = tld.length === 2 && CC_SLD.has(sld) ? 3 : 2;
  return labels.slice(-take).join('.');
}
