// Small arithmetic/boolean expressions for meta rules ("A && (B || C)", "(A + B + C) >= 2") and
// structure rules ("html_only && text_chars < 200"). Compiled once into closures; identifiers are
// resolved at compile time, so evaluation is a few calls per node. True is 1, false 0.

export type Getter<C> = (ctx: C) => number;

type Tok = { k: 'num'; v: number } | { k: 'id'; v: string } | { k: 'op'; v: string };

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\|\||&&|<=|>=|==|!=|[!()<>+\-*]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (m === null) throw new Error(`unexpected "${src.slice(pos).trim().slice(0, 20)}"`);
    if (m[1] !== undefined) out.push({ k: 'num', v: Number(m[1]) });
    else if (m[2] !== undefined) out.push({ k: 'id', v: m[2] });
    else out.push({ k: 'op', v: m[3] });
    pos = re.lastIndex;
  }
  return out;
}

/** Compile `src`; `resolve` turns an identifier into a getter or throws for an unknown one. */
export function compileExpr<C>(src: string, resolve: (name: string) => Getter<C>): { fn: Getter<C>; names: string[] } {
  const toks = lex(src);
  const names: string[] = [];
  let i = 0;
  const peek = (): Tok | undefined => toks[i];
  const isOp = (v: string) => { const t = peek(); return t !== undefined && t.k === 'op' && t.v === v; };
  const expect = (v: string) => { if (!isOp(v)) throw new Error(`expected "${v}"`); i++; };

  const or = (): Getter<C> => {
    let l = and();
    while (isOp('||')) { i++; const a = l, b = and(); l = (c) => (a(c) !== 0 || b(c) !== 0 ? 1 : 0); }
    return l;
  };
  const and = (): Getter<C> => {
    let l = not();
    while (isOp('&&')) { i++; const a = l, b = not(); l = (c) => (a(c) !== 0 && b(c) !== 0 ? 1 : 0); }
    return l;
  };
  const not = (): Getter<C> => {
    if (isOp('!')) { i++; const a = not(); return (c) => (a(c) === 0 ? 1 : 0); }
    return cmp();
  };
  const cmp = (): Getter<C> => {
    const a = sum();
    const t = peek();
    if (t !== undefined && t.k === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(t.v)) {
      i++;
      const b = sum();
      switch (t.v) {
        case '<': return (c) => (a(c) < b(c) ? 1 : 0);
        case '<=': return (c) => (a(c) <= b(c) ? 1 : 0);
        case '>': return (c) => (a(c) > b(c) ? 1 : 0);
        case '>=': return (c) => (a(c) >= b(c) ? 1 : 0);
        case '==': return (c) => (a(c) === b(c) ? 1 : 0);
        default: return (c) => (a(c) !== b(c) ? 1 : 0);
      }
    }
    return a;
  };
  const sum = (): Getter<C> => {
    let l = prod();
    for (;;) {
      if (isOp('+')) { i++; const a = l, b = prod(); l = (c) => a(c) + b(c); }
      else if (isOp('-')) { i++; const a = l, b = prod(); l = (c) => a(c) - b(c); }
      else return l;
    }
  };
  const prod = (): Getter<C> => {
    let l = unary();
    while (isOp('*')) { i++; const a = l, b = unary(); l = (c) => a(c) * b(c); }
    return l;
  };
  const unary = (): Getter<C> => {
    if (isOp('-')) { i++; const a = unary(); return (c) => -a(c); }
    return atom();
  };
  const atom = (): Getter<C> => {
    const t = peek();
    if (t === undefined) throw new Error('unexpected end of expression');
    i++;
    if (t.k === 'num') { const v = t.v; return () => v; }
    if (t.k === 'id') { names.push(t.v); return resolve(t.v); }
    if (t.v === '(') { const e = or(); expect(')'); return e; }
    throw new Error(`unexpected "${t.v}"`);
  };
  const fn = or();
  if (i < toks.length) throw new Error(`unexpected "${(toks[i] as { v: unknown }).v}"`);
  return { fn, names };
}
