// The global token database (scope 0) held in memory by the process that filters mail. Every
// message looks up a few hundred tokens; from SQLite that was the largest single cost of
// judging a message at SMTP time (about 1.7 ms of a json_each query). The store remains the
// truth: training goes to it first, and the copy follows. Each training raises the database's
// version in the store; the copy checks it per message (one indexed row) and, when another
// process trained (`fjord spam train`, a second server on the same data), reads the database
// again. Account databases are small and read from the store as before.
import type { TokenCounts, TokenDb } from './token-db.js';
import { TokenTable } from './token-db.js';

/** What the cache needs of the store besides TokenDb. */
export interface VersionedTokenDb extends TokenDb {
  tokenVersion(scope: number): Promise<number>;
  tokenSnapshot(scope: number, max: number, each: (token: string, ham: number, spam: number, w: number) => void): Promise<{ totals: TokenCounts; version: number; tokens: number } | null>;
}

export interface TokenCacheOptions {
  /** Above this many global tokens the copy is not kept (memory: 48-96 bytes a token: counts
   * and weight, 24 bytes a slot, in a table a quarter to half full). */
  maxTokens: number;
  /** How long a database found too big is answered from the store before it is counted again
   * (default 10 minutes). */
  retryMs?: number;
}

export const DEFAULT_TOKEN_CACHE: TokenCacheOptions = { maxTokens: 4_000_000 };

interface Copy { table: TokenTable; totals: TokenCounts; version: number }

export class CachedTokenDb implements TokenDb {
  private copy: Copy | null = null;
  /** The check in progress: lookups of one message (tokens and totals) share one version query. */
  private checking: Promise<Copy | null> | null = null;
  /** Set when the global database outgrew maxTokens: the store answers, as without a cache,
   * until the database changed (expiry shrinks it) and retryMs passed since the last try. */
  private tooBig: { version: number; at: number } | null = null;
  /** Reads of the whole database so far (for tests and logs). */
  loads = 0;

  constructor(private readonly store: VersionedTokenDb, private readonly opts: TokenCacheOptions = DEFAULT_TOKEN_CACHE) {}

  /** The current copy, read again if the store's version moved; null when not cached. */
  private current(): Promise<Copy | null> {
    if (this.tooBig !== null && Date.now() - this.tooBig.at < (this.opts.retryMs ?? 600_000)) return Promise.resolve(null);
    this.checking ??= this.check().finally(() => { this.checking = null; });
    return this.checking;
  }

  private async check(): Promise<Copy | null> {
    const version = await this.store.tokenVersion(0);
    if (this.tooBig !== null) {
      if (this.tooBig.version === version) { this.tooBig.at = Date.now(); return null; }
      return this.load(version);
    }
    return this.copy !== null && this.copy.version === version ? this.copy : this.load(version);
  }

  private async load(version: number): Promise<Copy | null> {
    const table = new TokenTable();
    const snap = await this.store.tokenSnapshot(0, this.opts.maxTokens, (t, ham, spam, w) => table.set(t, ham, spam, w));
    this.loads++;
    if (snap === null) { this.tooBig = { version, at: Date.now() }; this.copy = null; return null; }
    this.tooBig = null;
    this.copy = { table, totals: snap.totals, version: snap.version };
    return this.copy;
  }

  async getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>> {
    const c = scope === 0 ? await this.current() : null;
    return c === null ? this.store.getTokens(scope, tokens) : c.table.pick(tokens);
  }

  async getTotals(scope: number): Promise<TokenCounts> {
    const c = scope === 0 ? await this.current() : null;
    return c === null ? this.store.getTotals(scope) : { ...c.totals };
  }

  async addTokens(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1, prior = 0): Promise<void> {
    // The copy as it was before our write: only if the store then moved by exactly our write can
    // the copy follow it (taken after the write, a copy reloaded meanwhile, which may already
    // hold it, would be stepped over another process's training).
    const c = scope === 0 ? this.copy : null;
    await this.store.addTokens(scope, tokens, verdict, delta, prior);
    if (c === null) return;
    // Follow our own training, unless someone else trained in between (then the next lookup
    // reads the database again): the message's rows as the store now has them, since counting a
    // message also moved the logistic weights of its tokens and the model's bias. A copy
    // replaced meanwhile is left alone: its next use checks it against the store's version.
    const version = await this.store.tokenVersion(0);
    if (this.copy !== c) return;
    if (version !== c.version + 1) { this.copy = null; return; }
    const uniq = [...new Set(tokens)];
    const [rows, totals] = await Promise.all([this.store.getTokens(0, uniq), this.store.getTotals(0)]);
    const now = await this.store.tokenVersion(0);
    if (this.copy !== c) return;
    if (now !== version || c.version + 1 !== version) { this.copy = null; return; }
    for (const t of uniq) {
      const r = rows.get(t);
      c.table.set(t, r?.ham ?? 0, r?.spam ?? 0, r?.w ?? 0);
    }
    c.totals = { ...totals };
    c.version = version;
  }

  markTrained(scope: number, key: string, verdict: 'spam' | 'ham' | null): Promise<'spam' | 'ham' | null> {
    return this.store.markTrained(scope, key, verdict);
  }
}
