// Which From addresses count as authenticated for the known-correspondent bonus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticatedFrom, correspondentSignal } from '../../src/filter/correspondents.js';
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

test('correspondentSignal: only for an authenticated sender the account wrote to', async () => {
  const wrote = async (a: string) => a === 'friend@pal.test';
  assert.deepEqual(await correspondentSignal(wrote, 'friend@pal.test', -3), [{ name: 'KNOWN_CORRESPONDENT', score: -3, detail: 'friend@pal.test: written to before' }]);
  assert.deepEqual(await correspondentSignal(wrote, 'other@pal.test', -3), []);
  assert.deepEqual(await correspondentSignal(wrote, null, -3), []);
  assert.deepEqual(await correspondentSignal(wrote, 'friend@pal.test', 0), [], 'off when the score is 0');
});
