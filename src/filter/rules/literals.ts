// Required literals of a regex: a set of strings such that any match of the regex contains at
// least one of them (ASCII case ignored). A body rule whose literals are all absent from the
// text cannot match, so its regex need not run; one pass of a literal scanner over the text
// (prefilter.ts) then replaces most of the per-rule regex scans (the idea behind
// SpamAssassin's body-rule prefiltering).
//
// The analysis is conservative: whatever it does not understand (classes, backreferences,
// optional or repeated parts, lookaround) contributes no literal; if some alternative has no
// literal at all, the regex gets none (null) and is always run.

/** Longest literals first; shorter than this gains nothing over running the regex. */
const MIN_LITERAL = 2;

type Lits = string[] | null;

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  /** alternation := sequence ('|' sequence)* */
  alternation(): Lits {
    const alts: Lits[] = [this.sequence()];
    while (this.src[this.i] === '|') { this.i++; alts.push(this.sequence()); }
    if (alts.some((a) => a === null)) return null;
    return [...new Set(alts.flat() as string[])];
  }

  /** The best required set among the sequence's items: a run of literal characters, or a
   * group that must match once. */
  private sequence(): Lits {
    let best: Lits = null;
    let run = '';
    const offer = (l: Lits) => { if (l !== null && better(l, best)) best = l; };
    const endRun = () => { if (run.length > 0) offer([run]); run = ''; };
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const item = this.atom();
      const q = this.quantifier();
      if (item.kind === 'char' && q === 'one') { run += item.ch; continue; }
      endRun();
      // A part that must occur at least once still contributes its own literals.
      if (q !== 'optional') {
        if (item.kind === 'char') offer([item.ch]);
        else if (item.kind === 'group') offer(item.lits);
      }
    }
    endRun();
    return best;
  }

  private atom(): { kind: 'char'; ch: string } | { kind: 'group'; lits: Lits } | { kind: 'other' } {
    const c = this.src[this.i++];
    if (c === '\\') {
      const e = this.src[this.i++] ?? '';
      if (/[dDwWsSbBpPkcux0-9]/.test(e)) {
        // Classes, boundaries, escapes with arguments: skip their arguments where they have some.
        if (e === 'p' || e === 'P' || e === 'k') { if (this.src[this.i] === '{' || this.src[this.i] === '<') this.skipTo(this.src[this.i] === '{' ? '}' : '>'); }
        else if (e === 'x') this.i += 2;
        else if (e === 'u') { if (this.src[this.i] === '{') this.skipTo('}'); else this.i += 4; }
        else if (e === 'c') this.i += 1;
        return { kind: 'other' };
      }
      if (/[tnrfv]/.test(e)) return { kind: 'char', ch: ({ t: '\t', n: '\n', r: '\r', f: '\f', v: '\v' } as Record<string, string>)[e] };
      return { kind: 'char', ch: e };
    }
    if (c === '[') {
      while (this.i < this.src.length && this.src[this.i] !== ']') { if (this.src[this.i] === '\\') this.i++; this.i++; }
      this.i++;
      return { kind: 'other' };
    }
    if (c === '(') {
      let lookaround = false;
      if (this.src[this.i] === '?') {
        const n = this.src[this.i + 1];
        if (n === ':') this.i += 2;
        else if (n === '=' || n === '!') { this.i += 2; lookaround = true; }
        else if (n === '<' && (this.src[this.i + 2] === '=' || this.src[this.i + 2] === '!')) { this.i += 3; lookaround = true; }
        else if (n === '<') this.skipTo('>');
        else { this.i += 1; lookaround = true; } // unknown group syntax: treat as opaque
      }
      const lits = this.alternation();
      if (this.src[this.i] === ')') this.i++;
      return lookaround ? { kind: 'other' } : { kind: 'group', lits };
    }
    if (c === '.' || c === '^' || c === '$') return { kind: 'other' };
    return { kind: 'char', ch: c };
  }

  private quantifier(): 'one' | 'optional' | 'some' {
    const c = this.src[this.i];
    let q: 'one' | 'optional' | 'some' = 'one';
    if (c === '?' || c === '*') { this.i++; q = 'optional'; }
    else if (c === '+') { this.i++; q = 'some'; }
    else if (c === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(this.src.slice(this.i));
      if (m === null) return 'one'; // a literal "{"
      this.i += m[0].length;
      q = Number(m[1]) === 0 ? 'optional' : m[2] === undefined && m[1] === '1' ? 'one' : 'some';
    }
    if (this.src[this.i] === '?' && q !== 'one') this.i++; // lazy
    return q;
  }

  private skipTo(end: string): void {
    const j = this.src.indexOf(end, this.i);
    this.i = j < 0 ? this.src.length : j + 1;
  }
}

/** A set is better when its shortest member is longer (fewer chance hits), then when smaller. */
function better(a: string[], b: string[] | null): boolean {
  if (b === null) return true;
  const ma = Math.min(...a.map((s) => s.length)), mb = Math.min(...b.map((s) => s.length));
  return ma !== mb ? ma > mb : a.length < b.length;
}

/**
 * Literals one of which every match of `re` contains, lower-cased; null when there is no such
 * set worth using (or the flags make ASCII case-folding unsound: with both i and u, "ſ" and the
 * Kelvin sign match s and k).
 */
export function requiredLiterals(re: RegExp): string[] | null {
  if (re.flags.includes('i') && (re.flags.includes('u') || re.flags.includes('v'))) return null;
  let lits: Lits;
  try { lits = new Parser(re.source).alternation(); } catch { return null; }
  if (lits === null || lits.length === 0 || lits.length > 64) return null;
  if (lits.some((s) => s.length < MIN_LITERAL || /[^\x00-\x7f]/.test(s))) return null;
  return lits.map((s) => s.toLowerCase());
}
