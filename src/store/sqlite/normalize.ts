// Normalisation and validation of names and flags. Backend-independent: a PostgreSQL backend
// should use the same functions so both behave identically.
import { domainToASCII } from 'node:url';
import { StoreError, type SpecialUse } from '../types.js';

/** Quotes user input for a one-line error message (no control characters, bounded). */
export function show(s: unknown): string {
  const str = typeof s === 'string' ? s : String(s);
  const clean = str.replace(/[\x00-\x1f\x7f]/g, '?');
  return JSON.stringify(clean.length > 80 ? clean.slice(0, 80) + '…' : clean);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-case A-label hostname, or null when it isn't one. */
export function normalizeDomain(name: string): string | null {
  if (typeof name !== 'string') return null;
  let s = name.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (!s || s.length > 253 || /[\s\x00-\x1f\x7f]/.test(s)) return null;
  const ascii = domainToASCII(s);
  if (!ascii) return null;
  s = ascii.toLowerCase();
  if (s.length > 253) return null;
  const labels = s.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null; // an IP address, not a name
  return s;
}

const LOCAL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** Splits and normalises `local@domain`; null when invalid. */
export function normalizeAddress(address: string): { local: string; domain: string; address: string } | null {
  if (typeof address !== 'string') return null;
  const s = address.trim().toLowerCase();
  const at = s.lastIndexOf('@');
  if (at <= 0) return null;
  const local = s.slice(0, at);
  if (local.length > 64 || !LOCAL.test(local)) return null;
  const domain = normalizeDomain(s.slice(at + 1));
  if (!domain) return null;
  return { local, domain, address: `${local}@${domain}` };
}

/** `local@domain` or `@domain` (catch-all). */
export function normalizeAlias(alias: string): { domain: string; alias: string } | null {
  if (typeof alias !== 'string') return null;
  const s = alias.trim();
  if (s.startsWith('@')) {
    const domain = normalizeDomain(s.slice(1));
    return domain ? { domain, alias: '@' + domain } : null;
  }
  const a = normalizeAddress(s);
  return a ? { domain: a.domain, alias: a.address } : null;
}

export const MAILBOX_DELIMITER = '/';

/** Canonical mailbox name: NFC, '/'-separated non-empty components, INBOX in upper case
 * (also as the first component of its children). Throws StoreError('invalid'). */
export function normalizeMailboxName(name: string, allowTrailingDelimiter = false): string {
  if (typeof name !== 'string') throw new StoreError('invalid', 'mailbox name must be a string');
  let s = name.normalize('NFC');
  if (allowTrailingDelimiter && s.length > 1 && s.endsWith(MAILBOX_DELIMITER)) s = s.slice(0, -1);
  if (!s) throw new StoreError('invalid', 'mailbox name is empty');
  if (/[\x00-\x1f\x7f*%]/.test(s)) throw new StoreError('invalid', `invalid mailbox name ${show(name)}`);
  if (Buffer.byteLength(s) > 1000) throw new StoreError('invalid', 'mailbox name is too long');
  const parts = s.split(MAILBOX_DELIMITER);
  if (parts.some((p) => p.length === 0 || p.length > 255)) {
    throw new StoreError('invalid', `invalid mailbox name ${show(name)}`);
  }
  if (parts[0]!.toUpperCase() === 'INBOX') parts[0] = 'INBOX';
  return parts.join(MAILBOX_DELIMITER);
}

export const SPECIAL_USES: readonly SpecialUse[] = ['\\Drafts', '\\Sent', '\\Junk', '\\Trash', '\\Archive', '\\All', '\\Flagged'];

export function normalizeSpecialUse(su: string | undefined | null): SpecialUse | null {
  if (su === undefined || su === null) return null;
  const found = SPECIAL_USES.find((x) => x.toLowerCase() === String(su).toLowerCase());
  if (!found) throw new StoreError('invalid', `invalid special-use attribute ${show(su)}`);
  return found;
}

export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
const SYSTEM_ORDER = new Map<string, number>(SYSTEM_FLAGS.map((f, i) => [f, i]));
// IMAP atom (ASCII, no atom-specials), as JMAP keywords too.
const KEYWORD = /^[\x21-\x7e]+$/;
const ATOM_SPECIALS = /[(){%*"\\\]]/;

/** Canonical system flags and syntactically valid keywords, de-duplicated case-insensitively
 * (first spelling wins). \Recent is ignored. Invalid ones throw, or are dropped when
 * `lenient` (delivery must not fail because of a bad flag). */
export function normalizeFlags(flags: readonly string[] | undefined, lenient = false): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of flags ?? []) {
    const f = typeof raw === 'string' ? raw.trim() : '';
    const lower = f.toLowerCase();
    let v: string | undefined;
    if (f.startsWith('\\')) {
      if (lower === '\\recent') continue;
      v = SYSTEM_BY_LOWER.get(lower);
    } else if (f.length > 0 && f.length <= 128 && KEYWORD.test(f) && !ATOM_SPECIALS.test(f)) {
      v = f;
    }
    if (v === undefined) {
      if (lenient) continue;
      throw new StoreError('invalid', `invalid flag ${show(raw)}`);
    }
    if (seen.has(lower)) continue;
    seen.add(lower);
    out.push(v);
  }
  return out;
}

/** System flags first in canonical order, then keywords in their given order. */
export function sortFlags(flags: string[]): string[] {
  const sys = flags.filter((f) => SYSTEM_ORDER.has(f)).sort((a, b) => SYSTEM_ORDER.get(a)! - SYSTEM_ORDER.get(b)!);
  const kw = flags.filter((f) => !SYSTEM_ORDER.has(f));
  return sys.concat(kw);
}

/** Applies a STORE operation to already-normalised flags (compared case-insensitively). */
export function applyFlagOp(old: string[], op: 'add' | 'remove' | 'replace', flags: string[]): string[] {
  if (op === 'replace') return sortFlags(flags.slice());
  if (op === 'add') {
    const have = new Set(old.map((f) => f.toLowerCase()));
    const out = old.slice();
    for (const f of flags) if (!have.has(f.toLowerCase())) { out.push(f); have.add(f.toLowerCase()); }
    return sortFlags(out);
  }
  const drop = new Set(flags.map((f) => f.toLowerCase()));
  return old.filter((f) => !drop.has(f.toLowerCase()));
}

export function encodeFlags(flags: string[]): string {
  return flags.join(' ');
}

export function decodeFlags(s: string): string[] {
  return s ? s.split(' ') : [];
}

/** The words of a search as FTS5 prefix queries, one per word, or null when the input has no
 * searchable characters. Words are split exactly where the unicode61 tokenizer splits (only
 * letters, digits and private-use characters are token characters), so each quoted word is one
 * token: user input is never FTS5 syntax, and "foo.bar" becomes the two words the index holds
 * (a multi-token phrase would be an error with detail=none). */
export function ftsTokens(query: string): string[] | null {
  const words = (String(query).normalize('NFC').match(/[\p{L}\p{N}\p{Co}]+/gu) ?? []).slice(0, 32);
  if (words.length === 0) return null;
  return words.map((w) => `"${w}"*`);
}
