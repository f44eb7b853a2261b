// Token expiry (src/filter/bayes/expiry.ts) on a global database at twice a busy provider's
// size: how long it takes to drop a million tokens, and the longest the event loop stalls
// meanwhile (the server keeps judging mail while its hourly upkeep runs).
import fs from 'node:fs';
import { tempDir } from '../test/helpers/system.js';
import { openStore } from '../src/store/index.js';

export interface ExpiryBenchResult {
  tokens: number;
  removed: number;
  seconds: number;
  tokensPerSec: number;
  /** Longest event-loop stall while expiring, ms. */
  maxStallMs: number;
  /** A check of a database under its limit (the hourly no-op): ms. */
  checkUnderLimitMs: number;
}

/** Measures the event loop's longest stall while `fn` runs. */
async function stalls<T>(fn: () => Promise<T>): Promise<{ value: T; maxStallMs: number; ms: number }> {
  let max = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, maxStallMs: Math.round(max), ms: performance.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

export async function benchTokenExpiry(days = 50, perDay = 50_000): Promise<ExpiryBenchResult> {
  const data = tempDir('fjord-bench-expiry-');
  const store = await openStore({ dataDir: data });
  try {
    // Each day ten messages of 5,000 new tokens, as word pairs of a corpus mostly are.
    for (let d = 0; d < days; d++) {
      for (let m = 0; m < perDay / 5000; m++) {
        const tokens = Array.from({ length: 5000 }, (_, i) => `bi:w${d}x${m} t${i}`);
        await store.addTokens(0, tokens, m % 2 ? 'ham' : 'spam', 1, 0, new Date(Date.now() - (days - d) * 86_400_000));
      }
    }
    const tokens = days * perDay;
    const max = Math.round(tokens * 0.8);
    const target = Math.round(tokens * 0.6);
    const check = await stalls(() => store.expireTokens(0, tokens, target));
    const run = await stalls(() => store.expireTokens(0, max, target));
    return {
      tokens, removed: run.value.removed, seconds: Math.round(run.ms / 100) / 10,
      tokensPerSec: Math.round(run.value.removed / (run.ms / 1000)), maxStallMs: run.maxStallMs, checkUnderLimitMs: Math.round(check.ms),
    };
  } finally {
    await store.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
}
