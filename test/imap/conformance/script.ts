// Parsing conformance script files. See README.md in this folder for the format.
import fs from 'node:fs';
import path from 'node:path';
import { bin, unescape } from './match.js';

export type ExpectMode = 'one' | 'opt' | 'star';

export interface ExpectLine {
  line: number;
  conn: string;
  mode: ExpectMode;
  /** Byte string; ${vars} expanded when it is used. */
  pattern: string;
}

export type Step =
  | { k: 'send'; line: number; conn: string; text: string; raw: boolean }
  | ({ k: 'expect' } & ExpectLine)
  | { k: 'unordered'; line: number; conn: string; items: ExpectLine[] }
  /** @either ... @or ... @end: the first branch whose lines all match, in order. */
  | { k: 'either'; line: number; conn: string; branches: ExpectLine[][] }
  | { k: 'dir'; line: number; name: string; args: string[]; rest: string };

export interface Case {
  title: string;
  line: number;
  steps: Step[];
  /** Number of client commands the case sends (C lines that start a command, @do, @login). */
  exchanges: number;
}

export interface ScriptFile {
  path: string;
  name: string;
  title: string;
  config: Record<string, unknown> | null;
  blobs: Map<string, string>;
  cases: Case[];
}

const LINE = /^([CS])(\d*)([x?*]?):(?: (.*))?$/;

export function parseScript(file: string): ScriptFile {
  const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  const out: ScriptFile = { path: file, name: path.basename(file, '.txt'), title: '', config: null, blobs: new Map(), cases: [] };
  let cur: Case | null = null;
  let group: { line: number; conn: string; items: ExpectLine[]; kind: 'unordered' | 'either'; branches: ExpectLine[][] } | null = null;
  const fail = (n: number, msg: string): never => {
    throw new Error(`${file}:${n}: ${msg}`);
  };
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const l = lines[i]!;
    if (l.startsWith('## ')) {
      if (group) fail(n, 'unterminated @unordered');
      cur = { title: l.slice(3).trim(), line: n, steps: [], exchanges: 0 };
      out.cases.push(cur);
      continue;
    }
    if (l.startsWith('# ') && !out.title && !cur) out.title = l.slice(2).trim();
    if (l.trim() === '' || l.startsWith('#')) continue;
    if (l.startsWith('@')) {
      const [name, ...args] = l.slice(1).trim().split(/\s+/);
      const rest = l.slice(1).trim().slice(name!.length).trim();
      if (name === 'blob') {
        const blobName = args[0] ?? fail(n, '@blob needs a name');
        if (args[1] === '=') {
          // @blob NAME = A B C   (concatenation of blobs defined before)
          out.blobs.set(blobName, args.slice(2).map((b) => out.blobs.get(b) ?? fail(n, `unknown blob ${b}`)).join(''));
          continue;
        }
        const body: string[] = [];
        for (i++; i < lines.length && lines[i] !== '@end'; i++) body.push(lines[i]!);
        if (i >= lines.length) fail(n, 'unterminated @blob');
        let data = body.join('\r\n') + (args.includes('noeol') ? '' : '\r\n');
        data = bin(data);
        if (args.includes('esc')) data = unescape(data);
        out.blobs.set(blobName, data);
        continue;
      }
      if (name === 'include') {
        // Blobs shared between scripts: @include common.blobs
        const inc = parseScript(path.join(path.dirname(file), args[0] ?? fail(n, '@include needs a file')));
        for (const [k, v] of inc.blobs) out.blobs.set(k, v);
        continue;
      }
      if (name === 'config') {
        if (cur) fail(n, '@config belongs before the first case');
        out.config = JSON.parse(rest) as Record<string, unknown>;
        continue;
      }
      if (!cur) fail(n, `@${name} outside a case`);
      if (name === 'unordered' || name === 'either') {
        if (group) fail(n, `@${name} inside another group`);
        group = { line: n, conn: /^\d+$/.test(args[0] ?? '') ? args[0]! : '1', items: [], kind: name, branches: [] };
        continue;
      }
      if (name === 'or') {
        if (group?.kind !== 'either') fail(n, '@or outside @either');
        group!.branches.push(group!.items);
        group!.items = [];
        continue;
      }
      if (name === 'end') {
        if (!group) fail(n, '@end without @unordered or @either');
        if (group!.items.length === 0) fail(n, 'empty group');
        if (group!.kind === 'unordered') cur!.steps.push({ k: 'unordered', line: group!.line, conn: group!.conn, items: group!.items });
        else cur!.steps.push({ k: 'either', line: group!.line, conn: group!.conn, branches: [...group!.branches, group!.items] });
        group = null;
        continue;
      }
      if (group) fail(n, 'only S lines inside @unordered / @either');
      if (name === 'do' || name === 'login') cur!.exchanges++;
      cur!.steps.push({ k: 'dir', line: n, name: name!, args, rest: bin(rest) });
      continue;
    }
    const m = LINE.exec(l);
    if (!m) fail(n, `cannot parse line: ${l}`);
    if (!cur) fail(n, 'C/S line outside a case');
    const [, side, connDigits, flag, body = ''] = m!;
    const conn = connDigits || '1';
    if (side === 'C') {
      if (group) fail(n, 'C line inside @unordered / @either');
      if (flag === '?' || flag === '*') fail(n, 'C lines take no ? or *');
      // A line that starts with a tag and a command name counts as one exchange.
      if (/^[A-Za-z0-9.]+ [A-Za-z]/.test(body) && !/^DONE$/i.test(body)) cur!.exchanges++;
      cur!.steps.push({ k: 'send', line: n, conn, text: bin(body), raw: flag === 'x' });
    } else {
      if (flag === 'x') fail(n, 'S lines take no x');
      const e: ExpectLine = { line: n, conn, mode: flag === '?' ? 'opt' : flag === '*' ? 'star' : 'one', pattern: bin(body) };
      if (group) {
        if (conn !== group.conn) fail(n, 'all lines of a group use one connection');
        group.items.push(e);
      } else cur!.steps.push({ k: 'expect', ...e });
    }
  }
  if (group) fail(lines.length, 'unterminated @unordered');
  return out;
}

export function listScripts(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => path.join(dir, f));
}
