// One pass over received message data for what RFC 5321/6152 forbid or make dangerous: NUL
// bytes, bare CR or LF line ends (SMTP smuggling), lines over 998 octets, and 8-bit octets
// when the client did not declare BODY=8BITMIME. Runs on every message on the SMTP thread, so
// the scanning is done by native memchr-style searches (indexOf, isAscii), not a JS byte loop.
import { isAscii } from 'node:buffer';

export interface DataFacts {
  hasNul: boolean;
  bareLineEnd: boolean;
  longLine: boolean;
  eightBit: boolean;
}

export const MAX_LINE = 998; // octets, without CRLF (RFC 5321 §4.5.3.1.6)

export function scanData(buf: Buffer): DataFacts {
  const n = buf.length;
  let bareLineEnd = false;
  let longLine = false;
  // Line ends: every LF must follow a CR, and lines between them are bounded.
  let lineStart = 0;
  for (let lf = buf.indexOf(0x0a); lf !== -1; lf = buf.indexOf(0x0a, lf + 1)) {
    const crlf = lf > 0 && buf[lf - 1] === 0x0d;
    if (!crlf) bareLineEnd = true;
    if (lf - lineStart - (crlf ? 1 : 0) > MAX_LINE) longLine = true;
    lineStart = lf + 1;
  }
  if (n - lineStart > MAX_LINE) longLine = true;
  // Every CR must be followed by LF.
  if (!bareLineEnd) {
    for (let cr = buf.indexOf(0x0d); cr !== -1; cr = buf.indexOf(0x0d, cr + 1)) {
      if (cr + 1 >= n || buf[cr + 1] !== 0x0a) {
        bareLineEnd = true;
        break;
      }
    }
  }
  return { hasNul: buf.indexOf(0) !== -1, bareLineEnd, longLine, eightBit: !isAscii(buf) };
}
