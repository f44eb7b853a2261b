// Token counts for the Bayes classifier, by scope: 0 is the server-wide database, any other
// number an account's own. The Store implements the same four methods on SQLite; MemoryTokenDb
// serves evaluation runs and tests.
import type { TrainItem } from '../../store/types.js';
import { DEFAULT_LOGISTIC, logisticStep, stepScratch, type LogisticOptions } from './logistic.js';

/** A token's counts (and, in the global database, its logistic weight `w`); as a scope's totals,
 * the messages trained (and the logistic model's `bias` and the ham and spam it learnt from). */
export interface TokenCounts { ham: number; spam: number; w?: number; bias?: number; lrHam?: number; lrSpam?: number }

export interface TokenDb {
  /** scope 0 = global database, otherwise an account id */
  getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>>;
  /** Messages trained as ham / spam. */
  getTotals(scope: number): Promise<TokenCounts>;
  /** Adds (delta 1) or removes (delta -1) one message's tokens; also adjusts the totals. Counting
   * into the global database is also a step of its logistic model, from `prior` (the log-odds the
   * other signals give the message; 0 when absent). */
  addTokens(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1, prior?: number): Promise<void>;
  /** Records that message `key` was trained as verdict in scope; returns the previous verdict or null. */
  markTrained(scope: number, key: string, verdict: 'spam' | 'ham' | null): Promise<'spam' | 'ham' | null>;
  /** Optional: many messages' training committed at once (the store's one transaction); returns
   * how many changed. Without it, BayesClassifier.learnMany trains them one by one. */
  trainMessages?(scope: number, items: readonly TrainItem[]): Promise<number>;
}

/** Read-only token lookups (a Map qualifies). */
export interface TokenLookup {
  get(token: string): TokenCounts | undefined;
  /** Optional allocation-free form of get: copies the counts into `out` and returns true, or
   * returns false (leaving `out` as it was) where get would return undefined. */
  getInto?(token: string, out: TokenCounts): boolean;
  readonly size: number;
}

/** Plain-data copy of one scope, for handing to worker threads: one [h1, h2, ham, spam] row per
 * token, in an array that can be transferred rather than copied, and the tokens' weights. */
export interface ScopeExport { entries: Int32Array; weights: Float64Array; totals: TokenCounts }

/** 63 bits of hash per token, from two 32-bit string hashes computed in one pass. */
function hashToken(t: string, out: Int32Array): void {
  let a = 0x811c9dc5 | 0, b = 0x9747b28c | 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16; a = Math.imul(a, 0x85ebca6b); a ^= a >>> 13;
  out[0] = a;
  out[1] = b | 1; // never 0: 0 marks an empty slot
}

/** One scope's counts as an open-addressing table over token hashes: [h1, h2, ham, spam] per slot
 * in one Int32Array. A global database holds hundreds of thousands of tokens; as a Map of string
 * keys and count objects every lookup costs several cache misses and every major garbage
 * collection walks all of them. Here a lookup is mostly one cache line and the collector sees
 * one array. Two tokens share counts only if their 63-bit hashes collide (odds about n²/2⁶⁴:
 * negligible at millions of tokens). Tokens at zero on both sides stay as empty rows. */
export class TokenTable implements TokenLookup {
  private table = new Int32Array(4 * 1024);
  /** Per slot: the token's logistic weight, and (only once trained here) its AdaGrad sum. */
  private weights = new Float64Array(1024);
  private g2: Float64Array | null = null;
  private mask = 1023;
  private rows = 0;
  private live = 0;
  private readonly h = new Int32Array(2);

  get size(): number { return this.live; }

  private find(h1: number, h2: number): number {
    const t = this.table;
    let i = h1 & this.mask;
    for (;;) {
      const k = i * 4;
      if (t[k + 1] === 0 || (t[k] === h1 && t[k + 1] === h2)) return k;
      i = (i + 1) & this.mask;
    }
  }

  get(token: string): TokenCounts | undefined {
    const k = this.row(token);
    return k < 0 ? undefined : { ham: this.table[k + 2], spam: this.table[k + 3], w: this.weights[k >> 2] };
  }

  /** get without the result object: the classifier looks up every token of every message, and
   * a fresh object per found token was a good part of its garbage. */
  getInto(token: string, out: TokenCounts): boolean {
    const k = this.row(token);
    if (k < 0) return false;
    out.ham = this.table[k + 2];
    out.spam = this.table[k + 3];
    out.w = this.weights[k >> 2];
    return true;
  }

  /** One logistic training step on a message's distinct tokens (already counted, so present),
   * from the other signals' log-odds `prior`; returns the new bias. */
  step(tokens: readonly string[], spam: boolean, bias: number, prior = 0, o: LogisticOptions = DEFAULT_LOGISTIC): number {
    const g2 = (this.g2 ??= new Float64Array(this.weights.length));
    const slots: number[] = [];
    for (const t of tokens) {
      const k = this.row(t);
      if (k >= 0) slots.push(k >> 2);
    }
    const { w, g2: sg } = stepScratch(slots.length);
    for (let i = 0; i < slots.length; i++) { w[i] = this.weights[slots[i]]; sg[i] = g2[slots[i]]; }
    const b = logisticStep(w, sg, slots.length, bias, spam, prior, o);
    for (let i = 0; i < slots.length; i++) { this.weights[slots[i]] = w[i]; g2[slots[i]] = sg[i]; }
    return b;
  }

  /** The counts of those of `tokens` the table has, as TokenDb.getTokens answers. */
  pick(tokens: string[]): Map<string, TokenCounts> {
    const out = new Map<string, TokenCounts>();
    for (const t of tokens) {
      const c = this.get(t);
      if (c !== undefined) out.set(t, c);
    }
    return out;
  }

  /** Offset of the token's row, or -1 when absent or at zero on both sides. */
  private row(token: string): number {
    hashToken(token, this.h);
    const k = this.find(this.h[0], this.h[1]);
    const t = this.table;
    return t[k + 1] === 0 || (t[k + 2] === 0 && t[k + 3] === 0) ? -1 : k;
  }

  /** Adds delta to one side of a token (never below zero). */
  add(token: string, side: 'ham' | 'spam', delta: number): void {
    hashToken(token, this.h);
    this.update(this.h[0], this.h[1], side === 'ham' ? delta : 0, side === 'spam' ? delta : 0, false);
  }

  /** Sets both counts (and the weight) of a token. */
  set(token: string, ham: number, spam: number, w = 0): void {
    hashToken(token, this.h);
    const k = this.update(this.h[0], this.h[1], ham, spam, true);
    if (k >= 0) this.weights[k >> 2] = w;
  }

  /** Returns the row's offset, or -1 when no row was made (nothing to add to an absent token). */
  private update(h1: number, h2: number, ham: number, spam: number, replace: boolean): number {
    let k = this.find(h1, h2);
    let t = this.table;
    if (t[k + 1] === 0) {
      if (ham <= 0 && spam <= 0) return -1;
      if ((this.rows + 1) * 2 > this.mask + 1) { this.grow(); k = this.find(h1, h2); t = this.table; }
      t[k] = h1; t[k + 1] = h2;
      this.weights[k >> 2] = 0;
      if (this.g2 !== null) this.g2[k >> 2] = 0;
      this.rows++;
    }
    const was = t[k + 2] > 0 || t[k + 3] > 0;
    t[k + 2] = Math.max(0, (replace ? 0 : t[k + 2]) + ham);
    t[k + 3] = Math.max(0, (replace ? 0 : t[k + 3]) + spam);
    const is = t[k + 2] > 0 || t[k + 3] > 0;
    if (was !== is) {
      this.live += is ? 1 : -1;
      // A token at zero is gone, as the store deletes its row: if it comes back, it starts over.
      if (!is) { this.weights[k >> 2] = 0; if (this.g2 !== null) this.g2[k >> 2] = 0; }
    }
    return k;
  }

  private grow(): void {
    const old = this.table, oldW = this.weights, oldG = this.g2;
    this.table = new Int32Array(old.length * 2);
    this.weights = new Float64Array(oldW.length * 2);
    this.g2 = oldG === null ? null : new Float64Array(oldG.length * 2);
    this.mask = this.mask * 2 + 1;
    for (let k = 0; k < old.length; k += 4) {
      if (old[k + 1] === 0) continue;
      const n = this.find(old[k], old[k + 1]);
      this.table.set(old.subarray(k, k + 4), n);
      this.weights[n >> 2] = oldW[k >> 2];
      if (oldG !== null) this.g2![n >> 2] = oldG[k >> 2];
    }
  }

  /** Adds `other`'s weights to this table's, row by row (a table that counted the same
   * messages, its model trained in another order; a row it lacks adds 0). */
  addWeights(other: TokenTable): void {
    const t = this.table;
    for (let k = 0; k < t.length; k += 4) {
      if (t[k + 1] === 0) continue;
      const at = other.find(t[k], t[k + 1]);
      if (other.table[at + 1] !== 0) this.weights[k >> 2] += other.weights[at >> 2];
    }
  }

  scaleWeights(f: number): void {
    for (let i = 0; i < this.weights.length; i++) this.weights[i] *= f;
  }

  /** The token's logistic weight and AdaGrad sum, when it has a row. */
  model(token: string): [number, number] | undefined {
    const k = this.row(token);
    return k < 0 ? undefined : [this.weights[k >> 2], this.g2?.[k >> 2] ?? 0];
  }

  export(totals: TokenCounts): ScopeExport {
    const entries = new Int32Array(this.live * 4);
    const weights = new Float64Array(this.live);
    let n = 0;
    const t = this.table;
    for (let k = 0; k < t.length; k += 4) {
      if (t[k + 1] === 0 || (t[k + 2] === 0 && t[k + 3] === 0)) continue;
      entries.set(t.subarray(k, k + 4), n);
      weights[n >> 2] = this.weights[k >> 2];
      n += 4;
    }
    return { entries, weights, totals: { ...totals } };
  }

  import(data: ScopeExport): void {
    const e = data.entries;
    for (let k = 0; k < e.length; k += 4) {
      const at = this.update(e[k], e[k + 1], e[k + 2], e[k + 3], true);
      if (at >= 0) this.weights[at >> 2] = data.weights[k >> 2];
    }
  }
}

interface Scope {
  tokens: TokenTable;
  totals: TokenCounts;
  trained: Map<string, 'spam' | 'ham'>;
}

export class MemoryTokenDb implements TokenDb {
  private readonly scopes = new Map<number, Scope>();

  /** `logistic`: how the global database's model learns (the store's always by the defaults). */
  constructor(private readonly logistic: LogisticOptions = DEFAULT_LOGISTIC) {}

  private scope(n: number): Scope {
    let s = this.scopes.get(n);
    if (s === undefined) {
      s = { tokens: new TokenTable(), totals: { ham: 0, spam: 0 }, trained: new Map() };
      this.scopes.set(n, s);
    }
    return s;
  }

  /** Synchronous lookups for hot loops (evaluation); same data as getTokens. */
  countsSync(scope: number): TokenLookup { return this.scope(scope).tokens; }
  totalsSync(scope: number): TokenCounts { return { ...this.scope(scope).totals }; }

  async getTokens(scope: number, tokens: string[]): Promise<Map<string, TokenCounts>> {
    return this.scope(scope).tokens.pick(tokens);
  }

  async getTotals(scope: number): Promise<TokenCounts> {
    return { ...this.scope(scope).totals };
  }

  async addTokens(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1, prior = 0): Promise<void> {
    this.addSync(scope, tokens, verdict, delta, prior);
  }

  addSync(scope: number, tokens: string[], verdict: 'spam' | 'ham', delta: 1 | -1, prior = 0): void {
    const s = this.scope(scope);
    const uniq = [...new Set(tokens)];
    for (const t of uniq) s.tokens.add(t, verdict, delta);
    s.totals[verdict] = Math.max(0, s.totals[verdict] + delta);
    // The global database's logistic model learns from each message trained (as the store's).
    if (scope === 0 && delta > 0) {
      s.totals.bias = s.tokens.step(uniq, verdict === 'spam', s.totals.bias ?? 0, prior, this.logistic);
      if (verdict === 'spam') s.totals.lrSpam = (s.totals.lrSpam ?? 0) + 1; else s.totals.lrHam = (s.totals.lrHam ?? 0) + 1;
    }
  }

  async markTrained(scope: number, key: string, verdict: 'spam' | 'ham' | null): Promise<'spam' | 'ham' | null> {
    const s = this.scope(scope);
    const prev = s.trained.get(key) ?? null;
    if (verdict === null) s.trained.delete(key); else s.trained.set(key, verdict);
    return prev;
  }

  /** Adds `other`'s global logistic model (weights and bias) to this one's: a database that
   * counted the same messages and trained its model in another order. After K-1 of them,
   * scaleModel(1/K) leaves the mean model; as each token counts alike in every model's margin,
   * its margin is the mean of their margins. The AdaGrad sums stay this model's (further
   * training starts from them). */
  addModel(other: MemoryTokenDb): void {
    const s = this.scope(0);
    s.tokens.addWeights(other.scope(0).tokens);
    s.totals.bias = (s.totals.bias ?? 0) + (other.scope(0).totals.bias ?? 0);
  }

  scaleModel(f: number): void {
    const s = this.scope(0);
    s.tokens.scaleWeights(f);
    s.totals.bias = (s.totals.bias ?? 0) * f;
  }

  /** A global token's logistic weight and AdaGrad sum (for writing a model trained here into
   * the store). */
  modelOf(token: string): [number, number] | undefined {
    return this.scope(0).tokens.model(token);
  }

  /** Plain-data copy (for handing to worker threads). */
  exportScope(scope: number): ScopeExport {
    const s = this.scope(scope);
    return s.tokens.export(s.totals);
  }

  importScope(scope: number, data: ScopeExport): void {
    const s = this.scope(scope);
    s.tokens.import(data);
    s.totals = { ...data.totals };
  }
}
