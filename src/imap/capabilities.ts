// What the server announces in CAPABILITY (RFC 9051 §7.2.2). Every extension listed here is
// implemented in full; an extension is only listed when it is.
import type { Session } from './session.js';

/** Extensions available once logged in (and, for clients that look early, before). */
const EXTENSIONS = [
  'IMAP4rev2', 'LITERAL+', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UNSELECT', 'CHILDREN', 'UIDPLUS', 'MOVE',
  'CONDSTORE', 'QRESYNC', 'SPECIAL-USE', 'CREATE-SPECIAL-USE', 'LIST-EXTENDED', 'LIST-STATUS',
  'ESEARCH', 'SEARCHRES', 'SORT', 'SORT=DISPLAY', 'THREAD=REFERENCES', 'THREAD=ORDEREDSUBJECT',
  'QUOTA', 'QUOTA=RES-STORAGE', 'QUOTA=RES-MESSAGE', 'STATUS=SIZE', 'BINARY', 'UTF8=ACCEPT',
  'MULTIAPPEND', 'OBJECTID',
];

/** Extensions ENABLE can turn on. */
export const ENABLEABLE = new Set(['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT', 'IMAP4REV2']);

export function capabilities(s: Session): string[] {
  const caps = ['IMAP4rev1'];
  if (s.state === 'notauth') {
    caps.push('IMAP4rev2', 'LITERAL+', 'ID', 'ENABLE', 'SASL-IR');
    if (!s.secure) caps.push('STARTTLS');
    if (s.plaintextAuthAllowed) caps.push('AUTH=PLAIN');
    else caps.push('LOGINDISABLED');
    return caps;
  }
  caps.push(...EXTENSIONS, `APPENDLIMIT=${s.ctx.config.imap.appendLimit}`);
  // COMPRESS only once per connection, and not on top of TLS compression (none in Node).
  if (!s.compressed) caps.push('COMPRESS=DEFLATE');
  return caps;
}
