// Sets of message numbers on the wire (`1:3,5,7:8`) and uid → sequence number lookup.

/** `1:3,5,7:8` from numbers in any order (duplicates ignored); "" for none. */
export function compressSet(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** Sequence number (1-based) of `uid` in `uids` (ascending), or 0 when absent. */
export function sequenceNumberOf(uids: ArrayLike<number>, uid: number): number {
  let lo = 0;
  let hi = uids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const u = uids[mid]!;
    if (u === uid) return mid + 1;
    if (u < uid) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}
