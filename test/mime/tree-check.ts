// Shared tree invariant and reassembly checks for the MIME tests.
import assert from 'node:assert/strict';
import type { MimePart } from '../../src/mime/index.js';

/** Check offsets and rebuild raw[headerStart, bodyEnd) from the recorded offsets. Returns
 * the reassembled bytes so the caller compares them with the original. */
export function reassemble(raw: Buffer, p: MimePart, where: string): Buffer {
  assert.ok(0 <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= raw.length,
    `${where}: offsets ${p.headerStart}/${p.bodyStart}/${p.bodyEnd} of ${raw.length}`);
  const header = raw.subarray(p.headerStart, p.bodyStart);
  if (p.message !== undefined) {
    const inner = p.message.part;
    assert.equal(inner.headerStart, p.bodyStart, `${where}: message starts at body`);
    assert.equal(inner.bodyEnd, p.bodyEnd, `${where}: message ends with body`);
    return Buffer.concat([header, reassemble(raw, inner, where + '.msg')]);
  }
  if (p.parts === undefined) return raw.subarray(p.headerStart, p.bodyEnd);
  const boundary = p.params.find((x) => x[0] === 'boundary')?.[1];
  const chunks: Buffer[] = [header];
  let pos = p.bodyStart;
  p.parts.forEach((c, i) => {
    assert.ok(c.headerStart >= pos, `${where}.${i + 1}: child overlaps/out of order`);
    assert.ok(c.bodyEnd <= p.bodyEnd, `${where}.${i + 1}: child past parent end`);
    const gap = raw.subarray(pos, c.headerStart);
    // Every child is introduced by a delimiter line: the gap ends with "--boundary…EOL".
    assert.ok(boundary !== undefined, `${where}: multipart with children has a boundary`);
    const g = gap.toString('latin1');
    const lastLine = g.replace(/\r?\n$/, '').split('\n').pop() ?? '';
    assert.ok(lastLine.startsWith('--' + Buffer.from(boundary, 'utf8').toString('latin1')) ||
              lastLine.startsWith('--' + boundary), `${where}.${i + 1}: delimiter before child: ${JSON.stringify(lastLine.slice(0, 100))}`);
    if (i > 0) {
      // Between siblings: only the line break + delimiter line (RFC 2046 §5.1.1).
      assert.ok(/^(\r?\n)?--[^\n]*\n$/.test(g) || /^(\r?\n)?--[^\n]*$/.test(g), `${where}.${i + 1}: gap is one delimiter line: ${JSON.stringify(g.slice(0, 120))}`);
    }
    chunks.push(gap);
    chunks.push(reassemble(raw, c, `${where}.${i + 1}`));
    pos = c.bodyEnd;
  });
  chunks.push(raw.subarray(pos, p.bodyEnd));
  return Buffer.concat(chunks);
}

export function checkTree(raw: Buffer, tree: MimePart, where: string): void {
  assert.equal(tree.headerStart, 0, where);
  assert.equal(tree.bodyEnd, raw.length, `${where}: root covers the message`);
  const back = reassemble(raw, tree, where);
  assert.ok(back.equals(raw.subarray(tree.headerStart, tree.bodyEnd)), `${where}: reassembly differs`);
}

export function toCrlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
