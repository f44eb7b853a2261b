// The rules must judge mail of today, not only the 2002 corpus they were measured on. The
// fixtures are modern messages of the kinds a provider's customers get every day (Gmail and
// Outlook replies, a Mailchimp newsletter, GitHub, Amazon SES, Google Calendar, a mailing list,
// a bank) and of today's spam and phishing. Legitimate mail must score near zero on rules alone
// (rules are what a new installation has before its Bayes database is trained); spam must
// trip the rule written for its trick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseMessage } from '../../../src/mime/index.js';
import { viewMessage } from '../../../src/filter/message-view.js';
import { defaultRules } from '../../../src/filter/rules/engine.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const DIR = path.join(REPO_ROOT, 'test/filter/fixtures/modern');
const rules = defaultRules();
function judge(file: string): { score: number; hits: string[] } {
  const raw = fs.readFileSync(file);
  const r = rules.evaluate(viewMessage(raw, parseMessage(raw)));
  return { score: r.score, hits: r.hits.map((h) => h.name) };
}
const list = (sub: string) => fs.readdirSync(path.join(DIR, sub)).filter((f) => f.endsWith('.eml')).sort().map((f) => path.join(DIR, sub, f));

test('modern legitimate mail scores at most 1 point on rules alone', () => {
  const files = list('ham');
  assert.ok(files.length >= 12, `fixtures: ${files.length}`);
  for (const f of files) {
    const { score, hits } = judge(f);
    assert.ok(score <= 1.0, `${path.basename(f)}: ${score} (${hits.join(' ')})`);
  }
});

test('modern spam and phishing trip the rule for their trick', () => {
  const want: Record<string, string[]> = {
    'office365-phish.eml': ['FROM_BRAND_SPOOF', 'URL_TEXT_MISMATCH', 'PHISH_ACCOUNT'],
    'parcel-phish.eml': ['FROM_BRAND_SPOOF', 'URL_BRAND_LOOKALIKE', 'HTML_HIDDEN_TEXT'],
    'invoice-html-attachment.eml': ['ATTACH_HTML_ACTIVE', 'MSGID_OUTLOOK_FORGED'],
    'sextortion.eml': ['BITCOIN_EXTORTION'],
    'advance-fee.eml': ['ADVANCE_FEE', 'REPLYTO_FREEMAIL_DIFF'],
    'crypto-investment.eml': ['MAKE_MONEY', 'SALES_PITCH_HEAVY'],
  };
  const files = list('spam');
  assert.deepEqual(files.map((f) => path.basename(f)).sort(), Object.keys(want).sort());
  for (const f of files) {
    const { score, hits } = judge(f);
    for (const r of want[path.basename(f)]) assert.ok(hits.includes(r), `${path.basename(f)} lacks ${r}: ${hits.join(' ')}`);
    assert.ok(score >= 4.5, `${path.basename(f)}: ${score} (${hits.join(' ')})`);
  }
});
