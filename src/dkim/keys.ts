// DKIM signing keys of local domains: generation (an RSA-2048 and an Ed25519 key per domain, so
// that receivers without RFC 8463 support still verify the RSA one), first-use creation and
// rotation, and which keys DNS must publish.
//
// Selectors: `fjr<YYYYMMDD><n>` for RSA and `fje<YYYYMMDD><n>` for Ed25519, from the UTC date of
// generation and a letter suffix (a, b, … z, aa, ab, …) that is the first one neither selector
// of the domain uses yet, e.g. fjr20261128a / fje20261128a, then …b after a rotation that day.
// The date tells an operator how old a key is; the pair shares date and suffix.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { StoreError, type DkimKey, type NewDkimKey, type Store } from '../store/types.js';

const generateKeyPair = promisify(crypto.generateKeyPair);

/** Retired keys stay in the DNS records this long: mail signed just before a rotation may wait
 * in a queue for up to 5 days (outbound giveUpAfter) and be verified again later (forwarding,
 * mail filters), so two weeks. */
export const RETIRED_KEY_GRACE_DAYS = 14;
const DAY = 86_400_000;

/** a, b, … z, aa, ab, … (bijective base 26). */
function suffix(n: number): string {
  let s = '';
  for (let i = n + 1; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(97 + ((i - 1) % 26)) + s;
  return s;
}

/** The RSA and Ed25519 selectors for keys generated on `date`, avoiding the `taken` ones. */
export function dkimSelectors(date: Date, taken: Iterable<string> = []): { rsa: string; ed25519: string } {
  const used = new Set(Array.from(taken, (s) => s.toLowerCase()));
  const day = date.toISOString().slice(0, 10).replace(/-/g, '');
  for (let n = 0; ; n++) {
    const rsa = `fjr${day}${suffix(n)}`;
    const ed25519 = `fje${day}${suffix(n)}`;
    if (!used.has(rsa) && !used.has(ed25519)) return { rsa, ed25519 };
  }
}

/** A new RSA-2048 and Ed25519 key pair (in that order), generated off the main thread. */
export async function generateDkimKeys(opts: { date?: Date; taken?: Iterable<string> } = {}): Promise<NewDkimKey[]> {
  const sel = dkimSelectors(opts.date ?? new Date(), opts.taken);
  const [rsa, ed] = await Promise.all([
    generateKeyPair('rsa', { modulusLength: 2048 }),
    generateKeyPair('ed25519'),
  ]);
  return [
    {
      selector: sel.rsa,
      algorithm: 'rsa-sha256',
      privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      // SubjectPublicKeyInfo, as RFC 6376 §3.6.1 publishes RSA keys.
      publicKey: (rsa.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
    },
    {
      selector: sel.ed25519,
      algorithm: 'ed25519-sha256',
      privateKey: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      // RFC 8463 §4.2: the raw 32-octet public key, not SPKI.
      publicKey: Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64'),
    },
  ];
}

async function newPair(store: Store, domain: string): Promise<NewDkimKey[]> {
  const taken = (await store.listDkimKeys(domain)).map((k) => k.selector);
  return generateDkimKeys({ taken });
}

/** The domain's active keys, generating and storing a pair when it has none, so that every local
 * domain signs (also those created before DKIM keys existed). Throws StoreError('not-found') for
 * a domain that is not local. */
export async function ensureDkimKeys(store: Store, domain: string): Promise<DkimKey[]> {
  const active = (await store.listDkimKeys(domain)).filter((k) => k.active);
  if (active.length) return active;
  if (!(await store.getDomain(domain))) throw new StoreError('not-found', `unknown domain ${domain}`);
  // ifNoneActive: when another process generated keys meanwhile, theirs win and ours are dropped.
  return store.addDkimKeys(domain, await newPair(store, domain), { ifNoneActive: true });
}

/** After a rotation the old keys keep signing beside the new ones this long: the new keys'
 * records take time to be published and to reach receivers' resolvers, and a message with one
 * valid signature passes, so mail verifies throughout (the old records stay published longer,
 * RETIRED_KEY_GRACE_DAYS). */
export const DOUBLE_SIGNING_HOURS = 48;

/** The keys that sign a message from the domain now: the active ones (made if missing) and those
 * retired less than DOUBLE_SIGNING_HOURS ago. */
export async function signingKeys(store: Store, domain: string, now = new Date()): Promise<DkimKey[]> {
  const keys = await store.listDkimKeys(domain); // one lookup per message in the usual case
  const active = keys.some((k) => k.active) ? keys.filter((k) => k.active) : await ensureDkimKeys(store, domain);
  const since = now.getTime() - DOUBLE_SIGNING_HOURS * 3600_000;
  return [...active, ...keys.filter((k) => !k.active && k.retiredAt !== null && k.retiredAt.getTime() > since)];
}

export interface Rotation {
  /** The new keys, which sign from now on. */
  active: DkimKey[];
  /** The keys active before, now retired (still published until graceUntil). */
  retired: DkimKey[];
  graceUntil: Date;
}

/** A new pair becomes active and the active keys are retired, in one transaction. */
export async function rotateDkimKeys(store: Store, domain: string): Promise<Rotation> {
  if (!(await store.getDomain(domain))) throw new StoreError('not-found', `unknown domain ${domain}`);
  for (let attempt = 0; ; attempt++) {
    const before = new Set((await store.listDkimKeys(domain)).filter((k) => k.active).map((k) => k.id));
    try {
      const active = await store.addDkimKeys(domain, await newPair(store, domain), { retireActive: true });
      const retired = (await store.listDkimKeys(domain)).filter((k) => before.has(k.id));
      return { active, retired, graceUntil: new Date(Date.now() + RETIRED_KEY_GRACE_DAYS * DAY) };
    } catch (e) {
      // Another rotation took the same selectors at the same moment: pick the next ones.
      if (!(e instanceof StoreError && e.code === 'exists') || attempt >= 3) throw e;
    }
  }
}

/** Until when a retired key's DNS record must stay published (null for an active key). */
export function publishedUntil(key: DkimKey): Date | null {
  return key.retiredAt ? new Date(key.retiredAt.getTime() + RETIRED_KEY_GRACE_DAYS * DAY) : null;
}

/** The keys whose records DNS must carry: the active ones and those retired within the grace period. */
export function publishedDkimKeys(keys: DkimKey[], now = new Date()): DkimKey[] {
  return keys.filter((k) => k.active || (publishedUntil(k)?.getTime() ?? 0) > now.getTime());
}

/** The TXT record text of a key (RFC 6376 §3.6.1; k=ed25519 from RFC 8463). */
export function dkimRecordText(key: Pick<DkimKey, 'algorithm' | 'publicKey'>): string {
  return `v=DKIM1; k=${key.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa'}; p=${key.publicKey}`;
}
