// Calendar dates for SEARCH date keys.
import { parseDate } from '../../mime/index.js';
import type { DayNumber } from './types.js';

const DAY_MS = 86400000;

/** The UTC calendar day of an instant (BEFORE/ON/SINCE compare INTERNALDATE in UTC). */
export function utcDay(d: Date): DayNumber {
  return Math.floor(d.getTime() / DAY_MS);
}

// A time of day (optionally with seconds, fraction and numeric zone) as a separate word.
const TIME = /(^|[\s,()])[0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2})?(?:\.[0-9]+)?(?:[+-][0-9]{4})?(?=$|[\s,()])/g;

/**
 * The calendar date written in a Date header, disregarding time and timezone (RFC 3501
 * §6.4.4 SENTBEFORE/SENTON/SENTSINCE): "Tue, 1 Feb 1994 23:30 -0800" is 1-Feb-1994 although
 * the instant is 2-Feb-1994 in UTC. Uses the MIME date parser with the time of day removed,
 * so a time-less date is read at midnight with no zone. Null when there is no usable date.
 */
export function writtenDay(header: string | null): DayNumber | null {
  if (header === null) return null;
  if (parseDate(header) === null) return null;
  const d = parseDate(header.replace(TIME, '$1 '));
  return d === null ? null : utcDay(d);
}
