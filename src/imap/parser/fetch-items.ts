// FETCH data items (RFC 9051 6.4.5): a single item, a macro, or a parenthesised list.
import type { SectionItemName, SectionSpec, Token } from './types.js';

export type FetchItem =
  | { kind: 'simple'; name: string }
  | { kind: 'section'; name: SectionItemName; section: SectionSpec; partial?: { offset: number; length: number } };

const SIMPLE = new Set([
  'FLAGS', 'UID', 'INTERNALDATE', 'ENVELOPE', 'BODY', 'BODYSTRUCTURE',
  'RFC822', 'RFC822.HEADER', 'RFC822.SIZE', 'RFC822.TEXT',
  'MODSEQ', 'EMAILID', 'THREADID', 'SAVEDATE', 'PREVIEW', // RFC 7162, 8474, 8514, 8970
]);
const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

/** Parses the FETCH item argument; macros are only valid on their own, not inside a list. */
export function parseFetchItems(arg: Token | undefined): FetchItem[] | { error: string } {
  if (arg?.type === 'atom') {
    const macro = MACROS[arg.value.toUpperCase()];
    if (macro) return macro.map((name) => ({ kind: 'simple', name }));
  }
  const tokens = arg?.type === 'list' ? arg.items : arg ? [arg] : [];
  if (tokens.length === 0) return { error: 'Missing FETCH items' };
  const items: FetchItem[] = [];
  for (const t of tokens) {
    if (t.type === 'section') {
      items.push(t.partial ? { kind: 'section', name: t.name, section: t.section, partial: t.partial } : { kind: 'section', name: t.name, section: t.section });
    } else if (t.type === 'atom' && SIMPLE.has(t.value.toUpperCase())) {
      items.push({ kind: 'simple', name: t.value.toUpperCase() });
    } else {
      return { error: 'Invalid FETCH item' };
    }
  }
  return items;
}
