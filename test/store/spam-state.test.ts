// The spam filter's state in the store: token databases, train-once marks, message origins,
// reports, reputation overrides and the quarantine — and that they go with their account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { newMessage } from './fixtures.js';
import { counts, countsOf } from '../helpers/counts.js';

async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fjord-spamstate-'));
  const store = await openStore({ dataDir: dir });
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('token databases: per scope counts and totals, removal, zero rows dropped', () =>
  withStore(async (store) => {
    await store.addTokens(0, ['viagra', 'cheap', 'cheap'], 'spam', 1);
    await store.addTokens(0, ['meeting', 'cheap'], 'ham', 1);
    await store.addTokens(7, ['meeting'], 'spam', 1);
    const g = await store.getTokens(0, ['viagra', 'cheap', 'meeting', 'absent']);
    assert.deepEqual(countsOf(g), { viagra: { ham: 0, spam: 1 }, cheap: { ham: 1, spam: 1 }, meeting: { ham: 1, spam: 0 } });
    assert.deepEqual(counts(await store.getTotals(0)), { ham: 1, spam: 1 });
    assert.deepEqual(counts(await store.getTotals(7)), { ham: 0, spam: 1 });
    assert.deepEqual(counts(await store.getTotals(8)), { ham: 0, spam: 0 });
    await store.addTokens(0, ['viagra', 'cheap'], 'spam', -1);
    const after = await store.getTokens(0, ['viagra', 'cheap']);
    assert.equal(after.has('viagra'), false, 'a token at zero is removed');
    assert.deepEqual(counts(after.get('cheap')), { ham: 1, spam: 0 });
    assert.deepEqual(counts(await store.getTotals(0)), { ham: 1, spam: 0 });
    // a big lookup crosses the statement batch
    const many = Array.from({ length: 4500 }, (_, i) => `t${i}`);
    await store.addTokens(3, many, 'ham', 1);
    assert.equal((await store.getTokens(3, many)).size, 4500);
  }));

test('markTrained returns the previous verdict', () =>
  withStore(async (store) => {
    assert.equal(await store.markTrained(0, 'k1', 'spam'), null);
    assert.equal(await store.markTrained(0, 'k1', 'spam'), 'spam');
    assert.equal(await store.markTrained(0, 'k1', 'ham'), 'spam');
    assert.equal(await store.markTrained(5, 'k1', 'ham'), null, 'scopes are separate');
    assert.equal(await store.markTrained(0, 'k1', null), 'ham');
    assert.equal(await store.markTrained(0, 'k1', 'ham'), null);
  }));

// `fjord spam train` commits a corpus in batches: the same counts as one message at a time, with
// every message counted once, and relabelled ones (in the same batch or a later one) moved.
test('trainMessages: a batch trains as message-by-message learning does', async () => {
  const msgs = Array.from({ length: 60 }, (_, i) => ({
    key: `m${i}`,
    tokens: [`w${i % 7}`, `w${i % 11}`, `w${i % 7}`, i % 2 === 0 ? 'even' : 'odd', 'common'],
    verdict: (i % 3 === 0 ? 'spam' : 'ham') as 'spam' | 'ham',
  }));
  // Relabelled (also within one batch), repeated, and forgotten.
  const later = [
    { ...msgs[3], verdict: 'ham' as const }, { ...msgs[4], verdict: 'spam' as const }, msgs[5],
    { ...msgs[6], verdict: null }, { ...msgs[4], verdict: 'ham' as const }, { key: 'never', tokens: ['x'], verdict: null },
  ];
  const everything = (store: Store) => store.getTokens(0, ['common', 'even', 'odd', 'x', ...Array.from({ length: 11 }, (_, i) => `w${i}`)]);
  await withStore(async (one) => withStore(async (batched) => {
    for (const m of [...msgs, ...later]) {
      const prev = await one.markTrained(0, m.key, m.verdict);
      if (prev === m.verdict) continue;
      if (prev !== null) await one.addTokens(0, m.tokens, prev, -1);
      if (m.verdict !== null) await one.addTokens(0, m.tokens, m.verdict, 1);
    }
    assert.equal(await batched.trainMessages(0, msgs.slice(0, 25)), 25);
    assert.equal(await batched.trainMessages(0, [...msgs.slice(20, 60), ...later.slice(0, 3)]), 35 + 2, 'five already trained, one the same again');
    assert.equal(await batched.trainMessages(0, later.slice(3)), 2, 'one forgotten, one relabelled; an unknown key forgotten is no change');
    assert.deepEqual(await batched.getTotals(0), await one.getTotals(0));
    assert.deepEqual(Object.fromEntries(await everything(batched)), Object.fromEntries(await everything(one)));
    assert.equal(await batched.markTrained(0, 'm4', 'ham'), 'ham');
    assert.equal(await batched.markTrained(0, 'm6', null), null);
    const v = await batched.tokenVersion(0);
    assert.equal(await batched.trainMessages(0, msgs.slice(10, 20)), 0);
    assert.equal(await batched.tokenVersion(0), v, 'nothing changed: the in-memory copies stay valid');
  }));
});

test('trainMessages: a relabel after a token expired, and a forget, go as message by message', async () => {
  const everything = (store: Store) => store.getTokens(0, ['rare', 'a', 'b']);
  await withStore(async (one) => withStore(async (batched) => {
    for (const s of [one, batched]) {
      await s.trainMessages(0, [{ key: 'k1', tokens: ['rare', 'a'], verdict: 'spam' }, { key: 'k2', tokens: ['a', 'b'], verdict: 'ham' }]);
      await s.addTokens(0, ['rare'], 'spam', -1); // as expiry would: the row is gone
    }
    for (const [key, tokens, verdict] of [['k1', ['rare', 'a'], 'ham'], ['k2', ['a', 'b'], null]] as const) {
      const prev = await one.markTrained(0, key, verdict);
      if (prev !== null) await one.addTokens(0, [...tokens], prev, -1);
      if (verdict !== null) await one.addTokens(0, [...tokens], verdict, 1);
    }
    assert.equal(await batched.trainMessages(0, [{ key: 'k1', tokens: ['rare', 'a'], verdict: 'ham' }, { key: 'k2', tokens: ['a', 'b'], verdict: null }]), 2);
    assert.deepEqual(Object.fromEntries(await everything(batched)), Object.fromEntries(await everything(one)));
    assert.deepEqual(counts((await batched.getTokens(0, ['rare'])).get('rare')), { ham: 1, spam: 0 }, 'the relabelled message counts its expired token again');
    assert.deepEqual(await batched.getTotals(0), await one.getTotals(0));
  }));
});

test('origins stay with the email (copies share it), reports replace per user and message', () =>
  withStore(async (store) => {
    await store.addDomain('example.org');
    const a = await store.addAccount({ address: 'a@example.org', passwordHash: 'x' });
    const b = await store.addAccount({ address: 'b@example.org', passwordHash: 'x' });
    const origin = { ip: '192.0.2.9', helo: 'mx.spam.test', mailFrom: 'x@spam.test', fromDomain: 'spam.test', dkimDomains: ['spam.test'] };
    const [o] = await store.deliver([{ ...newMessage(), deliveryKey: 'q1:a', accountId: a.id, origin }]);
    assert.equal(o!.status, 'delivered');
    const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
    const [rec] = await store.getMessages(inbox.id, [(o as { uid: number }).uid]);
    assert.deepEqual(await store.getEmailOrigin(a.id, rec!.emailId), origin);
    assert.equal(await store.getEmailOrigin(b.id, rec!.emailId), null, 'another account cannot read it');
    assert.equal(await store.getEmailOrigin(a.id, 'nonsense'), null);
    const junk = (await store.listMailboxes(a.id)).find((m) => m.specialUse === '\\Junk')!;
    await store.moveMessages(inbox.id, [rec!.uid], junk.id);
    assert.deepEqual(await store.getEmailOrigin(a.id, rec!.emailId), origin, 'a moved message keeps its origin');

    const report = { accountId: a.id, emailKey: rec!.emailId, verdict: 'spam' as const, at: new Date(), ip: origin.ip, mailFromDomain: 'spam.test', fromDomain: 'spam.test', dkimDomain: 'spam.test' };
    assert.equal(await store.putSpamReport(report), null);
    assert.equal(await store.putSpamReport({ ...report, verdict: 'ham' }), 'spam');
    await store.putSpamReport({ ...report, accountId: b.id, emailKey: 'M1' });
    assert.equal((await store.listSpamReports({ ip: origin.ip })).length, 2, 'one report per user and message');
    assert.equal((await store.listSpamReports({ domain: 'spam.test' })).length, 2);
    assert.equal((await store.listSpamReports({ domain: 'other.test' })).length, 0);
    assert.equal((await store.listSpamReports({ ip: origin.ip, since: new Date(Date.now() + 60_000) })).length, 0);
    // Reports past their weight are deleted; newer ones stay.
    await store.putSpamReport({ ...report, accountId: b.id, emailKey: 'M0', at: new Date(Date.now() - 300 * 86_400_000) });
    assert.equal((await store.listSpamReports({ ip: origin.ip })).length, 3);
    assert.equal(await store.purgeSpamReports(new Date(Date.now() - 240 * 86_400_000)), 1);
    assert.deepEqual((await store.listSpamReports({ ip: origin.ip })).map((r) => r.emailKey).sort(), ['M1', rec!.emailId].sort());

    await store.setReputationOverride('ip', '192.0.2.9', 'block', 'phishing wave');
    await store.setReputationOverride('domain', 'news.test', 'allow');
    assert.deepEqual((await store.listReputationOverrides()).map((r) => `${r.kind} ${r.value} ${r.action} ${r.reason}`), ['domain news.test allow ', 'ip 192.0.2.9 block phishing wave']);
    await store.setReputationOverride('ip', '192.0.2.9', null);
    assert.equal((await store.listReputationOverrides()).length, 1);

    const raw = Buffer.from('Subject: win\r\n\r\nmoney\r\n');
    const now = Date.now();
    const id = await store.quarantine({ accountId: a.id, at: new Date(now), expiresAt: new Date(now + 1000), mailFrom: 'x@spam.test', rcpt: 'a@example.org', subject: 'win', from: 'x@spam.test', score: 22.5, reasons: 'BAYES_99=5', origin }, raw);
    await store.quarantine({ accountId: b.id, at: new Date(now), expiresAt: new Date(now + 10_000), mailFrom: '', rcpt: 'b@example.org', subject: '', from: '', score: 16, reasons: '', origin: null }, raw);
    assert.equal((await store.listQuarantine()).length, 2);
    const mine = await store.listQuarantine({ accountId: a.id });
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.size, raw.length);
    assert.deepEqual(mine[0]!.origin, origin);
    assert.deepEqual((await store.getQuarantined(id))!.raw, raw);
    assert.equal(await store.purgeQuarantine(new Date(now + 5000)), 1);
    assert.equal(await store.getQuarantined(id), null);

    await store.addTokens(b.id, ['x'], 'spam', 1);
    await store.removeAccount('b@example.org');
    assert.deepEqual(counts(await store.getTotals(b.id)), { ham: 0, spam: 0 });
    assert.equal((await store.listQuarantine()).length, 0);
    assert.equal((await store.listSpamReports({ ip: origin.ip })).length, 1);
  }));
