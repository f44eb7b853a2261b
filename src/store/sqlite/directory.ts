// Settings, domains and aliases of the SQLite store.
import { StoreError, type Alias, type Domain } from '../types.js';
import type { StoreDb } from './db.js';
import { normalizeAddress, normalizeAlias, normalizeDomain, show } from './normalize.js';
import { toAlias, toDomain, type AliasRow, type DomainRow } from './rows.js';

// ---------------------------------------------------------------- settings

export async function getSetting(ctx: StoreDb, key: string): Promise<string | null> {
  ctx.checkOpen();
  return ctx.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', String(key))?.value ?? null;
}

export async function setSetting(ctx: StoreDb, key: string, value: string): Promise<void> {
  ctx.tx(() => {
    ctx.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', String(key), String(value));
  });
}

// ---------------------------------------------------------------- domains

export async function addDomain(ctx: StoreDb, name: string): Promise<Domain> {
  const n = normalizeDomain(name);
  if (!n) throw new StoreError('invalid', `invalid domain name ${show(name)}`);
  return ctx.tx(() => {
    if (ctx.get('SELECT 1 AS x FROM domains WHERE name = ?', n)) throw new StoreError('exists', `domain ${n} already exists`);
    const row = ctx.get<DomainRow>('INSERT INTO domains (name, created_at) VALUES (?, ?) RETURNING *', n, Date.now())!;
    return toDomain(row);
  });
}

export async function getDomain(ctx: StoreDb, name: string): Promise<Domain | null> {
  ctx.checkOpen();
  const n = normalizeDomain(name);
  if (!n) return null;
  const r = ctx.get<DomainRow>('SELECT * FROM domains WHERE name = ?', n);
  return r ? toDomain(r) : null;
}

export async function listDomains(ctx: StoreDb): Promise<Domain[]> {
  ctx.checkOpen();
  return ctx.all<DomainRow>('SELECT * FROM domains ORDER BY name').map(toDomain);
}

export async function removeDomain(ctx: StoreDb, name: string): Promise<void> {
  const n = normalizeDomain(name);
  if (!n) throw new StoreError('not-found', `unknown domain ${show(name)}`);
  ctx.tx(() => {
    const d = ctx.get<DomainRow>('SELECT * FROM domains WHERE name = ?', n);
    if (!d) throw new StoreError('not-found', `unknown domain ${n}`);
    const accounts = ctx.get<{ c: number }>('SELECT count(*) AS c FROM accounts WHERE domain_id = ?', d.id)!.c;
    const aliases = ctx.get<{ c: number }>('SELECT count(*) AS c FROM aliases WHERE domain_id = ?', d.id)!.c;
    if (accounts || aliases) {
      throw new StoreError('in-use', `domain ${n} still has ${accounts} account(s) and ${aliases} alias(es)`);
    }
    ctx.run('DELETE FROM domains WHERE id = ?', d.id);
  });
}

// ---------------------------------------------------------------- aliases

export async function addAlias(ctx: StoreDb, alias: string, target: string): Promise<Alias> {
  const a = normalizeAlias(alias);
  if (!a) throw new StoreError('invalid', `invalid alias ${show(alias)}`);
  const t = normalizeAddress(target);
  if (!t) throw new StoreError('invalid', `invalid alias target ${show(target)}`);
  return ctx.tx(() => {
    const d = ctx.get<DomainRow>('SELECT * FROM domains WHERE name = ?', a.domain);
    if (!d) throw new StoreError('not-found', `unknown domain ${a.domain}`);
    if (ctx.get('SELECT 1 AS x FROM aliases WHERE alias = ? AND target = ?', a.alias, t.address)) {
      throw new StoreError('exists', `alias ${a.alias} -> ${t.address} already exists`);
    }
    return toAlias(ctx.get<AliasRow>(
      'INSERT INTO aliases (alias, target, domain_id, created_at) VALUES (?, ?, ?, ?) RETURNING *',
      a.alias, t.address, d.id, Date.now(),
    )!);
  });
}

export async function getAliasTargets(ctx: StoreDb, alias: string): Promise<string[]> {
  ctx.checkOpen();
  const a = normalizeAlias(alias);
  if (!a) return [];
  return ctx.all<{ target: string }>('SELECT target FROM aliases WHERE alias = ? ORDER BY id', a.alias).map((r) => r.target);
}

export async function listAliases(ctx: StoreDb, domain?: string): Promise<Alias[]> {
  ctx.checkOpen();
  if (domain === undefined) return ctx.all<AliasRow>('SELECT * FROM aliases ORDER BY alias, target').map(toAlias);
  const n = normalizeDomain(domain);
  if (!n) return [];
  return ctx.all<AliasRow>(
    'SELECT a.* FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE d.name = ? ORDER BY a.alias, a.target', n,
  ).map(toAlias);
}

export async function removeAlias(ctx: StoreDb, alias: string, target?: string): Promise<void> {
  const a = normalizeAlias(alias);
  if (!a) throw new StoreError('not-found', `unknown alias ${show(alias)}`);
  let t: string | undefined;
  if (target !== undefined) {
    const n = normalizeAddress(target);
    if (!n) throw new StoreError('not-found', `unknown alias ${a.alias} -> ${show(target)}`);
    t = n.address;
  }
  ctx.tx(() => {
    const r = t === undefined
      ? ctx.run('DELETE FROM aliases WHERE alias = ?', a.alias)
      : ctx.run('DELETE FROM aliases WHERE alias = ? AND target = ?', a.alias, t);
    if (r.changes === 0) throw new StoreError('not-found', t === undefined ? `unknown alias ${a.alias}` : `unknown alias ${a.alias} -> ${t}`);
  });
}
