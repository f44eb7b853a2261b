// White space as JavaScript's /\s/ matches it, by character code: scanners that walk a text code
// unit by code unit (the tokenizer, the HTML scanner's text tidying) split it exactly where a
// /\s+/ pattern would, without a match object per character.

/** Whether /\s/ matches the UTF-16 code unit c. */
export function isSpaceCode(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c >= 0xa0 && (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff);
}
