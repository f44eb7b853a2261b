// `fjord spam eval` on a corpus the size of the public ones a held-out evaluation may use (TREC's
// run to 50-90 thousand messages): the development corpus's messages, each with a paragraph of
// pseudo-words of Zipf-like frequency added so that the token database grows as a real corpus's
// does. Measures time and peak memory of the whole evaluation in a fresh process.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, SPAM_CORPUS } from '../test/helpers/paths.js';
import { tempDir } from '../test/helpers/system.js';
import { readCorpus } from '../src/filter/eval/corpus.js';
import { prng } from '../test/helpers/prng.js';

export interface SpamScaleResult {
  messages: number;
  trained: { ham: number; spam: number; tokens: number };
  trainSeconds: number;
  judged: number;
  msgPerSec: number;
  maxRssMiB: number;
}

/** Writes `n` messages and their labels.tsv (about 30% test) into `dir`. */
function makeCorpus(dir: string, n: number): void {
  const src = readCorpus(SPAM_CORPUS);
  const raw = src.map((e) => fs.readFileSync(e.file));
  const rnd = prng(1);
  // Cubing a uniform draw gives a heavy head of frequent words and a long tail of rare ones.
  const word = () => {
    let r = Math.floor(rnd() ** 3 * 2e6), w = '';
    do { w += String.fromCharCode(97 + (r % 26)); r = Math.floor(r / 26); } while (r > 0);
    return w;
  };
  fs.mkdirSync(path.join(dir, 'm'));
  const lines = ['relative_path\tlabel\torigin_folder\tsplit'];
  for (let i = 0; i < n; i++) {
    const j = Math.floor(rnd() * src.length);
    const words = Array.from({ length: 120 }, word).join(' ');
    fs.writeFileSync(path.join(dir, 'm', `${i}.eml`), Buffer.concat([raw[j], Buffer.from(`\n${words}\n`)]));
    lines.push(`m/${i}.eml\t${src[j].label}\t${src[j].origin}\t${rnd() < 0.3 ? 'test' : 'train'}`);
  }
  fs.writeFileSync(path.join(dir, 'labels.tsv'), lines.join('\n') + '\n');
}

export async function benchSpamScale(n = 80_000): Promise<SpamScaleResult> {
  const dir = tempDir('fjord-bench-spam-scale-');
  try {
    makeCorpus(dir, n);
    const evaluate = pathToFileURL(path.join(REPO_ROOT, 'dist/src/filter/eval/evaluate.js')).href;
    const script = `import { runEval } from ${JSON.stringify(evaluate)};
      const r = await runEval({ corpus: ${JSON.stringify(dir)} });
      console.log(JSON.stringify({ messages: r.messages, trained: r.trained, trainSeconds: r.trainSeconds, msgPerSec: r.msgPerSec, maxRssKiB: process.resourceUsage().maxRSS }));`;
    // A file, not --eval: the evaluation's worker threads inherit the process's exec flags.
    const file = path.join(dir, 'run.mjs');
    fs.writeFileSync(file, script);
    const child = spawnSync(process.execPath, [file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`spam eval failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { messages: number; trained: SpamScaleResult['trained']; trainSeconds: number; msgPerSec: number; maxRssKiB: number };
    return { messages: n, trained: r.trained, trainSeconds: r.trainSeconds, judged: r.messages, msgPerSec: r.msgPerSec, maxRssMiB: Math.round(r.maxRssKiB / 1024) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
