// Resource limits: every buffer the parser keeps is bounded by one of these.

export interface ParserLimits {
  /** Bytes of command text per command, literals excluded. */
  maxLineLength: number;
  /** Bytes of one literal (advertise as APPENDLIMIT). */
  maxLiteralSize: number;
  /** Bytes of one command, text and literals together. */
  maxCommandSize: number;
  /** Depth of nested parenthesised lists. */
  maxDepth: number;
  /** Literals in one command. */
  maxLiterals: number;
}

export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxLineLength: 64 * 1024,
  maxLiteralSize: 50 * 1024 * 1024,
  maxCommandSize: 64 * 1024 * 1024,
  maxDepth: 32,
  maxLiterals: 64,
});

export function resolveLimits(partial: Partial<ParserLimits> = {}): ParserLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(out) as (keyof ParserLimits)[]) {
    const v = partial[key];
    if (v !== undefined) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`invalid parser limit ${key}: ${v}`);
      out[key] = v;
    }
  }
  return out;
}
