// RFC 5256 §2.1 base subject extraction, exactly as specified (steps 1-7), also reporting
// whether the subject marks a reply or forward (needed by THREAD=REFERENCES step 5).
//
//   subject      = *subj-leader [subj-middle] *subj-trailer
//   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//   subj-blob    = "[" *BLOBCHAR "]" *WSP
//   subj-fwd     = subj-fwd-hdr subject subj-fwd-trl
//   subj-fwd-hdr = "[fwd:"
//   subj-fwd-trl = "]"
//   subj-leader  = (*subj-blob subj-refwd) / WSP
//   subj-trailer = "(fwd)" / WSP
//   BLOBCHAR     = any CHAR except "[" and "]"
//
// The input is the decoded (RFC 2047) subject. ABNF literals are case-insensitive. BLOBCHAR and
// NONWSP are read as "any character" (not only ASCII) since the text is UTF-8 by then.

export interface BaseSubject {
  /** The base subject, case preserved (compare with the casemap collation). */
  base: string;
  /** A subj-refwd, a "(fwd)" trailer or a [fwd: ...] wrapper was removed (RFC 5256 §2.1). */
  isReplyOrForward: boolean;
}

const TRAILER = /(?:\(fwd\)|[ \t])$/i;
const BLOB = /^\[[^[\]]*\][ \t]*/;
// *subj-blob subj-refwd, then any WSP (WSP alone is also a subj-leader).
const LEADER = /^(?:\[[^[\]]*\][ \t]*)*(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:/i;

export function extractBaseSubject(subject: string): BaseSubject {
  let replyOrForward = false;
  // (1) Tabs and continuations to space; runs of spaces to one space.
  let s = subject.replace(/\r?\n|\r/g, '').replace(/[ \t]+/g, ' ');
  for (;;) {
    // (2) Remove subj-trailer text at the end, repeatedly.
    for (let m = TRAILER.exec(s); m !== null; m = TRAILER.exec(s)) {
      if (m[0].length > 1) replyOrForward = true;
      s = s.slice(0, s.length - m[0].length);
    }
    // (3)-(5) Remove subj-leader prefixes, and subj-blob prefixes that leave a non-empty
    // subj-base, until neither applies.
    for (;;) {
      if (s.startsWith(' ') || s.startsWith('\t')) {
        s = s.slice(1);
        continue;
      }
      const leader = LEADER.exec(s);
      if (leader !== null) {
        replyOrForward = true;
        s = s.slice(leader[0].length);
        continue;
      }
      const blob = BLOB.exec(s);
      if (blob !== null && blob[0].length < s.length) {
        s = s.slice(blob[0].length);
        continue;
      }
      break;
    }
    // (6) "[fwd:" ... "]" wrapper: remove it and repeat from (2).
    if (s.length >= 6 && s.slice(0, 5).toLowerCase() === '[fwd:' && s.endsWith(']')) {
      replyOrForward = true;
      s = s.slice(5, -1);
      continue;
    }
    // (7)
    return { base: s, isReplyOrForward: replyOrForward };
  }
}

/** RFC 5256 base subject (case preserved). */
export function baseSubject(subject: string): string {
  return extractBaseSubject(subject).base;
}
