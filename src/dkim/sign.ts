// DKIM signing of outgoing mail (RFC 6376; Ed25519 per RFC 8463): one DKIM-Signature field per
// key, relaxed/relaxed, with t=. Canonicalisation and body hashing are mailauth's (see
// mailauth-parts.ts); what is ours is the choice of fields and the oversigning.
import crypto from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { DkimKey } from '../store/types.js';
import { body, header, tools } from './mailauth-parts.js';

/** Fields signed when present, in h= order. */
export const SIGNED_FIELDS: readonly string[] = [
  'from', 'sender', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition', 'content-language',
  'list-id', 'list-unsubscribe', 'list-unsubscribe-post', 'list-help', 'list-subscribe', 'list-post',
  'list-owner', 'list-archive', 'feedback-id', 'autocrypt',
];

/** Fields a message may carry at most once (RFC 5322 §3.6, RFC 2045) are signed once more than
 * they occur (RFC 6376 §8.15), so nobody can add a second one that a reader would show instead.
 * From always is, even when absent. Sender and the List-* fields stay open: mailing lists add them. */
export const OVERSIGNED_FIELDS: ReadonlySet<string> = new Set([
  'from', 'reply-to', 'to', 'cc', 'subject', 'date', 'message-id', 'in-reply-to', 'references',
  'mime-version', 'content-type', 'content-transfer-encoding',
]);

export type SigningKey = Pick<DkimKey, 'selector' | 'algorithm' | 'privateKey'>;

// Parsed private keys by PEM: a busy queue signs with the same few keys all day.
const keyCache = new Map<string, crypto.KeyObject>();

function privateKey(pem: string): crypto.KeyObject {
  let k = keyCache.get(pem);
  if (!k) {
    if (keyCache.size >= 1000) keyCache.clear();
    k = crypto.createPrivateKey({ key: pem, format: 'pem' });
    keyCache.set(pem, k);
  }
  return k;
}

/** Header block and body, split where mailauth's parser splits (the first empty line). */
function split(raw: Buffer): { head: Buffer; body: Buffer } {
  for (let i = raw.indexOf(0x0a); i >= 0 && i < raw.length; i = raw.indexOf(0x0a, i + 1)) {
    if (raw[i + 1] === 0x0a) return { head: raw.subarray(0, i + 2), body: raw.subarray(i + 2) };
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return { head: raw.subarray(0, i + 3), body: raw.subarray(i + 3) };
  }
  return { head: raw, body: Buffer.alloc(0) };
}

/** The h= list for these fields: each signed name once per occurrence, plus once for oversigned ones. */
export function signedHeaderNames(present: (string | null)[]): string[] {
  const count = new Map<string, number>();
  for (const k of present) if (k) count.set(k, (count.get(k) ?? 0) + 1);
  const out: string[] = [];
  for (const name of SIGNED_FIELDS) {
    const n = (count.get(name) ?? 0) + (OVERSIGNED_FIELDS.has(name) ? 1 : 0);
    for (let i = 0; i < n; i++) out.push(name);
  }
  return out;
}

/**
 * The DKIM-Signature header fields (each ending in CRLF) to put in front of `raw`, one per key,
 * in the order of `keys`. `domain` is the d= (the From domain, for DMARC alignment).
 */
export async function signMessage(raw: Buffer, domain: string, keys: SigningKey[], opts: { now?: Date } = {}): Promise<Buffer> {
  const d = domainToASCII(domain.trim().toLowerCase().replace(/\.$/, ''));
  if (!d) throw new Error(`cannot sign for domain "${domain}"`);
  const now = opts.now ?? new Date();
  const parts = split(raw);
  const fields = tools.parseHeaders(parts.head).parsed;
  const hasher = body.dkimBody('relaxed', 'sha256', false);
  hasher.update(parts.body);
  const bodyHash = hasher.digest('base64');
  // ": " between names, as mailauth writes h=, so that folding has a place to break.
  const h = signedHeaderNames(fields.map((f) => f.key)).join(': ');
  const lines = { keys: h, headers: tools.getSigningHeaderLines(fields, h, true).headers };
  const out: string[] = [];
  for (const key of keys) {
    const pk = privateKey(key.privateKey);
    const type = key.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
    if (pk.asymmetricKeyType !== type) throw new Error(`DKIM key ${key.selector} is not an ${type} key`);
    const { canonicalizedHeader, dkimHeaderOpts } = header.generateCanonicalizedHeader('DKIM', lines, {
      signingDomain: d,
      selector: key.selector,
      algorithm: key.algorithm,
      canonicalization: 'relaxed/relaxed',
      bodyHash,
      signTime: now,
    });
    // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the canonical header (PureEdDSA over it).
    const signature = type === 'rsa'
      ? crypto.sign('sha256', canonicalizedHeader, pk)
      : crypto.sign(null, crypto.createHash('sha256').update(canonicalizedHeader).digest(), pk);
    const field = tools.formatSignatureHeaderLine('DKIM', { ...dkimHeaderOpts, b: signature.toString('base64') }, true);
    out.push(field.replace(/[\r\n]+$/, '') + '\r\n');
  }
  return Buffer.from(out.join(''), 'binary');
}
