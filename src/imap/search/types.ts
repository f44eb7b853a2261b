// Types shared by the IMAP SEARCH / SORT / THREAD engine.
import type { SequenceSet } from '../parser/types.js';

/** Days since 1970-01-01 (a calendar date without time or zone). */
export type DayNumber = number;

export type SearchKey =
  /** ALL (and OLD, which is NOT RECENT: this server never sets \Recent). */
  | { type: 'all' }
  /** RECENT: this server never sets \Recent, so it matches nothing. */
  | { type: 'recent' }
  | { type: 'and'; keys: SearchKey[] }
  | { type: 'or'; keys: [SearchKey, SearchKey] }
  | { type: 'not'; key: SearchKey }
  /** System flag or keyword present (`set`) or absent; compared case-insensitively. */
  | { type: 'flag'; flag: string; set: boolean }
  /** LARGER n: RFC822.SIZE > n; SMALLER n: RFC822.SIZE < n. */
  | { type: 'size'; op: 'larger' | 'smaller'; size: number }
  /** BEFORE/ON/SINCE (field 'internal') and SENTBEFORE/SENTON/SENTSINCE (field 'sent'). */
  | { type: 'date'; field: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; day: DayNumber }
  /** TEXT / BODY: full-text index, word-prefix semantics. */
  | { type: 'text'; where: 'text' | 'body'; value: string }
  | { type: 'subject'; value: string }
  | { type: 'address'; field: 'from' | 'to' | 'cc' | 'bcc'; value: string }
  /** HEADER field-name string; `field` is lower-case. */
  | { type: 'header'; field: string; value: string }
  /** A sequence set of message sequence numbers (`$` = the saved result). */
  | { type: 'seq'; set: SequenceSet }
  /** UID sequence-set (`$` = the saved result). */
  | { type: 'uid'; set: SequenceSet }
  /** CONDSTORE MODSEQ: modseq >= value. The entry name/type is accepted and ignored (one
   * modseq per message, RFC 7162 §3.1.5 allows this). */
  | { type: 'modseq'; modseq: bigint; entry: { name: string; type: 'priv' | 'shared' | 'all' } | null }
  /** RFC 8474 EMAILID / THREADID (exact, case-sensitive). */
  | { type: 'emailid'; id: string }
  | { type: 'threadid'; id: string };

/** RFC 4731 result options (+ RFC 5182 SAVE). `RETURN ()` sets only `all`. */
export interface ReturnOptions {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
}

export interface ParsedSearch {
  /** The CHARSET given (normalised to upper case), or null when none. */
  charset: string | null;
  /** RETURN (...) options, or null when the command had no RETURN. */
  returnOpts: ReturnOptions | null;
  key: SearchKey;
}

export interface SearchError {
  error: string;
  /** BADCHARSET: reply `NO [BADCHARSET (UTF-8 US-ASCII)] text`; otherwise reply BAD. */
  code?: 'BADCHARSET';
}
