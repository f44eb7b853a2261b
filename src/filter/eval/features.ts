// What the evaluation computes per message, the same way the server does: parse, rules, tokens,
// then the Bayes probability against a token database and the combined verdict.
import { parseMessage } from '../../mime/index.js';
import { viewMessage } from '../message-view.js';
import type { RuleSet } from '../rules/engine.js';
import { tokenizeView, type TokenizeOptions } from '../bayes/tokenize.js';
import { classify, type BayesOptions } from '../bayes/classifier.js';
import type { MemoryTokenDb } from '../bayes/token-db.js';
import type { LogisticPoints } from '../bayes/logistic.js';
import type { RuleEvidence } from '../rules/trust.js';
import { bayesSignal, decide, ruleSignals, ruleTokens, withClassifier, type BayesPoints, type Thresholds, type Signal } from '../verdict.js';

export interface MessageFeatures {
  tokens: string[];
  rules: Signal[];
  ruleScore: number;
  refuse: boolean;
}

/** Tokens (with the rules' hits as tokens, as the server's ContentFilter.analyse) and rules. */
export function messageFeatures(raw: Buffer, rules: RuleSet, tok: TokenizeOptions, withTokens = true, withRules = true): MessageFeatures {
  const parsed = parseMessage(raw);
  const view = viewMessage(raw, parsed);
  const tokens = withTokens ? tokenizeView(view, tok) : [];
  if (!withRules) return { tokens, rules: [], ruleScore: 0, refuse: false };
  const r = rules.evaluate(view);
  if (withTokens) tokens.push(...ruleTokens(r.hits));
  return { tokens, rules: ruleSignals(r), ruleScore: r.score, refuse: r.refuse };
}

export interface JudgeOptions {
  bayes: BayesOptions | null;
  points: BayesPoints;
  thresholds: Thresholds;
  /** The logistic model's points; the defaults when absent. */
  logistic?: LogisticPoints;
  /** What text rules count with a trained classifier; TEXT_RULE_SCALE when absent. */
  textRuleScale?: number;
}

export interface Judged {
  verdict: 'ham' | 'spam' | 'reject';
  score: number;
  ruleScore: number;
  /** Bayes probability, null when Bayes is off or untrained. */
  p: number | null;
}

export function judge(f: MessageFeatures, db: MemoryTokenDb | null, o: JudgeOptions): Judged {
  let p: number | null = null;
  let classifier: Signal[] = [];
  let evidence: RuleEvidence | undefined;
  if (db !== null && o.bayes !== null) {
    const r = classify(f.tokens, { counts: db.countsSync(0), totals: db.totalsSync(0) }, null, o.bayes);
    p = r === null ? null : r.probability;
    classifier = bayesSignal(r, o.points, o.logistic);
    evidence = r?.rules;
  }
  const v = decide(withClassifier(f.rules, classifier, o.textRuleScale, evidence), o.thresholds, f.refuse);
  return { verdict: v.verdict, score: v.score, ruleScore: f.ruleScore, p };
}
