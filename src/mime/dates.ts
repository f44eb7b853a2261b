// Date parsing: RFC 5322 date-time plus the obsolete forms (§4.3: 2/3-digit years,
// alphabetic and military zones, comments anywhere) and common breakage (asctime order,
// Received-style "…; date", missing seconds, missing zone). Returns null when no sane
// day/month/year can be found.
import { stripComments } from './params.js';
import { cutAtUnfoldedBreak } from './headers.js';

const MONTHS: Record<string, number> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0, est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360,
  pst: -480, pdt: -420, cet: 60, cest: 120, met: 60, mest: 120, bst: 60, eet: 120, eest: 180,
  jst: 540, hst: -600, akst: -540, akdt: -480, ast: -240, adt: -180, wet: 0, west: 60,
};

export function parseDate(value: string | null): Date | null {
  if (value === null) return null;
  try {
    let v = cutAtUnfoldedBreak(value);
    const semi = v.lastIndexOf(';');
    if (semi >= 0) v = v.slice(semi + 1); // Received: "… ; date"
    if (/\([^)]*$/.test(v.replace(/\([^()]*\)/g, '').replace(/\([^()]*\)/g, ''))) return null; // unclosed comment
    v = stripComments(v).replace(/[\r\n]/g, ' ');
    const toks = v.split(/[\s,]+/).filter((t) => t !== '');
    let day = -1, month = -1, year = -1, h = 0, mi = 0, sec = 0, zone: number | null = null;
    let haveTime = false;
    const nums: string[] = [];
    for (const raw of toks) {
      const t = raw.toLowerCase();
      const tm = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?([+-]\d{4})?$/.exec(t);
      if (tm !== null && !haveTime) {
        h = +tm[1]; mi = +tm[2]; sec = tm[3] !== undefined ? +tm[3] : 0; haveTime = true;
        if (tm[4] !== undefined) zone = tzOffset(tm[4]);
        continue;
      }
      if (/^[+-]\d{4}$/.test(t) && haveTime && zone === null) { zone = tzOffset(t); continue; }
      if (/^\d+$/.test(t)) { nums.push(t); continue; }
      const alpha = /^[a-z]+/.exec(t);
      if (alpha !== null) {
        const w = alpha[0];
        if (month < 0 && w.length >= 3 && MONTHS[w.slice(0, 3)] !== undefined &&
            (w.length === 3 || /^(january|february|march|april|june|july|august|september|october|november|december)$/.test(w))) {
          month = MONTHS[w.slice(0, 3)];
          continue;
        }
        if (haveTime && zone === null) {
          if (ZONES[w] !== undefined) zone = ZONES[w];
          else if (/^[a-ik-z]$/.test(w)) zone = 0; // military zones: RFC 5322 says treat as -0000
          else if (/^[a-z]{3,5}(\d|$)/.test(t)) zone = ZONES[t.slice(0, 3)] ?? 0; // "EST5EDT", unknown
        }
      }
    }
    if (month < 0) {
      // Obsolete all-numeric "dd mm yy".
      if (nums.length < 3) return null;
      day = +nums[0]; month = +nums[1]; year = yearOf(nums[2]);
    } else {
      if (nums.length < 2) return null;
      day = +nums[0]; year = yearOf(nums[1]);
      if (nums[0].length > 2 && nums[1].length <= 2) { year = yearOf(nums[0]); day = +nums[1]; } // asctime-ish
    }
    if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && year >= 0)) return null;
    if (h > 24 || mi > 59 || sec > 60) return null;
    if (sec === 60) sec = 59;
    const ms = Date.UTC(year, month - 1, day, h, mi, sec) - (zone ?? 0) * 60000;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? null : d;
  } catch {
    return null;
  }
}

function yearOf(s: string): number {
  const n = +s;
  if (s.length <= 2) return n < 50 ? 2000 + n : 1900 + n;
  if (s.length === 3) return 1900 + n;
  return n;
}

function tzOffset(t: string): number {
  const sign = t[0] === '-' ? -1 : 1;
  return sign * (Number(t.slice(1, 3)) * 60 + Number(t.slice(3, 5)));
}
