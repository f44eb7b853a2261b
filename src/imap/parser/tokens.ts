// Helpers for command handlers to read typed arguments.
import { parseSequenceSet } from './sequence-set.js';
import type { SequenceSet, Token } from './types.js';

/** astring / nstring text: atoms, numbers, bare sequence words, quoted, literals (UTF-8). */
export function tokenString(t: Token | undefined): string | null {
  switch (t?.type) {
    case 'atom':
    case 'string':
      return t.value;
    case 'number':
    case 'sequence':
      return t.text;
    case 'literal':
      return t.value.toString('utf8');
    default:
      return null;
  }
}

export function tokenUint32(t: Token | undefined): number | null {
  return t?.type === 'number' && t.value <= 0xffffffffn ? Number(t.value) : null;
}

/** A single number such as `5` is tokenised as a number but is also a sequence set. */
export function tokenSequenceSet(t: Token | undefined): SequenceSet | null {
  if (t?.type === 'sequence') return t.set;
  if (t?.type === 'number') {
    const s = parseSequenceSet(t.text);
    return 'error' in s ? null : s;
  }
  return null;
}
