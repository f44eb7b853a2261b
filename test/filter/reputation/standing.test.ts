// Reputation arithmetic: decay by half-life, distinct reporters, users who said both, and the
// administrator's block / unblock / allow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { standingFrom } from '../../../src/filter/reputation/reputation.js';
import type { ReputationOverride, SpamReport } from '../../../src/store/types.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 28);
const cfg = { halfLifeDays: 10, blockReporters: 3, blockSpamRatio: 4, scorePerReport: 1, maxScore: 6 };

function report(accountId: number, verdict: 'spam' | 'ham', daysAgo: number, key = `M${accountId}`): SpamReport {
  return { accountId, emailKey: key, verdict, at: new Date(NOW - daysAgo * DAY), ip: '192.0.2.1', mailFromDomain: null, fromDomain: null, dkimDomain: null };
}

test('reports decay by the half-life; the score is the decayed surplus of spam, capped', () => {
  const s = standingFrom('ip', '192.0.2.1', [report(1, 'spam', 0), report(2, 'spam', 10)], null, cfg, NOW);
  assert.equal(s.spam, 1.5);
  assert.equal(s.score, 1.5);
  assert.equal(s.blocked, false, 'two users are not enough');
  const many = Array.from({ length: 20 }, (_, i) => report(i + 1, 'spam', 0));
  assert.equal(standingFrom('ip', 'x', many, null, cfg, NOW).score, 6, 'capped at maxScore');
});

test('a block needs distinct users and a spam weight well above the ham weight', () => {
  const three = [report(1, 'spam', 1), report(2, 'spam', 1), report(3, 'spam', 1)];
  const s = standingFrom('ip', '192.0.2.1', three, null, cfg, NOW);
  assert.equal(s.blocked, true);
  assert.match(s.reason, /reported as spam by 3 users/);
  // One user reporting many messages is still one user.
  const oneUser = Array.from({ length: 10 }, (_, i) => report(1, 'spam', 0, `M${i}`));
  assert.equal(standingFrom('ip', 'x', oneUser, null, cfg, NOW).blocked, false);
  // A newsletter many rescued from Junk is not blocked by a few reports.
  const mixed = [...three, report(4, 'ham', 0), report(5, 'ham', 0)];
  assert.equal(standingFrom('ip', 'x', mixed, null, cfg, NOW).blocked, false);
  // A user who said both counts for neither side.
  const both = [report(1, 'spam', 1), report(2, 'spam', 1), report(3, 'spam', 1, 'A'), report(3, 'ham', 1, 'B')];
  const b = standingFrom('ip', 'x', both, null, cfg, NOW);
  assert.equal(b.spamReporters, 2);
  assert.equal(b.blocked, false);
});

test('overrides: block always blocks, unblock forgives earlier reports only, allow exempts and scores nothing', () => {
  const at = (daysAgo: number, action: ReputationOverride['action']): ReputationOverride => ({ kind: 'ip', value: 'x', action, reason: 'r', at: new Date(NOW - daysAgo * DAY) });
  assert.equal(standingFrom('ip', 'x', [], at(0, 'block'), cfg, NOW).blocked, true);
  const old = [report(1, 'spam', 3), report(2, 'spam', 3), report(3, 'spam', 3)];
  const unblocked = standingFrom('ip', 'x', old, at(2, 'unblock'), cfg, NOW);
  assert.equal(unblocked.blocked, false);
  assert.ok(unblocked.score > 0, 'the reports still count as points');
  const fresh = [...old, report(4, 'spam', 1), report(5, 'spam', 1), report(6, 'spam', 1)];
  assert.equal(standingFrom('ip', 'x', fresh, at(2, 'unblock'), cfg, NOW).blocked, true, 'new reports after the unblock block again');
  const allowed = standingFrom('ip', 'x', fresh, at(2, 'allow'), cfg, NOW);
  assert.equal(allowed.blocked, false);
  assert.equal(allowed.score, 0);
});
