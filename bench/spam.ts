// Content spam filter benchmark (`node dist/bench/spam.js [--corpus DIR] [--cv] [--no-sa]`):
// Fjord's rules alone and rules + Bayes on the corpus's test split (trained on its train split),
// the generation-shift check (trained on one generation of the corpus, judging the other),
// optionally the 5-fold cross-validation on the train split used to choose the parameters, and,
// when Debian's spamassassin is installed, SpamAssassin 4 on the same split in the same run
// (local tests only, -L; its Bayes trained by sa-learn on the same train split in a temporary
// home). Writes bench/results/spam-<date>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runEval, formatEval, type EvalResult } from '../src/filter/eval/evaluate.js';
import { readCorpus, type CorpusEntry } from '../src/filter/eval/corpus.js';
import { crossValidate } from './spam-cv.js';
import { generationShift } from './spam-shift.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const corpus = opt('--corpus') ?? path.resolve(ROOT, '..', 'shared', 'corpora', 'spamassassin');
const split = opt('--split') ?? 'test';

interface SaFigures { mode: string; accuracy: number; fpRate: number; fnRate: number; fp: number; fn: number; msgPerSec: number; messages: number }

function saInstalled(): boolean {
  return spawnSync('spamassassin', ['-V'], { encoding: 'utf8' }).status === 0 && spawnSync('which', ['spamd'], { encoding: 'utf8' }).status === 0;
}

/** spamd on loopback with its own home and config; spamc per message, two at a time. */
async function runSpamAssassin(entries: CorpusEntry[], train: CorpusEntry[], bayes: boolean, home: string): Promise<SaFigures> {
  const cfgDir = path.join(home, bayes ? 'cfg-bayes' : 'cfg-rules');
  fs.mkdirSync(cfgDir, { recursive: true });
  // The site config: Debian's plugin loaders (*.pre) plus our local.cf.
  for (const f of fs.readdirSync('/etc/spamassassin')) if (f.endsWith('.pre')) fs.copyFileSync(path.join('/etc/spamassassin', f), path.join(cfgDir, f));
  fs.writeFileSync(path.join(cfgDir, 'local.cf'), [
    `use_bayes ${bayes ? 1 : 0}`, 'bayes_auto_learn 0', `bayes_path ${path.join(home, 'bayes', 'bayes')}`,
    'skip_rbl_checks 1', 'dns_available no',
  ].join('\n') + '\n');
  if (bayes && !fs.existsSync(path.join(home, 'bayes'))) {
    fs.mkdirSync(path.join(home, 'bayes'), { recursive: true });
    for (const label of ['spam', 'ham'] as const) {
      const files = train.filter((e) => e.label === label).map((e) => e.file);
      for (let i = 0; i < files.length; i += 500) {
        const r = spawnSync('sa-learn', ['-L', `--${label}`, '--siteconfigpath', cfgDir, '--dbpath', path.join(home, 'bayes'), ...files.slice(i, i + 500)], { encoding: 'utf8', env: { ...process.env, HOME: home } });
        if (r.status !== 0) throw new Error(`sa-learn failed: ${r.stderr}`);
      }
    }
  }
  // spamd drops root privileges to nobody: it must be able to lock and read the Bayes files.
  spawnSync('chmod', ['-R', 'a+rwX', home]);
  const port = 17830 + (bayes ? 1 : 0);
  const spamd = spawn('spamd', ['-L', '-x', '--siteconfigpath', cfgDir, '-p', String(port), '-i', '127.0.0.1', '-A', '127.0.0.1',
    '--max-children', '2', '--min-children', '2', '-u', os.userInfo().username === 'root' ? 'nobody' : os.userInfo().username, '-H', home, '-s', 'stderr'],
  { env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'ignore'] }); // (its log pipe, unread, would fill and block it)
  try {
    // Wait for spamd to answer.
    for (let i = 0; i < 120; i++) {
      if (spawnSync('spamc', ['-p', String(port), '-K'], { encoding: 'utf8' }).status === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const scores: boolean[] = new Array(entries.length);
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < entries.length) {
        const i = next++;
        const out = await new Promise<string>((resolve) => {
          const c = spawn('spamc', ['-p', String(port), '-c', '-x'], { stdio: ['pipe', 'pipe', 'ignore'] });
          let s = '';
          c.stdout.on('data', (d) => { s += d; });
          c.on('close', () => resolve(s));
          c.stdin.end(fs.readFileSync(entries[i].file));
        });
        const [score, threshold] = out.trim().split('/').map(Number);
        scores[i] = score >= threshold;
      }
    };
    await Promise.all([worker(), worker()]);
    const secs = (performance.now() - t0) / 1000;
    let fp = 0, fn = 0, ham = 0, spam = 0;
    entries.forEach((e, i) => { if (e.label === 'ham') { ham++; if (scores[i]) fp++; } else { spam++; if (!scores[i]) fn++; } });
    return { mode: bayes ? 'rules+bayes' : 'rules', accuracy: (entries.length - fp - fn) / entries.length, fpRate: fp / ham, fnRate: fn / spam, fp, fn, msgPerSec: Math.round(entries.length / secs * 10) / 10, messages: entries.length };
  } finally {
    spamd.kill('SIGTERM');
    await new Promise((r) => spamd.once('exit', r));
  }
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load: os.loadavg(), node: process.version },
  corpus, split,
};
if (args.includes('--cv')) {
  const cv = await crossValidate(corpus, 5, 2, (s) => console.log(s));
  result.crossValidation = { ...cv, grid: cv.grid.slice(0, 20) };
  console.log(`cv rules alone: accuracy ${pct(cv.rulesAlone.accuracy)} FP ${pct(cv.rulesAlone.fpRate)} FN ${pct(cv.rulesAlone.fnRate)}`);
  console.log(`cv rules+bayes (defaults): accuracy ${pct(cv.defaults.accuracy)} FP ${pct(cv.defaults.fpRate)} FN ${pct(cv.defaults.fnRate)}`);
  const b = cv.grid[0];
  console.log(`cv best of grid: accuracy ${pct(b.accuracy)} FP ${pct(b.fpRate)} FN ${pct(b.fnRate)} with ${JSON.stringify({ strength: b.strength, maxClues: b.maxClues, bigrams: b.bigrams, points: b.points })}`);
}
const fjord: EvalResult[] = [];
for (const bayes of [false, true]) {
  const r = await runEval({ corpus, split, bayes, threads: 2 });
  console.log(`fjord ${formatEval(r)}`);
  const { mistakes, ...rest } = r;
  fjord.push({ ...rest, mistakes: mistakes.map((m) => ({ ...m, file: path.relative(corpus, m.file) })) });
}
result.fjord = fjord;
if (readCorpus(corpus).some((e) => e.origin === 'easy_ham_2')) {
  result.generationShift = await generationShift(corpus);
  for (const g of result.generationShift as Awaited<ReturnType<typeof generationShift>>) {
    console.log(`fjord generation shift, trained on ${g.train.join('+')}, judging ${g.judged.join('+')}: rules+bayes FP ${g.fp}/${g.ham} FN ${g.fn}/${g.spam}; rules alone FP ${g.rulesFp} FN ${g.rulesFn}`);
  }
}
if (!args.includes('--no-sa') && saInstalled()) {
  const entries = readCorpus(corpus);
  const judged = entries.filter((e) => e.split === split);
  const train = entries.filter((e) => e.split === 'train');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fjord-sa-'));
  try {
    const sa: SaFigures[] = [];
    for (const bayes of [false, true]) {
      const r = await runSpamAssassin(judged, train, bayes, home);
      console.log(`spamassassin ${r.mode} on ${split}: accuracy ${pct(r.accuracy)}, FP ${pct(r.fpRate)} (${r.fp}), FN ${pct(r.fnRate)} (${r.fn}), ${r.msgPerSec} msg/s`);
      sa.push(r);
    }
    result.spamassassin = { version: spawnSync('spamassassin', ['-V'], { encoding: 'utf8' }).stdout.split('\n')[0], runs: sa };
    result.ratios = sa.map((s, i) => ({ mode: s.mode, speed: Math.round(fjord[i].msgPerSec / s.msgPerSec * 10) / 10, fpRate: fjord[i].fpRate - s.fpRate, fnRate: fjord[i].fnRate - s.fnRate }));
    console.log('ratios (Fjord msg/s ÷ SpamAssassin msg/s; error differences):', JSON.stringify(result.ratios));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
} else if (!args.includes('--no-sa')) {
  console.log('spamassassin not installed (apt-get install spamassassin): comparison skipped');
}
const dir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `spam-${String(result.date).replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${path.relative(ROOT, file)}`);
