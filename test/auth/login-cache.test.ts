import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginCache } from '../../src/auth/login-cache.js';

test('the login cache only vouches for the same password, hash and account, within the TTL', () => {
  const c = new LoginCache(1000, 2);
  assert.equal(c.check(1, 'h1', 'pw', 0), false);
  c.remember(1, 'h1', 'pw', 0);
  assert.equal(c.check(1, 'h1', 'pw', 500), true);
  assert.equal(c.check(1, 'h1', 'wrong', 500), false);
  assert.equal(c.check(2, 'h1', 'pw', 500), false);
  assert.equal(c.check(1, 'h2', 'pw', 500), false); // password changed: entry dropped
  assert.equal(c.check(1, 'h1', 'pw', 500), false);
  c.remember(1, 'h1', 'pw', 0);
  assert.equal(c.check(1, 'h1', 'pw', 1001), false); // expired
  c.remember(1, 'a', 'x', 0);
  c.remember(2, 'b', 'y', 0);
  c.remember(3, 'c', 'z', 0); // bounded: the oldest goes
  assert.equal(c.check(1, 'a', 'x', 1), false);
  assert.equal(c.check(3, 'c', 'z', 1), true);
});
