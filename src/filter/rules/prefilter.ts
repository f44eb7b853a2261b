// One pass over a text finds which of many literals occur in it (Aho-Corasick, as a DFA over
// ASCII with letters case-folded). The rules engine runs a body rule's regex only when one of
// its required literals (literals.ts) occurs: one table walk over the text replaces dozens of
// regex scans, most of which find nothing.
//
// The DFA's columns are only the characters the literals use, plus one for every other
// character (which leads back to the start from any state, as no literal contains it): a table
// over all of ASCII was 740 KB for the default rules, and walking it missed the cache on most
// characters (36 columns of 16-bit states: 107 KB).

const ALPHABET = 128;

export class LiteralScanner {
  /** Column of each ASCII character, letters folded to lower case (0: no literal uses it). */
  private readonly column = new Uint8Array(ALPHABET);
  private readonly width: number;
  /** next[state * width + column] → next state (a complete DFA: fail links folded in). */
  private readonly next: Uint16Array | Int32Array;
  /** 1 where literals end at a state (own or inherited through fail links). */
  private readonly ends: Uint8Array;
  /** Literal ids ending at each state. */
  private readonly out: (number[] | null)[];
  readonly count: number;

  constructor(literals: readonly string[]) {
    this.count = literals.length;
    let width = 1;
    for (const lit of literals) {
      for (const ch of lit.toLowerCase()) {
        const c = ch.charCodeAt(0);
        if (c >= ALPHABET) throw new Error(`non-ASCII literal ${JSON.stringify(lit)}`);
        if (this.column[c] === 0) this.column[c] = width++;
      }
    }
    for (let c = 65; c <= 90; c++) this.column[c] = this.column[c + 32];
    this.width = width;
    // Trie over columns.
    const edges: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    literals.forEach((lit, id) => {
      let s = 0;
      for (const ch of lit.toLowerCase()) {
        const c = this.column[ch.charCodeAt(0)];
        let t = edges[s].get(c);
        if (t === undefined) { t = edges.length; edges.push(new Map()); own.push([]); edges[s].set(c, t); }
        s = t;
      }
      own[s].push(id);
    });
    // Breadth-first: fail links, then the complete transition table.
    const n = edges.length;
    const next = n <= 0xffff ? new Uint16Array(n * width) : new Int32Array(n * width);
    const fail = new Int32Array(n);
    const out: (number[] | null)[] = new Array(n).fill(null);
    const queue: number[] = [];
    for (let c = 1; c < width; c++) {
      const t = edges[0].get(c);
      if (t !== undefined) { next[c] = t; fail[t] = 0; queue.push(t); }
    }
    out[0] = own[0].length > 0 ? own[0] : null;
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      const inherited = out[fail[s]];
      out[s] = own[s].length === 0 ? inherited : inherited === null ? own[s] : [...own[s], ...inherited];
      for (let c = 1; c < width; c++) {
        const t = edges[s].get(c);
        if (t !== undefined) { fail[t] = next[fail[s] * width + c]; next[s * width + c] = t; queue.push(t); }
        else next[s * width + c] = next[fail[s] * width + c];
      }
    }
    this.next = next;
    this.out = out;
    this.ends = Uint8Array.from(out, (o) => (o === null ? 0 : 1));
  }

  /** found[id] = 1 for each literal occurring in text (ASCII letters compared without case). */
  scan(text: string): Uint8Array {
    const found = new Uint8Array(this.count);
    const { next, out, ends, column, width } = this;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= ALPHABET) { s = 0; continue; } // no literal contains it
      s = next[s * width + column[c]];
      if (ends[s] === 1) { const o = out[s]!; for (let k = 0; k < o.length; k++) found[o[k]] = 1; }
    }
    return found;
  }
}
