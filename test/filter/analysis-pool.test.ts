// Content analysis on threads of its own (src/filter/analysis/pool.ts): the same answers as on
// the main thread, and a message that would hold a thread is cut off at the deadline while the
// main thread keeps running, its thread replaced for the next message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AnalysisPool } from '../../src/filter/analysis/pool.js';
import { analyseContent } from '../../src/filter/verdict.js';
import { RuleSet, defaultRules } from '../../src/filter/rules/engine.js';
import { parseMessage } from '../../src/mime/index.js';
import { msg } from './helpers-msg.js';
import { REPO_ROOT } from '../helpers/paths.js';

function fixtures(): Buffer[] {
  const out: Buffer[] = [];
  for (const kind of ['ham', 'spam']) {
    const dir = path.join(REPO_ROOT, 'test/filter/fixtures/modern', kind);
    for (const f of fs.readdirSync(dir).sort()) out.push(fs.readFileSync(path.join(dir, f)));
  }
  return out;
}

test('the threads analyse a message as the main thread does', async () => {
  const messages = fixtures();
  assert.ok(messages.length >= 10);
  const pool = new AnalysisPool({ threads: 2, timeoutMs: 10_000 });
  try {
    const rules = defaultRules();
    const answers = await Promise.all(messages.map((m) => pool.analyse(m)));
    for (let i = 0; i < messages.length; i++) {
      assert.deepEqual(answers[i], analyseContent(messages[i], parseMessage(messages[i]), rules));
    }
    assert.ok(answers.some((a) => a !== null && a.rules.length > 0));
  } finally {
    await pool.close();
  }
});

test('a message past the deadline is judged without its content; the main thread runs on and the next message is analysed', async () => {
  // Overlapping alternatives: a rule the load-time check lets through (it does not look at
  // alternatives) that backtracks 2^40 ways on a run of 40 "a"s not followed by "c".
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fjord-rules-'));
  const rulesFile = path.join(dir, 'slow.rules');
  fs.writeFileSync(rulesFile, 'body SLOW 1 /(?:a|a)*c/ "overlapping alternatives"\nbody FREE 2 /\\bfree\\b/i "free"\n');
  assert.equal(RuleSet.fromFile(rulesFile).rules.length, 2);
  const pool = new AnalysisPool({ threads: 1, timeoutMs: 500, rulesFile });
  try {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const started = performance.now();
    const slow = await pool.analyse(msg({ From: 'a@b.example', Subject: 'hello' }, `${'a'.repeat(40)}! c\n`));
    const took = performance.now() - started;
    clearInterval(ticker);
    assert.equal(slow, null);
    assert.ok(took >= 450 && took < 5_000, `cut off after ${took.toFixed(0)} ms`);
    assert.ok(ticks >= 10, `the main thread ran ${ticks} timer ticks meanwhile`);

    const next = await pool.analyse(msg({ From: 'a@b.example', Subject: 'free offer' }, 'nothing slow here\n'));
    assert.ok(next !== null);
    assert.deepEqual(next.rules.map((r) => r.name), ['FREE']);
    assert.ok(next.tokens.includes('rule:FREE'));

    // Messages handed to the thread behind a slow one are not lost with it: the new thread
    // analyses them.
    const queued = await Promise.all([
      pool.analyse(msg({ Subject: 'slow' }, `${'a'.repeat(40)}! c\n`)),
      ...[1, 2, 3].map((k) => pool.analyse(msg({ Subject: `free ${k}` }, 'fine\n'))),
    ]);
    assert.equal(queued[0], null);
    for (const a of queued.slice(1)) assert.deepEqual(a?.rules.map((r) => r.name), ['FREE']);
  } finally {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a closed pool answers null at once', async () => {
  const pool = new AnalysisPool({ threads: 1, timeoutMs: 1000 });
  await pool.close();
  assert.equal(await pool.analyse(msg({ Subject: 'x' }, 'y\n')), null);
});
