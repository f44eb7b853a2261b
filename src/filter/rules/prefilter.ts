// One pass over a text finds which of many literals occur in it (Aho-Corasick, as a DFA over
// ASCII with letters case-folded). The rules engine runs a body rule's regex only when one of
// its required literals (literals.ts) occurs: one table walk over the text replaces dozens of
// regex scans, most of which find nothing.

const ALPHABET = 128;

export class LiteralScanner {
  /** goto[state * ALPHABET + symbol] → next state (a complete DFA: fail links folded in). */
  private readonly next: Int32Array;
  /** Literal ids ending at each state (own and inherited through fail links). */
  private readonly out: (number[] | null)[];
  readonly count: number;

  constructor(literals: readonly string[]) {
    this.count = literals.length;
    // Trie.
    const edges: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    literals.forEach((lit, id) => {
      let s = 0;
      for (const ch of lit.toLowerCase()) {
        const c = ch.charCodeAt(0);
        if (c >= ALPHABET) throw new Error(`non-ASCII literal ${JSON.stringify(lit)}`);
        let t = edges[s].get(c);
        if (t === undefined) { t = edges.length; edges.push(new Map()); own.push([]); edges[s].set(c, t); }
        s = t;
      }
      own[s].push(id);
    });
    // Breadth-first: fail links, then the complete transition table.
    const n = edges.length;
    const next = new Int32Array(n * ALPHABET);
    const fail = new Int32Array(n);
    const out: (number[] | null)[] = new Array(n).fill(null);
    const queue: number[] = [];
    for (let c = 0; c < ALPHABET; c++) {
      const t = edges[0].get(c);
      if (t !== undefined) { next[c] = t; fail[t] = 0; queue.push(t); }
    }
    out[0] = own[0].length > 0 ? own[0] : null;
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      const inherited = out[fail[s]];
      out[s] = own[s].length === 0 ? inherited : inherited === null ? own[s] : [...own[s], ...inherited];
      for (let c = 0; c < ALPHABET; c++) {
        const t = edges[s].get(c);
        if (t !== undefined) { fail[t] = next[fail[s] * ALPHABET + c]; next[s * ALPHABET + c] = t; queue.push(t); }
        else next[s * ALPHABET + c] = next[fail[s] * ALPHABET + c];
      }
    }
    this.next = next;
    this.out = out;
  }

  /** found[id] = 1 for each literal occurring in text (ASCII letters compared without case). */
  scan(text: string): Uint8Array {
    const found = new Uint8Array(this.count);
    const next = this.next, out = this.out;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= ALPHABET) { s = 0; continue; } // no literal contains it
      if (c >= 65 && c <= 90) c += 32;
      s = next[s * ALPHABET + c];
      const o = out[s];
      if (o !== null) for (let k = 0; k < o.length; k++) found[o[k]] = 1;
    }
    return found;
  }
}
