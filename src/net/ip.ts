// IP addresses for the spam filter (door checks, SPF) and the listeners: parsing into bytes (IPv4, IPv6, IPv4-mapped IPv6 folded to
// IPv4, zone ids dropped), canonical text (dotted quad; RFC 5952 compressed lower-case IPv6),
// CIDR containment, and the reversed names DNS blocklists are queried with (RFC 5782 section 2:
// reversed octets for IPv4, reversed nibbles for IPv6).
import { isIPv4, isIPv6 } from 'node:net';

export interface Ip {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** Canonical text: "192.0.2.1", "2001:db8::1". */
  text: string;
}

export interface Cidr {
  family: 4 | 6;
  /** The network address (host bits cleared). */
  bytes: Uint8Array;
  prefix: number;
  /** Canonical text: "192.0.2.0/24". */
  text: string;
}

function v4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

function v6Bytes(s: string): Uint8Array {
  // isIPv6 has vouched for the syntax; an IPv4 tail takes the last two groups.
  let head = s;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) !== -1) {
    const b = v4Bytes(s.slice(lastColon + 1));
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    head = s.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  let words: number[];
  const dbl = head.indexOf('::');
  if (dbl === -1) words = [...groups(head), ...tail];
  else {
    const left = groups(head.slice(0, dbl));
    const right = [...groups(head.slice(dbl + 2)), ...tail];
    words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

function v6Text(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  // RFC 5952 4.2: compress the longest run (first if tied) of two or more zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function fromBytes(family: 4 | 6, bytes: Uint8Array): Ip {
  return { family, bytes, text: family === 4 ? bytes.join('.') : v6Text(bytes) };
}

/** Parses an address as it comes from a socket, a config entry or an address literal's inside.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address; a zone id ("%eth0") is dropped. */
export function parseIp(input: string): Ip | null {
  let s = input.trim();
  const pct = s.indexOf('%');
  if (pct !== -1) s = s.slice(0, pct);
  if (isIPv4(s)) return fromBytes(4, v4Bytes(s));
  if (!isIPv6(s)) return null;
  const b = v6Bytes(s);
  if (isMapped(b)) return fromBytes(4, b.slice(12));
  return fromBytes(6, b);
}

/** Canonical text of an address, or null when it is not one. */
export function normalizeIp(input: string): string | null {
  return parseIp(input)?.text ?? null;
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/** "a.b.c.d/n", "x::/n", or a bare address (a host route). An IPv4-mapped network
 * (::ffff:0:0/96 and longer) becomes the IPv4 network. Null when malformed. */
export function parseCidr(input: string): Cidr | null {
  const s = input.trim();
  const slash = s.indexOf('/');
  const ip = parseIp(slash === -1 ? s : s.slice(0, slash));
  if (!ip) return null;
  let prefix = ip.family === 4 ? 32 : 128;
  if (slash !== -1) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    const wasV6 = s.slice(0, slash).includes(':');
    if (ip.family === 4 && wasV6) {
      // ::ffff:a.b.c.d/n with n >= 96 is the IPv4 network /(n - 96).
      if (prefix < 96 || prefix > 128) return null;
      prefix -= 96;
    }
    if (prefix > (ip.family === 4 ? 32 : 128)) return null;
  }
  const bytes = mask(ip.bytes, prefix);
  return { family: ip.family, bytes, prefix, text: `${fromBytes(ip.family, bytes).text}/${prefix}` };
}

/** Whether the network holds the address (families must agree after IPv4-mapped folding). */
export function cidrContains(net: Cidr, ip: Ip): boolean {
  if (net.family !== ip.family) return false;
  const full = Math.floor(net.prefix / 8);
  for (let i = 0; i < full; i++) if (net.bytes[i] !== ip.bytes[i]) return false;
  const rest = net.prefix % 8;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (ip.bytes[full] & m) === net.bytes[full];
}

/** The network an address belongs to at a prefix length, as canonical CIDR text. */
export function networkOf(ip: Ip, prefix: number): string {
  const bytes = mask(ip.bytes, prefix);
  return `${fromBytes(ip.family, bytes).text}/${prefix}`;
}

/** RFC 5782 section 2.1/2.4: "1.2.3.4" → "4.3.2.1"; IPv6 → 32 reversed nibbles. */
export function reversedName(ip: Ip): string {
  if (ip.family === 4) return [...ip.bytes].reverse().join('.');
  const nibbles: string[] = [];
  for (const b of ip.bytes) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return nibbles.reverse().join('.');
}

/** The reverse-lookup name of an address (in-addr.arpa / ip6.arpa). */
export function reverseName(ip: Ip): string {
  return `${reversedName(ip)}.${ip.family === 4 ? 'in-addr' : 'ip6'}.arpa`;
}

/** SPF's %{i}: the dotted quad, or 32 dot-separated lower-case nibbles in order (RFC 7208 §7.3). */
export function macroIp(ip: Ip): string {
  return reversedName(ip).split('.').reverse().join('.');
}

/** Whether ip lies in network/prefix (same family only). */
export function inNetwork(ip: Ip, network: Ip, prefix: number): boolean {
  return cidrContains({ family: network.family, bytes: mask(network.bytes, prefix), prefix, text: '' }, ip);
}

/** An address from its 4 or 16 bytes (e.g. an A/AAAA record's data). */
export function ipFromBytes(bytes: Uint8Array): Ip {
  return fromBytes(bytes.length === 4 ? 4 : 6, Uint8Array.from(bytes));
}

/** The name queried in a blocklist zone for an address. */
export function dnsblQueryName(ip: Ip, zone: string): string {
  return `${reversedName(ip)}.${zone.replace(/\.$/, '')}`;
}

export function isLoopback(ip: Ip): boolean {
  if (ip.family === 4) return ip.bytes[0] === 127;
  for (let i = 0; i < 15; i++) if (ip.bytes[i] !== 0) return false;
  return ip.bytes[15] === 1;
}

export function sameIp(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.text === b.text;
}
