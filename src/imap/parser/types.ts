// Public types of the IMAP command parser (RFC 9051 / RFC 3501 syntax).

/** A sequence number: a positive uint32, or '*' (the largest number in use). */
export type SeqNumber = number | '*';

export interface SeqRange {
  from: SeqNumber;
  to: SeqNumber; // equal to `from` for a single number
}

/** `1:*,3,5:7` as ranges in client order, or `$` (RFC 5182 SEARCHRES saved result). */
export type SequenceSet = { kind: 'set'; ranges: SeqRange[] } | { kind: 'saved' };

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  /** Body part path, e.g. [1, 2] for `1.2`; empty for the whole message. */
  parts: number[];
  text?: SectionText;
  /** Header field names for HEADER.FIELDS[.NOT], as the client spelled them. */
  fields?: string[];
}

export type SectionItemName = 'BODY' | 'BODY.PEEK' | 'BINARY' | 'BINARY.PEEK' | 'BINARY.SIZE';

export type Token =
  | { type: 'atom'; value: string }
  | { type: 'number'; value: bigint; text: string }
  | { type: 'string'; value: string }
  | { type: 'literal'; value: Buffer; binary: boolean }
  | { type: 'nil' }
  | { type: 'list'; items: Token[] }
  | { type: 'sequence'; set: SequenceSet; text: string }
  | {
      type: 'section';
      name: SectionItemName;
      section: SectionSpec;
      partial?: { offset: number; length: number };
    };

export interface Command {
  tag: string;
  /** Upper-case; `UID FETCH` etc. for UID commands. */
  name: string;
  args: Token[];
}

export type ParseResult =
  | { kind: 'command'; command: Command }
  /** Recoverable: reply `tag error [code] text`; the stream is resynchronised. */
  | { kind: 'error'; tag: string; error: 'BAD' | 'NO'; code?: 'TOOBIG' | 'LIMIT'; text: string }
  /** Unrecoverable: reply `* BYE text` and close; the reader accepts no more input. */
  | { kind: 'fatal'; text: string };

/** A command split by the reader: lines.length === literals.length + 1. */
export interface RawCommand {
  /** Line segments without line end and without the trailing literal marker. */
  lines: Buffer[];
  literals: RawLiteral[];
}

export interface RawLiteral {
  data: Buffer;
  binary: boolean; // literal8 `~{N}`
  sync: boolean; // `{N}` as opposed to LITERAL+ `{N+}`
}
