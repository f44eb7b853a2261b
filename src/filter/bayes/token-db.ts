// Token counts for the Bayes classifier, by scope: 0 is the server-wide database, any other
// number an account's own. The Store implements the same four methods on SQLite; MemoryTokenDb
// serves evaluation runs and tests.

export interface TokenCounts { ham: number; spam: number }

export interface TokenDb {
  /** scope 0 = global database, otherwise an account id */
  getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>>;
  /** Messages trained as ham / spam. */
  getTotals(scope: number): Promise<TokenCounts>;
  /** Adds (delta 1) or removes (delta -1) one message's tokens; also adjusts the totals. */
  addTokens(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1): Promise<void>;
  /** Records that message `key` was trained as verdict in scope; returns the previous verdict or null. */
  markTrained(scope: number, key: string, verdict: 'spam' | 'ham' | null): Promise<'spam' | 'ham' | null>;
}

interface Scope {
  tokens: Map<string, TokenCounts>;
  totals: TokenCounts;
  trained: Map<string, 'spam' | 'ham'>;
}

export class MemoryTokenDb implements TokenDb {
  private readonly scopes = new Map<number, Scope>();

  private scope(n: number): Scope {
    let s = this.scopes.get(n);
    if (s === undefined) {
      s = { tokens: new Map(), totals: { ham: 0, spam: 0 }, trained: new Map() };
      this.scopes.set(n, s);
    }
    return s;
  }

  /** Synchronous lookups for hot loops (evaluation); same data as getTokens. */
  countsSync(scope: number): ReadonlyMap<string, TokenCounts> { return this.scope(scope).tokens; }
  totalsSync(scope: number): TokenCounts { return { ...this.scope(scope).totals }; }

  async getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>> {
    const s = this.scope(scope);
    const out = new Map<string, TokenCounts>();
    for (const t of tokens) {
      const c = s.tokens.get(t);
      if (c !== undefined) out.set(t, { ham: c.ham, spam: c.spam });
    }
    return out;
  }

  async getTotals(scope: number): Promise<TokenCounts> {
    return { ...this.scope(scope).totals };
  }

  async addTokens(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1): Promise<void> {
    this.addSync(scope, tokens, verdict, delta);
  }

  addSync(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1): void {
    const s = this.scope(scope);
    for (const t of new Set(tokens)) {
      let c = s.tokens.get(t);
      if (c === undefined) {
        if (delta < 0) continue;
        c = { ham: 0, spam: 0 };
        s.tokens.set(t, c);
      }
      c[verdict] = Math.max(0, c[verdict] + delta);
      if (c.ham === 0 && c.spam === 0) s.tokens.delete(t);
    }
    s.totals[verdict] = Math.max(0, s.totals[verdict] + delta);
  }

  async markTrained(scope: number, key: string, verdict: 'spam' | 'ham' | null): Promise<'spam' | 'ham' | null> {
    const s = this.scope(scope);
    const prev = s.trained.get(key) ?? null;
    if (verdict === null) s.trained.delete(key); else s.trained.set(key, verdict);
    return prev;
  }

  /** Plain-data copy (for handing to worker threads). */
  exportScope(scope: number): { tokens: [string, number, number][]; totals: TokenCounts } {
    const s = this.scope(scope);
    const tokens: [string, number, number][] = [];
    for (const [t, c] of s.tokens) tokens.push([t, c.ham, c.spam]);
    return { tokens, totals: { ...s.totals } };
  }

  importScope(scope: number, data: { tokens: [string, number, number][]; totals: TokenCounts }): void {
    const s = this.scope(scope);
    for (const [t, ham, spam] of data.tokens) s.tokens.set(t, { ham, spam });
    s.totals = { ...data.totals };
  }
}
