// DKIM keys: selector naming, generation, the store (first use, rotation, retirement, removal
// with the domain) and the CLI (`domain add` generates and prints them, `dkim rotate|list`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { openStore } from '../../src/store/index.js';
import { StoreError, type Store } from '../../src/store/types.js';
import { dkimSelectors, generateDkimKeys, ensureDkimKeys, rotateDkimKeys, publishedDkimKeys, signingKeys, RETIRED_KEY_GRACE_DAYS, DOUBLE_SIGNING_HOURS } from '../../src/dkim/keys.js';
import { runCli, tempDir } from '../helpers/system.js';

async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('fjord-dkim-');
  const store = await openStore({ dataDir: dir, sweepAtOpen: false });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('selectors: fjr/fje + UTC date + the first suffix neither uses', () => {
  const day = new Date('2026-11-28T23:59:59Z');
  assert.deepEqual(dkimSelectors(day), { rsa: 'fjr20261128a', ed25519: 'fje20261128a' });
  assert.deepEqual(dkimSelectors(day, ['fje20261128a']), { rsa: 'fjr20261128b', ed25519: 'fje20261128b' });
  const taken = 'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `fjr20261128${c}`);
  assert.deepEqual(dkimSelectors(day, taken), { rsa: 'fjr20261128aa', ed25519: 'fje20261128aa' });
});

test('generated keys: RSA-2048 (SPKI p=) and Ed25519 (raw 32-octet p=), PKCS#8 private keys that match', async () => {
  const [rsa, ed] = await generateDkimKeys({ date: new Date('2026-01-02T00:00:00Z') });
  assert.equal(rsa!.selector, 'fjr20260102a');
  assert.equal(ed!.selector, 'fje20260102a');
  assert.equal(rsa!.algorithm, 'rsa-sha256');
  assert.equal(ed!.algorithm, 'ed25519-sha256');
  for (const k of [rsa!, ed!]) assert.match(k.privateKey, /^-----BEGIN PRIVATE KEY-----/);
  const rsaPriv = crypto.createPrivateKey(rsa!.privateKey);
  assert.equal(rsaPriv.asymmetricKeyDetails?.modulusLength, 2048);
  const spki = crypto.createPublicKey(rsaPriv).export({ type: 'spki', format: 'der' });
  assert.equal(rsa!.publicKey, spki.toString('base64'));
  const edPub = crypto.createPublicKey(crypto.createPrivateKey(ed!.privateKey)).export({ type: 'spki', format: 'der' });
  assert.equal(Buffer.from(ed!.publicKey, 'base64').length, 32);
  assert.deepEqual(Buffer.from(ed!.publicKey, 'base64'), edPub.subarray(edPub.length - 32));
});

test('store: ensure creates one pair once, also from two stores at once; unknown domains are refused', async () => {
  await withStore(async (store, dir) => {
    await store.addDomain('Example.ORG');
    const other = await openStore({ dataDir: dir, sweepAtOpen: false });
    try {
      const [a, b] = await Promise.all([ensureDkimKeys(store, 'example.org'), ensureDkimKeys(other, 'EXAMPLE.org')]);
      assert.deepEqual(a.map((k) => k.id), b.map((k) => k.id), 'both see the same pair');
    } finally {
      await other.close();
    }
    const keys = await store.listDkimKeys('example.org');
    assert.equal(keys.length, 2);
    assert.deepEqual(keys.map((k) => k.algorithm).sort(), ['ed25519-sha256', 'rsa-sha256']);
    assert.ok(keys.every((k) => k.active && k.retiredAt === null && k.domain === 'example.org'));
    assert.deepEqual((await ensureDkimKeys(store, 'example.org')).map((k) => k.id), keys.map((k) => k.id), 'idempotent');
    await assert.rejects(ensureDkimKeys(store, 'nowhere.example'), (e: unknown) => e instanceof StoreError && e.code === 'not-found');
  });
});

test('store: rotation activates a new pair and keeps the old one retired and published for the grace period', async () => {
  await withStore(async (store) => {
    await store.addDomain('example.org');
    const first = await ensureDkimKeys(store, 'example.org');
    const r = await rotateDkimKeys(store, 'example.org');
    assert.equal(r.active.length, 2);
    assert.deepEqual(r.retired.map((k) => k.id).sort(), first.map((k) => k.id).sort());
    assert.ok(r.retired.every((k) => !k.active && k.retiredAt instanceof Date));
    for (const k of r.active) assert.match(k.selector, /^fj[re]\d{8}b$/, 'same day: next suffix');
    const second = await rotateDkimKeys(store, 'example.org');
    const all = await store.listDkimKeys('example.org');
    assert.equal(all.length, 6, 'retired keys are kept');
    assert.deepEqual(all.filter((k) => k.active).map((k) => k.id), second.active.map((k) => k.id));
    assert.equal(new Set(all.map((k) => k.selector)).size, 6, 'selectors unique');
    const now = new Date();
    assert.equal(publishedDkimKeys(all, now).length, 6, 'retired keys published during the grace period');
    const later = new Date(now.getTime() + (RETIRED_KEY_GRACE_DAYS + 1) * 86_400_000);
    assert.deepEqual(publishedDkimKeys(all, later).map((k) => k.id), second.active.map((k) => k.id), 'only active ones after it');
  });
});

test('after a rotation the old keys sign beside the new ones for DOUBLE_SIGNING_HOURS, then only the new ones', async () => {
  await withStore(async (store) => {
    await store.addDomain('example.org');
    const first = await ensureDkimKeys(store, 'example.org');
    assert.deepEqual((await signingKeys(store, 'example.org')).map((k) => k.id), first.map((k) => k.id));
    const r = await rotateDkimKeys(store, 'example.org');
    const now = new Date();
    const both = await signingKeys(store, 'example.org', now);
    assert.deepEqual(both.map((k) => k.id).sort(), [...r.active, ...first].map((k) => k.id).sort(), 'new and old sign while the new records spread');
    const later = new Date(now.getTime() + (DOUBLE_SIGNING_HOURS + 1) * 3600_000);
    assert.deepEqual((await signingKeys(store, 'example.org', later)).map((k) => k.id).sort(), r.active.map((k) => k.id).sort());
  });
});

test('store: retire, duplicate and invalid keys, and keys go with their domain', async () => {
  await withStore(async (store) => {
    await store.addDomain('example.org');
    await store.addDomain('example.net');
    const keys = await ensureDkimKeys(store, 'example.org');
    await ensureDkimKeys(store, 'example.net');
    await store.retireDkimKey('example.org', keys[0]!.selector.toUpperCase());
    const after = await store.listDkimKeys('example.org');
    assert.equal(after.find((k) => k.id === keys[0]!.id)!.active, false);
    await store.retireDkimKey('example.org', keys[0]!.selector); // already retired: unchanged
    await assert.rejects(store.retireDkimKey('example.org', 'nosuch'), (e: unknown) => e instanceof StoreError && e.code === 'not-found');
    const [dup] = await generateDkimKeys();
    await assert.rejects(store.addDkimKeys('example.org', [{ ...dup!, selector: keys[1]!.selector }]), (e: unknown) => e instanceof StoreError && e.code === 'exists');
    await assert.rejects(store.addDkimKeys('example.org', [{ ...dup!, selector: 'bad selector' }]), (e: unknown) => e instanceof StoreError && e.code === 'invalid');
    await assert.rejects(store.addDkimKeys('example.org', [{ ...dup!, privateKey: 'nope' }]), (e: unknown) => e instanceof StoreError && e.code === 'invalid');
    assert.deepEqual((await store.listDkimKeys()).map((k) => k.domain), ['example.net', 'example.net', 'example.org', 'example.org']);
    await store.removeDomain('example.org');
    assert.deepEqual(await store.listDkimKeys('example.org'), []);
    await store.addDomain('example.org');
    assert.deepEqual(await store.listDkimKeys('example.org'), [], 'a re-added domain does not inherit old keys');
    assert.equal((await store.listDkimKeys('example.net')).length, 2);
  });
});

test('CLI: domain add generates the pair and prints its DNS records; dkim rotate and list', async () => {
  const data = tempDir();
  const fjord = (...args: string[]) => runCli([...args, '--data', data]);
  try {
    fs.writeFileSync(`${data}/config.json`, JSON.stringify({ hostname: 'mx.fjord.test', outbound: { sendingIps: ['192.0.2.10'] } }));
    const add = await fjord('domain', 'add', 'Example.ORG');
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /^domain example\.org added$/m);
    const listed = (await fjord('dkim', 'list', 'example.org', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(listed.length, 2);
    for (const k of listed) {
      assert.equal(k.active, true);
      assert.equal(k.privateKey, undefined, 'private keys are never printed');
      assert.match(String(k.selector), /^fj[re]\d{8}a$/);
      // The record printed at `domain add` is the stored key's, as zone-file strings.
      const strings = (String(k.record).match(/.{1,255}/g) ?? []).map((s) => `"${s}"`).join(' ');
      assert.ok(add.stdout.includes(`${k.dnsName}.\t3600\tIN\tTXT\t${strings}`), `record of ${k.selector} printed`);
    }
    assert.match(add.stdout, /fjord dns records example\.org/);
    assert.match(add.stdout, /IN\tMX\t10 mx\.fjord\.test\./);

    const rot = await fjord('dkim', 'rotate', 'example.org');
    assert.equal(rot.code, 0, rot.stderr);
    assert.match(rot.stdout, /rotated: fjr\d{8}b \(rsa-sha256\), fje\d{8}b \(ed25519-sha256\)/);
    assert.match(rot.stdout, /Retired fjr\d{8}a, fje\d{8}a: keep their DNS records published until \d{4}-\d{2}-\d{2}/);
    assert.equal((rot.stdout.match(/\._domainkey\.example\.org\.\t/g) ?? []).length, 4, 'new and retired records');
    const lines = (await fjord('dkim', 'list')).stdout.trim().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines.filter((l) => /\tactive$/.test(l)).length, 2);
    assert.equal(lines.filter((l) => /\tretired \d{4}-\d{2}-\d{2}, keep its DNS record until/.test(l)).length, 2);
    const records = (await fjord('dns', 'records', 'example.org')).stdout;
    assert.equal((records.match(/\._domainkey\.example\.org\.\t/g) ?? []).length, 4, 'retired keys stay in the records');
    assert.equal((records.match(/; DKIM .* \(retired \d{4}-\d{2}-\d{2}: keep until/g) ?? []).length, 2);

    const bad = await fjord('dkim', 'rotate', 'nowhere.example');
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.equal((await fjord('dkim', 'bogus')).code, 2);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('CLI: a domain created before DKIM keys existed gets them at first use', async () => {
  const data = tempDir();
  try {
    const store = await openStore({ dataDir: data, sweepAtOpen: false });
    await store.addDomain('old.example');
    await store.close();
    const r = await runCli(['dkim', 'list', 'old.example', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').filter((l) => /^old\.example\tfj[re]\d{8}a\t.*\tactive$/.test(l)).length, 2);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});
