import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseMessage } from '../../../src/mime/index.js';
import { viewMessage } from '../../../src/filter/message-view.js';
import { RuleSet, defaultRules, defaultRulesPath } from '../../../src/filter/rules/engine.js';
import { RuleSyntaxError } from '../../../src/filter/rules/parse.js';
import { msg, multipart } from '../helpers-msg.js';

const RULES = `
# every kind once
header SUBJ_CAPS   1.5 Subject =~ /^[^a-z]+$/ "caps subject"
header NO_DATE     1.0 missing Date "no date"
header HAS_LIST    -0.5 exists List-Id "a list"
header FROM_DIGITS 0.5 From:addr =~ /^\\d+@/ "digits"
body   PILLS       2.0 /\\bcheap pills\\b/i "pills"
raw    RAW_X       0.5 /^X-Weird: yes/m "weird header in raw"
uri    IP_LINK     1.0 host /^\\d+\\.\\d+\\.\\d+\\.\\d+$/ "ip link"
uri    PATH_LINK   0.3 url /\\/buy\\b/ "buy link"
mime   HTML_ONLY_T 0.7 html_only && text_chars < 500 "html only"
attach EXE         9.0 refuse name /\\.exe$/i "executable"
attach ZIPPED      0.1 type /zip/ "zip"
meta   COMBO       1.0 SUBJ_CAPS && (PILLS || IP_LINK) "combo"
meta   COUNT2      0.2 (SUBJ_CAPS + NO_DATE + PILLS) >= 2 "two of three"
header __SUB       0 Subject =~ /x/
meta   USES_SUB    0.4 __SUB && !HAS_LIST "sub-rule"
`;

function run(rs: RuleSet, raw: Buffer) {
  return rs.evaluate(viewMessage(raw, parseMessage(raw)));
}
const names = (r: { hits: { name: string }[] }) => r.hits.map((h) => h.name).sort();

test('rules: each kind, meta and sub-rules', () => {
  const rs = RuleSet.parse(RULES, 'test.rules');
  const m = msg({ From: '12345@spam.test', Subject: 'CHEAP PILLS X', 'X-Weird': 'yes', 'Content-Type': 'text/html' },
    '<p>Buy <b>cheap pills</b> at <a href="http://192.0.2.7/buy">our shop</a></p>');
  const r = run(rs, m);
  assert.deepEqual(names(r), ['COMBO', 'COUNT2', 'FROM_DIGITS', 'HTML_ONLY_T', 'IP_LINK', 'NO_DATE', 'PATH_LINK', 'PILLS', 'RAW_X', 'SUBJ_CAPS']);
  assert.equal(r.score, 1.5 + 1 + 0.5 + 2 + 0.5 + 1 + 0.3 + 0.7 + 1 + 0.2);
  assert.equal(r.refuse, false);
  const ham = run(rs, msg({ From: 'ann@b.test', Subject: 'lunch x', Date: 'Mon, 1 Jul 2024 10:00:00 +0000', 'List-Id': '<l.b.test>' }, 'see you at noon'));
  assert.deepEqual(names(ham), ['HAS_LIST']);
  assert.equal(ham.score, -0.5);
});

test('rules: body rules and meta rules over them (also through a sub-rule) read the words; header and mime rules do not', () => {
  const rs = RuleSet.parse(`body   PILLS    1.0 /cheap pills/i
body   __FREE   0   /free/i
header SUBJ_X   0.5 Subject =~ /x/
mime   HTML_T   0.3 html_only
meta   __BOTH   0   PILLS && __FREE
meta   DEEP     1.0 __BOTH && SUBJ_X
meta   HEADERS  0.4 SUBJ_X && !HTML_T
`);
  const r = run(rs, msg({ From: 'a@b.test', Subject: 'x' }, 'cheap pills, free'));
  assert.deepEqual(Object.fromEntries(r.hits.map((h) => [h.name, h.text])), { PILLS: true, SUBJ_X: false, DEEP: true, HEADERS: false });
});

test('rules: executable attachment (also inside a name list) refuses', () => {
  const rs = RuleSet.parse(RULES);
  const m = multipart({ From: 'a@b.test', Subject: 'invoice', Date: 'Mon, 1 Jul 2024 10:00:00 +0000' }, [
    { headers: { 'Content-Type': 'text/plain' }, body: 'see attached' },
    { headers: { 'Content-Type': 'application/octet-stream; name="invoice.pdf.exe"', 'Content-Disposition': 'attachment; filename="invoice.pdf.exe"', 'Content-Transfer-Encoding': 'base64' }, body: 'TVqQAAMAAAAEAAAA' },
  ]);
  const r = run(rs, m);
  assert.ok(names(r).includes('EXE'));
  assert.equal(r.refuse, true);
});

test('default rules: double extension and ZIP-wrapped executable refuse; macro documents score high', () => {
  const rs = defaultRules();
  const att = (name: string, type: string, body: string) => multipart({ From: 'a@b.test', Subject: 'doc', Date: 'Mon, 1 Jul 2024 10:00:00 +0000', 'Message-ID': '<1@b.test>' }, [
    { headers: { 'Content-Type': 'text/plain' }, body: 'please see the attachment' },
    { headers: { 'Content-Type': `${type}; name="${name}"`, 'Content-Disposition': `attachment; filename="${name}"`, 'Content-Transfer-Encoding': 'base64' }, body },
  ]);
  const dbl = run(rs, att('invoice.pdf.exe', 'application/octet-stream', 'TVqQ'));
  assert.ok(names(dbl).includes('ATTACH_DOUBLE_EXT') && dbl.refuse);
  // A ZIP whose central directory lists "setup.scr".
  const name = Buffer.from('setup.scr');
  const cd = Buffer.alloc(46);
  cd.writeUInt32LE(0x02014b50, 0);
  cd.writeUInt16LE(name.length, 28);
  const zip = Buffer.concat([Buffer.from('PK\x03\x04junk', 'latin1'), cd, name]).toString('base64');
  const zipped = run(rs, att('files.zip', 'application/zip', zip));
  assert.ok(names(zipped).includes('ATTACH_EXECUTABLE') && zipped.refuse);
  const macro = run(rs, att('report.xlsm', 'application/vnd.ms-excel.sheet.macroEnabled.12', 'UEsDBA=='));
  assert.ok(names(macro).includes('ATTACH_MACRO_OFFICE') && !macro.refuse && macro.score >= 5);
  const pdf = run(rs, att('report.pdf', 'application/pdf', 'JVBERi0='));
  assert.equal(pdf.refuse, false);
});

test('rules file errors name the line', () => {
  assert.throws(() => RuleSet.parse('body X 1.0 /unterminated', 'f.rules'), (e: Error) => e instanceof RuleSyntaxError && /f\.rules:1/.test(e.message));
  assert.throws(() => RuleSet.parse('bogus X 1.0 /a/'), /unknown rule kind/);
  assert.throws(() => RuleSet.parse('meta A 1 B'), /unknown rule B/);
  assert.throws(() => RuleSet.parse('meta A 1 B\nmeta B 1 A'), /depends on itself/);
  assert.throws(() => RuleSet.parse('body A 1 /a/\nbody A 1 /b/'), /duplicate/);
  assert.throws(() => RuleSet.parse('mime A 1 html_only &&'), RuleSyntaxError);
});

test('default rules file parses and evaluates fast', () => {
  const rs = RuleSet.fromFile(defaultRulesPath());
  assert.ok(rs.rules.length > 80);
  assert.ok(fs.readFileSync(defaultRulesPath(), 'utf8').includes('refuse'));
  const m = msg({ From: 'x@y.test', Subject: 'hello', 'Content-Type': 'text/html' }, '<p>' + 'lorem ipsum dolor sit amet '.repeat(2000) + '</p>');
  const v = viewMessage(m, parseMessage(m));
  const t = performance.now();
  for (let i = 0; i < 50; i++) rs.evaluate(v);
  const per = (performance.now() - t) / 50;
  assert.ok(per < 20, `${per.toFixed(2)} ms per evaluation of a 54 KB message`);
});

test('view facts: capitals counted among the letters that have case, in any script', () => {
  const caps = (body: string) => {
    const raw = msg({ From: 'a@b.test', Subject: 't', 'Content-Type': 'text/plain; charset=utf-8' }, body);
    const f = viewMessage(raw, parseMessage(raw)).facts;
    return [f.body_letters, f.body_upper_pct];
  };
  assert.deepEqual(caps('ПРИВЕТ МИР ÉTÉ'), [12, 100]);
  assert.deepEqual(caps('привет мир été'), [12, 0]);
  assert.deepEqual(caps('Hello ÉCOLE'), [10, 60]);
  // Japanese has no case: no letters to count, so no share of capitals either.
  assert.deepEqual(caps('会議の議事録を送ります'), [0, 0]);
});

test('view facts: characters of the text counted from its plain and HTML parts; a bad base64 body', () => {
  const nonSpace = (s: string) => [...s].filter((c) => /\S/.test(c) && c !== '\u00a0').length;
  const raw = multipart({ From: 'a@b.test', Subject: 't' }, [
    { headers: { 'Content-Type': 'text/plain' }, body: 'plain words here\n\n  more' },
    { headers: { 'Content-Type': 'text/html' }, body: '<p>html&nbsp;words</p><p>and more</p>' },
    { headers: { 'Content-Type': 'text/plain', 'Content-Transfer-Encoding': 'base64' }, body: 'aGVsbG8g\nd29ybGQ=' },
    { headers: { 'Content-Type': 'application/octet-stream', 'Content-Transfer-Encoding': 'base64' }, body: 'not*base64!' },
  ]);
  const v = viewMessage(raw, parseMessage(raw));
  assert.equal(v.facts.text_chars, nonSpace(v.text));
  assert.equal(v.facts.text_chars, v.facts.plain_chars + v.facts.html_text_chars);
  assert.equal(v.facts.bad_base64, 1);
  const long = msg({ From: 'a@b.test', Subject: 't', 'Content-Transfer-Encoding': 'base64' }, 'QUJD'.repeat(60));
  assert.equal(viewMessage(long, parseMessage(long)).facts.bad_base64, 1);
});
