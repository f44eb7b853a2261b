import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { nestedRepetition } from '../../../src/filter/rules/regex-safety.js';
import { parseRules, RuleSyntaxError } from '../../../src/filter/rules/parse.js';
import { defaultRulesPath } from '../../../src/filter/rules/engine.js';
import { msg } from '../helpers-msg.js';
import { runWithDeadline, moduleLiteral } from '../../helpers/worker.js';

// The URL host that held the filter: a user part of 150 percent-encoded digits before "@" and an
// IP address (a 2002 spam's link, as modern mail carries it, in a text part).
const DIGITS = '1011011101111010101011101010101010101010110101010101010101011010110101010101010101010101101010101010101011000101101110101010101000110101011010101011010';
const HOSTILE_URL = `http://${[...DIGITS].map((d) => `%3${d}`).join('')}@%34%2E%34%37%2E%39%36%2E%31%34%31/`;

test('nested repetitions that can split a run of characters many ways are found', () => {
  for (const re of [
    '(a+)+$',
    '^(?:[a-z]*\\d[a-z0-9-]*){3,}\\.(?:com|net)$', // the rule that held the filter
    '(\\w+\\s?)*$',
    '(?:\\d{1,3})*x',
    '(?:\\d\\d?\\d?)*x',
    '(?=(?:[^a-z]*[A-Z]){10})',
    '(x\\1)+',
    '(?:a(?:b|c+)d*)+',
  ]) assert.notEqual(nestedRepetition(re), null, re);
  assert.match(nestedRepetition('^(?:[a-z]*\\d[a-z0-9-]*){3,}\\.com$')!, /"\(\?:\[a-z\]\*\\d\[a-z0-9-\]\*\)\{3,\}" repeats "\[a-z0-9-\]\*"/);
});

test('repetitions whose iterations are delimited, bounded or single pass the check', () => {
  for (const re of [
    '@(?:[\\w-]+\\.)*(?:hotmail|yahoo)\\.',   // each label ends at a "." it cannot match
    '^(?=(?:[^A-Z]*[A-Z]){10})[^a-z]+$',       // each run ends at a capital it cannot match
    '\\d{1,3}(?:[.,]\\d{1,3})*',               // the next iteration starts with a separator
    '\\$\\s?\\d{1,3}(?:,\\d{3}){2,}',          // fixed-length body
    '\\byour (?:e-?mail )?address',            // the outer repetition is at most once
    '(?:a|b)*c',
    '[^]]+\\d+',
    '\\pfoo\\k\\u{3}',                       // outside u mode, "p", "k" and "u" three times
  ]) assert.equal(nestedRepetition(re), null, re);
  assert.equal(nestedRepetition('[\\p{L}\\d]+x', 'u'), null);
  assert.notEqual(nestedRepetition('(?:\\p{L}+)+', 'u'), null);
  // Case-insensitive: [A] and a overlap once letters fold.
  assert.equal(nestedRepetition('(?:[A]*a)+', ''), null);
  assert.notEqual(nestedRepetition('(?:[A]*a)+', 'i'), null);
});

test('a rules file with such a regex is refused, naming the line', () => {
  const text = 'body OK 1 /\\bfree\\b/i\nuri  BAD 1 host /^(?:[a-z]*\\d[a-z0-9-]*){3,}\\.com$/\n';
  assert.throws(() => parseRules(text, 'local.rules'), (e: Error) =>
    e instanceof RuleSyntaxError && /^local\.rules:2: regex can backtrack without end/.test(e.message));
});

test('the old URL_NUMERIC_HOST regex runs for seconds on the hostile host; every default rule regex stays fast on hostile text', async () => {
  const host = DIGITS + '@4.47.96.141';
  const old = await runWithDeadline<number>(`
    const { parentPort, workerData } = require('node:worker_threads');
    const t = performance.now(); new RegExp(workerData.re).test(workerData.host); parentPort.postMessage(performance.now() - t);`,
  { re: '^(?:[a-z]*\\d[a-z0-9-]*){3,}\\.(?:com|net|org|biz|info)$', host }, 2000);
  assert.equal(old, 'timeout', 'the old pattern backtracks for more than 2 s');

  // Long runs of each kind of character, ending in one that makes most patterns fail.
  const runs = ['a', 'A', '1', '0', ' ', '-', '.', '_', '=', '%', '$', '<', '\t', '\n', 'é', 'a1', '1a', 'a.', 'a ', '1,', 'A!'];
  const inputs = [host, ...runs.flatMap((r) => [r.repeat(3000) + '\u0001', 'x' + r.repeat(3000) + '!'])];
  const specs = parseRules(fs.readFileSync(defaultRulesPath(), 'utf8'), 'default.rules').filter((s) => s.regex !== undefined);
  assert.ok(specs.length > 80);
  const slowest = await runWithDeadline<{ name: string; ms: number }>(`
    const { parentPort, workerData } = require('node:worker_threads');
    let worst = { name: '', ms: 0 };
    for (const r of workerData.rules) {
      const re = new RegExp(r.source, r.flags);
      for (const s of workerData.inputs) {
        const t = performance.now(); re.test(s); const ms = performance.now() - t;
        if (ms > worst.ms) worst = { name: r.name, ms };
      }
    }
    parentPort.postMessage(worst);`,
  { rules: specs.map((s) => ({ name: s.name, source: s.regex!.source, flags: s.regex!.flags })), inputs }, 60_000);
  assert.notEqual(slowest, 'timeout');
  if (slowest !== 'timeout') assert.ok(slowest.ms < 250, `${slowest.name} took ${slowest.ms.toFixed(0)} ms on one hostile input`);
});

test('the filter judges a message with the hostile link (it held the thread before)', async () => {
  const raw = msg({ From: 'a@example.com', To: 'b@example.org', Subject: 'hi' }, `Click ${HOSTILE_URL} now\n`);
  const result = await runWithDeadline<string[]>(`
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { messageFeatures } = await import(${moduleLiteral('../../../src/filter/eval/features.js', import.meta.url)});
      const { defaultRules } = await import(${moduleLiteral('../../../src/filter/rules/engine.js', import.meta.url)});
      const { DEFAULT_TOKENIZE } = await import(${moduleLiteral('../../../src/filter/bayes/tokenize.js', import.meta.url)});
      const f = messageFeatures(Buffer.from(workerData.raw), defaultRules(), DEFAULT_TOKENIZE);
      parentPort.postMessage(f.rules.map((r) => r.name));
    })();`, { raw: new Uint8Array(raw) }, 20_000);
  assert.notEqual(result, 'timeout', 'judging the message did not finish in 20 s');
  // It is judged in full: the percent-encoded host is seen.
  assert.ok(Array.isArray(result) && result.includes('URL_ESCAPED_HOST'), String(result));
});
