// Untagged responses of SEARCH (RFC 9051/3501 `* SEARCH`, RFC 7162 `(MODSEQ n)`), ESEARCH
// (RFC 4731, RFC 4466), SORT (RFC 5256) and the RFC 5182 saved result. Lines are returned
// without CRLF.
import type { ReturnOptions } from './types.js';
import { compressSet, sequenceNumberOf } from '../number-set.js';

export { compressSet, sequenceNumberOf };

/** The numbers a response shows: UIDs for UID commands, else sequence numbers (in order). */
export function responseNumbers(uids: readonly number[], view: ArrayLike<number>, uid: boolean): number[] {
  if (uid) return uids.slice();
  const out: number[] = [];
  for (const u of uids) {
    const s = sequenceNumberOf(view, u);
    if (s > 0) out.push(s);
  }
  return out;
}

/** Highest modseq among `uids` (null when none or no modseqs). */
function highestModseq(uids: Iterable<number>, modseqs: Map<number, number> | null): number | null {
  if (modseqs === null) return null;
  let max: number | null = null;
  for (const u of uids) {
    const m = modseqs.get(u);
    if (m !== undefined && (max === null || m > max)) max = m;
  }
  return max;
}

export interface SearchResponseOptions {
  /** UID SEARCH (numbers are UIDs) rather than SEARCH (sequence numbers). */
  uid: boolean;
  /** The session's view: UIDs in sequence order. */
  view: ArrayLike<number>;
  /** From evaluateSearchDetailed: set when the search used MODSEQ. */
  modseqs?: Map<number, number> | null;
}

/**
 * `* SEARCH 2 5 7` (RFC 3501 / IMAP4rev1 without RETURN), with ` (MODSEQ n)` appended when
 * the search used MODSEQ and matched something (RFC 7162 §3.1.5).
 */
export function formatSearchResponse(result: readonly number[], opts: SearchResponseOptions): string {
  const nums = responseNumbers(result, opts.view, opts.uid);
  let line = nums.length === 0 ? '* SEARCH' : `* SEARCH ${nums.join(' ')}`;
  const modseq = nums.length === 0 ? null : highestModseq(result, opts.modseqs ?? null);
  if (modseq !== null) line += ` (MODSEQ ${modseq})`;
  return line;
}

/**
 * The messages RFC 4731/5182 consider "returned": with MIN and/or MAX but neither ALL nor
 * COUNT, just the lowest and/or highest match; otherwise every match. This is the set the
 * ESEARCH MODSEQ value describes (RFC 4731 §3.2) and that SAVE stores (RFC 5182 §2.4).
 */
export function returnedUids(result: readonly number[], opts: ReturnOptions): number[] {
  if (result.length === 0) return [];
  if (opts.all || opts.count || (!opts.min && !opts.max)) return result.slice();
  const out: number[] = [];
  if (opts.min) out.push(result[0]!);
  if (opts.max && (!opts.min || result.length > 1)) out.push(result[result.length - 1]!);
  return out;
}

/** What `RETURN (... SAVE ...)` stores as the new saved result (UIDs), or null without SAVE. */
export function savedResult(result: readonly number[], opts: ReturnOptions | null): number[] | null {
  return opts !== null && opts.save ? returnedUids(result, opts) : null;
}

/** True when the options ask for any ESEARCH data (RETURN (SAVE) alone gives no response). */
export function wantsEsearch(opts: ReturnOptions): boolean {
  return opts.min || opts.max || opts.all || opts.count;
}

export interface EsearchResponseOptions extends SearchResponseOptions {
  /** Tag of the command (the search correlator). */
  tag: string;
  returnOpts: ReturnOptions;
}

/**
 * `* ESEARCH (TAG "a1") UID MIN 2 MAX 9 COUNT 4 ALL 2:4,9 MODSEQ 17` (RFC 4731): MIN, MAX
 * and ALL only when something matched, COUNT always when asked, MODSEQ when the search used
 * MODSEQ and something was returned. Null when the options ask for no data (only SAVE).
 */
export function formatEsearchResponse(result: readonly number[], opts: EsearchResponseOptions): string | null {
  const r = opts.returnOpts;
  if (!wantsEsearch(r)) return null;
  const nums = responseNumbers(result, opts.view, opts.uid);
  let line = `* ESEARCH (TAG ${quoted(opts.tag)})`;
  if (opts.uid) line += ' UID';
  if (nums.length > 0) {
    if (r.min) line += ` MIN ${nums[0]}`;
    if (r.max) line += ` MAX ${nums[nums.length - 1]}`;
  }
  if (r.count) line += ` COUNT ${nums.length}`;
  if (nums.length > 0 && r.all) line += ` ALL ${compressSet(nums)}`;
  const modseq = highestModseq(returnedUids(result, r), opts.modseqs ?? null);
  if (modseq !== null) line += ` MODSEQ ${modseq}`;
  return line;
}

/** `* SORT 5 3 4` in the given order, with ` (MODSEQ n)` like SEARCH (RFC 7162 §3.1.5). */
export function formatSortResponse(sorted: readonly number[], opts: SearchResponseOptions): string {
  const nums = responseNumbers(sorted, opts.view, opts.uid);
  let line = nums.length === 0 ? '* SORT' : `* SORT ${nums.join(' ')}`;
  const modseq = nums.length === 0 ? null : highestModseq(sorted, opts.modseqs ?? null);
  if (modseq !== null) line += ` (MODSEQ ${modseq})`;
  return line;
}

function quoted(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}
