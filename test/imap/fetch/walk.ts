// Enumerates every addressable part of a stored tree with its IMAP part number.
import type { MimePart } from '../../../src/mime/index.js';

export function partPaths(tree: MimePart): [number[], MimePart][] {
  const out: [number[], MimePart][] = [];
  const inMessage = (root: MimePart, prefix: number[]) => {
    if (root.type === 'multipart') (root.parts ?? []).forEach((c, i) => visit(c, [...prefix, i + 1]));
    else visit(root, [...prefix, 1]);
  };
  const visit = (p: MimePart, path: number[]) => {
    out.push([path, p]);
    if (p.type === 'multipart') (p.parts ?? []).forEach((c, i) => visit(c, [...path, i + 1]));
    else if (p.message !== undefined) inMessage(p.message.part, path);
  };
  inMessage(tree, []);
  return out;
}
