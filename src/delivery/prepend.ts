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

export function prependHeader(raw: Buffer, parsed: ParsedMessage, header: string, insert?: { at: number; text: string }): { raw: Buffer; parsed: ParsedMessage } {
  const prefix = Buffer.from(header);
  // A second block of fields may go further down the root header (after our trace fields), at
  // an offset before the root body: every offset past the root header start moves by both.
  const extra = insert && insert.text && insert.at <= parsed.tree.bodyStart ? Buffer.from(insert.text) : null;
  if (prefix.length === 0 && !extra) return { raw, parsed };
  const pieces = extra ? [prefix, raw.subarray(0, insert!.at), extra, raw.subarray(insert!.at)] : [prefix, raw];
  const delta = prefix.length + (extra?.length ?? 0);
  return {
    raw: Buffer.concat(pieces, raw.length + delta),
    parsed: { ...parsed, tree: shiftPart(parsed.tree, delta, true) },
  };
}
