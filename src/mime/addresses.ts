// Address-list parsing (RFC 5322 §3.4 with the obsolete forms of §4.4), tolerant of the
// usual breakage. One tokenizer feeds both IMAP ENVELOPE (raw text) and display
// (RFC 2047-decoded) forms.
import type { DecodedAddress, EnvelopeAddress } from './types.js';
import { decodeWords } from './encoded-words.js';
import { cutAtUnfoldedBreak } from './headers.js';

export interface ParsedMailbox {
  kind: 'mailbox';
  /** Decoded display name ('' when none); comments are appended in parentheses. */
  name: string;
  /** Raw display phrase (quotes removed, not decoded), or the comment when no phrase. */
  rawName: string | null;
  /** local@domain without source route; just the local part when there is no '@'. */
  address: string;
  local: string;
  domain: string | null;
  route: string | null;
}

export interface ParsedGroup {
  kind: 'group';
  name: string;
  rawName: string;
  members: ParsedMailbox[];
}

export type AddressItem = ParsedMailbox | ParsedGroup;

type Tok =
  | { t: 'word'; v: string; ws: boolean }   // atom (ws: whitespace before it)
  | { t: 'quoted'; v: string; ws: boolean }
  | { t: 'comment'; v: string; ws: boolean }
  | { t: 'special'; v: string; ws: boolean };

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = s.length;
  let ws = false;
  while (i < n) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { ws = true; i++; continue; }
    if (c === '"') {
      let v = '';
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        else if (s[i] === '\r' || s[i] === '\n') { i++; continue; } // unfold inside quotes
        v += s[i++];
      }
      i++;
      toks.push({ t: 'quoted', v, ws });
    } else if (c === '(') {
      let depth = 1;
      let v = '';
      i++;
      while (i < n && depth > 0) {
        const d = s[i];
        if (d === '\\' && i + 1 < n) { v += s[i + 1]; i += 2; continue; }
        if (d === '(') depth++;
        else if (d === ')') { depth--; if (depth === 0) { i++; break; } }
        if (d !== '\r' && d !== '\n') v += d;
        i++;
      }
      toks.push({ t: 'comment', v: v.replace(/[ \t]+/g, ' ').trim(), ws });
    } else if ('<>@,;:.[]'.indexOf(c) >= 0) {
      if (c === '[') {
        // Domain literal: keep whole.
        const j = s.indexOf(']', i);
        const e = j < 0 ? n : j + 1;
        toks.push({ t: 'word', v: s.slice(i, e), ws });
        i = e;
      } else {
        toks.push({ t: 'special', v: c, ws });
        i++;
      }
    } else {
      const st = i;
      while (i < n && ' \t\r\n"(<>@,;:.[]'.indexOf(s[i]) < 0) i++;
      // Keep encoded words whole even if they contain specials like '.' or '@'.
      let v = s.slice(st, i);
      if (v.startsWith('=?')) {
        const m = /^=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=/.exec(s.slice(st));
        if (m !== null && m[0].length > v.length) { v = m[0]; i = st + v.length; }
      }
      toks.push({ t: 'word', v, ws });
    }
    ws = false;
  }
  return toks;
}

const isEncodedWord = (s: string) => /^=\?[^?]+\?[bBqQ]\?[^?]*\?=$/.test(s);

/** Join phrase tokens: one space where the source had whitespace; encoded words adjacent
 * to each other are joined without it (RFC 2047 §6.2). */
function phrase(toks: Tok[], decode: boolean): string {
  let out = '';
  let prevEw = false;
  toks.forEach((t, idx) => {
    const ew = t.t !== 'special' && isEncodedWord(t.v);
    if (idx > 0 && t.ws && !(decode && ew && prevEw)) out += ' ';
    out += decode && t.t !== 'special' ? decodeWords(t.v, false) : t.v;
    prevEw = ew;
  });
  return out;
}

function compact(toks: Tok[]): string {
  return toks.map((t) => t.v).join('');
}

function buildMailbox(ph: Tok[], angle: Tok[] | null, comments: string[]): ParsedMailbox | null {
  let addrToks = angle;
  let nameToks = ph;
  if (addrToks === null) {
    // addr-spec without angle brackets: the phrase is the address.
    addrToks = ph;
    nameToks = [];
  }
  let addr = compact(addrToks.filter((t) => t.t !== 'comment'));
  let route: string | null = null;
  if (addr.startsWith('@')) {
    const colon = addr.indexOf(':');
    if (colon >= 0) { route = addr.slice(0, colon); addr = addr.slice(colon + 1); }
  }
  const at = addr.lastIndexOf('@');
  const local = at < 0 ? addr : addr.slice(0, at);
  const domain = at < 0 ? null : addr.slice(at + 1);
  const hasName = nameToks.length > 0;
  const decodedPhrase = hasName ? phrase(nameToks, true) : '';
  const commentText = comments.map((c) => decodeWords(c, false)).join(' ');
  let name = decodedPhrase;
  if (commentText !== '') name = name === '' ? commentText : `${name} (${commentText})`;
  const rawName = hasName ? phrase(nameToks, false) : comments.length > 0 ? comments.join(' ') : null;
  if (addr === '' && name === '') return null;
  return { kind: 'mailbox', name, rawName, address: addr, local, domain, route };
}

/** Parse an address-list header value into mailboxes and groups. Never throws. */
export function parseAddressList(value: string): AddressItem[] {
  const out: AddressItem[] = [];
  try {
    const toks = tokenize(cutAtUnfoldedBreak(value));
    let group: ParsedGroup | null = null;
    let ph: Tok[] = [];
    let angle: Tok[] | null = null;
    let comments: string[] = [];
    const flush = () => {
      const mb = buildMailbox(ph, angle, comments);
      if (mb !== null) (group !== null ? group.members : out).push(mb);
      ph = []; angle = null; comments = [];
    };
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (t.t === 'comment') { if (t.v !== '') comments.push(t.v); continue; }
      if (t.t === 'special' && t.v === '<') {
        const a: Tok[] = [];
        i++;
        while (i < toks.length && !(toks[i].t === 'special' && toks[i].v === '>')) {
          const u = toks[i];
          if (u.t === 'comment') { if (u.v !== '') comments.push(u.v); }
          else a.push(u);
          i++;
        }
        if (angle === null) angle = a;
        continue;
      }
      if (t.t === 'special' && t.v === ',') { flush(); continue; }
      if (t.t === 'special' && t.v === ';') {
        flush();
        if (group !== null) { out.push(group); group = null; }
        continue;
      }
      if (t.t === 'special' && t.v === ':' && group === null && angle === null && ph.length > 0 &&
          !ph.some((p) => p.t === 'special' && p.v === '@')) {
        const cm = comments.join(' ');
        const gname = phrase(ph, true);
        group = { kind: 'group', name: cm === '' ? gname : `${gname} (${cm})`, rawName: phrase(ph, false), members: [] };
        ph = []; comments = [];
        continue;
      }
      if (t.t === 'special' && t.v === '>') continue;
      ph.push(t);
    }
    flush();
    if (group !== null) out.push(group);
  } catch {
    // keep whatever was parsed
  }
  return out;
}

/** Flatten groups into display addresses. */
export function toDecoded(items: AddressItem[]): DecodedAddress[] {
  const out: DecodedAddress[] = [];
  for (const it of items) {
    if (it.kind === 'mailbox') out.push({ name: it.name, address: it.address });
    else for (const m of it.members) out.push({ name: m.name, address: m.address });
  }
  return out;
}

/** IMAP ENVELOPE address list (RFC 3501 §7.4.2), null when nothing was found. A mailbox
 * without a domain gets host "" so it cannot be mistaken for group syntax (host NIL). */
export function toEnvelope(items: AddressItem[]): EnvelopeAddress[] | null {
  const out: EnvelopeAddress[] = [];
  const mb = (m: ParsedMailbox): EnvelopeAddress => ({
    name: m.rawName, adl: m.route, mailbox: m.local, host: m.domain ?? '',
  });
  for (const it of items) {
    if (it.kind === 'mailbox') out.push(mb(it));
    else {
      out.push({ name: null, adl: null, mailbox: it.rawName, host: null });
      for (const m of it.members) out.push(mb(m));
      out.push({ name: null, adl: null, mailbox: null, host: null });
    }
  }
  return out.length === 0 ? null : out;
}
