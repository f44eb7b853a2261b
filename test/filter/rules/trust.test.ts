// Rules trusted by what the server was trained on (src/filter/rules/trust.ts): a rule that fires
// on trained ham as often as on trained spam loses its points; one that tells them apart keeps
// them; a rule seen a few times keeps its hand-set score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/mime/index.js';
import { ruleTrust, trustedRuleScore, DEFAULT_RULE_TRUST, type RuleEvidence } from '../../../src/filter/rules/trust.js';
import { ContentFilter, trainingPrior, withClassifier } from '../../../src/filter/verdict.js';
import { MemoryTokenDb } from '../../../src/filter/bayes/token-db.js';
import { DEFAULT_BAYES } from '../../../src/filter/bayes/classifier.js';
import { msg } from '../helpers-msg.js';

const evidence = (hits: RuleEvidence['hits'], ham = 1000, spam = 500): RuleEvidence => ({ totals: { ham, spam }, hits });

test('ruleTrust: by the rule\'s share of its hit rates, smoothed toward full trust', () => {
  // Fires on every trained message: no evidence either way (what is left is the smoothing's 5
  // pseudo-hits against 1,500 real ones).
  assert.ok(ruleTrust(evidence({ MISSING_DATE: { ham: 1000, spam: 500 } }), 'MISSING_DATE', 1) < 0.01);
  // On 40% of spam and 0.5% of ham: a spam share of 0.99, full trust.
  assert.equal(ruleTrust(evidence({ R: { ham: 5, spam: 200 } }), 'R', 1), 1);
  // On 10% of spam and 2% of ham: a share of 0.83, about three quarters.
  const t = ruleTrust(evidence({ R: { ham: 20, spam: 50 } }), 'R', 1);
  assert.ok(t > 0.6 && t < 0.8, String(t));
  // Twice on ham, never on spam: two hits against the smoothing's 5 leave it about half.
  const few = ruleTrust(evidence({ R: { ham: 2, spam: 0 } }), 'R', 1);
  assert.ok(few > 0.4 && few < 0.6, String(few));
  // A ham rule (negative score) is judged by its ham share.
  assert.equal(ruleTrust(evidence({ IS_REPLY: { ham: 600, spam: 0 } }), 'IS_REPLY', -0.5), 1);
  assert.ok(ruleTrust(evidence({ IS_REPLY: { ham: 600, spam: 300 } }), 'IS_REPLY', -0.5) < 0.01);
  // No evidence, a rule never trained, or nothing trained: as scored.
  assert.equal(ruleTrust(undefined, 'R', 1), 1);
  assert.equal(ruleTrust(evidence({}), 'R', 1), 1);
  assert.equal(ruleTrust(evidence({ R: { ham: 0, spam: 0 } }, 0, 0), 'R', 1), 1);
  assert.deepEqual(DEFAULT_RULE_TRUST, { strength: 5, low: 0.5, high: 0.95 });
});

test('trusted rules: the score and the logistic model\'s prior count a rule as far as it is trusted', () => {
  const e = evidence({ MISSING_DATE: { ham: 1000, spam: 200 }, PHARMA: { ham: 1, spam: 100 } });
  const rules = [{ name: 'MISSING_DATE', score: 1 }, { name: 'PHARMA', score: 1.5, text: true }];
  assert.equal(trustedRuleScore(rules, e), 1.5);
  assert.equal(trustedRuleScore(rules, undefined), 2.5);
  const signals = withClassifier(rules, [{ name: 'BAYES', score: 0 }], 0.5, e);
  assert.deepEqual(signals.map((s) => [s.name, s.score]), [['MISSING_DATE', 0], ['PHARMA', 0.75], ['BAYES', 0]]);
  assert.match(signals[0].detail ?? '', /trusted 0\.00 on trained mail/);
  // Untrained (no classifier signal): every rule in full.
  assert.deepEqual(withClassifier(rules, [], 0.5, e).map((s) => s.score), [1, 1.5]);
  assert.equal(trainingPrior(rules, null), 2.5);
});

test('a server trained on mail without Date or Message-ID stops counting those rules; a rule that tells spam apart keeps its points', async () => {
  const db = new MemoryTokenDb();
  const f = new ContentFilter(db, { bayes: { ...DEFAULT_BAYES, minTrained: 20 } });
  // Mail through a gateway that drops Date and Message-ID: every message, ham or spam, lacks them.
  for (let i = 0; i < 30; i++) {
    const ham = msg({ From: `colleague${i}@work.test`, To: 'me@example.org', Subject: `minutes of meeting ${i}` }, `Here are the minutes of meeting ${i}. The budget review moves to Thursday.`);
    await f.learn(1, `h${i}`, ham, parseMessage(ham), 'ham');
    const spam = msg({ From: `promo${i}@pills.test`, To: 'me@example.org', Subject: `CHEAP VIAGRA ${i}` }, `Buy viagra ${i}, no prescription needed. Lowest prices online.`);
    await f.learn(1, `s${i}`, spam, parseMessage(spam), 'spam');
  }
  const probe = msg({ From: 'new@pills.test', To: 'me@example.org', Subject: 'viagra offer' }, 'Cheap viagra without prescription.');
  const signals = await f.signals(probe, parseMessage(probe));
  const score = (name: string) => signals.find((s) => s.name === name)?.score;
  // 60 hits in 60 messages against the smoothing's 5 at full trust: under a tenth of the points.
  assert.ok((score('MISSING_DATE') ?? 1) < 0.1, JSON.stringify(signals));
  assert.ok((score('MISSING_MSGID') ?? 1) < 0.05);
  assert.ok((score('PHARMA') ?? 0) > 0, JSON.stringify(signals));
  // Untrained, the same rules count in full.
  const fresh = await new ContentFilter(new MemoryTokenDb()).signals(probe, parseMessage(probe));
  assert.equal(fresh.find((s) => s.name === 'MISSING_DATE')?.score, 1);
});
