// `fjord spam`: judge files without delivering them, train the store's Bayes database, and
// measure the content filter on a labelled corpus.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import { parseMessage } from '../../mime/index.js';
import { ContentFilter, decide, DEFAULT_THRESHOLDS } from '../../filter/verdict.js';
import { runEval, formatEval, defaultThreads, trainingOrder, SEED_ORDERS } from '../../filter/eval/evaluate.js';
import { globalModelEmpty, seedGlobal } from '../../filter/seed-global.js';
import { DEFAULT_LOGISTIC_POINTS } from '../../filter/bayes/logistic.js';
import type { TrainItem } from '../../store/types.js';

export const usage = `fjord spam check FILE...|- [--account ADDRESS] [--json] [--exit-code]
fjord spam train --spam DIR --ham DIR [--account ADDRESS]
fjord spam eval --corpus DIR [--split test] [--train-corpus DIR] [--rules-only] [--threads N] [--json]`;

const TRAIN_BATCH = 200;

interface StoreLike {
  getAccount(address: string): Promise<{ id: number } | null>;
}

async function accountId(store: StoreLike, address: string | undefined): Promise<number | null> {
  if (address === undefined) return null;
  const a = await store.getAccount(address);
  if (!a) throw new UsageError(`unknown account ${address}`);
  return a.id;
}

/** Every regular file under dir (recursively), sorted; dot-files skipped. Symbolic links are
 * followed (a corpus is often a folder of links into a mail archive), each directory walked once
 * so a link loop ends. */
function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`);
  const out: string[] = [];
  const walked = new Set<string>();
  const walk = (d: string) => {
    const real = fs.realpathSync(d);
    if (walked.has(real)) return;
    walked.add(real);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      let kind: fs.Dirent | fs.Stats = e;
      if (e.isSymbolicLink()) {
        try { kind = fs.statSync(p); } catch { continue; } // a dangling link: nothing to read
      }
      if (kind.isDirectory()) walk(p); else if (kind.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The message of FILE, or of standard input for "-", at most `max` bytes (the server's
 * smtp.maxMessageSize: nothing larger could arrive). */
function readMessage(file: string, max: number): Buffer {
  let raw: Buffer;
  try {
    if (file !== '-' && fs.statSync(file).size > max) throw new UsageError(`${file} is larger than smtp.maxMessageSize (${max} bytes)`);
    raw = file === '-' ? readStdin(max) : fs.readFileSync(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${file === '-' ? 'standard input' : file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return raw;
}

/** Standard input, read in blocks up to max bytes (a pipe may answer EAGAIN while it waits). */
function readStdin(max: number): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  const block = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, block, 0, block.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); continue; }
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    size += n;
    if (size > max) throw new UsageError(`standard input is larger than smtp.maxMessageSize (${max} bytes)`);
    parts.push(Buffer.from(block.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

/** check with --exit-code: 1 when some message is spam or refused (as spamc -c), for scripts;
 * 75 (EX_TEMPFAIL) when the check itself failed (unreadable file, database unavailable), so a
 * failure is never taken for a verdict; 2 for bad usage, as every command. */
export const EXIT_SPAM = 1;
export const EXIT_CHECK_FAILED = 75;

export async function spamCommand(argv: string[]): Promise<void | number> {
  const { positionals, values } = parse(argv, {
    account: { type: 'string' },
    json: { type: 'boolean' },
    spam: { type: 'string' },
    ham: { type: 'string' },
    corpus: { type: 'string' },
    'train-corpus': { type: 'string' },
    split: { type: 'string' },
    'rules-only': { type: 'boolean' },
    'exit-code': { type: 'boolean' },
    threads: { type: 'string' },
  });
  const [sub] = positionals;
  switch (sub) {
    case 'check': {
      const files = positionals.slice(1);
      need(files, 0, 'FILE');
      if (files.filter((f) => f === '-').length > 1) throw new UsageError('standard input (-) can be read once');
      const config = configFrom(values);
      let spam = false;
      const checking = withStore(config, async (store) => {
        const account = await accountId(store, values.account as string | undefined);
        const filter = new ContentFilter(store, { logistic: { ...DEFAULT_LOGISTIC_POINTS, scale: config.spam?.bayes.logisticScale ?? DEFAULT_LOGISTIC_POINTS.scale } });
        const thresholds = config.spam?.thresholds ?? DEFAULT_THRESHOLDS;
        for (const file of files) {
          const raw = readMessage(file, config.smtp.maxMessageSize);
          const v = decide(await filter.signals(raw, parseMessage(raw), account), thresholds);
          if (v.verdict !== 'ham') spam = true;
          const fired = v.signals.filter((s) => s.score !== 0 || s.name === 'BAYES');
          if (values.json) {
            console.log(JSON.stringify({ file, verdict: v.verdict, score: v.score, signals: fired.map((s) => ({ name: s.name, score: s.score, ...(s.detail ? { detail: s.detail } : {}), ...(s.refuse ? { refuse: true } : {}) })) }));
          } else {
            console.log(`${file}\t${v.verdict}\t${v.score.toFixed(1)}\t${fired.map((s) => `${s.name}=${s.score}`).join(' ')}`);
          }
        }
      });
      try {
        await checking;
      } catch (e) {
        if (values['exit-code'] !== true) throw e;
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { exitCode: EXIT_CHECK_FAILED });
      }
      return values['exit-code'] === true && spam ? EXIT_SPAM : 0;
    }
    case 'train': {
      if (typeof values.spam !== 'string' && typeof values.ham !== 'string') throw new UsageError('give --spam DIR and/or --ham DIR');
      const sets: [string, 'spam' | 'ham'][] = [];
      if (typeof values.spam === 'string') for (const f of listFiles(values.spam)) sets.push([f, 'spam']);
      if (typeof values.ham === 'string') for (const f of listFiles(values.ham)) sets.push([f, 'ham']);
      const config = configFrom(values);
      await withStore(config, async (store) => {
        const account = await accountId(store, values.account as string | undefined);
        const filter = new ContentFilter(store);
        const scope = account ?? 0;
        let changed = 0;
        let how = '';
        if (account === null && await globalModelEmpty(store)) {
          // A new global database: trained as spam eval trains it (seed-global.ts).
          changed = await seedGlobal(store, filter, sets.map(([file, verdict]) => ({ file, verdict })));
          how = `, its logistic model averaged over ${SEED_ORDERS} training orders`;
        } else {
          // Mixed, not all spam then all ham: the logistic model learns from one message at a time.
          const mixed = trainingOrder(sets.length).map((i) => sets[i]);
          // Committed TRAIN_BATCH messages at a time: one transaction a message spent most of a
          // corpus's training waiting for its commits. (So the logistic model's priors are those
          // of the database as the batch began.)
          for (let i = 0; i < sets.length; i += TRAIN_BATCH) {
            const batch: TrainItem[] = [];
            for (const [file, verdict] of mixed.slice(i, i + TRAIN_BATCH)) {
              const raw = fs.readFileSync(file);
              const key = 'sha256:' + crypto.createHash('sha256').update(raw).digest('hex');
              batch.push({ key, verdict, ...(await filter.trainingItem(raw, parseMessage(raw))) });
            }
            changed += await filter.classifier.learnMany(batch, scope);
          }
        }
        const totals = await store.getTotals(scope);
        console.log(`trained ${changed} of ${sets.length} messages into the ${account === null ? 'global' : `${values.account}`} database (now ${totals.spam} spam, ${totals.ham} ham${how})`);
      });
      return;
    }
    case 'eval': {
      const corpus = values.corpus;
      if (typeof corpus !== 'string') throw new UsageError('missing --corpus DIR');
      const threads = values.threads === undefined ? defaultThreads() : Number(values.threads);
      if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new UsageError('--threads must be a whole number from 1 to 64');
      let r;
      try {
        r = await runEval({ corpus, split: (values.split as string | undefined) ?? 'test', trainCorpus: values['train-corpus'] as string | undefined, bayes: !values['rules-only'], threads });
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (values.json) {
        const { mistakes, ...rest } = r;
        console.log(JSON.stringify({ ...rest, mistakes: mistakes.map((m) => ({ ...m, file: path.relative(corpus, m.file) })) }));
      } else {
        console.log(formatEval(r));
      }
      return;
    }
    default:
      throw new UsageError(usage);
  }
}
