// RFC 5256 SORT (and RFC 5957 DISPLAYFROM/DISPLAYTO).
//
//   sort          = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
//   sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
//   sort-criterion= ["REVERSE" SP] sort-key
//   sort-key      = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"
//                 / "DISPLAYFROM" / "DISPLAYTO"
//   search-criteria = charset 1*(SP search-key)
//
// Strings compare with an approximation of i;unicode-casemap (text.ts casemapKey). Messages
// equal under all criteria keep mailbox (sequence number = UID) order; REVERSE never applies
// to that implicit last criterion.
import { decodeHeaderValue } from '../../mime/index.js';
import type { EnvelopeAddress } from '../../mime/types.js';
import type { Token } from '../parser/types.js';
import type { SearchContext } from './evaluate.js';
import { MessageLoader } from './messages.js';
import { parseSearchProgram } from './parse.js';
import { baseSubject } from './subject.js';
import { casemapKey, compareCodePoints } from './text.js';
import type { SearchError, SearchKey } from './types.js';

export { baseSubject, extractBaseSubject, type BaseSubject } from './subject.js';

export type SortCriterion = 'arrival' | 'cc' | 'date' | 'from' | 'size' | 'subject' | 'to' | 'displayfrom' | 'displayto';

export interface SortKey {
  criterion: SortCriterion;
  reverse: boolean;
}

const CRITERIA = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** The parenthesised sort criteria; an error for an empty list, unknown keys or a dangling
 * or doubled REVERSE. */
export function parseSortCriteria(t: Token | undefined): SortKey[] | { error: string } {
  if (t?.type !== 'list') return { error: 'SORT needs a parenthesised list of sort criteria' };
  if (t.items.length === 0) return { error: 'Empty sort criteria' };
  const out: SortKey[] = [];
  let reverse = false;
  for (const item of t.items) {
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    if (name === 'REVERSE') {
      if (reverse) return { error: 'REVERSE REVERSE is not a sort criterion' };
      reverse = true;
      continue;
    }
    if (!CRITERIA.has(name)) return { error: `Unknown sort criterion${item.type === 'atom' ? ' ' + item.value.slice(0, 40) : ''}` };
    out.push({ criterion: name.toLowerCase() as SortCriterion, reverse });
    reverse = false;
  }
  if (reverse) return { error: 'REVERSE must be followed by a sort key' };
  return out;
}

/** The arguments of SORT / UID SORT: criteria, mandatory charset, search keys. */
export function parseSortArgs(args: Token[]): { criteria: SortKey[]; charset: string; key: SearchKey } | SearchError {
  const criteria = parseSortCriteria(args[0]);
  if ('error' in criteria) return criteria;
  const prog = parseSearchProgram(args, 1, true);
  if ('error' in prog) return prog;
  return { criteria, charset: prog.charset!, key: prog.key };
}

type SortValue = number | string;

/**
 * Orders `uids` (messages of ctx's mailbox; those expunged from the store are dropped) by the
 * criteria. Returns UIDs.
 */
export async function sortMessages(uids: readonly number[], criteria: readonly SortKey[], ctx: SearchContext): Promise<number[]> {
  const rows = new Map<number, SortValue[]>();
  const needRecord = criteria.some((c) => c.criterion !== 'arrival' && c.criterion !== 'size');
  if (needRecord) {
    const loader = ctx.loader ?? new MessageLoader(ctx.store, ctx.mailboxId);
    await loader.forEach(uids, (chunk) => {
      for (const d of chunk) {
        rows.set(d.uid, criteria.map((c) => {
          switch (c.criterion) {
            case 'arrival': return d.internalDate.getTime();
            case 'size': return d.size;
            case 'date': return (d.date ?? d.internalDate).getTime();
            case 'subject': return casemapKey(baseSubject(d.subject));
            case 'from': return casemapKey(firstMailbox(d.envelope.from));
            case 'to': return casemapKey(firstMailbox(d.envelope.to));
            case 'cc': return casemapKey(firstMailbox(d.envelope.cc));
            case 'displayfrom': return casemapKey(displayValue(d.envelope.from));
            case 'displayto': return casemapKey(displayValue(d.envelope.to));
          }
        }));
      }
    });
  } else {
    const wanted = new Set(uids);
    for (const e of await ctx.store.listMessages(ctx.mailboxId)) {
      if (wanted.has(e.uid)) rows.set(e.uid, criteria.map((c) => (c.criterion === 'size' ? e.size : e.internalDate.getTime())));
    }
  }
  const list = [...rows.keys()];
  list.sort((a, b) => {
    const ra = rows.get(a)!;
    const rb = rows.get(b)!;
    for (let i = 0; i < criteria.length; i++) {
      const x = ra[i]!;
      const y = rb[i]!;
      const c = typeof x === 'number' ? x - (y as number) : compareCodePoints(x, y as string);
      if (c !== 0) return criteria[i]!.reverse ? -c : c;
    }
    return a - b; // mailbox order: UIDs ascend with sequence numbers
  });
  return list;
}

/** First real address of a list (group markers skipped). */
function firstAddress(list: EnvelopeAddress[] | null): EnvelopeAddress | null {
  for (const a of list ?? []) if (a.host !== null) return a;
  return null;
}

/** RFC 5256: the addr-mailbox of the first address; "" when none. */
function firstMailbox(list: EnvelopeAddress[] | null): string {
  return firstAddress(list)?.mailbox ?? '';
}

/** RFC 5957 §3: decoded display name, else mailbox@host, else mailbox, else "". */
function displayValue(list: EnvelopeAddress[] | null): string {
  const a = firstAddress(list);
  if (a === null) return '';
  if (a.name !== null) {
    const name = decodeHeaderValue(a.name);
    if (name !== '') return name;
  }
  if (a.mailbox !== null && a.host !== null && a.host !== '') return `${a.mailbox}@${a.host}`;
  return a.mailbox ?? '';
}
