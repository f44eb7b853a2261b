// Seeding the global database from a corpus (`fjord spam train` while the global logistic
// model has learnt nothing): as `fjord spam eval` trains it, so that the server judges with the
// filter the evaluation measured. The counts go into the store in batches; the logistic model
// is trained in memory in SEED_ORDERS orders (each from its own priors, as the counts build up in
// its order), averaged, and written at the end. Once seeded, users' reports step it online.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { parseMessage } from '../mime/index.js';
import type { TrainItem } from '../store/types.js';
import { ruleScoreOf, type ContentFilter } from './verdict.js';
import { seedDb, trainOne, SEED_ORDERS } from './eval/evaluate.js';
import type { MessageFeatures } from './eval/features.js';

export interface SeedStore {
  getTotals(scope: number): Promise<{ lrHam?: number; lrSpam?: number }>;
  trainMessages(scope: number, items: readonly TrainItem[], at?: Date, stepModel?: boolean): Promise<number>;
  setGlobalModel(model: (token: string) => [number, number] | undefined, bias: number, steps: { ham: number; spam: number }): Promise<number>;
}

/** Messages committed to the store at a time. */
const BATCH = 200;

/** Whether the global logistic model has yet to learn anything (then a corpus seeds it). */
export async function globalModelEmpty(store: SeedStore): Promise<boolean> {
  const t = await store.getTotals(0);
  return (t.lrHam ?? 0) + (t.lrSpam ?? 0) === 0;
}

const keyOf = (raw: Buffer): string => 'sha256:' + crypto.createHash('sha256').update(raw).digest('hex');

/** Seeds the global database from labelled files; returns how many messages changed in the
 * store (a message already trained there is not counted twice, but its words still teach the
 * model written at the end). A message given twice (the same bytes) counts once, with the
 * label it is given last. */
export async function seedGlobal(store: SeedStore, filter: ContentFilter, files: readonly { file: string; verdict: 'spam' | 'ham' }[], orders = SEED_ORDERS): Promise<number> {
  const byKey = new Map<string, { file: string; verdict: 'spam' | 'ham' }>();
  for (const m of files) { const key = keyOf(fs.readFileSync(m.file)); byKey.delete(key); byKey.set(key, m); }
  const messages = [...byKey].map(([key, m]) => ({ key, ...m }));
  let changed = 0;
  let batch: TrainItem[] = [];
  const flush = async () => { changed += await store.trainMessages(0, batch, new Date(), false); batch = []; };
  let pass = 0;
  const db = await seedDb(messages.length, orders, async (order, into) => {
    const counting = ++pass === 1; // the store counts each message once
    for (const i of order) {
      const { key, file, verdict } = messages[i]!;
      const raw = fs.readFileSync(file);
      const a = filter.analyse(raw, parseMessage(raw));
      const f: MessageFeatures = { tokens: a.tokens, rules: a.rules, ruleScore: ruleScoreOf(a.rules), refuse: a.refuse };
      trainOne(into, f, verdict, filter.classifier.options, filter.points);
      if (!counting) continue;
      batch.push({ key, tokens: a.tokens, verdict });
      if (batch.length >= BATCH) await flush();
    }
    if (counting) await flush();
  }, filter.classifier.options.logistic);
  const totals = db.totalsSync(0);
  await store.setGlobalModel((t) => db.modelOf(t), totals.bias ?? 0, { ham: totals.lrHam ?? 0, spam: totals.lrSpam ?? 0 });
  return changed;
}
