// Shapes produced by the MIME parser and stored with every message. Everything IMAP
// needs (ENVELOPE, BODYSTRUCTURE, BODY[section]<partial>) is derived from these plus the
// raw blob, so a message is parsed exactly once: at delivery or APPEND.

/** IMAP ENVELOPE address: RFC 3501 §7.4.2. Group start: mailbox=group name, host=null;
 * group end: mailbox=null, host=null. Strings are the raw (unfolded, not decoded) header text. */
export interface EnvelopeAddress {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

/** IMAP ENVELOPE. Raw header values (unfolded, encoded-words left as sent) so FETCH ENVELOPE
 * returns what the sender wrote; `sender` and `replyTo` default to `from` as RFC 3501 requires. */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/** One node of the byte-exact MIME tree. All offsets are absolute byte positions in the raw
 * message, so raw.subarray(headerStart, bodyStart) is the part's header block (including the
 * blank line that ends it, when present) and raw.subarray(bodyStart, bodyEnd) its body. */
export interface MimePart {
  headerStart: number;
  bodyStart: number;
  /** Exclusive. For a child of a multipart, the CRLF (or LF) before the next boundary
   * delimiter belongs to the delimiter, not to the body (RFC 2046 §5.1.1). */
  bodyEnd: number;
  /** Lower-case media type and subtype; defaults per RFC 2045/2046 (text/plain, or
   * message/rfc822 inside multipart/digest) when the header is missing or unparsable. */
  type: string;
  subtype: string;
  /** Content-Type parameters in order: names lower-cased, values unquoted but otherwise raw
   * (RFC 2231 sections kept as sent, e.g. `filename*0*`). Use decodedParam() for display. */
  params: [string, string][];
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding as sent, lower-cased and trimmed; null when absent. */
  encoding: string | null;
  md5: string | null;
  disposition: { type: string; params: [string, string][] } | null;
  language: string[] | null;
  location: string | null;
  /** Number of lines in the body (RFC 3501 body-fld-lines; counted for every part). */
  bodyLines: number;
  /** Children of a multipart/* part (empty array when the multipart has no parts). */
  parts?: MimePart[];
  /** For message/rfc822 and message/global: the encapsulated message. Its root part's
   * headerStart equals this part's bodyStart. */
  message?: { envelope: Envelope; part: MimePart };
}

export interface DecodedAddress {
  name: string;
  address: string;
}

/** Everything extracted from a message at delivery time. */
export interface ParsedMessage {
  tree: MimePart;
  envelope: Envelope;
  /** Decoded (RFC 2047, charset-converted) for display, search and `fjord mail list`. */
  subject: string;
  from: DecodedAddress[];
  to: DecodedAddress[];
  cc: DecodedAddress[];
  /** Parsed Date: header, null when missing or unparsable. */
  date: Date | null;
  /** Message-ID without angle brackets, null when missing. */
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
  /** RFC 5256 base subject (Re:/Fwd:/[list] prefixes and (fwd) trailers removed, whitespace
   * collapsed, lower-cased) used for threading by subject. */
  baseSubject: string;
  /** Plain-text rendering of the body in UTF-8 (text parts decoded, HTML turned into text),
   * bounded in size, for full-text search and snippets. */
  text: string;
  /** Decoded header fields as "Name: value" lines, for full-text search of headers. */
  headerText: string;
  hasAttachments: boolean;
}
