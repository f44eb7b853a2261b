// ARC-Seal verification (RFC 8617 §5.1.2, §5.2 step 6) done here because mailauth 4.13.3's
// verifies seals other than the newest without their algorithm and feeds ed25519 keys the
// unhashed header data (its sealer hashes first, as RFC 8463 says), so an ed25519 seal never
// verifies. Also the strict tag-list checks the ValiMail suite requires of ARC header fields.
import crypto from 'node:crypto';
import type { DnsLookup } from './dns.js';
import { headerValue, parseTagList } from './tag-list.js';

export interface ArcSet {
  i: number;
  seal: string;
  messageSignature: string;
  authResults: string;
}

/** RFC 6376 §3.4.2 relaxed header canonicalization of one "Name: value" line. */
export function relaxedHeader(line: string): string {
  const colon = line.indexOf(':');
  const name = line.slice(0, colon).trim().toLowerCase();
  const value = line
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** Tag-list syntax and required tags of each set's ARC-Seal and ARC-Message-Signature. */
export function formatProblem(sets: ArcSet[]): string | null {
  for (const set of sets) {
    const as = parseTagList(headerValue(set.seal));
    if (!as) return `i=${set.i} malformed arc-seal`;
    for (const t of ['i', 'a', 'b', 'd', 's', 'cv']) if (!as.get(t)) return `i=${set.i} arc-seal lacks ${t}=`;
    const ams = parseTagList(headerValue(set.messageSignature));
    if (!ams) return `i=${set.i} malformed arc-message-signature`;
    for (const t of ['i', 'a', 'b', 'bh', 'd', 's']) if (!ams.get(t)) return `i=${set.i} arc-message-signature lacks ${t}=`;
    if (!ams.has('h')) return `i=${set.i} arc-message-signature lacks h=`; // may be empty (suite: ams_fields_h_empty)
  }
  return null;
}

/** Verifies every seal, newest first; returns null when all verify, else the reason. */
export async function sealProblem(sets: ArcSet[], lookup: DnsLookup, minBitLength = 1024): Promise<string | null> {
  const ordered = [...sets].sort((a, b) => a.i - b.i);
  for (let n = ordered.length; n >= 1; n--) {
    const tags = parseTagList(headerValue(ordered[n - 1].seal));
    if (!tags) return `i=${n} malformed arc-seal`;
    const parts: string[] = [];
    for (let k = 0; k < n; k++) {
      parts.push(relaxedHeader(ordered[k].authResults), relaxedHeader(ordered[k].messageSignature));
      if (k < n - 1) parts.push(relaxedHeader(ordered[k].seal));
    }
    const data = parts.map((p) => `${p}\r\n`).join('') + relaxedHeader(ordered[n - 1].seal).replace(/((?:^|;)\s*b\s*=)[^;]*/, '$1');
    const algorithm = (tags.get('a') ?? '').toLowerCase();
    const key = await fetchKey(lookup, tags.get('s') ?? '', tags.get('d') ?? '', minBitLength);
    if (typeof key === 'string') return `i=${n} ${key}`;
    const sig = Buffer.from((tags.get('b') ?? '').replace(/\s+/g, ''), 'base64');
    let ok = false;
    if (algorithm === 'rsa-sha256' && key.asymmetricKeyType === 'rsa') ok = crypto.verify('sha256', Buffer.from(data, 'latin1'), key, sig);
    else if (algorithm === 'ed25519-sha256' && key.asymmetricKeyType === 'ed25519') ok = crypto.verify(null, crypto.createHash('sha256').update(data, 'latin1').digest(), key, sig);
    else return `i=${n} unsupported seal algorithm ${algorithm}`;
    if (!ok) return `i=${n} seal signature did not verify`;
  }
  return null;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

async function fetchKey(lookup: DnsLookup, s: string, d: string, minBitLength: number): Promise<crypto.KeyObject | string> {
  let records: string[][];
  try {
    records = (await lookup(`${s}._domainkey.${d}`, 'TXT')) as string[][];
  } catch (e) {
    return `no key for ${s}._domainkey.${d} (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  const tags = records.length === 1 ? parseTagList(records[0].join('')) : null;
  const p = (tags?.get('p') ?? '').replace(/\s+/g, '');
  if (!p) return `no usable key for ${s}._domainkey.${d}`;
  const der = Buffer.from(p, 'base64');
  try {
    if ((tags!.get('k') ?? 'rsa').toLowerCase() === 'ed25519') {
      if (der.length !== 32) return 'ed25519 key is not 32 octets';
      return crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, der]), format: 'der', type: 'spki' });
    }
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      key = crypto.createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
    }
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < minBitLength) return 'key too short';
    return key;
  } catch {
    return `invalid key for ${s}._domainkey.${d}`;
  }
}
