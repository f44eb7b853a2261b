// Typed reading of command arguments and the wire forms of what handlers send back.
import type { Token } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import { fromWire, toWire } from '../mailbox-name.js';
import { string, toBuffer } from '../fetch/serialize.js';
import type { Session } from '../session.js';

/** A mailbox name argument in store form, or null when it is not a valid name. */
export function mailboxArg(s: Session, t: Token | undefined): string | null {
  if (t?.type === 'list' || t?.type === 'nil' || t === undefined) return null;
  const text = tokenString(t);
  if (text === null) return null;
  return fromWire(text, s.utf8);
}

/** A mailbox name as the client should see it: modified UTF-7 or UTF-8, quoted (or a literal). */
export function mailboxOut(s: Session, name: string): string {
  if (name === 'INBOX') return 'INBOX';
  return quoted(toWire(name, s.utf8), s.utf8);
}

/** A quoted string, or a literal when it cannot be quoted. */
export function quoted(text: string, utf8: boolean): string {
  return toBuffer(string(text, { utf8 })).toString('utf8');
}

const SYSTEM_FLAGS = new Map(['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'].map((f) => [f.toLowerCase(), f]));

/** Flags for STORE/APPEND: system flags (normalised spelling) and keywords; null if any is
 * invalid (\Recent cannot be set; other backslash flags do not exist). */
export function flagList(t: Token | undefined, more: Token[] = []): string[] | null {
  const items = t?.type === 'list' ? t.items : t ? [t, ...more] : [];
  const out: string[] = [];
  for (const item of items) {
    if (item.type !== 'atom') return null;
    const v = item.value;
    if (v.startsWith('\\')) {
      const f = SYSTEM_FLAGS.get(v.toLowerCase());
      if (!f) return null;
      out.push(f);
    } else {
      if (!/^[!#$&'+\-./0-9:<=>?@A-Z^_`a-z|~;,]+$/.test(v) || v.length > 128) return null;
      out.push(v);
    }
  }
  return out;
}

/** An atom's value, upper-case; null for anything else. */
export function atomUpper(t: Token | undefined): string | null {
  return t?.type === 'atom' ? t.value.toUpperCase() : null;
}
