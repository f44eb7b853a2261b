// Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) for IMAP4rev1 clients, UTF-8 once
// IMAP4rev2 or UTF8=ACCEPT is enabled. The store keeps names in UTF-8 with '/' as delimiter.

export const DELIMITER = '/';

/** Encodes a UTF-8 name as modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((u, i) => bytes.writeUInt16BE(u, i * 2));
    out += '&' + bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      flush();
      out += c === 0x26 ? '&-' : name[i];
    } else {
      pending.push(c); // UTF-16 code units, surrogate pairs included, as RFC 2152 requires
    }
  }
  flush();
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decodes modified UTF-7; null when the text is not valid modified UTF-7. */
export function decodeMutf7(text: string): string | null {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end === -1) return null;
    const b64 = text.slice(i + 1, end);
    i = end;
    if (b64.length === 0) {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0) return null;
    let chunk = '';
    for (let j = 0; j < bytes.length; j += 2) chunk += String.fromCharCode(bytes.readUInt16BE(j));
    // Printable ASCII must not be base64-encoded, and the result must be well-formed UTF-16.
    if (/[\x20-\x7e]/.test(chunk) || LONE_SURROGATE.test(chunk)) return null;
    out += chunk;
  }
  return out;
}

/** Name from the client (already decoded from the wire string) to store form. */
export function fromWire(text: string, utf8: boolean): string | null {
  const name = utf8 ? text : decodeMutf7(text);
  if (name === null) return null;
  return /^inbox$/i.test(name) ? 'INBOX' : /^inbox\//i.test(name) ? 'INBOX' + name.slice(5) : name;
}

export function toWire(name: string, utf8: boolean): string {
  return utf8 ? name : encodeMutf7(name);
}

/** A name that may be created: no empty levels, no control characters, no wildcards. */
export function validNewName(name: string): boolean {
  if (name.length === 0 || name.length > 512) return false;
  if (/[\x00-\x1f\x7f*%]/.test(name)) return false;
  return name.split(DELIMITER).every((level) => level.length > 0);
}

/** LIST pattern → RegExp over store names ('*' any, '%' any but the delimiter). */
export function patternRegExp(reference: string, pattern: string): RegExp {
  let full = reference + pattern;
  if (/^inbox(\/|$)/i.test(full)) full = 'INBOX' + full.slice(5);
  let re = '';
  for (const ch of full) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
