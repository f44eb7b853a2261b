// Which From addresses count as authenticated for the known-correspondent bonus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticatedFrom, senderSignals } from '../../src/filter/correspondents.js';
import type { AuthVerdict } from '../../src/filter/auth/index.js';

type Auth = Pick<AuthVerdict, 'spf' | 'dkim' | 'dmarc'>;
function auth(o: { spf?: [string, string]; dkim?: { domain: string; result: string; aligned: boolean }[]; dmarc?: string; fromDomain?: string }): Auth {
  const [result, domain] = o.spf ?? ['none', ''];
  return {
    spf: { result, mailFrom: { result, domain }, helo: { result: 'none', domain: '' } },
    dkim: o.dkim ?? [],
    dmarc: { result: o.dmarc ?? 'none', fromDomain: o.fromDomain ?? '' },
  } as unknown as Auth;
}

test('authenticatedFrom: aligned DKIM, DMARC pass or SPF pass of an aligned envelope domain; nothing else', () => {
  const from = ['Friend@Mail.Pal.test'];
  assert.equal(authenticatedFrom(from, auth({ dkim: [{ domain: 'pal.test', result: 'pass', aligned: true }] })), 'friend@mail.pal.test');
  assert.equal(authenticatedFrom(from, auth({ dmarc: 'pass', fromDomain: 'mail.pal.test' })), 'friend@mail.pal.test');
  assert.equal(authenticatedFrom(from, auth({ spf: ['pass', 'bounces.pal.test'] })), 'friend@mail.pal.test', 'relaxed: the same organisational domain');
  assert.equal(authenticatedFrom(from, auth({ spf: ['pass', 'esp.example'] })), null, 'SPF of another domain says nothing of the From');
  assert.equal(authenticatedFrom(from, auth({ spf: ['softfail', 'pal.test'] })), null);
  assert.equal(authenticatedFrom(from, auth({ dkim: [{ domain: 'esp.example', result: 'pass', aligned: false }] })), null);
  assert.equal(authenticatedFrom(from, auth({ dkim: [{ domain: 'pal.test', result: 'fail', aligned: true }] })), null);
  assert.equal(authenticatedFrom(['a@pal.test', 'b@pal.test'], auth({ spf: ['pass', 'pal.test'] })), null, 'one author only');
  assert.equal(authenticatedFrom([], auth({ spf: ['pass', 'pal.test'] })), null);
});

test('senderSignals: the user\'s latest verdict on the sender wins, else having written to it', async () => {
  const scores = { knownSender: -3, junkedSender: 3 };
  const h = (wrote: boolean, said: 'spam' | 'ham' | null) => ({ wroteTo: async () => wrote, verdict: async () => said });
  const names = async (wrote: boolean, said: 'spam' | 'ham' | null, from: string | null = 'friend@pal.test', sc = scores) =>
    (await senderSignals(h(wrote, said), from, sc)).map((s) => `${s.name} ${s.score}`);
  assert.deepEqual(await names(true, null), ['KNOWN_CORRESPONDENT -3']);
  assert.deepEqual(await names(false, 'ham'), ['USER_RESCUED_SENDER -3']);
  assert.deepEqual(await names(true, 'spam'), ['USER_JUNKED_SENDER 3'], 'junking a correspondent\'s mail outweighs having written to it');
  assert.deepEqual(await names(false, null), []);
  assert.deepEqual(await names(true, 'ham', null), [], 'nothing for an unauthenticated sender');
  assert.deepEqual(await names(true, 'ham', 'friend@pal.test', { knownSender: 0, junkedSender: 0 }), [], 'off when the scores are 0');
});
