// Bayes tokens of a message. Body words (lower-cased, punctuation trimmed, long runs summarised)
// and word pairs; URL hosts and registrable domains; the shape of selected headers (never
// recipient addresses or the receiving side's relay names, which describe the mailbox, not the
// mail); HTML structure; MIME skeleton and attachments. Tokens are returned once each, in the
// order first met (deterministic; nothing downstream depends on order, so no sort is paid for).
// Work is bounded per message.
import type { ParsedMessage } from '../../mime/types.js';
import { isSpaceCode } from '../space.js';
import { viewMessage, type MessageView } from '../message-view.js';
import { registrableDomain } from '../urls.js';
import { networkOf, parseIp } from '../../net/ip.js';

export interface TokenizeOptions {
  /** Adjacent word pairs ("bi:a b") besides single words. */
  bigrams: boolean;
  /** Characters of body text looked at. */
  maxTextChars: number;
  /** Upper bound on distinct tokens per message. */
  maxTokens: number;
  /** Header-consistency tokens (hdr:, rcvdx:, rcvd:…-dom-…, date:tz-…) from message-view's
   * received facts: whether the sending side's claims (From, Return-Path, Message-ID, Date, the
   * Received chain) fit each other. Neutral in CV while Bayes alone read them; since the logistic
   * model reads them too (and Bayes clues are tiled), on by default: paired 5-fold CV on the
   * train split, 12 partitions (bench spam-choice), missed spam of 1,322 at 4 and 6 junked ham of
   * 2,904 26.8 -> 24.0 and 20.6 -> 18.9, and at the junk threshold 4.4 -> 3.7 ham junked and
   * 27.8 -> 26.2 spam missed; 12 other partitions: 27.8 -> 24.3, 20.3 -> 18.6, 4.9 -> 4.5 and
   * 25.3 -> 23.8. */
  consistency?: boolean;
  /** What the receiving side recorded of the sender: the relay the mail came in from (entry:…,
   * message-view's entryRelay: no rDNS, a dial-up-like one, one in the From domain, a HELO that
   * matches it, equals it or not; its organisation and /24 or /48) and an envelope sender that
   * names the recipient or the mailing (rp:verp). Legitimate bulk senders send from named servers
   * of their own and process bounces. Chosen by paired 5-fold CV on the train split (bench
   * spam-choice entry). */
  entry?: boolean;
}

export const DEFAULT_TOKENIZE: TokenizeOptions = { bigrams: true, maxTextChars: 64 * 1024, maxTokens: 5000, consistency: true, entry: true };

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu;
const LEAD = /^[^\p{L}\p{N}$€£]+/u;
const TRAIL = /[^\p{L}\p{N}$€£%!]+$/u;
const URL_LIKE = /\b(?:(?:https?|ftp):\/\/|www\d{0,3}\.)\S+/gi;
/** The domain of an address, matched right after its '@' (sticky). */
const ADDRESS_DOMAIN = /(?:[\w-]{1,63}\.)+[a-z]{2,24}\b/iy;

const isWordCode = (c: number) => (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95;
const isLocalCode = (c: number) => isWordCode(c) || c === 46 || c === 43 || c === 45; // . + -

/**
 * Each address in text replaced by a space, its domain handed to `found`, left to right: what
 * text.replace(/\b[\w.+-]{1,64}@((?:[\w-]{1,63}\.)+[a-z]{2,24})\b/gi, ' ') does, but from each
 * '@' instead of from every word boundary (that pattern tried every word of a long text and
 * backtracked through it: a tenth of tokenizing a newsletter). An address's local part is the
 * earliest word boundary within the 64 characters of [\w.+-] before its '@'.
 */
export function blankAddresses(text: string, found: (domain: string) => void): string {
  let out = '';
  let last = 0; // text before this is done with
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    if (at < last) continue;
    let start = at;
    while (start > last && at - start < 64 && isLocalCode(text.charCodeAt(start - 1))) start--;
    let p = start;
    while (p < at && isWordCode(text.charCodeAt(p)) === (p > 0 && isWordCode(text.charCodeAt(p - 1)))) p++; // first \b
    if (p === at) continue;
    ADDRESS_DOMAIN.lastIndex = at + 1;
    const m = ADDRESS_DOMAIN.exec(text);
    if (m === null) continue;
    found(m[0]);
    out += `${text.slice(last, p)} `;
    last = at + 1 + m[0].length;
    at = last - 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

// The Bag being filled: its tokens, a hash table of them (slot → index + 1 in `listed`, 0 for
// empty) and each listed token's hash. Reused from message to message (a Bag is filled and
// done within one synchronous tokenizeView call), so they are cleared, not allocated, per message.
const listed: string[] = [];
let slots = new Int32Array(2048);
let hashes = new Int32Array(1024);

/** The distinct tokens of a message, in the order first added. Not a Set: a Set re-hashed into
 * a new, larger table several times per message (and was then copied to an array), some 12% of
 * what judging a message allocated. */
class Bag {
  private n = 0;
  constructor(private readonly max: number) { slots.fill(0); }

  add(t: string): void {
    const n = this.n;
    if (n >= this.max || t.length > 80) return;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
    let mask = slots.length - 1;
    let k = h & mask;
    for (let s = slots[k]; s !== 0; k = (k + 1) & mask, s = slots[k]) {
      if (hashes[s - 1] === h && listed[s - 1] === t) return;
    }
    if (n === listed.length) listed.push(t); else listed[n] = t;
    if (n === hashes.length) { const more = new Int32Array(n * 2); more.set(hashes); hashes = more; }
    hashes[n] = h;
    slots[k] = n + 1;
    this.n = n + 1;
    if (this.n * 2 > slots.length) {
      // Over half full: double and re-insert every listed token by its hash.
      slots = new Int32Array(slots.length * 2);
      mask = slots.length - 1;
      for (let j = 0; j < this.n; j++) {
        let q = hashes[j] & mask;
        while (slots[q] !== 0) q = (q + 1) & mask;
        slots[q] = j + 1;
      }
    }
  }

  get full(): boolean { return this.n >= this.max; }

  /** The tokens, as a new array; the Bag is done. */
  take(): string[] {
    const out = listed.slice(0, this.n);
    listed.fill('', 0, this.n); // keep no message's tokens alive until the next
    return out;
  }
}

/** Shape of an identifier: digit runs → "9", letter runs → "a"/"A", punctuation kept. */
export function shape(s: string, max = 40): string {
  return s.slice(0, 120).replace(/[0-9]+/g, '9').replace(/[a-z]+/g, 'a').replace(/[A-Z]+/g, 'A').replace(/(aA|Aa)+/g, 'x').slice(0, max);
}

function bucket(n: number): string {
  if (n <= 3) return String(n);
  if (n <= 5) return '4-5';
  if (n <= 10) return '6-10';
  if (n <= 25) return '11-25';
  if (n <= 100) return '26-100';
  return '100+';
}

/** ASCII characters LEAD keeps at the start of a word: letters, digits, "$". */
function keptLead(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 36;
}

/** ASCII characters TRAIL keeps at the end of a word: those of keptLead, "%" and "!". */
function keptTrail(c: number): boolean {
  return keptLead(c) || c === 37 || c === 33;
}

/** s[start, end) without LEAD and TRAIL. Scanned by character code while the ends are ASCII (no
 * intermediate strings); by the regular expressions once a non-ASCII character (maybe a
 * Unicode letter or digit) is met. */
function trimmedWord(s: string, start: number, end: number): string {
  let a = start, b = end;
  for (; a < b; a++) {
    const c = s.charCodeAt(a);
    if (c >= 0x80) return s.slice(start, end).replace(LEAD, '').replace(TRAIL, '');
    if (keptLead(c)) break;
  }
  for (; b > a; b--) {
    const c = s.charCodeAt(b - 1);
    if (c >= 0x80) return s.slice(start, end).replace(LEAD, '').replace(TRAIL, '');
    if (keptTrail(c)) break;
  }
  return s.slice(a, b);
}

/** Words of a text into the bag, with `prefix`, and pairs of adjacent kept words if `pairs`. */
function addWords(bag: Bag, text: string, prefix: string, pairs: boolean): void {
  let prev = '';
  let prevStart = 0, prevEnd = 0; // the run of `lower` prev was cut from
  let count = 0;
  const lower = text.toLowerCase();
  const len = lower.length;
  let at = 0;
  for (;;) {
    // The next run of non-space characters, as /\S+/g finds them, without a match object and a
    // substring per run: only the trimmed word is cut out.
    while (at < len && isSpaceCode(lower.charCodeAt(at))) at++;
    if (at >= len) break;
    const start = at;
    while (at < len && !isSpaceCode(lower.charCodeAt(at))) at++;
    if (bag.full || ++count > 6000) break;
    const chunk = trimmedWord(lower, start, at);
    if (chunk.length === 0) { prev = ''; continue; }
    if (chunk.charCodeAt(0) >= 0x2e80 && CJK.test(chunk)) {
      // No spaces between words: character pairs stand in for words.
      for (const run of chunk.match(CJK_RUN) ?? []) {
        for (let i = 0; i + 1 < run.length && i < 60; i++) bag.add(`${prefix}${run.slice(i, i + 2)}`);
        if (run.length === 1) bag.add(`${prefix}${run}`);
      }
      prev = '';
      continue;
    }
    if (chunk.length < 3) { prev = ''; continue; }
    if (chunk.length > 20) {
      if (CJK.test(chunk)) { for (const run of chunk.match(CJK_RUN) ?? []) for (let i = 0; i + 1 < run.length && i < 60; i++) bag.add(`${prefix}${run.slice(i, i + 2)}`); }
      else bag.add(`${prefix}skip:${chunk[0]}:${Math.floor(chunk.length / 10) * 10}`);
      prev = '';
      continue;
    }
    bag.add(prefix + chunk);
    // "c-l-i-c-k", "money.now": the pieces too.
    if (/[-./_@]/.test(chunk)) for (const piece of chunk.split(/[-./_@]+/)) if (piece.length >= 3) bag.add(prefix + piece);
    if (pairs && prev !== '') {
      // Both words untrimmed and one space apart (most pairs): the pair is already a substring
      // of `lower`, cut out as one string instead of joined from three.
      const joined = prevEnd === start - 1 && lower.charCodeAt(prevEnd) === 32 && prevEnd - prevStart === prev.length && at - start === chunk.length;
      bag.add(`${prefix}bi:${joined ? lower.slice(prevStart, at) : `${prev} ${chunk}`}`);
    }
    prev = chunk;
    prevStart = start;
    prevEnd = at;
  }
}

function addUrlTokens(bag: Bag, v: MessageView): void {
  bag.add(`url:count:${bucket(v.urls.length)}`);
  for (const u of v.urls) {
    if (bag.full) break;
    if (u.scheme === 'mailto') { bag.add(`mailto:${u.domain}`); continue; }
    bag.add(`url:host:${u.host}`);
    bag.add(`url:dom:${u.domain}`);
    if (u.ip) bag.add('url:ip');
    else bag.add(`url:tld:${u.host.slice(u.host.lastIndexOf('.') + 1)}`);
    if (u.port !== '') bag.add('url:port');
    if (u.userinfo) bag.add('url:userinfo');
    if (u.escapedHost) bag.add('url:escaped-host');
    if (u.scheme !== 'http') bag.add(`url:scheme:${u.scheme}`);
    // Path words: "remove", "unsubscribe", "cgi-bin", "click"… (not ids: numbers and long runs dropped).
    for (const w of u.path.toLowerCase().split(/[^a-z]+/).slice(0, 12)) if (w.length >= 3 && w.length <= 15) bag.add(`url:${w}`);
  }
}

const STD_CASE = new Map<string, string>([
  ['message-id', 'Message-ID'], ['mime-version', 'MIME-Version'], ['content-type', 'Content-Type'],
  ['content-transfer-encoding', 'Content-Transfer-Encoding'], ['reply-to', 'Reply-To'], ['from', 'From'],
  ['to', 'To'], ['cc', 'Cc'], ['subject', 'Subject'], ['date', 'Date'], ['received', 'Received'],
  ['x-mailer', 'X-Mailer'], ['return-path', 'Return-Path'],
]);
/** Headers whose presence says something about the sender's software or list, not the recipient. */
const PRESENCE = ['in-reply-to', 'references', 'list-id', 'list-unsubscribe', 'list-post', 'precedence',
  'x-authentication-warning', 'organization', 'x-priority', 'x-msmail-priority', 'importance', 'x-mimeole',
  'user-agent', 'x-mailer', 'reply-to', 'sender', 'errors-to', 'mime-version', 'message-id', 'date', 'cc',
  'content-disposition', 'thread-index', 'x-originating-ip', 'disposition-notification-to', 'mail-followup-to'];

/** A local part carrying a long number, an encoded address (local=domain) or the word bounce. */
const VERP_LOCAL = /\d{5,}|=|\bbounces?\b/;

/** Normalised software name: versions and build numbers dropped. */
function software(s: string): string {
  return s.toLowerCase().replace(/\(.*?\)/g, ' ').replace(/[0-9][0-9a-z._-]*/g, '9').replace(/\s+/g, ' ').trim().split(' ').slice(0, 4).join(' ');
}

function addHeaderTokens(bag: Bag, v: MessageView, opts: TokenizeOptions): void {
  const p = v.parsed;
  const subject = p.subject;
  addWords(bag, subject, 'subj:', opts.bigrams);
  if (subject.length === 0) bag.add('subj:empty');
  else {
    // Capitals among the letters that have case: Japanese, Chinese, Arabic or Hebrew have none,
    // so a subject in them is not "all capitals".
    const cased = subject.replace(/[^\p{Lu}\p{Ll}\p{Lt}]/gu, '');
    if (cased.length >= 6 && !/\p{Ll}/u.test(cased)) bag.add('subj:allcaps');
    if (/!/.test(subject)) bag.add('subj:bang');
    if (/\$/.test(subject)) bag.add('subj:dollar');
    if (/\s{3,}\S+$/.test(subject)) bag.add('subj:trailing-id');
    bag.add(`subj:len:${bucket(Math.round(subject.length / 10))}`);
  }
  const rawSubj = v.headers.find((h) => h.name === 'subject')?.rawValue ?? '';
  const ew = /=\?([^?]+)\?([bq])\?/i.exec(rawSubj);
  if (ew !== null) bag.add(`subj:encoded:${ew[1].toLowerCase()}:${ew[2].toLowerCase()}`);

  // From: display-name words, address shape and domain.
  const from = p.from[0];
  if (from === undefined) bag.add('from:none');
  else {
    const [local, domain = ''] = from.address.toLowerCase().split('@');
    if (from.name === '') bag.add('from:noname');
    else {
      addWords(bag, from.name, 'from:name:', false);
      if (from.name.includes('@')) bag.add('from:name-has-address');
    }
    bag.add(`from:local:${shape(local, 20)}`);
    // The exact sender: newsletters and correspondents recur, which is what lets a mailbox's
    // own training recognise the ones it wants.
    bag.add(`from:addr:${from.address.toLowerCase().slice(0, 60)}`);
    bag.add(`from:dom:${registrableDomain(domain)}`);
    const reply = v.header('reply-to')[0];
    if (reply !== undefined) {
      const rd = /@([^>\s,]+)/.exec(reply)?.[1]?.toLowerCase() ?? '';
      bag.add(registrableDomain(rd) === registrableDomain(domain) ? 'replyto:same-domain' : 'replyto:other-domain');
    }
  }
  bag.add(`to:count:${bucket(p.to.length)}`);
  if (p.cc.length > 0) bag.add(`cc:count:${bucket(p.cc.length)}`);
  if (p.to.length === 0) bag.add('to:none');
  else if (p.to.every((a) => a.name === '')) bag.add('to:noname');

  for (const name of PRESENCE) if (v.header(name).length > 0) bag.add(`has:${name}`);
  for (const h of v.headers) {
    const std = STD_CASE.get(h.name);
    if (std !== undefined && h.rawName !== std && h.rawName !== std.replace('-ID', '-Id')) bag.add(`hdrcase:${h.rawName}`);
  }
  const listId = v.header('list-id')[0];
  if (listId !== undefined) bag.add(`list-id:${(/<([^>]+)>/.exec(listId)?.[1] ?? listId).toLowerCase().slice(0, 60)}`);
  for (const name of ['sender', 'return-path']) {
    const a = /@([^>\s]+)/.exec(v.header(name)[0] ?? '')?.[1];
    if (a !== undefined) bag.add(`${name}:dom:${registrableDomain(a.toLowerCase())}`);
  }
  for (const name of ['x-mailer', 'user-agent', 'x-mimeole']) {
    const m = v.header(name)[0];
    if (m !== undefined) bag.add(`${name}:${software(m)}`);
  }
  for (const name of ['x-priority', 'x-msmail-priority', 'importance', 'precedence']) {
    const m = v.header(name)[0];
    if (m !== undefined) bag.add(`${name}:${m.toLowerCase().slice(0, 12)}`);
  }
  const ct = v.header('content-type')[0];
  if (ct !== undefined) {
    bag.add(`ct:${ct.toLowerCase().split(';')[0].trim()}`);
    const b = /boundary="?([^";]+)/i.exec(ct);
    if (b !== null) bag.add(`ct:boundary:${shape(b[1])}`);
  }
  const mid = v.header('message-id')[0];
  if (mid !== undefined) {
    const m = /<?([^@>]*)@?([^>]*)>?/.exec(mid)!;
    bag.add(`msgid:${shape(m[1])}`);
    if (m[2] === '') bag.add('msgid:nodomain');
    else if (from !== undefined && registrableDomain(m[2].toLowerCase()) === registrableDomain(from.address.split('@')[1]?.toLowerCase() ?? '')) bag.add('msgid:from-domain');
  }
  const date = v.header('date')[0];
  if (date !== undefined) bag.add(`date:${shape(date.replace(/\([^()]*\)/g, '').trim()).replace(/\d/g, '9')}`);
  const ahead = v.facts.date_ahead_h;
  if (ahead > 12) bag.add('date:future');
  else if (ahead < -96) bag.add('date:old');
  // The originating hop (bottom Received): how the mail entered the Internet.
  // (Not the number of hops: most of them are the receiving side's own relays, which describe
  // the mailbox, not the mail.)
  const rcvd = v.header('received');
  const first = rcvd[rcvd.length - 1];
  if (first !== undefined) {
    const f = first.toLowerCase();
    if (/\bfrom\s+\[?\d{1,3}(\.\d{1,3}){3}\]?\s/.test(f)) bag.add('rcvd0:helo-ip');
    if (/\bunknown\b/.test(f)) bag.add('rcvd0:unknown');
    const w = /\bwith\s+([a-z0-9-]+)/.exec(f);
    if (w !== null) bag.add(`rcvd0:with:${w[1]}`);
    if (!/\bby\s/.test(f)) bag.add('rcvd0:no-by');
  }
  if (rcvd.some((r) => /\bunknown\b.*\[\d/i.test(r))) bag.add('rcvd:no-rdns');
  if (opts.consistency === true) addConsistencyTokens(bag, v);
  if (opts.entry === true) addEntryTokens(bag, v);
}

const ENTRY: [string, string][] = [
  ['entry_no_rdns', 'entry:no-rdns'], ['entry_rdns_dynamic', 'entry:rdns-dynamic'], ['entry_rdns_from_dom', 'entry:rdns-from-dom'],
  ['entry_helo_ip', 'entry:helo-ip'], ['entry_helo_nodot', 'entry:helo-nodot'], ['entry_helo_match', 'entry:helo-match'],
  ['entry_helo_mismatch', 'entry:helo-mismatch'], ['entry_helo_exact', 'entry:helo-exact'],
];

/** See TokenizeOptions.entry. The envelope sender is the newest Return-Path (at our MX, the one
 * our trace field writes). */
function addEntryTokens(bag: Bag, v: MessageView): void {
  for (const [fact, tok] of ENTRY) if ((v.facts[fact] ?? 0) > 0) bag.add(tok);
  // Who the relay is: its organisation and network, whose record the model learns as a
  // provider learns an address's reputation.
  if (v.entry !== null) {
    if (v.entry.rdns !== '') bag.add(`entry:dom:${registrableDomain(v.entry.rdns)}`);
    const ip = parseIp(v.entry.ip);
    if (ip !== null) bag.add(`entry:net:${networkOf(ip, ip.family === 4 ? 24 : 48)}`);
  }
  const rpLocal = /<?([^<>@\s]+)@[^<>\s]+>?/.exec(v.header('return-path')[0] ?? '')?.[1]?.toLowerCase();
  if (rpLocal !== undefined && VERP_LOCAL.test(rpLocal)) bag.add('rp:verp');
}

/** Header consistency (see receivedFacts in message-view.ts): how the sending side's claims
 * (From, Return-Path, Message-ID, Date, the Received chain) fit each other. */
function addConsistencyTokens(bag: Bag, v: MessageView): void {
  const f = v.facts;
  for (const [fact, tok] of CONSISTENCY) if ((f[fact] ?? 0) > 0) bag.add(tok);
}

const CONSISTENCY: [string, string][] = [
  ['rp_from_same', 'hdr:rp-from-same'], ['rp_from_diff', 'hdr:rp-from-diff'], ['msgid_other_domain', 'msgid:other-domain'],
  ['rcvd_from_dom_seen', 'rcvd:from-dom-seen'], ['rcvd_from_dom_unseen', 'rcvd:from-dom-unseen'],
  ['rcvd_msgid_dom_seen', 'rcvd:msgid-dom-seen'], ['rcvd_msgid_dom_unseen', 'rcvd:msgid-dom-unseen'],
  ['rcvd_may_be_forged', 'rcvd:may-be-forged'], ['rcvd_helo_bare_ip', 'rcvd:helo-bare-ip'],
  ['rcvdx_none', 'rcvdx:none'], ['rcvdx_no_rdns', 'rcvdx:no-rdns'], ['rcvdx_dynamic', 'rcvdx:rdns-dynamic'],
  ['rcvdx_from_dom', 'rcvdx:rdns-from-dom'], ['rcvdx_helo_match', 'rcvdx:helo-match'], ['rcvdx_helo_mismatch', 'rcvdx:helo-mismatch'],
  ['rcvdx_helo_nodot', 'rcvdx:helo-nodot'], ['rcvd_date_odd', 'rcvd:date-odd'],
  ['date_tz_bad', 'date:tz-bad'], ['date_tz_name', 'date:tz-name'], ['date_tz_none', 'date:tz-none'],
];

function addStructureTokens(bag: Bag, v: MessageView): void {
  bag.add(`mime:shape:${v.shape.slice(0, 70)}`);
  for (const l of v.leaves.slice(0, 30)) {
    bag.add(`part:${l.ctype}`);
    if (l.encoding !== null) bag.add(`part:enc:${l.ctype.split('/')[0]}:${l.encoding.slice(0, 20)}`);
    if (l.charset !== null) bag.add(`charset:${l.charset.slice(0, 24)}`);
  }
  for (const a of v.attachments.slice(0, 30)) {
    const name = a.name.toLowerCase();
    const dot = name.lastIndexOf('.');
    if (dot >= 0 && name.length - dot <= 6) bag.add(`att:ext:${name.slice(dot + 1)}`);
    if (a.type !== '') bag.add(`att:type:${a.type}`);
    if (a.inArchive) bag.add('att:in-archive');
  }
  const f = v.facts;
  for (const k of ['html_only', 'alt_mismatch', 'html_script', 'html_form', 'html_iframe', 'bad_base64', 'text_base64', 'charset_cjk', 'headers_8bit', 'url_text_mismatch']) {
    if ((f[k] ?? 0) > 0) bag.add(`fact:${k}`);
  }
  if (v.html !== null) {
    for (const t of v.html.tokens) { if (bag.full) break; bag.add(`html:${t}`); }
    bag.add(`html:imgs:${bucket(v.html.images)}`);
    bag.add(`html:links:${bucket(v.html.links.length)}`);
    if (v.html.hiddenChars > 20) bag.add('html:hidden-text');
    if (v.html.commentsInWords > 0) bag.add('html:comment-in-word');
    const ratio = (f.html_text_chars ?? 0) / Math.max(1, v.htmlSource.length);
    bag.add(`html:text-ratio:${ratio < 0.05 ? 'tiny' : ratio < 0.2 ? 'low' : ratio < 0.5 ? 'mid' : 'high'}`);
  }
  bag.add(`body:upper:${Math.round((f.body_upper_pct ?? 0) / 10)}`);
  bag.add(`body:chars:${bucket(Math.round((f.text_chars ?? 0) / 100))}`);
}

/** Tokens of a message, each once, in a deterministic order. */
export function tokenize(raw: Buffer, parsed: ParsedMessage, opts: TokenizeOptions = DEFAULT_TOKENIZE): string[] {
  return tokenizeView(viewMessage(raw, parsed), opts);
}

export function tokenizeView(v: MessageView, opts: TokenizeOptions = DEFAULT_TOKENIZE): string[] {
  const bag = new Bag(opts.maxTokens);
  // Headers and structure first so a huge body cannot crowd them out of the token budget.
  addHeaderTokens(bag, v, opts);
  addStructureTokens(bag, v);
  addUrlTokens(bag, v);
  let text = v.text.length > opts.maxTextChars ? v.text.slice(0, opts.maxTextChars) : v.text;
  if (text.includes('://') || /www\d{0,3}\./i.test(text)) text = text.replace(URL_LIKE, ' ');
  if (text.includes('@')) {
    // One pass of the (costly) pattern: each address becomes a token as it is blanked out.
    text = blankAddresses(text, (domain) => bag.add(`email:${registrableDomain(domain.toLowerCase())}`));
  }
  addWords(bag, text, '', opts.bigrams);
  return bag.take();
}
