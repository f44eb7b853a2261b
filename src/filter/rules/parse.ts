// The rules file format: one rule per line,
//
//     KIND  NAME  SCORE  [refuse]  TEST  ["description"]
//
// KIND   header | body | raw | uri | mime | attach | meta
// NAME   A-Z, 0-9, _ ; names starting with "__" are building blocks for meta rules (never
//        reported, score 0)
// SCORE  points (negative for ham signs); "refuse" makes a hit force a reject verdict
// TEST   header:  Name =~ /re/flags | Name !~ /re/flags | exists Name | missing Name
//                 (Name may be From:addr, From:name, Reply-To:addr, To:addr, or ALL for the
//                 whole decoded header; several fields of one name are joined by newlines)
//        body:    /re/flags   over the Subject line and the decoded text (HTML rendered)
//        raw:     /re/flags   over the raw message (first 256 KB, bytes as latin1)
//        uri:     [url|host|domain] /re/flags   true when any URL in text or HTML matches
//        attach:  [name|type] /re/flags   true when any attachment (or ZIP member) matches
//        mime:    expression over structure facts (see message-view.ts), e.g. html_only && text_chars < 200
//        meta:    expression over other rules, e.g. A && !B, (A + B + C) >= 2
// Lines starting with # and blank lines are ignored. Regexes are JavaScript regexes, refused
// when a repetition nests another that can backtrack without end (regex-safety.ts).

import { nestedRepetition } from './regex-safety.js';

export type RuleKind = 'header' | 'body' | 'raw' | 'uri' | 'mime' | 'attach' | 'meta';

export interface RuleSpec {
  kind: RuleKind;
  name: string;
  score: number;
  refuse: boolean;
  description: string;
  /** Where it was written, for error messages. */
  where: string;
  /** header: field name and operator; uri/attach: target. */
  target?: string;
  op?: '=~' | '!~' | 'exists' | 'missing';
  regex?: RegExp;
  /** mime and meta. */
  expr?: string;
}

export class RuleSyntaxError extends Error {}

const KINDS = new Set<RuleKind>(['header', 'body', 'raw', 'uri', 'mime', 'attach', 'meta']);

/** Read a /regex/flags literal at the start of `s`; returns it and the rest of the line. */
function readRegex(s: string, where: string): { re: RegExp; rest: string } {
  if (s[0] !== '/') throw new RuleSyntaxError(`${where}: expected /regex/`);
  let i = 1;
  let inClass = false;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') inClass = true;
    else if (c === '/') break;
  }
  if (i >= s.length) throw new RuleSyntaxError(`${where}: unterminated /regex/`);
  const body = s.slice(1, i);
  const fm = /^[a-z]*/.exec(s.slice(i + 1))!;
  const flags = fm[0].replace(/[gy]/g, '');
  let re: RegExp;
  try {
    re = new RegExp(body, flags);
  } catch (e) {
    throw new RuleSyntaxError(`${where}: bad regex: ${(e as Error).message}`);
  }
  // A regex that can backtrack without end would let one message hold the server (see regex-safety.ts).
  const nested = nestedRepetition(body, flags);
  if (nested !== null) throw new RuleSyntaxError(`${where}: regex can backtrack without end: ${nested}; bound the inner repetition or follow it by a character it cannot match`);
  return { re, rest: s.slice(i + 1 + fm[0].length) };
}

function readDescription(rest: string, where: string): string {
  const t = rest.trim();
  if (t === '') return '';
  const m = /^"([^"]*)"$/.exec(t);
  if (m === null) throw new RuleSyntaxError(`${where}: unexpected "${t.slice(0, 30)}" (description must be "quoted")`);
  return m[1];
}

export function parseRules(text: string, source = 'rules'): RuleSpec[] {
  const out: RuleSpec[] = [];
  const names = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${source}:${ln + 1}`;
    const m = /^(\S+)\s+(\S+)\s+(-?\d+(?:\.\d+)?)\s+(?:(refuse)\s+)?(.*)$/.exec(line);
    if (m === null) throw new RuleSyntaxError(`${where}: expected KIND NAME SCORE TEST`);
    const kind = m[1] as RuleKind;
    if (!KINDS.has(kind)) throw new RuleSyntaxError(`${where}: unknown rule kind "${m[1]}"`);
    const name = m[2];
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new RuleSyntaxError(`${where}: bad rule name "${name}"`);
    if (names.has(name)) throw new RuleSyntaxError(`${where}: duplicate rule ${name}`);
    names.add(name);
    const sub = name.startsWith('__');
    const spec: RuleSpec = { kind, name, score: sub ? 0 : Number(m[3]), refuse: m[4] !== undefined, description: '', where };
    let test = m[5];
    switch (kind) {
      case 'header': {
        const h = /^(exists|missing)\s+(\S+)\s*(.*)$/.exec(test);
        if (h !== null) {
          spec.op = h[1] as 'exists' | 'missing';
          spec.target = h[2];
          spec.description = readDescription(h[3], where);
          break;
        }
        const r = /^(\S+)\s+(=~|!~)\s+(.*)$/.exec(test);
        if (r === null) throw new RuleSyntaxError(`${where}: expected "Header =~ /re/", "Header !~ /re/", "exists Header" or "missing Header"`);
        spec.target = r[1];
        spec.op = r[2] as '=~' | '!~';
        const { re, rest } = readRegex(r[3], where);
        spec.regex = re;
        spec.description = readDescription(rest, where);
        break;
      }
      case 'body':
      case 'raw':
      case 'uri':
      case 'attach': {
        if (kind === 'uri' || kind === 'attach') {
          const t = /^(url|host|domain|name|type)\s+/.exec(test);
          spec.target = t === null ? (kind === 'uri' ? 'url' : 'name') : t[1];
          if (kind === 'uri' && !['url', 'host', 'domain'].includes(spec.target)) throw new RuleSyntaxError(`${where}: uri target must be url, host or domain`);
          if (kind === 'attach' && !['name', 'type'].includes(spec.target)) throw new RuleSyntaxError(`${where}: attach target must be name or type`);
          if (t !== null) test = test.slice(t[0].length);
        }
        const { re, rest } = readRegex(test, where);
        spec.regex = re;
        spec.description = readDescription(rest, where);
        break;
      }
      case 'mime':
      case 'meta': {
        const q = test.indexOf('"');
        spec.expr = (q < 0 ? test : test.slice(0, q)).trim();
        spec.description = q < 0 ? '' : readDescription(test.slice(q), where);
        if (spec.expr === '') throw new RuleSyntaxError(`${where}: empty expression`);
        break;
      }
    }
    out.push(spec);
  }
  return out;
}
