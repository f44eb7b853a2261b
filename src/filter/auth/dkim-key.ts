// DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2), checked the way RFC 6376 §6.1.2 orders it:
// the key is fetched and judged before the hashes are compared. mailauth compares the body hash
// first, so a signature with both a missing key and a changed body comes back as "fail"; we
// re-fetch the key in that case to report the key problem (temperror/permerror) instead.
import crypto from 'node:crypto';
import type { DnsLookup } from './dns.js';
import { parseTagList } from './tag-list.js';

export interface KeyProblem {
  result: 'temperror' | 'permerror';
  comment: string;
}

export async function keyProblem(lookup: DnsLookup, selector: string, domain: string): Promise<KeyProblem | null> {
  let records: string[][];
  try {
    records = (await lookup(`${selector}._domainkey.${domain}`, 'TXT')) as string[][];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { result: 'permerror', comment: 'no key' };
    return { result: 'temperror', comment: `DNS failure: ${code ?? 'error'}` };
  }
  if (records.length !== 1) return { result: 'permerror', comment: records.length ? 'several key records' : 'no key' };
  const tags = parseTagList(records[0].join(''));
  if (!tags) return { result: 'permerror', comment: 'malformed key record' };
  const v = tags.get('v');
  if (v !== undefined && v !== 'DKIM1') return { result: 'permerror', comment: `unknown key version ${v}` };
  const p = (tags.get('p') ?? '').replace(/\s+/g, '');
  if (p === '') return { result: 'permerror', comment: 'key revoked' };
  const k = (tags.get('k') ?? 'rsa').toLowerCase();
  if (k !== 'rsa' && k !== 'ed25519') return { result: 'permerror', comment: `unknown key type ${k}` };
  if (!usableKey(k, Buffer.from(p, 'base64'))) return { result: 'permerror', comment: 'invalid public key' };
  return null;
}

function usableKey(k: string, der: Buffer): boolean {
  if (k === 'ed25519') return der.length === 32; // RFC 8463: the raw 32-octet key, not SPKI
  try {
    return crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }).asymmetricKeyType === 'rsa';
  } catch {
    return pkcs1ToSpki(der) !== null;
  }
}

/** An RSAPublicKey (PKCS#1) as SubjectPublicKeyInfo, or null when it is not one. */
function pkcs1ToSpki(der: Buffer): Buffer | null {
  try {
    return crypto.createPublicKey({ key: der, format: 'der', type: 'pkcs1' }).export({ type: 'spki', format: 'der' });
  } catch {
    return null;
  }
}

/**
 * Some signers publish the bare RSAPublicKey (PKCS#1) in p= instead of SubjectPublicKeyInfo;
 * both occur and both name the same key, but mailauth only reads SPKI. This wraps the DNS
 * function to rewrite such p= values to SPKI on key-record lookups (._domainkey. names).
 */
export function spkiKeyRecords(lookup: DnsLookup): DnsLookup {
  return async (name, rrtype) => {
    const answer = await lookup(name, rrtype);
    if (rrtype !== 'TXT' || !/\._domainkey\./i.test(name) || !Array.isArray(answer)) return answer;
    return (answer as string[][]).map((strings) => {
      const text = strings.join('');
      const m = /(^|;)(\s*p\s*=\s*)([A-Za-z0-9+/=\s]+)/.exec(text);
      if (!m) return strings;
      const der = Buffer.from(m[3].replace(/\s+/g, ''), 'base64');
      if (der.length <= 32) return strings;
      try {
        crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
        return strings;
      } catch {
        const spki = pkcs1ToSpki(der);
        if (!spki) return strings;
        const at = m.index + m[1].length + m[2].length;
        return [text.slice(0, at) + spki.toString('base64') + text.slice(at + m[3].length)];
      }
    });
  };
}
