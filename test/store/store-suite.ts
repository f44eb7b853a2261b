// Backend-agnostic conformance suite of the Store interface. Every backend runs it:
//   runStoreSuite('sqlite', async () => ({ store, reopen, cleanup }))
// `open` must return a fresh, empty store each call; `reopen` (optional) opens a SECOND Store
// object on the same data (another connection / process view).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError, type Change, type Mailbox, type Store } from '../../src/store/types.js';
import { newMessage } from './fixtures.js';

export interface SuiteContext {
  store: Store;
  reopen?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

type Opener = () => Promise<SuiteContext>;

async function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(!err.message.includes('\n'), 'error message is one line');
    if (message) assert.match(err.message, message);
    return true;
  });
}

async function setup(store: Store, address = 'alice@example.org', quota?: { quotaBytes?: number; quotaMessages?: number }) {
  const domain = address.slice(address.indexOf('@') + 1);
  if (!(await store.getDomain(domain))) await store.addDomain(domain);
  const account = await store.addAccount({ address, passwordHash: '$argon2id$secret-hash', ...quota });
  const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
  return { account, inbox };
}

async function mbox(store: Store, id: number): Promise<Mailbox> {
  const m = await store.getMailboxById(id);
  assert.ok(m, `mailbox ${id} exists`);
  return m;
}

/** The incrementally maintained counters must equal what the index says. */
async function checkCounters(store: Store, mailboxId: number): Promise<void> {
  const m = await mbox(store, mailboxId);
  const list = await store.listMessages(mailboxId);
  assert.equal(m.messages, list.length, 'messages counter');
  assert.equal(m.unseen, list.filter((e) => !e.flags.includes('\\Seen')).length, 'unseen counter');
  assert.equal(m.size, list.reduce((s, e) => s + e.size, 0), 'size counter');
  if (list.length) assert.ok(m.uidNext > list[list.length - 1]!.uid, 'uidNext above every uid');
  for (const e of list) assert.ok(e.modseq <= m.highestModseq, 'modseq <= highestModseq');
}

async function checkQuota(store: Store, accountId: number): Promise<void> {
  let bytes = 0;
  let count = 0;
  for (const m of await store.listMailboxes(accountId)) {
    bytes += m.size;
    count += m.messages;
  }
  const q = await store.getQuotaUsage(accountId);
  assert.equal(q.usedBytes, bytes, 'used bytes = sum of mailbox sizes');
  assert.equal(q.usedMessages, count, 'used messages = sum of mailbox counts');
}

function deliveryKey(): string {
  return 'k-' + Math.random().toString(36).slice(2) + '-' + Date.now();
}

export function runStoreSuite(name: string, open: Opener): void {
  const test = (title: string, fn: (ctx: SuiteContext) => Promise<void>) =>
    it(title, async () => {
      const ctx = await open();
      try {
        await fn(ctx);
      } finally {
        await ctx.cleanup();
      }
    });

  describe(`Store conformance: ${name}`, () => {
    describe('domains', () => {
      test('add, get, list, normalise, IDN, reject garbage, duplicates', async ({ store }) => {
        const d = await store.addDomain('Example.ORG');
        assert.equal(d.name, 'example.org');
        assert.ok(d.createdAt instanceof Date);
        assert.equal((await store.getDomain('EXAMPLE.org'))?.id, d.id);
        const idn = await store.addDomain('Bücher.example');
        assert.equal(idn.name, 'xn--bcher-kva.example');
        assert.equal((await store.getDomain('bücher.example'))?.id, idn.id);
        for (const bad of ['', 'not a domain', '-x.example', 'a..b', 'x_y.example', '1.2.3.4', 'exa$mple.org', 'a'.repeat(64) + '.org']) {
          await rejectsCode(store.addDomain(bad), 'invalid');
        }
        await rejectsCode(store.addDomain('example.org'), 'exists');
        assert.deepEqual((await store.listDomains()).map((x) => x.name), ['example.org', 'xn--bcher-kva.example']);
        assert.equal(await store.getDomain('nope.example'), null);
      });

      test('removeDomain: not-found, in-use while accounts or aliases exist', async ({ store }) => {
        await rejectsCode(store.removeDomain('nope.example'), 'not-found');
        await setup(store, 'bob@example.org');
        await rejectsCode(store.removeDomain('example.org'), 'in-use');
        await store.removeAccount('bob@example.org');
        await store.addAlias('@example.org', 'someone@elsewhere.example');
        await rejectsCode(store.removeDomain('example.org'), 'in-use');
        await store.removeAlias('@example.org');
        await store.removeDomain('EXAMPLE.org');
        assert.equal(await store.getDomain('example.org'), null);
      });
    });

    describe('accounts', () => {
      test('add/get/list/errors/password/quota/remove', async ({ store }) => {
        await rejectsCode(store.addAccount({ address: 'x@example.org', passwordHash: 'h' }), 'not-found', /^unknown domain example\.org$/);
        await store.addDomain('example.org');
        await store.addDomain('example.com');
        for (const bad of ['no-at-sign', '@example.org', 'a b@example.org', 'a..b@example.org', '.a@example.org', 'x@']) {
          await rejectsCode(store.addAccount({ address: bad, passwordHash: 'h' }), 'invalid');
        }
        const a = await store.addAccount({ address: 'Alice@Example.ORG', passwordHash: '$argon2id$SECRET', quotaBytes: 1000, quotaMessages: 5 });
        assert.equal(a.address, 'alice@example.org');
        assert.equal(a.quotaBytes, 1000);
        assert.equal(a.quotaMessages, 5);
        assert.equal(a.usedBytes, 0);
        await assert.rejects(store.addAccount({ address: 'alice@example.org', passwordHash: '$argon2id$SECRET' }), (e: unknown) => {
          assert.ok(e instanceof StoreError && e.code === 'exists');
          assert.ok(!e.message.includes('SECRET'), 'no password hash in messages');
          return true;
        });
        await store.addAccount({ address: 'bob@example.com', passwordHash: 'h2' });
        assert.equal((await store.getAccount('ALICE@example.org'))?.id, a.id);
        assert.equal((await store.getAccountById(a.id))?.address, 'alice@example.org');
        assert.equal(await store.getAccount('nobody@example.org'), null);
        assert.deepEqual((await store.listAccounts()).map((x) => x.address), ['alice@example.org', 'bob@example.com']);
        assert.deepEqual((await store.listAccounts('example.com')).map((x) => x.address), ['bob@example.com']);
        await store.setPasswordHash('alice@example.org', 'newhash');
        assert.equal((await store.getAccount('alice@example.org'))?.passwordHash, 'newhash');
        await rejectsCode(store.setPasswordHash('nobody@example.org', 'x'), 'not-found');
        const q = await store.setQuota('alice@example.org', { bytes: 5000 });
        assert.equal(q.quotaBytes, 5000);
        assert.equal(q.quotaMessages, 5);
        await rejectsCode(store.setQuota('alice@example.org', { messages: -1 }), 'invalid');
        await store.removeAccount('alice@example.org');
        assert.equal(await store.getAccount('alice@example.org'), null);
        assert.deepEqual(await store.listMailboxes(a.id), []);
        await rejectsCode(store.removeAccount('alice@example.org'), 'not-found');
      });

      test('removeAccount deletes messages and releases their blobs', async ({ store }) => {
        const { account, inbox } = await setup(store);
        const msg = newMessage({ body: 'shared content' });
        await store.append(inbox.id, msg);
        const [rec] = await store.getMessages(inbox.id, [1]);
        await store.addAlias('info@example.org', 'alice@example.org');
        await store.removeAccount('alice@example.org');
        await rejectsCode(store.readBlob(rec!.blobId), 'not-found');
        assert.deepEqual(await store.getAliasTargets('info@example.org'), []);
        assert.equal(await store.getMailboxById(inbox.id), null);
        await rejectsCode(store.getQuotaUsage(account.id), 'not-found');
      });
    });

    describe('aliases', () => {
      test('add/get/list/remove, catch-all, errors', async ({ store }) => {
        await store.addDomain('example.org');
        await rejectsCode(store.addAlias('info@unknown.example', 'a@example.org'), 'not-found', /unknown domain unknown\.example/);
        await rejectsCode(store.addAlias('not an alias', 'a@example.org'), 'invalid');
        await rejectsCode(store.addAlias('info@example.org', 'garbage'), 'invalid');
        const al = await store.addAlias('Info@Example.org', 'Alice@example.org');
        assert.equal(al.alias, 'info@example.org');
        assert.equal(al.target, 'alice@example.org');
        await store.addAlias('info@example.org', 'bob@example.org');
        await rejectsCode(store.addAlias('info@example.org', 'bob@example.org'), 'exists');
        await store.addAlias('@example.org', 'alice@example.org');
        assert.deepEqual(await store.getAliasTargets('INFO@example.org'), ['alice@example.org', 'bob@example.org']);
        assert.deepEqual(await store.getAliasTargets('@EXAMPLE.org'), ['alice@example.org']);
        assert.deepEqual(await store.getAliasTargets('other@example.org'), []);
        assert.equal((await store.listAliases('example.org')).length, 3);
        assert.equal((await store.listAliases('other.example')).length, 0);
        await store.removeAlias('info@example.org', 'bob@example.org');
        assert.deepEqual(await store.getAliasTargets('info@example.org'), ['alice@example.org']);
        await store.removeAlias('info@example.org');
        assert.deepEqual(await store.getAliasTargets('info@example.org'), []);
        await rejectsCode(store.removeAlias('info@example.org'), 'not-found');
      });
    });

    describe('mailboxes', () => {
      test('default mailboxes with special-use, subscribed, fresh counters, unique UIDVALIDITY', async ({ store }) => {
        const { account } = await setup(store);
        const list = await store.listMailboxes(account.id);
        const byName = new Map(list.map((m) => [m.name, m]));
        assert.deepEqual([...byName.keys()].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
        assert.equal(list[0]!.name, 'INBOX');
        assert.equal(byName.get('INBOX')!.specialUse, null);
        assert.equal(byName.get('Drafts')!.specialUse, '\\Drafts');
        assert.equal(byName.get('Sent')!.specialUse, '\\Sent');
        assert.equal(byName.get('Junk')!.specialUse, '\\Junk');
        assert.equal(byName.get('Trash')!.specialUse, '\\Trash');
        assert.equal(byName.get('Archive')!.specialUse, '\\Archive');
        for (const m of list) {
          assert.equal(m.subscribed, true);
          assert.equal(m.uidNext, 1);
          assert.equal(m.highestModseq, 1);
          assert.equal(m.messages, 0);
          assert.equal(m.unseen, 0);
          assert.equal(m.size, 0);
          assert.ok(m.uidValidity > 0 && m.uidValidity <= 0xffffffff);
        }
        assert.equal(new Set(list.map((m) => m.uidValidity)).size, list.length);
        assert.equal((await store.getMailbox(account.id, 'inbox'))?.name, 'INBOX');
        assert.equal((await store.getMailbox(account.id, 'InBoX'))?.id, byName.get('INBOX')!.id);
        assert.equal(await store.getMailbox(account.id, 'nope'), null);
      });

      test('create: exists, parents, INBOX case, new UIDVALIDITY when re-created', async ({ store }) => {
        const { account } = await setup(store);
        const a = await store.createMailbox(account.id, 'Projects/2024/Q1', { specialUse: '\\Flagged' });
        assert.equal(a.name, 'Projects/2024/Q1');
        assert.equal(a.specialUse, '\\Flagged');
        assert.ok(await store.getMailbox(account.id, 'Projects'));
        assert.ok(await store.getMailbox(account.id, 'Projects/2024'));
        await rejectsCode(store.createMailbox(account.id, 'Projects/2024/Q1'), 'exists');
        await rejectsCode(store.createMailbox(account.id, 'inbox'), 'exists');
        await rejectsCode(store.createMailbox(account.id, 'a//b'), 'invalid');
        const c = await store.createMailbox(account.id, 'inbox/Child');
        assert.equal(c.name, 'INBOX/Child');
        await store.deleteMailbox(account.id, 'INBOX/Child');
        const c2 = await store.createMailbox(account.id, 'INBOX/Child');
        assert.notEqual(c2.uidValidity, c.uidValidity);
        assert.notEqual(c2.id, c.id);
      });

      test('rename renames children; rename errors', async ({ store }) => {
        const { account } = await setup(store);
        const p = await store.createMailbox(account.id, 'Work');
        await store.createMailbox(account.id, 'Work/A');
        await store.createMailbox(account.id, 'Work/A/Deep');
        await store.append(p.id, newMessage());
        await store.renameMailbox(account.id, 'Work', 'Old/Job');
        const names = (await store.listMailboxes(account.id)).map((m) => m.name);
        assert.ok(names.includes('Old'));
        assert.ok(names.includes('Old/Job'));
        assert.ok(names.includes('Old/Job/A'));
        assert.ok(names.includes('Old/Job/A/Deep'));
        assert.ok(!names.some((n) => n.startsWith('Work')));
        const moved = (await store.getMailbox(account.id, 'Old/Job'))!;
        assert.equal(moved.id, p.id);
        assert.equal(moved.uidValidity, p.uidValidity);
        assert.equal(moved.messages, 1);
        await rejectsCode(store.renameMailbox(account.id, 'Nope', 'X'), 'nonexistent-mailbox');
        await rejectsCode(store.renameMailbox(account.id, 'Old/Job', 'Sent'), 'exists');
        await rejectsCode(store.renameMailbox(account.id, 'Old/Job', 'Old/Job/A/X'), 'invalid');
      });

      test('renaming INBOX moves its messages into a new mailbox and leaves INBOX empty', async ({ store }) => {
        const { account, inbox } = await setup(store);
        await store.append(inbox.id, newMessage());
        await store.append(inbox.id, newMessage({ flags: ['\\Seen'] }));
        await store.createMailbox(account.id, 'INBOX/Sub');
        await store.renameMailbox(account.id, 'INBOX', 'Old Inbox');
        const newBox = (await store.getMailbox(account.id, 'Old Inbox'))!;
        const inbox2 = await mbox(store, inbox.id);
        assert.equal(inbox2.messages, 0);
        assert.equal(newBox.messages, 2);
        assert.equal(newBox.unseen, 1);
        assert.ok(inbox2.uidNext >= 3, 'INBOX UIDs are not reused');
        assert.ok(await store.getMailbox(account.id, 'INBOX/Sub'), 'children of INBOX stay');
        assert.deepEqual(await store.expungedSince(inbox.id, 0), [1, 2]);
        await checkCounters(store, inbox.id);
        await checkCounters(store, newBox.id);
        await checkQuota(store, account.id);
      });

      test('delete: refuses INBOX, removes messages (quota, blobs), refuses with children', async ({ store }) => {
        const { account } = await setup(store);
        await rejectsCode(store.deleteMailbox(account.id, 'INBOX'), 'invalid');
        await rejectsCode(store.deleteMailbox(account.id, 'Nope'), 'nonexistent-mailbox');
        const box = await store.createMailbox(account.id, 'Box');
        await store.createMailbox(account.id, 'Box/Child');
        await rejectsCode(store.deleteMailbox(account.id, 'Box'), 'in-use');
        await store.deleteMailbox(account.id, 'Box/Child');
        await store.append(box.id, newMessage({ body: 'only in Box' }));
        const [rec] = await store.getMessages(box.id, [1]);
        assert.equal((await store.getQuotaUsage(account.id)).usedMessages, 1);
        await store.deleteMailbox(account.id, 'Box');
        assert.equal(await store.getMailboxById(box.id), null);
        assert.deepEqual(await store.getQuotaUsage(account.id), { usedBytes: 0, usedMessages: 0, quotaBytes: 0, quotaMessages: 0 });
        await rejectsCode(store.readBlob(rec!.blobId), 'not-found');
      });

      test('subscribe/unsubscribe', async ({ store }) => {
        const { account } = await setup(store);
        await store.setSubscribed(account.id, 'Junk', false);
        assert.equal((await store.getMailbox(account.id, 'Junk'))!.subscribed, false);
        await store.setSubscribed(account.id, 'Junk', true);
        assert.equal((await store.getMailbox(account.id, 'Junk'))!.subscribed, true);
        // Names without a mailbox can be subscribed; DELETE keeps the subscription; a mailbox
        // created under a subscribed name is subscribed.
        await store.setSubscribed(account.id, 'Later', true);
        await store.createMailbox(account.id, 'Gone');
        await store.setSubscribed(account.id, 'Gone', true);
        await store.deleteMailbox(account.id, 'Gone');
        assert.deepEqual((await store.listSubscriptions(account.id)).filter((n) => ['Gone', 'Later', 'Junk'].includes(n)), ['Gone', 'Junk', 'Later']);
        assert.equal((await store.createMailbox(account.id, 'Later')).subscribed, true);
        await store.createMailbox(account.id, 'X');
        await store.renameMailbox(account.id, 'X', 'Gone');
        assert.equal((await store.getMailbox(account.id, 'Gone'))!.subscribed, true);
        await store.setSubscribed(account.id, 'Gone', false);
        await store.setSubscribed(account.id, 'Later', false);
        assert.ok(!(await store.listSubscriptions(account.id)).includes('Gone'));
        assert.ok(!(await store.listSubscriptions(account.id)).includes('Later'));
      });
    });

    describe('messages', () => {
      test('UIDs strictly increasing, never reused after expunge or reopen', async ({ store, reopen }) => {
        const { inbox } = await setup(store);
        const r1 = await store.append(inbox.id, newMessage());
        const r2 = await store.append(inbox.id, newMessage());
        const r3 = await store.append(inbox.id, newMessage());
        assert.deepEqual([r1.uid, r2.uid, r3.uid], [1, 2, 3]);
        assert.equal(r1.uidValidity, inbox.uidValidity);
        assert.deepEqual(await store.expunge(inbox.id, [3]), [3]);
        const r4 = await store.append(inbox.id, newMessage());
        assert.equal(r4.uid, 4);
        assert.equal((await mbox(store, inbox.id)).uidNext, 5);
        await checkCounters(store, inbox.id);
        if (reopen) {
          await store.expunge(inbox.id, [4]);
          const s2 = await reopen();
          try {
            const r5 = await s2.append(inbox.id, newMessage());
            assert.equal(r5.uid, 5);
            assert.equal((await s2.getMailboxById(inbox.id))!.uidValidity, inbox.uidValidity);
          } finally {
            await s2.close();
          }
          const r6 = await store.append(inbox.id, newMessage());
          assert.equal(r6.uid, 6);
        }
      });

      test('getMessages returns the parsed record; readBlob/readBlobRange', async ({ store }) => {
        const { inbox } = await setup(store);
        const m = newMessage({ subject: 'Record test', fromName: 'Carol', from: 'carol@example.net', internalDate: new Date('2024-05-06T07:08:09Z') });
        await store.append(inbox.id, m);
        const [rec] = await store.getMessages(inbox.id, [1, 99]);
        assert.ok(rec);
        assert.equal(rec.uid, 1);
        assert.equal(rec.mailboxId, inbox.id);
        assert.equal(rec.subject, 'Record test');
        assert.match(rec.from, /Carol/);
        assert.equal(rec.messageId, m.parsed.messageId);
        assert.equal(rec.size, m.raw.length);
        assert.equal(rec.internalDate.toISOString(), '2024-05-06T07:08:09.000Z');
        assert.equal(rec.date?.getTime(), m.parsed.date!.getTime());
        assert.deepEqual(rec.tree, m.parsed.tree);
        assert.deepEqual(rec.envelope, m.parsed.envelope);
        assert.equal(rec.hasAttachments, false);
        assert.match(rec.emailId, /^[A-Za-z0-9_-]+$/);
        assert.match(rec.threadId, /^[A-Za-z0-9_-]+$/);
        assert.match(rec.blobId, /^[0-9a-f]{64}$/);
        assert.deepEqual(await store.readBlob(rec.blobId), m.raw);
        const body = await store.readBlobRange(rec.blobId, rec.tree.bodyStart, rec.tree.bodyEnd);
        assert.deepEqual(body, m.raw.subarray(m.parsed.tree.bodyStart, m.parsed.tree.bodyEnd));
        assert.equal((await store.readBlobRange(rec.blobId, m.raw.length - 2, m.raw.length + 100)).length, 2);
        await rejectsCode(store.readBlob('0'.repeat(64)), 'not-found');
        await rejectsCode(store.readBlob('../../etc/passwd'), 'not-found');
        await rejectsCode(store.append(999999, newMessage()), 'nonexistent-mailbox');
      });

      test('modseq increases on append, flags and expunge; listMessages changedSince', async ({ store }) => {
        const { inbox } = await setup(store);
        let hm = (await mbox(store, inbox.id)).highestModseq;
        await store.append(inbox.id, newMessage());
        await store.append(inbox.id, newMessage());
        await store.append(inbox.id, newMessage());
        const afterAppend = (await mbox(store, inbox.id)).highestModseq;
        assert.ok(afterAppend > hm);
        hm = afterAppend;
        const list = await store.listMessages(inbox.id);
        assert.deepEqual(list.map((e) => e.uid), [1, 2, 3]);
        assert.ok(list[0]!.modseq < list[1]!.modseq && list[1]!.modseq < list[2]!.modseq);
        const fr = await store.setFlags(inbox.id, [2], 'add', ['\\Seen']);
        assert.equal(fr.updated.length, 1);
        assert.ok(fr.updated[0]!.modseq > hm);
        const afterFlags = (await mbox(store, inbox.id)).highestModseq;
        assert.equal(afterFlags, fr.updated[0]!.modseq);
        const changed = await store.listMessages(inbox.id, { changedSince: hm });
        assert.deepEqual(changed.map((e) => e.uid), [2]);
        assert.deepEqual(changed[0]!.flags, ['\\Seen']);
        assert.deepEqual((await store.listMessages(inbox.id, { changedSince: 0 })).map((e) => e.uid), [1, 2, 3]);
        await store.expunge(inbox.id, [1]);
        const afterExpunge = (await mbox(store, inbox.id)).highestModseq;
        assert.ok(afterExpunge > afterFlags);
        assert.deepEqual(await store.expungedSince(inbox.id, afterFlags), [1]);
        assert.deepEqual(await store.expungedSince(inbox.id, afterExpunge), []);
        assert.deepEqual((await store.listMessages(inbox.id, { changedSince: afterExpunge })), []);
      });

      test('setFlags add/remove/replace, canonical case, keywords, unchangedSince, counters', async ({ store }) => {
        const { inbox } = await setup(store);
        for (let i = 0; i < 4; i++) await store.append(inbox.id, newMessage());
        await store.append(inbox.id, newMessage({ flags: ['\\seen', '$Forwarded'] }));
        await checkCounters(store, inbox.id);
        assert.equal((await mbox(store, inbox.id)).unseen, 4);
        let r = await store.setFlags(inbox.id, [1, 2, 3], 'add', ['\\SEEN', '\\flagged', 'Important']);
        assert.deepEqual(r.updated.map((u) => u.uid), [1, 2, 3]);
        assert.deepEqual(r.updated[0]!.flags, ['\\Seen', '\\Flagged', 'Important']);
        assert.equal(new Set(r.updated.map((u) => u.modseq)).size, 1);
        await checkCounters(store, inbox.id);
        assert.equal((await mbox(store, inbox.id)).unseen, 1);
        // keyword case: first seen spelling kept
        r = await store.setFlags(inbox.id, [4], 'add', ['IMPORTANT', '$forwarded']);
        assert.deepEqual(r.updated[0]!.flags, ['Important', '$Forwarded']);
        // no-op change: nothing updated, modseq unchanged
        const hm = (await mbox(store, inbox.id)).highestModseq;
        r = await store.setFlags(inbox.id, [1], 'add', ['\\Seen']);
        assert.deepEqual(r.updated, []);
        assert.equal((await mbox(store, inbox.id)).highestModseq, hm);
        r = await store.setFlags(inbox.id, [1, 2], 'remove', ['\\Seen', 'important']);
        assert.deepEqual(r.updated.map((u) => u.flags), [['\\Flagged'], ['\\Flagged']]);
        await checkCounters(store, inbox.id);
        r = await store.setFlags(inbox.id, [3], 'replace', ['\\Draft', '\\Answered']);
        assert.deepEqual(r.updated[0]!.flags, ['\\Answered', '\\Draft']);
        await checkCounters(store, inbox.id);
        // CONDSTORE: 1 was changed at hm+1 (after the remove); unchangedSince = hm leaves it alone
        const before = (await store.listMessages(inbox.id)).find((e) => e.uid === 5)!.modseq;
        r = await store.setFlags(inbox.id, [1, 5], 'add', ['\\Deleted'], before);
        assert.deepEqual(r.modified, [1]);
        assert.deepEqual(r.updated.map((u) => u.uid), [5]);
        // missing uids are ignored
        r = await store.setFlags(inbox.id, [77], 'add', ['\\Seen']);
        assert.deepEqual(r, { updated: [], modified: [] });
        await rejectsCode(store.setFlags(inbox.id, [1], 'add', ['\\Bogus']), 'invalid');
        await rejectsCode(store.setFlags(inbox.id, [1], 'add', ['bad flag']), 'invalid');
        await rejectsCode(store.setFlags(inbox.id, [1], 'add', ['(x']), 'invalid');
        await checkCounters(store, inbox.id);
      });

      test('expunge \\Deleted; explicit uids; expungedSince', async ({ store }) => {
        const { account, inbox } = await setup(store);
        for (let i = 0; i < 5; i++) await store.append(inbox.id, newMessage({ flags: i % 2 ? ['\\Seen'] : [] }));
        await store.setFlags(inbox.id, [2, 4], 'add', ['\\Deleted']);
        const hm = (await mbox(store, inbox.id)).highestModseq;
        assert.deepEqual(await store.expunge(inbox.id), [2, 4]);
        assert.deepEqual((await store.listMessages(inbox.id)).map((e) => e.uid), [1, 3, 5]);
        assert.deepEqual(await store.expungedSince(inbox.id, hm), [2, 4]);
        assert.deepEqual(await store.expunge(inbox.id), []);
        await checkCounters(store, inbox.id);
        assert.deepEqual(await store.expunge(inbox.id, [5, 1, 42]), [1, 5]);
        assert.deepEqual(await store.expungedSince(inbox.id, 0), [1, 2, 4, 5]);
        await checkCounters(store, inbox.id);
        await checkQuota(store, account.id);
      });

      test('copy shares the email, COPYUID pairs; blob freed only when the last copy is expunged', async ({ store }) => {
        const { account, inbox } = await setup(store);
        const trash = (await store.getMailbox(account.id, 'Trash'))!;
        await store.append(inbox.id, newMessage({ flags: ['\\Seen', 'Work'] }));
        await store.append(inbox.id, newMessage());
        await store.append(trash.id, newMessage()); // trash uid 1
        const res = await store.copyMessages(inbox.id, [2, 1, 9], trash.id);
        assert.equal(res.uidValidity, trash.uidValidity);
        assert.deepEqual(res.pairs, [[1, 2], [2, 3]]);
        const [src] = await store.getMessages(inbox.id, [1]);
        const [dst] = await store.getMessages(trash.id, [2]);
        assert.equal(src!.emailId, dst!.emailId);
        assert.equal(src!.blobId, dst!.blobId);
        assert.equal(src!.threadId, dst!.threadId);
        assert.deepEqual(dst!.flags, ['\\Seen', 'Work']);
        await checkCounters(store, inbox.id);
        await checkCounters(store, trash.id);
        await checkQuota(store, account.id);
        assert.equal((await store.getQuotaUsage(account.id)).usedMessages, 5);
        await store.expunge(inbox.id, [1]);
        assert.ok((await store.readBlob(dst!.blobId)).length > 0, 'blob kept while a copy remains');
        await store.expunge(trash.id, [2]);
        await rejectsCode(store.readBlob(dst!.blobId), 'not-found');
        await checkQuota(store, account.id);
        assert.deepEqual((await store.copyMessages(inbox.id, [999], trash.id)).pairs, []);
        const { account: other } = await setup(store, 'bob@example.org');
        const otherInbox = (await store.getMailbox(other.id, 'INBOX'))!;
        await rejectsCode(store.copyMessages(inbox.id, [2], otherInbox.id), 'invalid');
      });

      test('identical content in two accounts shares one blob until both are gone', async ({ store }) => {
        const { inbox } = await setup(store);
        const { inbox: bobInbox } = await setup(store, 'bob@example.org');
        const m = newMessage({ body: 'same bytes for both' });
        await store.append(inbox.id, m);
        await store.append(bobInbox.id, { raw: m.raw, parsed: m.parsed });
        const [a] = await store.getMessages(inbox.id, [1]);
        const [b] = await store.getMessages(bobInbox.id, [1]);
        assert.equal(a!.blobId, b!.blobId);
        assert.notEqual(a!.emailId, b!.emailId);
        await store.expunge(inbox.id, [1]);
        assert.deepEqual(await store.readBlob(b!.blobId), m.raw);
        await store.expunge(bobInbox.id, [1]);
        await rejectsCode(store.readBlob(b!.blobId), 'not-found');
      });

      test('move: pairs, tombstones in source, quota unchanged', async ({ store }) => {
        const { account, inbox } = await setup(store);
        const archive = (await store.getMailbox(account.id, 'Archive'))!;
        for (let i = 0; i < 3; i++) await store.append(inbox.id, newMessage());
        const usage = await store.getQuotaUsage(account.id);
        const hm = (await mbox(store, inbox.id)).highestModseq;
        const [rec] = await store.getMessages(inbox.id, [2]);
        const res = await store.moveMessages(inbox.id, [2, 3], archive.id);
        assert.deepEqual(res.pairs, [[2, 1], [3, 2]]);
        assert.equal(res.uidValidity, archive.uidValidity);
        assert.deepEqual((await store.listMessages(inbox.id)).map((e) => e.uid), [1]);
        assert.deepEqual(await store.expungedSince(inbox.id, hm), [2, 3]);
        const [moved] = await store.getMessages(archive.id, [1]);
        assert.equal(moved!.emailId, rec!.emailId);
        assert.deepEqual(await store.getQuotaUsage(account.id), usage);
        await checkCounters(store, inbox.id);
        await checkCounters(store, archive.id);
        assert.ok((await store.readBlob(moved!.blobId)).length > 0);
      });

      test('quota: bytes and count enforced for append, copy and deliver', async ({ store }) => {
        const m1 = newMessage({ size: 400 });
        const m2 = newMessage({ size: 400 });
        const m3 = newMessage({ size: 400 });
        const limit = m1.raw.length + m2.raw.length + m3.raw.length - 1;
        const { account, inbox } = await setup(store, 'alice@example.org', { quotaBytes: limit, quotaMessages: 3 });
        await store.append(inbox.id, m1);
        await store.append(inbox.id, m2);
        await rejectsCode(store.append(inbox.id, m3), 'overquota');
        await rejectsCode(store.copyMessages(inbox.id, [1], inbox.id), 'overquota');
        const out = await store.deliver([{ ...m3, deliveryKey: deliveryKey(), accountId: account.id }]);
        assert.deepEqual(out, [{ status: 'overquota' }]);
        const small = newMessage({ body: 'x' });
        assert.ok(small.raw.length < m3.raw.length);
        await store.append(inbox.id, small); // fits exactly below the byte limit
        await store.setQuota('alice@example.org', { bytes: 0 });
        await rejectsCode(store.append(inbox.id, newMessage()), 'overquota'); // 3 messages max
        await rejectsCode(store.copyMessages(inbox.id, [1], inbox.id), 'overquota');
        const usage = await store.getQuotaUsage(account.id);
        assert.equal(usage.usedMessages, 3);
        assert.equal(usage.quotaMessages, 3);
        assert.equal(usage.quotaBytes, 0);
        await store.setQuota('alice@example.org', { messages: 0 });
        await store.copyMessages(inbox.id, [1], inbox.id);
        await checkQuota(store, account.id);
        await checkCounters(store, inbox.id);
      });

      test('quota holds under concurrent deliveries (also from a second Store object)', async ({ store, reopen }) => {
        const { account, inbox } = await setup(store, 'alice@example.org', { quotaMessages: 7 });
        const second = reopen ? await reopen() : store;
        try {
          const jobs: Promise<unknown>[] = [];
          for (let i = 0; i < 20; i++) {
            const s = i % 2 ? second : store;
            jobs.push(s.deliver([{ ...newMessage(), deliveryKey: deliveryKey(), accountId: account.id }]));
          }
          const results = (await Promise.all(jobs)).flat() as { status: string }[];
          assert.equal(results.filter((r) => r.status === 'delivered').length, 7);
          assert.equal(results.filter((r) => r.status === 'overquota').length, 13);
        } finally {
          if (second !== store) await second.close();
        }
        assert.equal((await mbox(store, inbox.id)).messages, 7);
        await checkQuota(store, account.id);
      });

      test('deliver: batch, idempotency keys, no-account, special-use target', async ({ store }) => {
        const { account, inbox } = await setup(store);
        const junk = (await store.getMailbox(account.id, 'Junk'))!;
        const k1 = deliveryKey();
        const k2 = deliveryKey();
        const m = newMessage();
        const out = await store.deliver([
          { ...m, deliveryKey: k1, accountId: account.id },
          { ...newMessage(), deliveryKey: k2, accountId: account.id, specialUse: '\\Junk', flags: ['$Junk', 'bad flag'] },
          { ...newMessage(), deliveryKey: k1, accountId: account.id },
          { ...newMessage(), deliveryKey: deliveryKey(), accountId: 987654 },
        ]);
        assert.deepEqual(out, [
          { status: 'delivered', mailboxId: inbox.id, uid: 1 },
          { status: 'delivered', mailboxId: junk.id, uid: 1 },
          { status: 'duplicate' },
          { status: 'no-account' },
        ]);
        assert.deepEqual((await store.listMessages(junk.id))[0]!.flags, ['$Junk']);
        const again = await store.deliver([{ ...m, deliveryKey: k1, accountId: account.id }]);
        assert.deepEqual(again, [{ status: 'duplicate' }]);
        assert.equal((await mbox(store, inbox.id)).messages, 1);
        await store.deleteMailbox(account.id, 'Archive');
        const fallback = await store.deliver([{ ...newMessage(), deliveryKey: deliveryKey(), accountId: account.id, specialUse: '\\Archive' }]);
        assert.deepEqual(fallback, [{ status: 'delivered', mailboxId: inbox.id, uid: 2 }]);
        assert.deepEqual(await store.deliver([]), []);
        await checkCounters(store, inbox.id);
        await checkCounters(store, junk.id);
        await checkQuota(store, account.id);
      });
    });

    describe('multi-append', () => {
      test('appendMany adds all messages in one transaction or none', async ({ store }) => {
        const { inbox } = await setup(store, 'alice@example.org', { quotaMessages: 3 });
        const r = await store.appendMany(inbox.id, [newMessage({ subject: 'a' }), newMessage({ subject: 'b' })]);
        assert.deepEqual(r.uids, [1, 2]);
        assert.equal(r.uidValidity, (await mbox(store, inbox.id)).uidValidity);
        await rejectsCode(store.appendMany(inbox.id, [newMessage({ subject: 'c' }), newMessage({ subject: 'd' })]), 'overquota');
        assert.deepEqual((await store.listMessages(inbox.id)).map((e) => e.uid), [1, 2]);
        assert.equal((await mbox(store, inbox.id)).uidNext, 3);
        await checkCounters(store, inbox.id);
      });
    });

    describe('compact index (IMAP)', () => {
      test('listUids, listFlags, firstUnseenUid and listMessages by UID range agree', async ({ store }) => {
        const { inbox } = await setup(store);
        for (let i = 0; i < 6; i++) await store.append(inbox.id, newMessage({ subject: `m${i}`, flags: i % 2 ? ['\\Seen'] : [] }));
        await store.setFlags(inbox.id, [1], 'add', ['\\Seen', '$Work']);
        await store.expunge(inbox.id, [4]);
        assert.deepEqual(Array.from(await store.listUids(inbox.id)), [1, 2, 3, 5, 6]);
        const all = await store.listMessages(inbox.id);
        const cols = await store.listFlags(inbox.id);
        assert.deepEqual(Array.from(cols.uids), all.map((e) => e.uid));
        assert.deepEqual(Array.from(cols.modseqs), all.map((e) => e.modseq));
        assert.deepEqual(cols.flags, all.map((e) => e.flags.join(' ')));
        const range = await store.listFlags(inbox.id, { uidFrom: 2, uidTo: 5 });
        assert.deepEqual(Array.from(range.uids), [2, 3, 5]);
        const m1 = all.find((e) => e.uid === 1)!.modseq;
        assert.deepEqual(Array.from((await store.listFlags(inbox.id, { changedSince: m1 - 1 })).uids), [1]);
        assert.deepEqual((await store.listMessages(inbox.id, { uidFrom: 3, uidTo: 6 })).map((e) => e.uid), [3, 5, 6]);
        assert.equal(await store.firstUnseenUid(inbox.id), 3);
        await store.setFlags(inbox.id, [3, 5], 'add', ['\\Seen']);
        assert.equal(await store.firstUnseenUid(inbox.id), null);
      });
    });

    describe('search', () => {
      test('searchText finds words in body and subject; header/body scopes; safe with syntax', async ({ store }) => {
        const { account, inbox } = await setup(store);
        await store.append(inbox.id, newMessage({ subject: 'Quarterly budget review', body: 'Please bring the spreadsheets.\r\n' }));
        await store.append(inbox.id, newMessage({ subject: 'Lunch', body: 'Meet at the café near the fjord.\r\n' }));
        await store.append(inbox.id, newMessage({ subject: 'Holiday', body: 'The budget for the trip is fine.\r\n' }));
        const other = await store.createMailbox(account.id, 'Other');
        await store.append(other.id, newMessage({ subject: 'budget elsewhere' }));
        assert.deepEqual(await store.searchText(inbox.id, 'budget'), [1, 3]);
        assert.deepEqual(await store.searchText(inbox.id, 'BUDGET review'), [1]);
        assert.deepEqual(await store.searchText(inbox.id, 'budget', 'header'), [1]);
        assert.deepEqual(await store.searchText(inbox.id, 'budget', 'body'), [3]);
        assert.deepEqual(await store.searchText(inbox.id, 'spread'), [1], 'prefix match');
        assert.deepEqual(await store.searchText(inbox.id, 'cafe'), [2], 'diacritics folded');
        assert.deepEqual(await store.searchText(inbox.id, 'fjord'), [2]);
        assert.deepEqual(await store.searchText(inbox.id, 'nothing-like-this'), []);
        for (const q of ['"', '"budget', '*', 'budget*', 'AND', 'budget AND', 'OR NOT', '(', ')', '(budget', 'NEAR(a b)', 'header:budget', '{header}: x', '^budget', '-', "'", '\\', '""""', 'a"b*c(d)']) {
          const r = await store.searchText(inbox.id, q);
          assert.ok(Array.isArray(r), `query ${q}`);
        }
        assert.deepEqual(await store.searchText(inbox.id, '"budget"'), [1, 3]);
        assert.deepEqual(await store.searchText(inbox.id, '(budget)'), [1, 3]);
        assert.deepEqual(await store.searchText(inbox.id, 'budget*'), [1, 3], 'syntax characters are just separators');
        assert.deepEqual(await store.searchText(inbox.id, '(budget'), [1, 3]);
        assert.deepEqual(await store.searchText(inbox.id, 'quarterly spreadsheets'), [1], 'one word in the header, one in the body');
        assert.deepEqual(await store.searchText(inbox.id, 'quarterly spreadsheets', 'body'), [], 'scoped: both must be in the body');
        assert.deepEqual(await store.searchText(inbox.id, 'budget-review'), [1], 'punctuation splits words as the index does');
        await store.expunge(inbox.id, [1]);
        assert.deepEqual(await store.searchText(inbox.id, 'budget'), [3]);
      });
    });

    describe('threading', () => {
      test('by references / in-reply-to (either arrival order) and by subject', async ({ store }) => {
        const { inbox } = await setup(store);
        const root = newMessage({ subject: 'Plans', messageId: 'root@x' });
        const reply = newMessage({ subject: 'Re: Plans', messageId: 'reply@x', inReplyTo: ['root@x'], references: ['root@x'] });
        const reply2 = newMessage({ subject: 'whatever', messageId: 'reply2@x', references: ['root@x', 'reply@x'] });
        // the reply arrives before the message it answers
        const lateChild = newMessage({ subject: 'Other', messageId: 'child@y', inReplyTo: ['parent@y'] });
        const lateParent = newMessage({ subject: 'Other topic', messageId: 'parent@y' });
        const bySubjectRoot = newMessage({ subject: 'Team offsite', messageId: 's1@z' });
        const bySubjectReply = newMessage({ subject: 'RE: Team offsite', messageId: 's2@z' });
        const unrelated = newMessage({ subject: 'Something else', messageId: 'u@z' });
        for (const m of [root, reply, reply2, lateChild, lateParent, bySubjectRoot, bySubjectReply, unrelated]) await store.append(inbox.id, m);
        const recs = await store.getMessages(inbox.id, [1, 2, 3, 4, 5, 6, 7, 8]);
        const t = recs.map((r) => r.threadId);
        assert.equal(t[1], t[0]);
        assert.equal(t[2], t[0]);
        assert.equal(t[4], t[3]);
        assert.notEqual(t[3], t[0]);
        assert.equal(t[6], t[5]);
        assert.notEqual(t[5], t[0]);
        assert.notEqual(t[7], t[0]);
        assert.notEqual(t[7], t[3]);
        assert.notEqual(t[7], t[5]);
        const list = await store.listMessages(inbox.id);
        assert.deepEqual(list.map((e) => e.threadId), t);
      });
    });

    describe('change feed', () => {
      test('in-process watcher gets every change at once, in order; filters by account', async ({ store }) => {
        const { account, inbox } = await setup(store);
        const { account: bob } = await setup(store, 'bob@example.org');
        const got: Change[] = [];
        const all: Change[] = [];
        const stop = store.watch(account.id, (c) => got.push(...c));
        const stopAll = store.watch(null, (c) => all.push(...c));
        await store.append(inbox.id, newMessage());
        assert.deepEqual(got.map((c) => c.kind), ['append']);
        assert.equal(got[0]!.uid, 1);
        assert.equal(got[0]!.mailboxId, inbox.id);
        assert.equal(got[0]!.accountId, account.id);
        assert.ok(got[0]!.at instanceof Date);
        await store.setFlags(inbox.id, [1], 'add', ['\\Seen']);
        assert.equal(got[got.length - 1]!.kind, 'flags');
        await store.setFlags(inbox.id, [1], 'add', ['\\Deleted']);
        await store.expunge(inbox.id);
        assert.equal(got[got.length - 1]!.kind, 'expunge');
        const box = await store.createMailbox(account.id, 'Fresh');
        await store.renameMailbox(account.id, 'Fresh', 'Renamed');
        await store.setSubscribed(account.id, 'Renamed', true);
        await store.deleteMailbox(account.id, 'Renamed');
        await store.createMailbox(bob.id, 'BobBox');
        assert.deepEqual(got.map((c) => c.kind), ['append', 'flags', 'flags', 'expunge', 'mailbox-create', 'mailbox-rename', 'mailbox-subscribe', 'mailbox-delete']);
        assert.equal(got[5]!.name, 'Renamed');
        assert.equal(got[5]!.mailboxId, box.id);
        for (let i = 1; i < got.length; i++) assert.ok(got[i]!.id > got[i - 1]!.id, 'ids increase');
        for (let i = 1; i < got.length; i++) if (got[i]!.modseq && got[i - 1]!.modseq && got[i]!.mailboxId === got[i - 1]!.mailboxId) assert.ok(got[i]!.modseq! >= got[i - 1]!.modseq!);
        assert.equal(all.length, got.length + 1);
        assert.equal(all[all.length - 1]!.accountId, bob.id);
        stop();
        await store.append(inbox.id, newMessage());
        assert.equal(got.length, 8, 'no more after unsubscribe');
        assert.equal(all.length, 10);
        stopAll();
        // changesSince agrees with the watcher
        const since = await store.changesSince(account.id, got[0]!.id - 1);
        assert.deepEqual(since.slice(0, got.length).map((c) => c.id), got.map((c) => c.id));
        const last = await store.lastChangeId();
        assert.ok(last >= all[all.length - 1]!.id);
        assert.deepEqual(await store.changesSince(null, last), []);
        assert.equal((await store.changesSince(null, 0, 2)).length, 2);
      });

      test('a second Store object on the same data sees changes via watch', async ({ store, reopen }) => {
        if (!reopen) return;
        const { inbox } = await setup(store);
        const second = await reopen();
        try {
          const got: Change[] = [];
          const stop = second.watch(null, (c) => got.push(...c));
          const t0 = Date.now();
          await store.append(inbox.id, newMessage());
          await store.setFlags(inbox.id, [1], 'add', ['\\Flagged']);
          while (got.length < 2 && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 10));
          assert.deepEqual(got.map((c) => c.kind), ['append', 'flags']);
          assert.ok(Date.now() - t0 < 1000, 'within a second');
          // and the other direction, through the second object
          const got1: Change[] = [];
          const stop1 = store.watch(null, (c) => got1.push(...c));
          await second.append(inbox.id, newMessage());
          const t1 = Date.now();
          while (got1.length < 1 && Date.now() - t1 < 1000) await new Promise((r) => setTimeout(r, 10));
          assert.deepEqual(got1.map((c) => [c.kind, c.uid]), [['append', 2]]);
          stop();
          stop1();
        } finally {
          await second.close();
        }
      });
    });

    describe('settings', () => {
      test('get/set', async ({ store }) => {
        assert.equal(await store.getSetting('demo'), null);
        await store.setSetting('demo', 'yes');
        await store.setSetting('demo', 'no');
        assert.equal(await store.getSetting('demo'), 'no');
      });
    });
  });
}
