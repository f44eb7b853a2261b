// The rules engine: rules are data (see parse.ts for the format), compiled once into closures
// over a MessageView; evaluation runs every test once per message, then meta rules in
// dependency order.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessageView } from '../message-view.js';
import { parseRules, RuleSyntaxError, type RuleSpec } from './parse.js';
import { compileExpr } from './expr.js';
import { requiredLiterals } from './literals.js';
import { LiteralScanner } from './prefilter.js';

/** `text`: the rule reads the message's words (a body rule, or a meta rule over one), the
 * evidence a trained classifier weighs too (see textRuleScale in verdict.ts). */
export interface RuleHit { name: string; score: number; description: string; refuse: boolean; text: boolean }

export interface RuleResult {
  hits: RuleHit[];
  /** Sum of the scores of the rules that fired. */
  score: number;
  /** A rule with the refuse flag fired. */
  refuse: boolean;
}

const MAX_BODY = 100 * 1024;
const MAX_RAW = 256 * 1024;
/** Header text a rule sees (all fields of the name, or the whole header for ALL): real fields are
 * far shorter, and a rule's regex that is slower than linear must not get a megabyte to work on. */
const MAX_HEADER = 32 * 1024;

/** Per-message inputs derived lazily, so a rule set without raw rules never builds the raw text. */
class Inputs {
  private bodyText: string | null = null;
  private bodyLiterals: Uint8Array | null = null;
  private rawText: string | null = null;
  private readonly headerCache = new Map<string, string | null>();
  constructor(readonly v: MessageView, private readonly scanner: LiteralScanner | null = null) {}

  /** Whether any of the literals `ids` occurs in the body (one scan per message for all rules). */
  bodyMay(ids: readonly number[]): boolean {
    if (this.bodyLiterals === null) this.bodyLiterals = this.scanner!.scan(this.body());
    for (let k = 0; k < ids.length; k++) if (this.bodyLiterals[ids[k]] === 1) return true;
    return false;
  }

  body(): string {
    if (this.bodyText === null) {
      const t = `${this.v.parsed.subject}\n${this.v.text}`;
      this.bodyText = t.length > MAX_BODY ? t.slice(0, MAX_BODY) : t;
    }
    return this.bodyText;
  }

  raw(): string {
    if (this.rawText === null) this.rawText = this.v.raw.toString('latin1', 0, Math.min(this.v.raw.length, MAX_RAW));
    return this.rawText;
  }

  /** Header value(s) for a rule target; null when absent. */
  header(target: string): string | null {
    const hit = this.headerCache.get(target);
    if (hit !== undefined) return hit;
    const v = this.v;
    let out: string | null;
    const t = target.toLowerCase();
    if (t === 'all') out = v.headers.map((h) => `${h.rawName}: ${h.value}`).join('\n');
    else if (t === 'from:addr') out = v.parsed.from.length === 0 ? null : v.parsed.from.map((a) => a.address).join('\n');
    else if (t === 'from:name') out = v.parsed.from.length === 0 ? null : v.parsed.from.map((a) => a.name).join('\n');
    else if (t === 'to:addr') out = v.parsed.to.length === 0 ? null : v.parsed.to.map((a) => a.address).join('\n');
    else if (t === 'reply-to:addr') {
      const r = v.header('reply-to');
      out = r.length === 0 ? null : r.map((x) => /<([^>]*)>/.exec(x)?.[1] ?? x).join('\n');
    } else {
      const vals = v.header(t);
      out = vals.length === 0 ? null : vals.join('\n');
    }
    if (out !== null && out.length > MAX_HEADER) out = out.slice(0, MAX_HEADER);
    this.headerCache.set(target, out);
    return out;
  }
}

type Test = (inp: Inputs) => boolean;

interface Compiled { spec: RuleSpec; test: Test }

/** `literals`: ids in the rule set's LiteralScanner of literals one of which any body match
 * contains (null: the regex always runs). */
function compileTest(r: RuleSpec, literals: number[] | null): Test {
  const re = r.regex;
  switch (r.kind) {
    case 'header': {
      const target = r.target!;
      if (r.op === 'exists') return (inp) => inp.header(target) !== null;
      if (r.op === 'missing') return (inp) => inp.header(target) === null;
      if (r.op === '!~') return (inp) => !re!.test(inp.header(target) ?? '');
      return (inp) => { const h = inp.header(target); return h !== null && re!.test(h); };
    }
    case 'body':
      if (literals !== null) return (inp) => inp.bodyMay(literals) && re!.test(inp.body());
      return (inp) => re!.test(inp.body());
    case 'raw': return (inp) => re!.test(inp.raw());
    case 'uri': {
      const key = r.target === 'host' ? 'host' : r.target === 'domain' ? 'domain' : 'url';
      return (inp) => inp.v.urls.some((u) => re!.test(u[key]));
    }
    case 'attach': {
      const byType = r.target === 'type';
      return (inp) => inp.v.attachments.some((a) => re!.test(byType ? a.type : a.name));
    }
    case 'mime': {
      const { fn } = compileExpr<Inputs>(r.expr!, (name) => (inp) => inp.v.facts[name] ?? 0);
      return (inp) => fn(inp) !== 0;
    }
    default: throw new Error('meta rules are compiled separately');
  }
}

export class RuleSet {
  private readonly tests: Compiled[] = [];
  private readonly metas: { spec: RuleSpec; fn: (hits: Uint8Array) => number }[] = [];
  private readonly index = new Map<string, number>();
  private readonly scanner: LiteralScanner | null;
  /** Rules that read the words: body rules and meta rules over them (transitively). */
  private readonly textual = new Set<string>();
  readonly rules: RuleSpec[];

  constructor(specs: RuleSpec[]) {
    this.rules = specs;
    const plain = specs.filter((s) => s.kind !== 'meta');
    const metas = specs.filter((s) => s.kind === 'meta');
    plain.forEach((s, i) => this.index.set(s.name, i));
    for (const s of plain) if (s.kind === 'body') this.textual.add(s.name);
    // Body rules with required literals share one literal scanner.
    const literals: string[] = [];
    const idsOf = new Map<RuleSpec, number[]>();
    for (const s of plain) {
      const lits = s.kind === 'body' && s.regex !== undefined ? requiredLiterals(s.regex) : null;
      if (lits === null) continue;
      idsOf.set(s, lits.map((l) => { let k = literals.indexOf(l); if (k < 0) { k = literals.length; literals.push(l); } return k; }));
    }
    this.scanner = literals.length > 0 ? new LiteralScanner(literals) : null;
    for (const s of plain) {
      try { this.tests.push({ spec: s, test: compileTest(s, idsOf.get(s) ?? null) }); } catch (e) {
        throw new RuleSyntaxError(`${s.where}: ${(e as Error).message}`);
      }
    }
    // Meta rules in dependency order (a meta may use another meta); cycles are errors.
    const byName = new Map(metas.map((m) => [m.name, m]));
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (m: RuleSpec) => {
      if (state.get(m.name) === 'done') return;
      if (state.get(m.name) === 'visiting') throw new RuleSyntaxError(`${m.where}: meta rule ${m.name} depends on itself`);
      state.set(m.name, 'visiting');
      const deps = compileExpr<Uint8Array>(m.expr!, () => () => 0).names;
      for (const d of deps) {
        const dm = byName.get(d);
        if (dm !== undefined) visit(dm);
        else if (!this.index.has(d)) throw new RuleSyntaxError(`${m.where}: meta rule ${m.name} uses unknown rule ${d}`);
      }
      if (deps.some((d) => this.textual.has(d))) this.textual.add(m.name);
      const slot = this.index.size;
      const { fn } = compileExpr<Uint8Array>(m.expr!, (name) => { const k = this.index.get(name)!; return (hits) => hits[k]; });
      this.index.set(m.name, slot);
      this.metas.push({ spec: m, fn });
      state.set(m.name, 'done');
    };
    for (const m of metas) {
      try { visit(m); } catch (e) {
        if (e instanceof RuleSyntaxError) throw e;
        throw new RuleSyntaxError(`${m.where}: ${(e as Error).message}`);
      }
    }
  }

  static parse(text: string, source?: string): RuleSet {
    return new RuleSet(parseRules(text, source));
  }

  static fromFile(file: string): RuleSet {
    return RuleSet.parse(fs.readFileSync(file, 'utf8'), path.basename(file));
  }

  evaluate(v: MessageView): RuleResult {
    const inp = new Inputs(v, this.scanner);
    const hits = new Uint8Array(this.index.size);
    const out: RuleHit[] = [];
    let score = 0;
    let refuse = false;
    const fire = (s: RuleSpec) => {
      if (s.name.startsWith('__')) return;
      out.push({ name: s.name, score: s.score, description: s.description, refuse: s.refuse, text: this.textual.has(s.name) });
      score += s.score;
      if (s.refuse) refuse = true;
    };
    for (let i = 0; i < this.tests.length; i++) {
      const c = this.tests[i];
      let ok = false;
      try { ok = c.test(inp); } catch { ok = false; }
      if (ok) { hits[i] = 1; fire(c.spec); }
    }
    for (let j = 0; j < this.metas.length; j++) {
      const m = this.metas[j];
      if (m.fn(hits) !== 0) { hits[this.tests.length + j] = 1; fire(m.spec); }
    }
    return { hits: out, score: Math.round(score * 1000) / 1000, refuse };
  }
}

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package root not found');
    dir = up;
  }
  return dir;
}

/** The shipped rules file (tsc does not copy it to dist/, so it is read from the source tree). */
export function defaultRulesPath(): string {
  return path.join(packageRoot(), 'src', 'filter', 'rules', 'default.rules');
}

let defaults: RuleSet | null = null;
export function defaultRules(): RuleSet {
  if (defaults === null) defaults = RuleSet.fromFile(defaultRulesPath());
  return defaults;
}
