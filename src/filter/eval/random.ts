// A seeded random generator for evaluation runs that must be the same each time (training
// order, synthetic corpora): mulberry32, a full-period 32-bit generator in integer arithmetic.
// (A classic LCG computed in doubles loses its low bits past 2^53 and falls into a short cycle.)
export function seededRandom(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
