// Keeping token databases to a size. Every trained message adds the tokens it brings for the
// first time (mostly word pairs that will never be seen again), so a database left alone grows
// for ever: the global one past what the filter's in-memory copy holds (token-cache.ts), an
// account's past any fair share of the disk. As SpamAssassin's Bayes expiry does, what has not
// been trained for longest goes first; among tokens last trained the same day, the rarest.
// Tokens of current mail keep being trained, so they stay.
import type { Store } from '../../store/types.js';

export interface TokenLimits {
  /** Most tokens in the global database (scope 0). */
  global: number;
  /** Most tokens in one account's database. */
  account: number;
  /** Share of the limit kept after an expiry, so that it does not run again at every check
   * (default KEEP_AFTER_EXPIRY). */
  keep?: number;
}

/** After an expiry three quarters of the limit remain, as with SpamAssassin. */
export const KEEP_AFTER_EXPIRY = 0.75;

export interface ExpiryResult {
  scope: number;
  tokens: number;
  removed: number;
  /** Why this database could not be checked (the others still are). */
  error?: string;
}

export class TokenExpiry {
  private running: Promise<ExpiryResult[]> | null = null;

  constructor(private readonly store: Pick<Store, 'tokenScopesToCheck' | 'expireTokens'>, private readonly limits: TokenLimits) {}

  /** Checks every database trained since it was last checked (the store remembers, across
   * restarts) and shrinks those over their limit; returns those it shrank or could not check.
   * A run while one is going joins it. Stops between batches when `signal` aborts. */
  run(signal?: AbortSignal): Promise<ExpiryResult[]> {
    this.running ??= this.check(signal).finally(() => { this.running = null; });
    return this.running;
  }

  private async check(signal?: AbortSignal): Promise<ExpiryResult[]> {
    const out: ExpiryResult[] = [];
    for (const scope of await this.store.tokenScopesToCheck()) {
      if (signal?.aborted) break;
      const max = scope === 0 ? this.limits.global : this.limits.account;
      try {
        const r = await this.store.expireTokens(scope, max, Math.floor(max * (this.limits.keep ?? KEEP_AFTER_EXPIRY)), signal);
        if (r.removed > 0) out.push({ scope, ...r });
      } catch (e) {
        if (signal?.aborted) break;
        out.push({ scope, tokens: 0, removed: 0, error: (e as Error).message });
      }
    }
    return out;
  }
}
