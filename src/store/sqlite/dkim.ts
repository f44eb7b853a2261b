// DKIM signing keys of local domains in SQLite: adding (plain, rotating or first-use-only, each
// one transaction), listing and retiring. Rows go with their domain (ON DELETE CASCADE).
import { StoreError, type DkimAlgorithm, type DkimKey, type NewDkimKey } from '../types.js';
import type { StoreDb } from './db.js';
import { normalizeDomain, show } from './normalize.js';
import type { DomainRow } from './rows.js';

interface DkimRow {
  id: number; domain: string; selector: string; algorithm: DkimAlgorithm; private_key: string;
  public_key: string; active: number; created_at: number; retired_at: number | null;
}

const toKey = (r: DkimRow): DkimKey => ({
  id: r.id, domain: r.domain, selector: r.selector, algorithm: r.algorithm, privateKey: r.private_key,
  publicKey: r.public_key, active: r.active === 1, createdAt: new Date(r.created_at),
  retiredAt: r.retired_at === null ? null : new Date(r.retired_at),
});

const SELECT = 'SELECT k.*, d.name AS domain FROM dkim_keys k JOIN domains d ON d.id = k.domain_id';
const ALGORITHMS: readonly string[] = ['rsa-sha256', 'ed25519-sha256'];
// A selector is a DNS name below _domainkey (RFC 6376 §3.1): dot-separated labels.
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

function checked(k: NewDkimKey): NewDkimKey {
  const selector = String(k.selector ?? '').toLowerCase();
  if (!SELECTOR.test(selector) || selector.length > 200) throw new StoreError('invalid', `invalid DKIM selector ${show(k.selector)}`);
  if (!ALGORITHMS.includes(k.algorithm)) throw new StoreError('invalid', `unknown DKIM algorithm ${show(k.algorithm)}`);
  if (typeof k.privateKey !== 'string' || !k.privateKey.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new StoreError('invalid', 'DKIM private key must be PKCS#8 PEM');
  }
  if (typeof k.publicKey !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(k.publicKey)) {
    throw new StoreError('invalid', 'DKIM public key must be base64');
  }
  return { selector, algorithm: k.algorithm, privateKey: k.privateKey, publicKey: k.publicKey };
}

function domainRow(ctx: StoreDb, name: string): DomainRow {
  const n = normalizeDomain(name);
  const d = n ? ctx.get<DomainRow>('SELECT * FROM domains WHERE name = ?', n) : undefined;
  if (!d) throw new StoreError('not-found', `unknown domain ${n ?? show(name)}`);
  return d;
}

function activeKeys(ctx: StoreDb, domainId: number): DkimKey[] {
  return ctx.all<DkimRow>(`${SELECT} WHERE k.domain_id = ? AND k.active = 1 ORDER BY k.id`, domainId).map(toKey);
}

export function addDkimKeys(
  ctx: StoreDb, domain: string, keys: NewDkimKey[], opts: { retireActive?: boolean; ifNoneActive?: boolean } = {},
): DkimKey[] {
  const list = keys.map(checked);
  return ctx.tx(() => {
    const d = domainRow(ctx, domain);
    if (opts.ifNoneActive && ctx.get('SELECT 1 AS x FROM dkim_keys WHERE domain_id = ? AND active = 1', d.id)) {
      return activeKeys(ctx, d.id);
    }
    const now = Date.now();
    if (opts.retireActive) ctx.run('UPDATE dkim_keys SET active = 0, retired_at = ? WHERE domain_id = ? AND active = 1', now, d.id);
    for (const k of list) {
      if (ctx.get('SELECT 1 AS x FROM dkim_keys WHERE domain_id = ? AND selector = ?', d.id, k.selector)) {
        throw new StoreError('exists', `DKIM selector ${k.selector} already exists for ${d.name}`);
      }
      ctx.run(
        `INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, active, created_at, retired_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, NULL)`,
        d.id, k.selector, k.algorithm, k.privateKey, k.publicKey, now,
      );
    }
    return activeKeys(ctx, d.id);
  });
}

export function listDkimKeys(ctx: StoreDb, domain?: string): DkimKey[] {
  if (domain === undefined) return ctx.all<DkimRow>(`${SELECT} ORDER BY d.name, k.id`).map(toKey);
  const n = normalizeDomain(domain);
  if (!n) return [];
  return ctx.all<DkimRow>(`${SELECT} WHERE d.name = ? ORDER BY k.id`, n).map(toKey);
}

export function retireDkimKey(ctx: StoreDb, domain: string, selector: string): void {
  ctx.tx(() => {
    const d = domainRow(ctx, domain);
    const s = String(selector).toLowerCase();
    const r = ctx.get<{ active: number }>('SELECT active FROM dkim_keys WHERE domain_id = ? AND selector = ?', d.id, s);
    if (!r) throw new StoreError('not-found', `unknown DKIM selector ${show(selector)} of ${d.name}`);
    if (r.active) ctx.run('UPDATE dkim_keys SET active = 0, retired_at = ? WHERE domain_id = ? AND selector = ?', Date.now(), d.id, s);
  });
}
