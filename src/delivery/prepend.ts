// Each recipient's copy starts with its own Delivered-To line. The message is parsed once per
// queue entry; a recipient's tree is the same tree with every offset moved by the prefix length
// (the prefix joins the root part's header, so the root still starts at 0).
import type { MimePart, ParsedMessage } from '../mime/types.js';

export function shiftPart(part: MimePart, delta: number, isRoot: boolean): MimePart {
  const shifted: MimePart = { ...part, headerStart: isRoot ? 0 : part.headerStart + delta, bodyStart: part.bodyStart + delta, bodyEnd: part.bodyEnd + delta };
  if (part.parts) shifted.parts = part.parts.map((p) => shiftPart(p, delta, false));
  if (part.message) shifted.message = { envelope: part.message.envelope, part: shiftPart(part.message.part, delta, false) };
  return shifted;
}

export function prependHeader(raw: Buffer, parsed: ParsedMessage, header: string): { raw: Buffer; parsed: ParsedMessage } {
  const prefix = Buffer.from(header);
  if (prefix.length === 0) return { raw, parsed };
  return {
    raw: Buffer.concat([prefix, raw]),
    parsed: { ...parsed, tree: shiftPart(parsed.tree, prefix.length, true) },
  };
}
