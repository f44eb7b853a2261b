// Token counts without the logistic model's weight and bias that ride along with them, for tests
// about what was counted.
import type { TokenCounts } from '../../src/filter/bayes/token-db.js';

export const counts = (c: TokenCounts | undefined): { ham: number; spam: number } | undefined => (c === undefined ? undefined : { ham: c.ham, spam: c.spam });

export const countsOf = (m: Map<string, TokenCounts>): Record<string, { ham: number; spam: number } | undefined> =>
  Object.fromEntries([...m].map(([t, c]) => [t, counts(c)]));
