// HELO/EHLO checks, as signals (never refusals: plenty of legitimate servers say odd things).
// RFC 5321 section 4.1.1.1 wants a fully-qualified domain name, or an address literal when the
// client has none. Findings, at most one per HELO (the first that applies, in this order):
//   helo_invalid      empty, or not a syntactically valid name or address literal
//   helo_ours         claims one of our host names, or an address of ours, from elsewhere
//   helo_ip_mismatch  an address literal that is not the client's address
//   helo_bare_ip      an address without the brackets of an address literal
//   helo_localhost    "localhost" (or localhost.*) from a client that is not on loopback
//   helo_not_fqdn     a single label
// Underscores are tolerated in labels (common on Windows hosts; Postfix accepts them too).
import { isLoopback, parseIp, sameIp, type Ip } from '../../net/ip.js';

export type HeloFindingName = 'helo_invalid' | 'helo_ours' | 'helo_ip_mismatch' | 'helo_bare_ip' | 'helo_localhost' | 'helo_not_fqdn';

export interface HeloFinding {
  name: HeloFindingName;
  detail: string;
}

export interface HeloContext {
  /** Our own host names (and domains a client must not claim to be), any case. */
  ourHostnames?: readonly string[];
  /** Our own addresses. */
  ourIps?: readonly string[];
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A syntactically valid host name (labels of letters, digits, hyphen, underscore; not numeric
 * at the top). A trailing root dot is tolerated. */
export function isValidHostname(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (!n || n.length > 253) return false;
  const labels = n.split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]);
}

/** The address inside an RFC 5321 address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"), null
 * when the text is a literal but malformed, undefined when it is not a literal. */
function literal(helo: string): Ip | null | undefined {
  if (!helo.startsWith('[')) return undefined;
  const m = /^\[(?:(ipv6:)(.+)|([0-9.]+))\]$/i.exec(helo);
  if (!m) return null;
  const ip = parseIp(m[2] ?? m[3]);
  if (!ip) return null;
  if (m[1] ? !m[2].includes(':') : ip.family !== 4) return null;
  return ip;
}

export function checkHelo(heloRaw: string, clientAddress: string, ctx: HeloContext = {}): HeloFinding | null {
  const helo = heloRaw.trim();
  const client = parseIp(clientAddress);
  const ourIps = (ctx.ourIps ?? []).map((s) => parseIp(s)).filter((p): p is Ip => p !== null);
  const clientIsUs = client !== null && (isLoopback(client) || ourIps.some((o) => sameIp(o, client)));
  const isOurIp = (ip: Ip) => ourIps.some((o) => sameIp(o, ip));
  const show = helo.length > 100 ? `${helo.slice(0, 100)}...` : helo;

  if (!helo) return { name: 'helo_invalid', detail: 'empty HELO' };
  const lit = literal(helo);
  if (lit === null) return { name: 'helo_invalid', detail: `malformed address literal ${show}` };
  if (lit) {
    if (!clientIsUs && isOurIp(lit)) return { name: 'helo_ours', detail: `HELO ${show} is our address` };
    if (!client || !sameIp(lit, client)) return { name: 'helo_ip_mismatch', detail: `HELO ${show} but client is [${client?.text ?? clientAddress}]` };
    return null;
  }
  const bare = parseIp(helo);
  if (bare) {
    if (!clientIsUs && isOurIp(bare)) return { name: 'helo_ours', detail: `HELO ${show} is our address` };
    return { name: 'helo_bare_ip', detail: `HELO ${show} is an address without brackets` };
  }
  if (!isValidHostname(helo)) return { name: 'helo_invalid', detail: `HELO ${show} is not a valid host name` };
  const name = helo.toLowerCase().replace(/\.$/, '');
  if (!clientIsUs && (ctx.ourHostnames ?? []).some((h) => h.toLowerCase().replace(/\.$/, '') === name)) {
    return { name: 'helo_ours', detail: `HELO ${show} is our own name` };
  }
  if (name === 'localhost' || name.startsWith('localhost.')) {
    return client && isLoopback(client) ? null : { name: 'helo_localhost', detail: `HELO ${show} from a client not on loopback` };
  }
  if (!name.includes('.')) return { name: 'helo_not_fqdn', detail: `HELO ${show} is not a fully-qualified domain name` };
  return null;
}
