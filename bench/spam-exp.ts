// Experiment harness (development aid; train split only): featurise once, cache in /tmp/fx, and run
// 5-fold CV variants quickly, with FN at fixed FP budgets (the frontier) besides the default threshold.
//   node dist/bench/spam-exp.js [--tag name] [--refeat] [--consistency]
//     [--variants '[["name",{"familyCaps":{"html":5,"bi":30}}]]']   Bayes option variants
//     [--bonus '{"rcvdx:rdns-from-dom":-1.5}']   extra points when a token is present (rule prototypes)
//     [--points '{"scale":3,"min":-3,"max":5}'] [--fp] [--clues file-substring,...]
import fs from 'node:fs';
import path from 'node:path';
import { readCorpus } from '../src/filter/eval/corpus.js';
import { EvalPool, trainDb, judgeOptions } from '../src/filter/eval/evaluate.js';
import type { MessageFeatures } from '../src/filter/eval/features.js';
import { classify, DEFAULT_BAYES, type BayesOptions } from '../src/filter/bayes/classifier.js';
import { DEFAULT_TOKENIZE } from '../src/filter/bayes/tokenize.js';
import type { TokenCounts, TokenLookup } from '../src/filter/bayes/token-db.js';
import { bayesPoints, DEFAULT_BAYES_POINTS, DEFAULT_THRESHOLDS } from '../src/filter/verdict.js';

const args = process.argv.slice(2);
const opt = (n: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const corpus = '/work/shared/corpora/spamassassin';
const tag = opt('--tag') ?? 'base';
fs.mkdirSync('/tmp/fx', { recursive: true });
const cacheFile = `/tmp/fx/feats-${tag}.json`;
const train = readCorpus(corpus).filter((e) => e.split === 'train');
let feats: MessageFeatures[];
if (!args.includes('--refeat') && fs.existsSync(cacheFile)) feats = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
else {
  const t0 = performance.now();
  const pool = new EvalPool({ rulesFile: null, tokenize: { ...DEFAULT_TOKENIZE, consistency: args.includes('--consistency') }, judge: judgeOptions() }, 2);
  try { feats = await pool.map<MessageFeatures>({ op: 'features', files: train.map((e) => e.file), rules: true }); } finally { await pool.close(); }
  console.log(`featurised in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  fs.writeFileSync(cacheFile, JSON.stringify(feats));
}
const labels = train.map((e) => e.label);
const folds = 5;
const fold = train.map((_, i) => i % folds);
const nHam = labels.filter((l) => l === 'ham').length;
const variants: [string, BayesOptions][] = [['default', { ...DEFAULT_BAYES }]];
const extra = opt('--variants');
// A variant's family caps add to the defaults' (which keep the rules' tokens out of Bayes).
if (extra !== undefined) for (const v of JSON.parse(extra) as [string, Partial<BayesOptions>][]) variants.push([v[0], { ...DEFAULT_BAYES, ...v[1], familyCaps: { ...DEFAULT_BAYES.familyCaps, ...v[1].familyCaps } }]);
const probsBy = variants.map(() => new Array<number>(train.length).fill(0.5));
const dbs: { counts: TokenLookup; totals: TokenCounts }[] = [];
for (let k = 0; k < folds; k++) {
  const idx = train.map((_, i) => i).filter((i) => fold[i] !== k);
  const db = trainDb(idx.map((i) => feats[i]), idx.map((i) => labels[i]));
  const side = { counts: db.countsSync(0), totals: db.totalsSync(0) };
  dbs.push(side);
  variants.forEach(([, vo], vi) => { for (let i = 0; i < train.length; i++) if (fold[i] === k) probsBy[vi][i] = classify(feats[i].tokens, side, null, vo)?.probability ?? 0.5; });
}
const o = variants[0][1];
const probs = probsBy[0];
const bonus: Record<string, number> = JSON.parse(opt('--bonus') ?? '{}');
const pts = JSON.parse(opt('--points') ?? 'null') ?? DEFAULT_BAYES_POINTS;
for (let i = 0; i < train.length; i++) { const ts = new Set(feats[i].tokens); for (const [t, w] of Object.entries(bonus)) if (ts.has(t)) feats[i].ruleScore += w; }
const scores = probs.map((p, i) => feats[i].ruleScore + bayesPoints(p, DEFAULT_BAYES_POINTS));
variants.forEach(([name], vi) => report(name, probsBy[vi].map((p, i) => feats[i].ruleScore + bayesPoints(p, pts))));
function report(name: string, sc: number[]) {
  let fp = 0, fn = 0;
  for (let i = 0; i < sc.length; i++) {
    const s = feats[i].refuse || sc[i] >= DEFAULT_THRESHOLDS.junk;
    if (labels[i] === 'ham' && s) fp++; if (labels[i] === 'spam' && !s) fn++;
  }
  // Frontier: FN at FP budgets by threshold sweep.
  const hams = sc.filter((_, i) => labels[i] === 'ham').sort((a, b) => b - a);
  const spams = sc.filter((_, i) => labels[i] === 'spam');
  const at = (budget: number) => { const th = hams[budget] + 1e-6; return spams.filter((s) => s < th).length; };
  console.log(`${name}: default FP ${fp}/${nHam} FN ${fn}/${spams.length} | FN@FP2 ${at(2)} FN@FP4 ${at(4)} FN@FP6 ${at(6)} FN@FP8 ${at(8)} FN@FP12 ${at(12)}`);
}
if (args.includes('--fp')) {
  for (let i = 0; i < train.length; i++) if ((labels[i] === 'ham' && scores[i] >= 5) || (labels[i] === 'spam' && scores[i] < 5)) console.log(labels[i], scores[i].toFixed(2), probs[i].toFixed(4), feats[i].ruleScore.toFixed(2), path.basename(train[i].file), feats[i].rules.map((r) => r.name).join(','));
}
const cl = opt('--clues');
if (cl !== undefined) {
  for (const name of cl.split(',')) {
    const i = train.findIndex((e) => e.file.includes(name));
    const k = fold[i];
    const idx = train.map((_, j) => j).filter((j) => fold[j] !== k);
    const db = trainDb(idx.map((j) => feats[j]), idx.map((j) => labels[j]));
    const r = classify(feats[i].tokens, { counts: db.countsSync(0), totals: db.totalsSync(0) }, null, o)!;
    const c = db.countsSync(0);
    console.log(`== ${name} p=${r.probability} S=${r.spamminess.toFixed(4)} H=${r.hamminess.toFixed(4)} n=${r.clues.length}`);
    console.log(r.clues.slice(0, 60).map((x) => `${x.token}=${x.f.toFixed(3)}(${c.get(x.token)?.ham}/${c.get(x.token)?.spam})`).join('  '));
  }
}
