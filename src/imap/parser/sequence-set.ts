// sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"   (RFC 9051, RFC 5182)
import type { SeqNumber, SeqRange, SequenceSet } from './types.js';

const UINT32_MAX = 0xffffffff;

/** Parses a sequence set; returns an error text instead of throwing. */
export function parseSequenceSet(text: string): SequenceSet | { error: string } {
  if (text === '$') return { kind: 'saved' };
  if (text.length === 0) return { error: 'Empty sequence set' };
  const ranges: SeqRange[] = [];
  for (const item of text.split(',')) {
    const colon = item.indexOf(':');
    const from = parseSeqNumber(colon === -1 ? item : item.slice(0, colon));
    const to = colon === -1 ? from : parseSeqNumber(item.slice(colon + 1));
    if (from === null || to === null) return { error: `Invalid sequence set: ${text.slice(0, 40)}` };
    ranges.push({ from, to });
  }
  return { kind: 'set', ranges };
}

/** seq-number = nz-number / "*"; nz-number has no leading zero and fits uint32. */
function parseSeqNumber(s: string): SeqNumber | null {
  if (s === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= UINT32_MAX ? n : null;
}

/** True if `n` is in the set, with `*` meaning `max` (RFC 9051 6.4.8: `x:y` equals `y:x`). */
export function sequenceSetContains(set: SequenceSet, n: number, max: number): boolean {
  if (set.kind !== 'set') return false;
  for (const r of set.ranges) {
    const a = r.from === '*' ? max : r.from;
    const b = r.to === '*' ? max : r.to;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}
