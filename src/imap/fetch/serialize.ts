// IMAP string output for FETCH responses (RFC 9051 §4.3, RFC 3501 §4.3).
//
// Output is a flat list of chunks: plain JS strings for protocol text (atoms, numbers,
// parentheses, quoted strings) and Buffers for literal payloads, so a large literal body is
// never copied into a string and can be handed to socket.write() as-is. Strings are written
// as UTF-8 (they are pure ASCII unless the session allows UTF-8 in quoted strings).

/** One piece of a response. Strings are encoded as UTF-8 when written. */
export type Chunk = string | Buffer;

export interface StringOptions {
  /** The session allows UTF-8 in quoted strings (IMAP4rev2, or UTF8=ACCEPT enabled).
   * When false (plain IMAP4rev1), any 8-bit byte forces a literal. */
  utf8: boolean;
}

/** Quoted strings longer than this are sent as literals instead (keeps lines short). */
export const MAX_QUOTED = 1024;

function bytesOf(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** Can `b` go out as a quoted string? No CR, LF or NUL; 8-bit only when `utf8` and the bytes
 * are valid UTF-8 (RFC 9051 QUOTED-CHAR admits UTF8-2/3/4 only). */
function quotable(b: Buffer, utf8: boolean): boolean {
  if (b.length > MAX_QUOTED) return false;
  let high = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x00 || c === 0x0a || c === 0x0d) return false;
    if (c >= 0x80) {
      if (!utf8) return false;
      high = true;
    }
  }
  if (high) {
    // Round-trip check: invalid sequences become U+FFFD and change the bytes.
    const s = b.toString('utf8');
    if (Buffer.byteLength(s, 'utf8') !== b.length || !Buffer.from(s, 'utf8').equals(b)) return false;
  }
  return true;
}

function quote(b: Buffer): string {
  const s = b.toString('utf8');
  return '"' + s.replace(/[\\"]/g, (m) => '\\' + m) + '"';
}

/** A synchronizing literal: `{N}\r\n` followed by exactly N bytes. NUL bytes are sent as-is:
 * RFC 3501/9051 `literal` excludes NUL (only RFC 3516 literal8 may carry it); a caller that
 * must be strict about that has to use BINARY or sanitise the content first. */
export function literal(value: string | Buffer): Chunk[] {
  const b = bytesOf(value);
  return [`{${b.length}}\r\n`, b];
}

/** IMAP `string`: quoted when possible, otherwise a literal. JS strings are encoded as UTF-8. */
export function string(value: string | Buffer, opts: StringOptions): Chunk[] {
  const b = bytesOf(value);
  return quotable(b, opts.utf8) ? [quote(b)] : literal(b);
}

/** IMAP `nstring`: NIL for null, else a quoted string or a literal. */
export function nstring(value: string | Buffer | null, opts: StringOptions): Chunk[] {
  return value === null ? ['NIL'] : string(value, opts);
}

/** Appends chunks to `out`, merging adjacent strings so the list stays short. */
export function push(out: Chunk[], ...chunks: Chunk[]): void {
  for (const c of chunks) {
    const last = out.length - 1;
    if (typeof c === 'string' && last >= 0 && typeof out[last] === 'string') out[last] = (out[last] as string) + c;
    else out.push(c);
  }
}

/** Total byte length of the chunks as they will be written. */
export function byteLength(chunks: Chunk[]): number {
  let n = 0;
  for (const c of chunks) n += typeof c === 'string' ? Buffer.byteLength(c, 'utf8') : c.length;
  return n;
}

/** The chunks as one Buffer (for tests and small responses; sockets can take chunks directly). */
export function toBuffer(chunks: Chunk[]): Buffer {
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c)));
}
