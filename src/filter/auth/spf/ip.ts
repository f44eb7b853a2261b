// Client addresses as bytes: CIDR matching for ip4/ip6/a/mx/ptr, and the textual forms the
// macros need (%{i} dotted or nibble form, %{c} readable form). An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is treated as the IPv4 address it carries, as mail servers see it.
import net from 'node:net';

export interface Ip {
  family: 4 | 6;
  bytes: Uint8Array;
}

export function parseIp(text: string): Ip | null {
  const s = text.trim();
  if (net.isIPv4(s)) return { family: 4, bytes: Uint8Array.from(s.split('.').map(Number)) };
  if (!net.isIPv6(s)) return null;
  const bytes = ipv6Bytes(s);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
}

function ipv6Bytes(s: string): Uint8Array {
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const parts = v4[1].split('.').map(Number);
    tail.push((parts[0] << 8) | parts[1], (parts[2] << 8) | parts[3]);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  const words = groups.map((g) => parseInt(g, 16));
  if (tail.length) words.splice(6, 2, ...tail);
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Whether `ip` is inside network/bits (same family only). */
export function inNetwork(ip: Ip, network: Ip, bits: number): boolean {
  if (ip.family !== network.family) return false;
  for (let i = 0; i < ip.bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip.bytes[i] & mask) !== (network.bytes[i] & mask)) return false;
  }
  return true;
}

/** %{i}: dotted quad, or 32 dot-separated lower-case nibbles for IPv6 (RFC 7208 §7.3). */
export function macroIp(ip: Ip): string {
  if (ip.family === 4) return [...ip.bytes].join('.');
  return [...ip.bytes].flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)]).join('.');
}

/** %{c}: the readable form (RFC 5952 for IPv6). */
export function readableIp(ip: Ip): string {
  if (ip.family === 4) return [...ip.bytes].join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((ip.bytes[i] << 8) | ip.bytes[i + 1]);
  // Longest run (≥2) of zero words becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The reverse-lookup name of an address (in-addr.arpa / ip6.arpa). */
export function reverseName(ip: Ip): string {
  const parts = macroIp(ip).split('.').reverse();
  return `${parts.join('.')}.${ip.family === 4 ? 'in-addr' : 'ip6'}.arpa`;
}
