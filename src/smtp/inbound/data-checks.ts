// One pass over received message data for what RFC 5321/6152 forbid or make dangerous: NUL
// bytes, bare CR or LF line ends (SMTP smuggling), lines over 998 octets, and 8-bit octets
// when the client did not declare BODY=8BITMIME.
export interface DataFacts {
  hasNul: boolean;
  bareLineEnd: boolean;
  longLine: boolean;
  eightBit: boolean;
}

export const MAX_LINE = 998; // octets, without CRLF (RFC 5321 §4.5.3.1.6)

export function scanData(buf: Buffer): DataFacts {
  let hasNul = false;
  let bareLineEnd = false;
  let longLine = false;
  let eightBit = false;
  let lineStart = 0;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c >= 0x80) {
      eightBit = true;
    } else if (c === 0x0a) {
      if (i === 0 || buf[i - 1] !== 0x0d) bareLineEnd = true;
      const len = i - lineStart - (i > 0 && buf[i - 1] === 0x0d ? 1 : 0);
      if (len > MAX_LINE) longLine = true;
      lineStart = i + 1;
    } else if (c === 0x0d) {
      if (i + 1 >= n || buf[i + 1] !== 0x0a) bareLineEnd = true;
    } else if (c === 0) {
      hasNul = true;
    }
  }
  if (n - lineStart > MAX_LINE) longLine = true;
  return { hasNul, bareLineEnd, longLine, eightBit };
}
