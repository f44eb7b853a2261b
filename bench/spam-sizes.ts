// What judging costs on mail of today's sizes: the development corpus averages 5.5 KB, a modern
// newsletter is 20-150 KB (multipart/alternative, quoted-printable text, base64 HTML laid out in
// styled tables, tracking links and images). Builds such newsletters from the corpus's own text
// (so the vocabulary is real) and times what `spam eval` and the MX compute per message (parse,
// view, rules, tokens) on one thread, against the corpus's own messages.
import fs from 'node:fs';
import { readCorpus } from '../src/filter/eval/corpus.js';
import { messageFeatures } from '../src/filter/eval/features.js';
import { defaultRules } from '../src/filter/rules/engine.js';
import { DEFAULT_TOKENIZE } from '../src/filter/bayes/tokenize.js';
import { parseMessage } from '../src/mime/index.js';
import { viewMessage } from '../src/filter/message-view.js';

export interface SizeRow { kind: string; messages: number; avgKiB: number; msPerMessage: number; perSecondOneCore: number }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A newsletter with about `kib` KiB of HTML, its paragraphs taken from `texts`. */
export function newsletter(texts: string[], kib: number, seed: number): Buffer {
  let html = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>${'.c{color:#333;font-family:Arial,Helvetica}'.repeat(30)}</style></head><body><table width="600" cellpadding="0" cellspacing="0">`;
  let plain = '';
  for (let i = 0; html.length < kib * 1024; i++) {
    const paras = texts[(seed * 31 + i * 7) % texts.length].slice(0, 1500).split(/\n+/).filter(Boolean);
    const link = `https://click.news.example.com/ls/click?upn=${seed}x${i}abcdefghijklmnop`;
    html += `<tr><td style="padding:10px 20px;font-size:14px;line-height:20px"><a href="${link}" style="color:#0066cc">${esc(paras[0] ?? '').slice(0, 80)}</a></td></tr>`
      + `<tr><td><img src="https://img.news.example.com/${seed}/${i}.png" width="600" height="200" alt="" style="display:block"></td></tr>`;
    for (const p of paras.slice(1)) html += `<tr><td style="padding:0 20px"><p style="margin:0 0 10px">${esc(p)}</p></td></tr>`;
    plain += `${paras.join('\n\n')}\n\nRead more: ${link}\n\n`;
  }
  html += '</table></body></html>';
  const b = `b${seed}`;
  const qp = plain.replace(/=/g, '=3D').replace(/(.{73})/g, '$1=\r\n');
  const b64 = Buffer.from(html).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(`From: News <news@shop.example.com>\r\nTo: user@example.org\r\nSubject: Weekly digest ${seed}\r\n`
    + `Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${seed}@shop.example.com>\r\nList-Unsubscribe: <https://shop.example.com/u/${seed}>\r\n`
    + `MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="${b}"\r\n\r\n`
    + `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qp}\r\n`
    + `--${b}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--${b}--\r\n`);
}

function time(kind: string, messages: Buffer[], rounds: number): SizeRow {
  const rules = defaultRules();
  for (const m of messages) messageFeatures(m, rules, DEFAULT_TOKENIZE); // warm the JIT
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const m of messages) messageFeatures(m, rules, DEFAULT_TOKENIZE);
  const ms = (performance.now() - t0) / (rounds * messages.length);
  const avgKiB = messages.reduce((a, m) => a + m.length, 0) / messages.length / 1024;
  return { kind, messages: messages.length, avgKiB: Math.round(avgKiB * 10) / 10, msPerMessage: Math.round(ms * 100) / 100, perSecondOneCore: Math.round(1000 / ms) };
}

export function judgingBySize(corpusDir: string): SizeRow[] {
  const corpus = readCorpus(corpusDir).map((e) => fs.readFileSync(e.file));
  const texts = corpus.filter((_, i) => i % 7 === 0).map((m) => viewMessage(m, parseMessage(m)).text).filter((t) => t.length > 500);
  const rows = [time('development corpus', corpus, 2)];
  for (const kib of [8, 30, 80]) rows.push(time(`newsletter, ${kib} KiB of HTML`, Array.from({ length: 60 }, (_, i) => newsletter(texts, kib, i + 1)), 20));
  return rows;
}
