// Byte classes from the RFC 9051 formal syntax.

export const SP = 0x20;
export const CR = 0x0d;
export const LF = 0x0a;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** ATOM-CHAR: CHAR except atom-specials `( ) { SP CTL % * " \ ]`. */
export function isAtomChar(b: number): boolean {
  if (b <= 0x20 || b >= 0x7f) return false;
  return !(b === 0x28 || b === 0x29 || b === 0x7b || b === 0x25 || b === 0x2a || b === DQUOTE || b === BACKSLASH || b === 0x5d);
}

/** tag = 1*<any ASTRING-CHAR except "+">; ASTRING-CHAR = ATOM-CHAR / "]". */
export function isTagChar(b: number): boolean {
  return b !== 0x2b && (isAtomChar(b) || b === 0x5d);
}

/**
 * Bytes a bare (unquoted) argument may hold. Wider than ATOM-CHAR on purpose:
 * flags (`\Seen`), LIST wildcards (`*`, `%`) and sequence sets (`1:*`) are all
 * bare words; callers validate per command.
 */
export function isWordChar(b: number): boolean {
  if (b <= 0x20 || b >= 0x7f) return false;
  return !(b === 0x28 || b === 0x29 || b === 0x7b || b === DQUOTE);
}

export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
