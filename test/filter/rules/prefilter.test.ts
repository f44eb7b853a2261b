import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requiredLiterals } from '../../../src/filter/rules/literals.js';
import { LiteralScanner } from '../../../src/filter/rules/prefilter.js';
import { defaultRules } from '../../../src/filter/rules/engine.js';
import { parseMessage } from '../../../src/mime/index.js';
import { viewMessage } from '../../../src/filter/message-view.js';
import { readCorpus } from '../../../src/filter/eval/corpus.js';
import { SPAM_CORPUS } from '../../helpers/paths.js';

test('required literals: alternatives, groups, runs; nothing when an alternative has none', () => {
  assert.deepEqual(requiredLiterals(/\bclick (?:here|below)\b/i), ['click ']);
  assert.deepEqual(requiredLiterals(/\b(?:viagra|cialis|no prescription (?:needed|required))\b/i), ['viagra', 'cialis', 'no prescription ']);
  // The longest run wins over a group of short words; escapes are literal characters.
  assert.deepEqual(requiredLiterals(/(?:a|b)x\.y\$z/), ['x.y$z']);
  // Optional parts contribute nothing; a required group still does.
  assert.deepEqual(requiredLiterals(/don'?t delay/i), ['t delay']);
  assert.deepEqual(requiredLiterals(/x?(?:abc|abd)+/), ['abc', 'abd']);
  assert.deepEqual(requiredLiterals(/AB{1}C/), ['abc']);
  // No usable literal: classes, wildcards, lookaround, too short, an alternative without one.
  assert.equal(requiredLiterals(/[A-Z]{3,}\s+[A-Z]{3,}/), null);
  assert.equal(requiredLiterals(/!{3,}/), null);
  assert.equal(requiredLiterals(/(?=abc)\w+/), null);
  assert.equal(requiredLiterals(/viagra|\d{3}-\d{4}/i), null);
  assert.deepEqual(requiredLiterals(/caf(?:é|e)s/), ['caf']);
  assert.equal(requiredLiterals(/(?:été|öl)/i), null); // the scanner is ASCII only
  // With both i and u, "ſ" matches s: ASCII case-folding would not be sound.
  assert.equal(requiredLiterals(/sale/iu), null);
  assert.ok(/sale/iu.test('ſale'));
});

test('literal scanner: every occurrence found, ASCII case ignored, overlapping literals', () => {
  const s = new LiteralScanner(['he', 'she', 'his', 'hers', 'act now']);
  assert.deepEqual([...s.scan('uSHErs')], [1, 1, 0, 1, 0]);
  assert.deepEqual([...s.scan('ACT NOW!')], [0, 0, 0, 0, 1]);
  assert.deepEqual([...s.scan('act\u00a0now ☃ hiss')], [0, 0, 1, 0, 0]);
  assert.deepEqual([...s.scan('')], [0, 0, 0, 0, 0]);
  // Against a plain search, on text of the literals' characters and others (which reset the walk).
  const lits = ['a-b', 'ab', 'b$c', 'ca', '1.5', 'c c', 'aab'];
  const scanner = new LiteralScanner(lits);
  const pieces = ['a', 'B', 'b', '-', '$', 'c', ' ', '1', '.', '5', 'x', '\u00e9', 'A'];
  let seed = 3;
  for (let k = 0; k < 5000; k++) {
    let t = '';
    for (let i = (k % 12) + 1; i > 0; i--) { seed = (seed * 1103515245 + 12345) >>> 0; t += pieces[seed % pieces.length]; }
    assert.deepEqual([...scanner.scan(t)], lits.map((l) => (t.toLowerCase().includes(l) ? 1 : 0)), JSON.stringify(t));
  }
});

test('body rules with the prefilter fire exactly as their regexes on every corpus message', { timeout: 300_000 }, () => {
  const rs = defaultRules();
  const body = rs.rules.filter((r) => r.kind === 'body' && !r.name.startsWith('__'));
  assert.ok(body.filter((r) => requiredLiterals(r.regex!) !== null).length >= 30, 'most body rules are prefiltered');
  const entries = readCorpus(SPAM_CORPUS);
  assert.ok(entries.length > 6000, `corpus found (${entries.length})`);
  let fired = 0;
  for (const e of entries) {
    const raw = fs.readFileSync(e.file);
    const v = viewMessage(raw, parseMessage(raw));
    const text = `${v.parsed.subject}\n${v.text}`.slice(0, 100 * 1024);
    const want = body.filter((r) => r.regex!.test(text)).map((r) => r.name);
    const got = new Set(rs.evaluate(v).hits.map((h) => h.name));
    for (const name of want) assert.ok(got.has(name), `${name} missed on ${path.basename(e.file)}`);
    fired += want.length;
  }
  assert.ok(fired > 1000, `body rules fired ${fired} times`);
});
