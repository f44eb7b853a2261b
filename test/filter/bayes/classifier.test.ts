import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BayesClassifier, chi2Q, classify, DEFAULT_BAYES } from '../../../src/filter/bayes/classifier.js';
import { MemoryTokenDb } from '../../../src/filter/bayes/token-db.js';
import { counts } from '../../helpers/counts.js';

const opts = { ...DEFAULT_BAYES, minTrained: 1 };
const spamMsg = (i: number) => ['cheap', 'pills', 'offer', 'click', `s${i}`];
const hamMsg = (i: number) => ['meeting', 'tomorrow', 'agenda', 'project', `h${i}`];

async function trained(n = 20): Promise<{ db: MemoryTokenDb; c: BayesClassifier }> {
  const db = new MemoryTokenDb();
  const c = new BayesClassifier(db, opts);
  for (let i = 0; i < n; i++) {
    await c.learn(`s${i}`, spamMsg(i), 'spam', [0]);
    await c.learn(`h${i}`, hamMsg(i), 'ham', [0]);
  }
  return { db, c };
}

test('chi2Q: known values and no underflow', () => {
  assert.ok(Math.abs(chi2Q(2, 2) - Math.exp(-1)) < 1e-12);
  assert.ok(Math.abs(chi2Q(4, 4) - 3 * Math.exp(-2)) < 1e-12);
  const tiny = chi2Q(3000, 300);
  assert.ok(tiny >= 0 && tiny < 1e-100);
  assert.equal(chi2Q(0, 10), 1);
});

test('classifier separates spam and ham; unsure on unknown words; none before enough training', async () => {
  const { c } = await trained();
  const s = await c.score(['cheap', 'pills', 'click'], null);
  const h = await c.score(['meeting', 'agenda', 'project'], null);
  const u = await c.score(['zebra', 'quantum'], null);
  assert.ok(s !== null && s.probability > 0.95, `spam p=${s?.probability}`);
  assert.ok(h !== null && h.probability < 0.05, `ham p=${h?.probability}`);
  assert.equal(u?.probability, 0.5);
  const empty = new BayesClassifier(new MemoryTokenDb(), DEFAULT_BAYES);
  assert.equal(await empty.score(['cheap'], null), null);
});

test('learn: once per message; same verdict again is a no-op', async () => {
  const { db, c } = await trained(5);
  const before = await db.getTotals(0);
  assert.deepEqual(await c.learn('s0', spamMsg(0), 'spam', [0]), []);
  assert.deepEqual(await db.getTotals(0), before);
  assert.equal((await db.getTokens(0, ['cheap'])).get('cheap')?.spam, 5);
});

test('learn: moving a message back and forth never double-counts', async () => {
  const { db, c } = await trained(5);
  for (let k = 0; k < 3; k++) {
    await c.learn('s0', spamMsg(0), 'ham', [0]);
    await c.learn('s0', spamMsg(0), 'spam', [0]);
    await c.learn('s0', spamMsg(0), 'ham', [0]);
  }
  assert.deepEqual(counts(await db.getTotals(0)), { ham: 6, spam: 4 });
  const cheap = (await db.getTokens(0, ['cheap'])).get('cheap');
  assert.deepEqual(counts(cheap), { ham: 1, spam: 4 });
  await c.learn('s0', spamMsg(0), null, [0]);
  assert.deepEqual(counts(await db.getTotals(0)), { ham: 5, spam: 4 });
  assert.equal((await db.getTokens(0, ['s0'])).size, 0);
});

test('per-user database sharpens the global one', async () => {
  const { c } = await trained(30);
  // Globally, newsletters look like ham; this user calls them spam.
  for (let i = 0; i < 5; i++) await c.learn(`n${i}`, ['newsletter', 'weekly', 'digest', 'agenda'], 'ham', [0]);
  const nl = ['newsletter', 'weekly', 'digest'];
  const globalP = (await c.score(nl, null))!.probability;
  const beforeUser = (await c.score(nl, 7))!.probability;
  assert.equal(beforeUser, globalP, 'an account without training uses the global view');
  for (let i = 0; i < 15; i++) await c.learn(`u${i}`, ['newsletter', 'weekly', 'digest', `x${i}`], 'spam', [7]);
  const userP = (await c.score(nl, 7))!.probability;
  assert.ok(globalP < 0.1, `global p=${globalP}`);
  assert.ok(userP > 0.8, `user p=${userP}`);
  // Another account still sees the global view, and the user's ham side stays global.
  assert.equal((await c.score(nl, 8))!.probability, globalP);
  assert.ok((await c.score(['meeting', 'agenda', 'project'], 7))!.probability < 0.1);
});

test('classify: most significant clues only, deterministic', () => {
  const counts = new Map<string, { ham: number; spam: number }>();
  for (let i = 0; i < 500; i++) counts.set(`t${i}`, { ham: i % 2 === 0 ? 10 : 0, spam: i % 2 === 0 ? 0 : 10 });
  const side = { counts, totals: { ham: 100, spam: 100 } };
  const toks = [...counts.keys()];
  const a = classify(toks, side, null, { ...opts, maxClues: 40 })!;
  assert.equal(a.clues.length, 40);
  assert.deepEqual(classify([...toks].reverse(), side, null, { ...opts, maxClues: 40 }), a);
});

test('classify: the clues of sorting every candidate, with ties, repeated tokens, family caps and tiling', () => {
  // Reference: every distinct token's f, sorted by deviation then name, capped per family.
  const reference = (tokens: string[], counts: Map<string, { ham: number; spam: number }>, o: typeof opts) => {
    const all = [...new Set(tokens)].flatMap((t) => {
      const c = counts.get(t);
      if (c === undefined) return [];
      const rs = c.spam / 100, rh = c.ham / 100;
      if (rs + rh === 0) return [];
      const n = c.ham + c.spam;
      const f = (o.strength * o.unknown + n * (rs / (rs + rh))) / (o.strength + n);
      return Math.abs(f - 0.5) >= o.minDev ? [{ token: t, f, d: Math.abs(f - 0.5) }] : [];
    }).sort((a, b) => b.d - a.d || (a.token < b.token ? -1 : 1));
    // Tiling: the words a clue covers (a pair its two, a word itself; subject apart from body).
    const covers = (t: string): string[] => {
      const m = /^(subj:)?bi:(\S+) (.+)$/.exec(t);
      if (m !== null) return [(m[1] ?? '') + m[2], (m[1] ?? '') + m[3]];
      if (t.startsWith('subj:') || t.indexOf(':') <= 0) return [t];
      return [];
    };
    const used = new Map<string, number>();
    const taken = new Set<string>();
    return all.filter((c) => {
      const fam = c.token.includes(':') ? c.token.slice(0, c.token.indexOf(':')) : '';
      const cap = o.familyCaps?.[fam];
      const u = used.get(fam) ?? 0;
      if (cap !== undefined && u >= cap) return false;
      const words = o.tile === true ? covers(c.token) : [];
      if (words.some((w) => taken.has(w))) return false;
      for (const w of words) taken.add(w);
      used.set(fam, u + 1);
      return true;
    }).slice(0, o.maxClues).map((c) => ({ token: c.token, f: c.f }));
  };
  let seed = 7;
  const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
  for (let round = 0; round < 200; round++) {
    const counts = new Map<string, { ham: number; spam: number }>();
    // Few distinct counts, so many tokens share a deviation and the name decides.
    // Words from a small vocabulary, so that pairs and words overlap often (tiling).
    const word = () => `w${rnd(40)}`;
    for (let i = 0; i < 300; i++) {
      const t = ['', 'html:', 'bi:', 'part:', ':', 'subj:', 'subj:bi:'][rnd(7)];
      counts.set(t.endsWith('bi:') && rnd(4) > 0 ? `${t}${word()} ${word()}` : t + `w${rnd(500)}`, { ham: rnd(4), spam: rnd(4) });
    }
    const vocab = [...counts.keys(), 'unseen1', 'unseen2'];
    const tokens = Array.from({ length: rnd(400) }, () => vocab[rnd(vocab.length)]);
    const caps = [undefined, { html: 3, bi: 10 }, { html: 1, part: 0, '': 4 }, { '': 0, bi: 2 }, { subj: 2, html: 0 }, DEFAULT_BAYES.familyCaps][rnd(6)];
    const o = { ...opts, maxClues: [1, 5, 40, 500][rnd(4)], familyCaps: caps, tile: rnd(3) > 0 };
    const r = classify(tokens, { counts, totals: { ham: 100, spam: 100 } }, null, o)!;
    assert.deepEqual(r.clues, reference(tokens, counts, o));
  }
});

test('classify tiles: a pair and its words are never clues together, and weaker clues take their place', () => {
  const counts = new Map<string, { ham: number; spam: number }>([
    ['bi:claim your', { ham: 0, spam: 50 }], ['claim', { ham: 0, spam: 40 }], ['your', { ham: 0, spam: 30 }],
    ['bi:your prize', { ham: 0, spam: 20 }], ['prize', { ham: 0, spam: 10 }], ['subj:claim', { ham: 0, spam: 5 }],
    ['meeting', { ham: 3, spam: 0 }],
  ]);
  const side = { counts, totals: { ham: 100, spam: 100 } };
  const tokens = [...counts.keys()];
  const clues = (tile: boolean) => classify(tokens, side, null, { ...opts, maxClues: 4, tile })!.clues.map((c) => c.token);
  // Untiled, the strongest four include the pair and both of its words (one piece of evidence
  // counted three times); tiled, "claim" and "your" and the pair sharing "your" give way.
  assert.deepEqual(clues(false), ['bi:claim your', 'claim', 'your', 'bi:your prize']);
  assert.deepEqual(clues(true), ['bi:claim your', 'prize', 'subj:claim', 'meeting']);
  assert.equal(DEFAULT_BAYES.tile, true);
});

test('classify tiles exactly when the strongest candidates nearly all overlap (every candidate walked)', () => {
  // 200 strong pairs that all share "x": one can be a clue. The 40 clues must then come from
  // the weaker words below them, beyond the 3·40 strongest candidates.
  const counts = new Map<string, { ham: number; spam: number }>();
  for (let i = 0; i < 200; i++) counts.set(`bi:x w${i}`, { ham: 0, spam: 60 + (i % 7) });
  for (let i = 0; i < 100; i++) counts.set(`v${i}`, { ham: 0, spam: 5 + (i % 5) });
  const side = { counts, totals: { ham: 100, spam: 100 } };
  const r = classify([...counts.keys()], side, null, { ...opts, maxClues: 40 })!;
  const pairs = r.clues.filter((c) => c.token.startsWith('bi:'));
  assert.equal(pairs.length, 1);
  assert.equal(r.clues.length, 40);
  // The 39 strongest of the words, in clue order.
  const words = [...counts.keys()].filter((t) => t.startsWith('v')).sort((a, b) => (counts.get(b)!.spam - counts.get(a)!.spam) || (a < b ? -1 : 1)).slice(0, 39);
  assert.deepEqual(r.clues.slice(1).map((c) => c.token), words);
});
