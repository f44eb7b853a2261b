// Removes Authentication-Results fields that claim to come from us (RFC 8601 §5: an MTA MUST
// remove, or rename, such fields carrying its authserv-id before adding its own). Only the
// top-level header section is touched, everything else stays byte-exact. ARC-Authentication-
// Results fields are not touched: they are covered by ARC seals, and RFC 8601 §5 concerns
// Authentication-Results only. Also removed: X-Spam verdict fields and Return-Path fields the
// sender wrote (we add our own of both).

/** The byte length of the header section (up to and including the empty line), or the whole buffer. */
function headerLength(raw: Buffer): number {
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return i + 2;
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return i + 3;
  }
  return raw.length;
}

/** Skips CFWS (RFC 5322: whitespace, folding and nested comments) from `i`. */
function skipCfws(s: string, i: number): number {
  for (;;) {
    while (i < s.length && /[ \t\r\n]/.test(s[i])) i++;
    if (s[i] !== '(') return i;
    let depth = 0;
    for (; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) {
        i++;
        break;
      }
    }
  }
}

/** The authserv-id of an Authentication-Results value (token or quoted-string), lower case. */
export function authservId(value: string): string | null {
  let i = skipCfws(value, 0);
  if (value[i] === '"') {
    let out = '';
    for (i++; i < value.length && value[i] !== '"'; i++) out += value[i] === '\\' ? value[++i] ?? '' : value[i];
    return out.toLowerCase();
  }
  const m = /^[^\s;()"]+/.exec(value.slice(i));
  return m ? m[0].toLowerCase() : null;
}

/** Removes the top-level header fields for which `drop(field)` is true (field = its full text,
 * continuation lines included); returns raw itself when none is removed. */
export function removeFields(raw: Buffer, drop: (field: string) => boolean): Buffer {
  const end = headerLength(raw);
  const head = raw.subarray(0, end).toString('latin1');
  // Field boundaries: a field is its first line plus the continuation lines (starting with WSP).
  const keep: Buffer[] = [];
  let removed = false;
  let start = 0;
  while (start < head.length) {
    let stop = start;
    do {
      const nl = head.indexOf('\n', stop);
      stop = nl < 0 ? head.length : nl + 1;
    } while (stop < head.length && (head[stop] === ' ' || head[stop] === '\t'));
    if (drop(head.slice(start, stop))) removed = true;
    else keep.push(raw.subarray(start, stop));
    start = stop;
  }
  if (!removed) return raw;
  return Buffer.concat([...keep, raw.subarray(end)]);
}

export function removeForgedResults(raw: Buffer, ourAuthservId: string): Buffer {
  const ours = ourAuthservId.toLowerCase();
  return removeFields(raw, (field) => {
    const m = /^authentication-results[ \t]*:/i.exec(field);
    return m !== null && authservId(field.slice(m[0].length)) === ours;
  });
}

/** An X-Spam-* verdict field (ours, or one a sender put in to look judged already). */
export function isSpamVerdictField(field: string): boolean {
  return /^x-spam-(?:status|score|flag|level)[ \t]*:/i.test(field);
}

/** Verdict fields a sender may have put in to look judged already (we add our own). */
export function removeSpamVerdictFields(raw: Buffer): Buffer {
  return removeFields(raw, isSpamVerdictField);
}

/** Return-Path fields the sender wrote. The delivering MTA adds the one true Return-Path, the
 * envelope sender (RFC 5321 §4.4); one already in the data is a relay's leftover or a forgery,
 * and the filter, reading the envelope sender from it, would be misled. Postfix drops them on
 * receipt likewise (message_drop_headers). */
export function removeReturnPathFields(raw: Buffer): Buffer {
  return removeFields(raw, (field) => /^return-path[ \t]*:/i.test(field));
}
