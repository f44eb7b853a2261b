import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseListen, formatListen } from '../../src/config/listen.js';
import { loadConfig } from '../../src/config/config.js';
import { parseSpamConfig } from '../../src/config/spam.js';
import { tempDir } from '../helpers/system.js';

test('listener addresses: HOST:PORT, [IPv6]:PORT, PORT, off; garbage refused', () => {
  assert.deepEqual(parseListen('0.0.0.0:25'), { host: '0.0.0.0', port: 25 });
  assert.deepEqual(parseListen('[::1]:2525'), { host: '::1', port: 2525 });
  assert.deepEqual(parseListen('587'), { host: '127.0.0.1', port: 587 });
  assert.equal(parseListen('off'), null);
  for (const bad of ['host:', 'host:port', '1.2.3.4:70000', ':', '[::1]']) assert.throws(() => parseListen(bad), /invalid listen address/);
  assert.equal(formatListen({ host: '::1', port: 25 }), '[::1]:25');
  assert.equal(formatListen(null), 'off');
});

test('config: defaults, the data folder file, then command-line overrides', () => {
  const dir = tempDir();
  assert.equal(loadConfig({ dataDir: dir }).listen.smtp?.port, 2525, 'non-root default port');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ hostname: 'MX.Example.ORG', listen: { smtp: '127.0.0.1:2600' }, delivery: { threads: 1 } }));
  const fromFile = loadConfig({ dataDir: dir });
  assert.equal(fromFile.hostname, 'mx.example.org');
  assert.equal(fromFile.listen.smtp?.port, 2600);
  assert.equal(fromFile.delivery.threads, 1);
  const overridden = loadConfig({ dataDir: dir, smtp: 'off', hostname: 'other.example', dns: '127.0.0.1:5353' });
  assert.equal(overridden.listen.smtp, null);
  assert.equal(overridden.hostname, 'other.example');
  assert.equal(overridden.dns, '127.0.0.1:5353');
  assert.throws(() => loadConfig({ dataDir: dir, dns: 'nonsense:x' }), /invalid listen address/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('config: spam.analysis threads and deadline', () => {
  assert.deepEqual(parseSpamConfig({}).analysis, { threads: Math.max(1, Math.min(4, os.availableParallelism() - 1)), timeoutMs: 10_000, uncheckedScore: 3 });
  assert.deepEqual(parseSpamConfig({ analysis: { threads: 0, timeoutMs: 2000, uncheckedScore: 5 } }).analysis, { threads: 0, timeoutMs: 2000, uncheckedScore: 5 });
  assert.throws(() => parseSpamConfig({ analysis: { threads: 1.5 } }), /spam\.analysis\.threads must be a whole number from 0 to 16/);
  assert.throws(() => parseSpamConfig({ analysis: { timeoutMs: 10 } }), /spam\.analysis\.timeoutMs must be a whole number from 100/);
});

test('config: spam.bayes token limits', () => {
  assert.deepEqual(parseSpamConfig({}).bayes, { maxGlobalTokens: 2_000_000, maxAccountTokens: 200_000, logisticScale: 1 });
  assert.deepEqual(parseSpamConfig({ bayes: { maxAccountTokens: 50_000, logisticScale: 0 } }).bayes, { maxGlobalTokens: 2_000_000, maxAccountTokens: 50_000, logisticScale: 0 });
  assert.throws(() => parseSpamConfig({ bayes: { logisticScale: -0.5 } }), /spam\.bayes\.logisticScale must be zero or positive/);
  assert.throws(() => parseSpamConfig({ bayes: { maxGlobalTokens: 10 } }), /at least 1000/);
  assert.throws(() => parseSpamConfig({ bayes: { maxAccountTokens: 'many' } }), /must be a number/);
});

test('config: sender scores have their sign', () => {
  assert.deepEqual([parseSpamConfig({}).scores.knownSender, parseSpamConfig({}).scores.junkedSender], [-3, 3]);
  assert.equal(parseSpamConfig({ scores: { knownSender: 0 } }).scores.knownSender, 0);
  assert.throws(() => parseSpamConfig({ scores: { knownSender: 2 } }), /zero or negative/);
  assert.throws(() => parseSpamConfig({ scores: { junkedSender: -1 } }), /zero or positive/);
});
