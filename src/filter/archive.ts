// File names inside a ZIP attachment, so an executable wrapped in an archive is judged like a
// bare one. Reads only the central-directory records (signature PK\1\2); bounded, never throws.

const CENTRAL = 0x02014b50;
const MAX_MEMBERS = 200;

export function zipMemberNames(buf: Buffer): string[] {
  const out: string[] = [];
  if (buf.length < 46) return out;
  let i = buf.indexOf('PK\x01\x02', 0, 'latin1');
  while (i >= 0 && i + 46 <= buf.length && out.length < MAX_MEMBERS) {
    if (buf.readUInt32LE(i) !== CENTRAL) break;
    const nameLen = buf.readUInt16LE(i + 28);
    const extraLen = buf.readUInt16LE(i + 30);
    const commentLen = buf.readUInt16LE(i + 32);
    const flags = buf.readUInt16LE(i + 8);
    if (i + 46 + nameLen > buf.length) break;
    const name = buf.subarray(i + 46, i + 46 + nameLen).toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1');
    out.push(name);
    const next = i + 46 + nameLen + extraLen + commentLen;
    i = buf.readUInt32LE(Math.min(next, buf.length - 4)) === CENTRAL ? next : buf.indexOf('PK\x01\x02', next, 'latin1');
  }
  return out;
}
