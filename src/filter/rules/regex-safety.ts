// A check, made when a rules file is loaded, for the regexes that can backtrack without end.
//
// JavaScript's regex engine backtracks: a repeated group whose body can itself repeat a variable
// number of times (`(?:[a-z]*\d[a-z0-9-]*){3,}`) can split a long run of characters between its
// iterations in exponentially many ways, and a message carrying such a run (a 150-digit URL host)
// then holds the thread, and with it every SMTP session, for hours. Nothing can interrupt a
// running regex, so such patterns are refused before they run.
//
// The test is star height with one allowance: inside a repetition that can repeat (max > 1), an
// item repeated a variable number of times (`*`, `+`, `?`, `{1,3}`) is refused unless it repeats a
// single character class and is directly followed by a character that class cannot match (for
// the body's last item, the next iteration's first: `(?:[\w-]+\.)*`, `(?:[^A-Z]*[A-Z]){10}`,
// `(?:[.,]\d{1,3})*`): then where each iteration ends is forced. It is a
// lint, not a proof: it does not look at alternatives that overlap (`(?:a|a)*`) or at
// polynomial cases (`\s*x\s*` on long runs of spaces), which the engine's input bounds contain.

/** Characters a single-character atom may match: ASCII as a 128-bit mask, the rest as one flag. */
interface CharSet { ascii: Uint32Array; other: boolean }

type Node =
  | { t: 'set'; set: CharSet }
  | { t: 'empty' }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'rep'; body: Node; min: number; max: number; at: number; end: number };

function emptySet(): CharSet { return { ascii: new Uint32Array(4), other: false }; }
function fullSet(): CharSet { return { ascii: new Uint32Array([~0, ~0, ~0, ~0]), other: true }; }
function addCode(s: CharSet, c: number, fold: boolean): void {
  if (c >= 128) { s.other = true; return; }
  s.ascii[c >> 5] |= 1 << (c & 31);
  if (fold && ((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) { const o = c ^ 32; s.ascii[o >> 5] |= 1 << (o & 31); }
}
function addRange(s: CharSet, a: number, b: number, fold: boolean): void {
  for (let c = a; c <= Math.min(b, 127); c++) addCode(s, c, fold);
  if (b >= 128) s.other = true;
}
function union(a: CharSet, b: CharSet): void {
  for (let i = 0; i < 4; i++) a.ascii[i] |= b.ascii[i];
  a.other ||= b.other;
}
function negate(s: CharSet): CharSet {
  return { ascii: s.ascii.map((w) => ~w >>> 0), other: true }; // non-ASCII: some may remain
}
function disjoint(a: CharSet, b: CharSet): boolean {
  for (let i = 0; i < 4; i++) if ((a.ascii[i] & b.ascii[i]) !== 0) return false;
  return !(a.other && b.other);
}

/** \d \w \s and their negations, or null. */
function classEscape(e: string): CharSet | null {
  const s = emptySet();
  switch (e.toLowerCase()) {
    case 'd': addRange(s, 48, 57, false); break;
    case 'w': addRange(s, 48, 57, false); addRange(s, 65, 90, false); addRange(s, 97, 122, false); addCode(s, 95, false); break;
    case 's': for (const c of [9, 10, 11, 12, 13, 32]) addCode(s, c, false); s.other = true; break;
    default: return null;
  }
  return e === e.toUpperCase() ? negate(s) : s;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };

class Parser {
  private i = 0;
  private readonly fold: boolean;
  private readonly dotAll: boolean;
  private readonly unicode: boolean;

  constructor(private readonly src: string, flags: string) {
    this.fold = flags.includes('i');
    this.dotAll = flags.includes('s');
    this.unicode = flags.includes('u') || flags.includes('v');
  }

  parse(): Node {
    return this.alternation();
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.src[this.i] === '|') { this.i++; options.push(this.sequence()); }
    return options.length === 1 ? options[0] : { t: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const at = this.i;
      const atom = this.atom();
      items.push(this.quantified(atom, at));
    }
    return { t: 'seq', items };
  }

  private quantified(atom: Node, at: number): Node {
    const s = this.src;
    let min: number, max: number;
    const c = s[this.i];
    if (c === '*') { min = 0; max = Infinity; this.i++; }
    else if (c === '+') { min = 1; max = Infinity; this.i++; }
    else if (c === '?') { min = 0; max = 1; this.i++; }
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.i));
      if (m === null) return atom; // a literal "{" (outside u mode)
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      this.i += m[0].length;
    } else return atom;
    if (s[this.i] === '?') this.i++; // lazy: the same paths, tried in another order
    return { t: 'rep', body: atom, min, max, at, end: this.i };
  }

  private atom(): Node {
    const s = this.src;
    const c = s[this.i++];
    switch (c) {
      case '^': case '$': return { t: 'empty' };
      case '.': {
        const set = fullSet();
        if (!this.dotAll) { set.ascii[0] &= ~((1 << 10) | (1 << 13)); }
        return { t: 'set', set };
      }
      case '(': {
        let look = false;
        if (s.startsWith('?:', this.i)) this.i += 2;
        else if (s.startsWith('?=', this.i) || s.startsWith('?!', this.i)) { this.i += 2; look = true; }
        else if (s.startsWith('?<=', this.i) || s.startsWith('?<!', this.i)) { this.i += 3; look = true; }
        else if (s.startsWith('?<', this.i)) this.i = s.indexOf('>', this.i) + 1;
        const body = this.alternation();
        if (s[this.i] === ')') this.i++;
        // A lookaround matches no characters where it stands, but its body backtracks all the same.
        return look ? { t: 'seq', items: [body, { t: 'empty' }] } : body;
      }
      case '[': return { t: 'set', set: this.charClass() };
      case '\\': return this.escape();
      default: {
        const set = emptySet();
        addCode(set, s.codePointAt(this.i - 1)!, this.fold);
        if (s.codePointAt(this.i - 1)! > 0xffff) this.i++;
        return { t: 'set', set };
      }
    }
  }

  private escape(): Node {
    const s = this.src;
    const at = this.i - 1;
    const e = s[this.i++];
    const cls = classEscape(e);
    if (cls !== null) return { t: 'set', set: cls };
    if (e === 'b' || e === 'B') return { t: 'empty' };
    const named = e === 'k' && s[this.i] === '<' && s.indexOf('>', this.i) > 0;
    if (/[1-9]/.test(e) || named) {
      // A backreference matches a text of any length.
      if (named) this.i = s.indexOf('>', this.i) + 1;
      else while (/\d/.test(s[this.i] ?? '')) this.i++;
      return { t: 'rep', body: { t: 'set', set: fullSet() }, min: 0, max: Infinity, at, end: this.i };
    }
    if (this.unicodeProperty(e)) return { t: 'set', set: fullSet() };
    const set = emptySet();
    addCode(set, this.escapedCode(e), this.fold);
    return { t: 'set', set };
  }

  /** The code of the character an escape stands for (after its backslash, first character `e`
   * consumed). */
  private escapedCode(e: string): number {
    const s = this.src;
    if (e in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[e];
    if (e === 'x' && /^[0-9a-f]{2}/i.test(s.slice(this.i))) { this.i += 2; return parseInt(s.slice(this.i - 2, this.i), 16); }
    if (e === 'u' && this.unicode && s[this.i] === '{' && s.indexOf('}', this.i) > 0) {
      const end = s.indexOf('}', this.i);
      const code = parseInt(s.slice(this.i + 1, end), 16);
      this.i = end + 1;
      return code;
    }
    if (e === 'u' && /^[0-9a-f]{4}/i.test(s.slice(this.i))) { this.i += 4; return parseInt(s.slice(this.i - 4, this.i), 16); }
    if (e === 'c' && /^[a-z]/i.test(s[this.i] ?? '')) return s.charCodeAt(this.i++) % 32;
    return e.codePointAt(0) ?? 0;
  }

  /** After a backslash and `e`: a \p{…} or \P{…} (u mode only; elsewhere \p is a "p"), skipped.
   * Taken as any character: which letters a property holds is not worked out here. */
  private unicodeProperty(e: string): boolean {
    if ((e !== 'p' && e !== 'P') || !this.unicode || this.src[this.i] !== '{') return false;
    const end = this.src.indexOf('}', this.i);
    if (end < 0) return false;
    this.i = end + 1;
    return true;
  }

  /** A [...] class, after its "[". */
  private charClass(): CharSet {
    const s = this.src;
    const neg = s[this.i] === '^';
    if (neg) this.i++;
    const set = emptySet();
    while (this.i < s.length && s[this.i] !== ']') { // "[]" is an empty class in JavaScript
      const lo = this.classAtom();
      if (typeof lo !== 'number') { union(set, lo); continue; }
      if (s[this.i] === '-' && s[this.i + 1] !== ']' && this.i + 1 < s.length) {
        this.i++;
        const hi = this.classAtom();
        if (typeof hi === 'number') { addRange(set, lo, hi, this.fold); continue; }
        addCode(set, lo, this.fold);
        addCode(set, 45, false);
        union(set, hi);
        continue;
      }
      addCode(set, lo, this.fold);
    }
    this.i++; // "]"
    return neg ? negate(set) : set;
  }

  /** One member of a class: a character code, or a set for \d \w \s \p{…}. */
  private classAtom(): number | CharSet {
    const s = this.src;
    const c = s[this.i++];
    if (c !== '\\') { const code = s.codePointAt(this.i - 1)!; if (code > 0xffff) this.i++; return code; }
    const e = s[this.i++];
    const cls = classEscape(e);
    if (cls !== null) return cls;
    if (e === 'b') return 8;
    if (this.unicodeProperty(e)) return fullSet();
    return this.escapedCode(e);
  }
}

/** The single character class a node repeats, if it is one. */
function singleSet(n: Node): CharSet | null {
  if (n.t === 'set') return n.set;
  if (n.t === 'seq' && n.items.length === 1) return singleSet(n.items[0]);
  return null;
}

/** The class of the first character an item must match (for the delimiter test), if it is one. */
function leadingSet(n: Node | undefined): CharSet | null {
  if (n === undefined) return null;
  if (n.t === 'rep') return n.min >= 1 ? singleSet(n.body) : null;
  return singleSet(n);
}

/** A repetition inside the body of one that can repeat, which is not safe there; `next` is the
 * item after it (for the body's last item, the body's first: the next iteration's start). */
function unsafeInside(n: Node, src: string, next?: Node, wrap?: Node): string | null {
  switch (n.t) {
    case 'set': case 'empty': return null;
    case 'alt': for (const o of n.options) { const r = unsafeInside(o, src); if (r !== null) return r; } return null;
    case 'seq':
      for (let k = 0; k < n.items.length; k++) {
        const r = unsafeInside(n.items[k], src, k + 1 < n.items.length ? n.items[k + 1] : wrap);
        if (r !== null) return r;
      }
      return null;
    case 'rep': {
      if (n.max > n.min) {
        const inner = singleSet(n.body);
        const after = leadingSet(next);
        const delimited = inner !== null && after !== null && disjoint(inner, after);
        if (!delimited) return src.slice(n.at, n.end);
      }
      return unsafeInside(n.body, src);
    }
  }
}

/** Finds a repetition that can repeat and holds a variable repetition it cannot delimit. */
function findNested(n: Node, src: string): string | null {
  switch (n.t) {
    case 'set': case 'empty': return null;
    case 'alt': for (const o of n.options) { const r = findNested(o, src); if (r !== null) return r; } return null;
    case 'seq': for (const it of n.items) { const r = findNested(it, src); if (r !== null) return r; } return null;
    case 'rep': {
      if (n.max > 1) {
        const first = n.body.t === 'seq' ? n.body.items[0] : undefined;
        const inner = n.body.t === 'seq' ? unsafeInside(n.body, src, undefined, first) : unsafeInside(n.body, src);
        if (inner !== null) return `"${src.slice(n.at, n.end)}" repeats "${inner}" inside it`;
      }
      return findNested(n.body, src);
    }
  }
}

/** Why a regex (source and flags) can backtrack without end, or null when it passes the check. */
export function nestedRepetition(source: string, flags = ''): string | null {
  return findNested(new Parser(source, flags).parse(), source);
}
