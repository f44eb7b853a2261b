import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PasswordVerifier } from '../../src/auth/verifier.js';
import { hashPassword } from '../../src/auth/password.js';

test('the verifier accepts the right password only, for known accounts, also under concurrency', async () => {
  const v = new PasswordVerifier(1);
  const account = { id: 7, passwordHash: await hashPassword('right') };
  const results = await Promise.all([
    v.verify(account, 'right'), v.verify(account, 'right'), v.verify(account, 'wrong'),
    v.verify(null, 'right'), v.verify(account, 'right'),
  ]);
  assert.deepEqual(results, [true, true, false, false, true]);
  assert.equal(await v.verify(account, 'right'), true); // from the cache
  assert.equal(await v.verify({ id: 7, passwordHash: await hashPassword('new') }, 'right'), false); // password changed
});
