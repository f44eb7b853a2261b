// Runs the Store conformance suite on the SQLite backend, plus SQLite/blob-folder specifics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { MIGRATIONS, migrate, schemaVersion } from '../../src/store/sqlite/schema.js';
import { BlobStore, blobIdOf } from '../../src/store/blobs.js';
import { runStoreSuite } from './store-suite.js';
import { newMessage } from './fixtures.js';

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'fjord-store-'));
}

function blobPath(dir: string, id: string): string {
  return path.join(dir, 'blobs', id.slice(0, 2), id);
}

runStoreSuite('sqlite', async () => {
  const dir = await tempDir();
  const store = await openStore({ dataDir: dir });
  const others: { close(): Promise<void> }[] = [];
  return {
    store,
    reopen: async () => {
      const s = await openStore({ dataDir: dir });
      others.push(s);
      return s;
    },
    cleanup: async () => {
      await store.close();
      for (const o of others) await o.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite specifics', () => {
  it('uses WAL, synchronous=FULL, foreign keys, busy timeout; data at <dataDir>/fjord.db', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open({ dataDir: dir });
    try {
      const db = (store as unknown as { db: Database.Database }).db;
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0);
      assert.ok(fs.existsSync(path.join(dir, 'fjord.db')));
      assert.equal(schemaVersion(db), MIGRATIONS.length);
    } finally {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  // v11: its points read a correction to the other signals; v12: it reads a message as a vector
  // of unit length. Weights learnt by the model before either are meaningless after it.
  for (const [from, why] of [[10, 'its points now read a correction to the other signals'], [11, 'a message is now a vector of unit length']] as const) {
    it(`v${from + 1} restarts the logistic model (${why}) and keeps the counts`, async () => {
      const dir = await tempDir();
      try {
        const db = new Database(path.join(dir, 'fjord.db'));
        migrate(db, MIGRATIONS.slice(0, from));
        db.prepare('INSERT INTO spam_tokens (scope, token, ham, spam, seen, w, g2) VALUES (0, ?, 3, 5, 1, 0.7, 2.5)').run('cheap');
        db.prepare('INSERT INTO spam_totals (scope, ham, spam, bias, lr_ham, lr_spam) VALUES (0, 300, 400, 0.4, 300, 400)').run();
        migrate(db, MIGRATIONS.slice(0, from + 1));
        assert.deepEqual(db.prepare('SELECT ham, spam, w, g2 FROM spam_tokens WHERE token = ?').get('cheap'), { ham: 3, spam: 5, w: 0, g2: 0 });
        assert.deepEqual(db.prepare('SELECT ham, spam, bias, lr_ham, lr_spam FROM spam_totals WHERE scope = 0').get(), { ham: 300, spam: 400, bias: 0, lr_ham: 0, lr_spam: 0 });
        db.close();
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('upgrades an older (v1) database in place', async () => {
    const dir = await tempDir();
    try {
      // A data folder written by the first schema version.
      const db = new Database(path.join(dir, 'fjord.db'));
      db.pragma('journal_mode = WAL');
      migrate(db, MIGRATIONS.slice(0, 1));
      assert.equal(schemaVersion(db), 1);
      const now = Date.now();
      const d = db.prepare('INSERT INTO domains (name, created_at) VALUES (?, ?) RETURNING id').get('example.org', now) as { id: number };
      const a = db.prepare(`INSERT INTO accounts (address, domain_id, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`)
        .get('old@example.org', d.id, 'h', now) as { id: number };
      db.prepare(`INSERT INTO mailboxes (account_id, name, subscribed, uid_validity) VALUES (?, 'INBOX', 1, 1234)`).run(a.id);
      assert.equal(db.prepare("SELECT count(*) AS c FROM sqlite_master WHERE name = 'changes'").get() !== undefined, true);
      assert.equal((db.prepare("SELECT count(*) AS c FROM sqlite_master WHERE name = 'changes'").get() as { c: number }).c, 0);
      db.close();

      const store = await SqliteStore.open({ dataDir: dir });
      try {
        const sdb = (store as unknown as { db: Database.Database }).db;
        assert.equal(schemaVersion(sdb), MIGRATIONS.length);
        assert.equal((sdb.prepare("SELECT count(*) AS c FROM sqlite_master WHERE name IN ('changes', 'deliveries')").get() as { c: number }).c, 2);
        const acct = await store.getAccount('old@example.org');
        assert.ok(acct, 'old data kept');
        const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
        assert.equal(inbox.uidValidity, 1234);
        const out = await store.deliver([{ ...newMessage(), deliveryKey: 'k1', accountId: acct.id }]);
        assert.equal(out[0]!.status, 'delivered');
        assert.ok((await store.changesSince(null, 0)).length >= 1);
      } finally {
        await store.close();
      }
      // Opening again is a no-op; a database newer than the code is refused.
      const db2 = new Database(path.join(dir, 'fjord.db'));
      db2.pragma(`user_version = ${MIGRATIONS.length + 1}`);
      db2.close();
      await assert.rejects(SqliteStore.open({ dataDir: dir }), /newer/);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('blob files: written under blobs/ab/<sha256>, shared by copies, removed after the last reference', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open({ dataDir: dir });
    try {
      await store.addDomain('example.org');
      const acct = await store.addAccount({ address: 'a@example.org', passwordHash: 'h' });
      const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
      const trash = (await store.getMailbox(acct.id, 'Trash'))!;
      const m = newMessage();
      const id = blobIdOf(m.raw);
      await store.append(inbox.id, m);
      const file = blobPath(dir, id);
      assert.deepEqual(fs.readFileSync(file), m.raw);
      await store.copyMessages(inbox.id, [1], trash.id);
      await store.expunge(inbox.id, [1]);
      assert.ok(fs.existsSync(file), 'kept while the copy exists');
      await store.moveMessages(trash.id, [1], inbox.id);
      assert.ok(fs.existsSync(file), 'kept after move');
      await store.expunge(inbox.id, [2]);
      assert.ok(!fs.existsSync(file), 'removed with the last reference');
      // re-delivering the same bytes recreates it
      await store.append(inbox.id, { raw: m.raw, parsed: m.parsed });
      assert.ok(fs.existsSync(file));
      await store.removeAccount('a@example.org');
      assert.ok(!fs.existsSync(file), 'removed with the account');
      // an overquota / duplicate delivery leaves no file behind
      const b = await store.addAccount({ address: 'b@example.org', passwordHash: 'h', quotaMessages: 1 });
      await store.deliver([{ ...newMessage(), deliveryKey: 'x1', accountId: b.id }]);
      const m2 = newMessage();
      assert.deepEqual(await store.deliver([{ ...m2, deliveryKey: 'x2', accountId: b.id }]), [{ status: 'overquota' }]);
      assert.ok(!fs.existsSync(blobPath(dir, blobIdOf(m2.raw))));
    } finally {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('a blob row always has its file: a concurrently removed file is rewritten by the inserting transaction', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open({ dataDir: dir });
    try {
      await store.addDomain('example.org');
      const acct = await store.addAccount({ address: 'a@example.org', passwordHash: 'h' });
      const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
      const m = newMessage();
      // Simulate: the file existed (so put() skipped writing) but a cleanup removed it before
      // the transaction that references it.
      const origPut = store.blobs.put.bind(store.blobs);
      store.blobs.put = async (data: Buffer) => {
        const r = await origPut(data);
        fs.unlinkSync(store.blobs.pathOf(r.id));
        return r;
      };
      await store.append(inbox.id, m);
      store.blobs.put = origPut;
      assert.deepEqual(fs.readFileSync(blobPath(dir, blobIdOf(m.raw))), m.raw);
    } finally {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('sweepOrphanBlobs removes old unreferenced files and temp files, keeps young and referenced ones', async () => {
    const dir = await tempDir();
    const store = await SqliteStore.open({ dataDir: dir, sweepAtOpen: false });
    try {
      await store.addDomain('example.org');
      const acct = await store.addAccount({ address: 'a@example.org', passwordHash: 'h' });
      const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
      const kept = newMessage();
      await store.append(inbox.id, kept);
      const blobs = new BlobStore(path.join(dir, 'blobs'));
      const old = await blobs.put(Buffer.from('orphan written by a crashed transaction'));
      const young = await blobs.put(Buffer.from('orphan of a transaction still running'));
      const tmp = path.join(path.dirname(blobs.pathOf(old.id)), `${old.id}.123.abc.1.tmp`);
      fs.writeFileSync(tmp, 'partial');
      const past = new Date(Date.now() - 3_600_000);
      for (const f of [blobs.pathOf(old.id), tmp, blobs.pathOf(blobIdOf(kept.raw))]) fs.utimesSync(f, past, past);
      const removed = await store.sweepOrphanBlobs(60_000);
      assert.equal(removed, 2);
      assert.ok(!fs.existsSync(blobs.pathOf(old.id)));
      assert.ok(!fs.existsSync(tmp));
      assert.ok(fs.existsSync(blobs.pathOf(young.id)));
      assert.ok(fs.existsSync(blobs.pathOf(blobIdOf(kept.raw))));
      // a sweep also runs in the background at open
      await store.close();
      const s2 = await SqliteStore.open({ dataDir: dir, orphanBlobAgeMs: 0 });
      const t0 = Date.now();
      while (fs.existsSync(blobs.pathOf(young.id)) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
      await s2.close();
      assert.ok(!fs.existsSync(blobs.pathOf(young.id)));
      assert.ok(fs.existsSync(blobs.pathOf(blobIdOf(kept.raw))));
    } finally {
      await store.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('concurrent puts of the same bytes write one file', async () => {
    const dir = await tempDir();
    try {
      const bs = new BlobStore(path.join(dir, 'blobs'));
      const data = Buffer.from('same');
      const rs = await Promise.all([bs.put(data), bs.put(data), bs.put(data)]);
      assert.equal(rs.filter((r) => r.created).length, 1);
      assert.deepEqual(await bs.readRange(rs[0]!.id, 1, 3), Buffer.from('am'));
      // the database says which blobs exist: a known blob costs no file system work
      const again = await bs.put(data, (id) => id === rs[0]!.id);
      assert.equal(again.created, false);
      const leaf = path.dirname(bs.pathOf(rs[0]!.id));
      assert.deepEqual(fs.readdirSync(leaf), [rs[0]!.id]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('poke() picks up another Store object\'s changes immediately', async () => {
    const dir = await tempDir();
    const a = await SqliteStore.open({ dataDir: dir, pollIntervalMs: 60_000 });
    const b = await SqliteStore.open({ dataDir: dir, pollIntervalMs: 60_000 });
    try {
      const seen: number[] = [];
      const stop = b.watch(null, (cs) => seen.push(...cs.map((c) => c.id)));
      await a.addDomain('example.org');
      await a.addAccount({ address: 'a@example.org', passwordHash: 'h' });
      assert.deepEqual(seen, []);
      b.poke();
      assert.equal(seen.length, 6, 'six mailbox-create changes');
      b.poke();
      assert.equal(seen.length, 6, 'each change exactly once');
      stop();
    } finally {
      await a.close();
      await b.close();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
