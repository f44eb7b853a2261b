// RFC 5256 §2.1 base subject, for threading by subject. Input is the decoded subject.

const TRAILER = /[ \t]*\(fwd\)[ \t]*$/i;
const REFWD = /^(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:[ \t]*/i;
const BLOB = /^\[[^[\]]*\][ \t]*/;

export function baseSubject(subject: string): string {
  // (1) collapse whitespace runs to one space; then trim.
  let s = subject.replace(/[ \t\r\n]+/g, ' ').trim();
  for (let guard = 0; guard < 1000; guard++) {
    const before = s;
    // (2) remove trailing "(fwd)" trailers and whitespace.
    while (TRAILER.test(s)) s = s.replace(TRAILER, '');
    s = s.trimEnd();
    // (3)+(4) remove leading subj-leader / subj-blob until none applies; a blob is only
    // removed when something non-empty remains.
    for (;;) {
      s = s.trimStart();
      const m = REFWD.exec(s);
      if (m !== null) { s = s.slice(m[0].length); continue; }
      const b = BLOB.exec(s);
      if (b !== null && s.length > b[0].length && s.slice(b[0].length).trim() !== '') { s = s.slice(b[0].length); continue; }
      break;
    }
    // (5) "[fwd: ... ]" wrapper.
    const w = /^\[fwd:(.*)\]$/i.exec(s);
    if (w !== null) { s = w[1].trim(); continue; }
    if (s === before) break;
  }
  return s.toLowerCase();
}
