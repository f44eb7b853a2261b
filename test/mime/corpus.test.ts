// Byte-exactness of the tree on every corpus message, as stored and converted to CRLF.
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage } from '../../src/mime/index.js';
import { SPAM_CORPUS, MIME_CONFORMANCE, listEml } from '../helpers/paths.js';
import { checkTree, toCrlf } from './tree-check.js';

function run(files: string[]) {
  for (const f of files) {
    const raw = fs.readFileSync(f);
    for (const [form, buf] of [['orig', raw], ['crlf', toCrlf(raw)]] as const) {
      const m = parseMessage(buf);
      checkTree(buf, m.tree, `${path.basename(f)} (${form})`);
    }
  }
}

test('spamassassin ham: tree invariants and reassembly', () => {
  run(listEml(path.join(SPAM_CORPUS, 'ham')));
});

test('spamassassin spam: tree invariants and reassembly', () => {
  run(listEml(path.join(SPAM_CORPUS, 'spam')));
});

test('MIME conformance corpus: tree invariants and reassembly', () => {
  run(listEml(MIME_CONFORMANCE));
});
