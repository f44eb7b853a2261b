import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWithDeadline, moduleLiteral } from '../helpers/worker.js';

// Long runs of one kind of character in each place a message carries text: nothing the filter
// does with a message (parsing, the view, rules, tokens) may be slower than linear in it, or one
// message holds the thread that every SMTP session shares. Found this way: a Subject of 50 KB of
// "a." took 1.4 s (SUBJ_YOUR_ADDR's unbounded local part), of tabs 1.1 s (unfolding encoded
// words), a Date of "(" 1.1 s (comment removal), all quadratic; now each message takes
// milliseconds.

const SLOTS: Record<string, (r: string) => string> = {
  subject: (r) => `From: a@b.com\r\nTo: c@d.com\r\nSubject: ${r}\r\n\r\nhello\r\n`,
  to: (r) => `From: a@b.com\r\nTo: ${r}\r\nSubject: s\r\n\r\nhello\r\n`,
  from: (r) => `From: "${r}" <a@b.com>\r\nTo: c@d.com\r\nSubject: s\r\n\r\nhello\r\n`,
  date: (r) => `From: a@b.com\r\nDate: ${r}\r\nSubject: s\r\n\r\nhello\r\n`,
  received: (r) => `Received: from ${r} (${r} [1.2.3.4]) by x.y with SMTP\r\nFrom: a@b.com\r\nSubject: s\r\nMessage-ID: <${r}@x>\r\n\r\nhello\r\n`,
  body: (r) => `From: a@b.com\r\nSubject: s\r\n\r\n${r}\r\n`,
  url: (r) => `From: a@b.com\r\nSubject: s\r\n\r\nsee http://${r}/ and http://x.com/${r}\r\n`,
  html: (r) => `From: a@b.com\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<html><body><a href="http://${r}">${r}</a><img src="${r}" alt='${r}'><${r}><!--${r}<p style="${r}">${r}</body></html>\r\n`,
  mime: (r) => `From: a@b.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary="${r}"; name=${r}\r\n\r\n--${r}\r\nContent-Type: text/plain; name="${r}"\r\nContent-Disposition: attachment; filename="${r}"\r\n\r\nx\r\n--${r}--\r\n`,
};
const RUNS = ['a', '1', ' ', '\t', '.', 'a.', 'a1', '1,', '(', ';', '<', '<a', '@a', 'a@', '=?', '%31', 'www.', '&amp;'];
const SIZE = 50_000;

test('messages made of long runs of one character are judged in linear time', async () => {
  const messages: { name: string; raw: Uint8Array }[] = [];
  for (const [slot, make] of Object.entries(SLOTS)) {
    for (const r of RUNS) messages.push({ name: `${slot} ${JSON.stringify(r)}`, raw: new Uint8Array(Buffer.from(make(r.repeat(Math.ceil(SIZE / r.length)) + '\u0001'))) });
  }
  const mod = (p: string) => moduleLiteral(p, import.meta.url);
  const times: { name: string; ms: number; tokens: number }[] = [];
  let current = '';
  const outcome = await runWithDeadline<string>(`
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { messageFeatures } = await import(${mod('../../src/filter/eval/features.js')});
      const { defaultRules } = await import(${mod('../../src/filter/rules/engine.js')});
      const { DEFAULT_TOKENIZE } = await import(${mod('../../src/filter/bayes/tokenize.js')});
      const rules = defaultRules();
      messageFeatures(Buffer.from('From: a@b.com\\r\\n\\r\\nwarm\\r\\n'), rules, DEFAULT_TOKENIZE);
      for (const m of workerData) {
        parentPort.postMessage({ note: { started: m.name } });
        const t = performance.now();
        const f = messageFeatures(Buffer.from(m.raw), rules, DEFAULT_TOKENIZE);
        parentPort.postMessage({ note: { name: m.name, ms: performance.now() - t, tokens: f.tokens.length } });
      }
      parentPort.postMessage('done');
    })();`, messages, 120_000, (n) => {
    const note = n as { started?: string; name: string; ms: number; tokens: number };
    if (note.started !== undefined) current = note.started; else times.push(note);
  });
  assert.equal(outcome, 'done', `no answer in 120 s, at ${current}`);
  assert.equal(times.length, messages.length);
  assert.ok(times.every((t) => t.tokens > 0));
  times.sort((a, b) => b.ms - a.ms);
  // Linear work on 50 KB is tens of milliseconds; the quadratic cases took over a second.
  assert.ok(times[0].ms < 600, `slowest: ${times.slice(0, 3).map((t) => `${t.name} ${t.ms.toFixed(0)} ms`).join(', ')}`);
});
