// Evaluation worker thread: computes features of training messages and judges test messages
// against a copy of the trained token database.
import { parentPort, workerData } from 'node:worker_threads';
import fs from 'node:fs';
import { RuleSet, defaultRules } from '../rules/engine.js';
import { MemoryTokenDb } from '../bayes/token-db.js';
import { messageFeatures, judge, type JudgeOptions } from './features.js';
import type { TokenizeOptions } from '../bayes/tokenize.js';

export interface WorkerSetup { rulesFile: string | null; tokenize: TokenizeOptions; judge: JudgeOptions }

export type WorkerRequest =
  | { op: 'features'; id: number; files: string[]; rules: boolean }
  | { op: 'load'; id: number; db: ReturnType<MemoryTokenDb['exportScope']> | null }
  | { op: 'judge'; id: number; files: string[] };

const setup = workerData as WorkerSetup;
const rules = setup.rulesFile === null ? defaultRules() : RuleSet.fromFile(setup.rulesFile);
let db: MemoryTokenDb | null = null;

parentPort!.on('message', (m: WorkerRequest) => {
  try {
    if (m.op === 'features') {
      const out = m.files.map((f) => messageFeatures(fs.readFileSync(f), rules, setup.tokenize, true, m.rules));
      parentPort!.postMessage({ id: m.id, result: out });
    } else if (m.op === 'load') {
      db = null;
      if (m.db !== null) { db = new MemoryTokenDb(); db.importScope(0, m.db); }
      parentPort!.postMessage({ id: m.id, result: true });
    } else {
      const out = m.files.map((f) => judge(messageFeatures(fs.readFileSync(f), rules, setup.tokenize, db !== null), db, setup.judge));
      parentPort!.postMessage({ id: m.id, result: out });
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
