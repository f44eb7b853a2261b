// RFC 5256 THREAD=ORDEREDSUBJECT and THREAD=REFERENCES.
//
//   thread         = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
//   thread-data    = "THREAD" [SP 1*thread-list]
//   thread-list    = "(" (thread-members / thread-nested) ")"
//   thread-members = nz-number *(SP nz-number) [SP thread-nested]
//   thread-nested  = 2*thread-list
//
// "Sent date" (§2.2) is the Date header, or INTERNALDATE when it is missing or unparsable;
// equal dates are ordered by sequence number. Subject comparisons use the base subject under
// the casemap collation. Every tree walk is iterative, so long reply chains cannot overflow the
// stack.
import { parseMessageIds } from '../../mime/index.js';
import type { Token } from '../parser/types.js';
import type { SearchContext } from './evaluate.js';
import { MessageLoader } from './messages.js';
import { parseSearchProgram } from './parse.js';
import { extractBaseSubject } from './subject.js';
import { casemapKey, compareCodePoints, rawHeaderValues } from './text.js';
import type { SearchError, SearchKey } from './types.js';

export type ThreadAlgorithm = 'orderedsubject' | 'references';

export const THREAD_ALGORITHMS: readonly ThreadAlgorithm[] = ['orderedsubject', 'references'];

/** A thread tree node: a message (uid) or, only at the top level, a dummy (uid null) whose
 * children are siblings without a present common parent. */
export interface ThreadNode {
  uid: number | null;
  children: ThreadNode[];
}

/** What threading needs of one message. */
export interface ThreadInput {
  uid: number;
  /** Message-ID without angle brackets, null when missing. */
  messageId: string | null;
  /** References message ids, in header order. */
  references: string[];
  /** In-Reply-To message ids. */
  inReplyTo: string[];
  /** Decoded Subject. */
  subject: string;
  /** Sent date in ms (Date header, else INTERNALDATE). */
  sentDate: number;
}

/** The arguments of THREAD / UID THREAD: algorithm, mandatory charset, search keys. */
export function parseThreadArgs(args: Token[]): { algorithm: ThreadAlgorithm; charset: string; key: SearchKey } | SearchError {
  const t = args[0];
  const name = t?.type === 'atom' ? t.value.toLowerCase() : '';
  if (name !== 'orderedsubject' && name !== 'references') {
    return { error: t === undefined ? 'THREAD needs an algorithm' : 'Unsupported threading algorithm' };
  }
  const prog = parseSearchProgram(args, 1, true);
  if ('error' in prog) return prog;
  return { algorithm: name, charset: prog.charset!, key: prog.key };
}

/** Threads the messages `uids` of ctx's mailbox (expunged ones are dropped). */
export async function threadMessages(uids: readonly number[], algorithm: ThreadAlgorithm, ctx: SearchContext): Promise<ThreadNode[]> {
  const loader = ctx.loader ?? new MessageLoader(ctx.store, ctx.mailboxId);
  const inputs: ThreadInput[] = [];
  await loader.forEach(uids, async (chunk) => {
    const headers = algorithm === 'references' ? await loader.headers(chunk) : null;
    chunk.forEach((d, i) => {
      const refs = headers === null ? [] : rawHeaderValues(headers[i]!, 'references');
      inputs.push({
        uid: d.uid,
        messageId: d.messageId,
        references: refs.length > 0 ? parseMessageIds(refs[0]!) : [],
        inReplyTo: parseMessageIds(d.envelope.inReplyTo),
        subject: d.subject,
        sentDate: (d.date ?? d.internalDate).getTime(),
      });
    });
  });
  return algorithm === 'references' ? threadByReferences(inputs) : threadByOrderedSubject(inputs);
}

interface Item {
  msg: ThreadInput;
  /** Mailbox position (sequence number order = UID order). */
  seq: number;
}

function byMailboxOrder(msgs: readonly ThreadInput[]): Item[] {
  return msgs.slice().sort((a, b) => a.uid - b.uid).map((msg, i) => ({ msg, seq: i + 1 }));
}

function compareItems(a: Item, b: Item): number {
  return a.msg.sentDate - b.msg.sentDate || a.seq - b.seq;
}

/**
 * ORDEREDSUBJECT: sort by base subject then sent date; each run of equal base subjects is a
 * thread whose first message is the parent of all others (siblings); threads ordered by the
 * sent date of their first message.
 */
export function threadByOrderedSubject(msgs: readonly ThreadInput[]): ThreadNode[] {
  const items = byMailboxOrder(msgs).map((it) => ({ ...it, key: casemapKey(extractBaseSubject(it.msg.subject).base) }));
  items.sort((a, b) => compareCodePoints(a.key, b.key) || compareItems(a, b));
  const threads: { first: Item; node: ThreadNode }[] = [];
  for (let i = 0; i < items.length;) {
    let j = i + 1;
    while (j < items.length && items[j]!.key === items[i]!.key) j++;
    const children = items.slice(i + 1, j).map((it) => ({ uid: it.msg.uid, children: [] }));
    threads.push({ first: items[i]!, node: { uid: items[i]!.msg.uid, children } });
    i = j;
  }
  threads.sort((a, b) => compareItems(a.first, b.first));
  return threads.map((t) => t.node);
}

class Container {
  parent: Container | null = null;
  children: Container[] = [];
  constructor(readonly item: Item | null) {}

  addChild(c: Container): void {
    c.parent = this;
    this.children.push(c);
  }

  removeChild(c: Container): void {
    const i = this.children.indexOf(c);
    if (i >= 0) this.children.splice(i, 1);
    c.parent = null;
  }

  /** True when `this` is `other` or one of its descendants. */
  isWithin(other: Container): boolean {
    for (let x: Container | null = this; x !== null; x = x.parent) if (x === other) return true;
    return false;
  }
}

/** The message a container sorts and is named by: itself, or a dummy's first child's. */
function representative(c: Container): Item | null {
  let x: Container | undefined = c;
  while (x !== undefined && x.item === null) x = x.children[0];
  return x?.item ?? null;
}

function compareContainers(a: Container, b: Container): number {
  const x = representative(a);
  const y = representative(b);
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  return compareItems(x, y);
}

/** RFC 5256 §3 REFERENCES, steps 1-6. */
export function threadByReferences(msgs: readonly ThreadInput[]): ThreadNode[] {
  const items = byMailboxOrder(msgs);
  const ids = new Map<string, Container>();
  const all: Container[] = [];
  const own: Container[] = [];
  // Message containers; a missing, empty or duplicate Message-ID gets a unique id, i.e. is in
  // no table (nothing can reference it).
  for (const it of items) {
    const c = new Container(it);
    all.push(c);
    own.push(c);
    const id = it.msg.messageId;
    if (id !== null && id !== '' && !ids.has(id)) ids.set(id, c);
  }
  const get = (id: string): Container => {
    let c = ids.get(id);
    if (c === undefined) {
      c = new Container(null); // dummy for a message not present
      ids.set(id, c);
      all.push(c);
    }
    return c;
  };
  // (1) Link each message to its parents.
  items.forEach((it, n) => {
    const refs = it.msg.references.length > 0 ? it.msg.references : it.msg.inReplyTo.slice(0, 1);
    // (A) The references, in order, as a chain of parents and children: only for containers
    // without a parent yet, and never making a loop.
    for (let i = 0; i + 1 < refs.length; i++) {
      const p = get(refs[i]!);
      const c = get(refs[i + 1]!);
      if (c.parent === null && !p.isWithin(c)) p.addChild(c);
    }
    // (B) The last reference is the parent (this takes precedence over (A)); no references:
    // no parent.
    const me = own[n]!;
    if (me.parent !== null) me.parent.removeChild(me);
    if (refs.length > 0) {
      const p = get(refs[refs.length - 1]!);
      if (!p.isWithin(me)) p.addChild(me);
    }
  });
  // (2) Everything without a parent goes under a root.
  const root = new Container(null);
  for (const c of all) if (c.parent === null) root.addChild(c);
  // (3) Prune dummies: drop empty ones, promote the children of the others, except to the
  // root level when there is more than one child.
  prune(root);
  // (4) Sort the top level by sent date (a dummy by its first child, sorted first).
  for (const c of root.children) if (c.item === null) c.children.sort(compareContainers);
  root.children.sort(compareContainers);
  // (5) Gather top-level threads with the same base subject.
  mergeBySubject(root);
  // (6) Sort every set of siblings by sent date, children before their parents.
  sortTree(root);
  return toNodes(root.children);
}

/** Every container below (and including) root, parents before children, without recursion:
 * walked in reverse it visits each container after all of its descendants. */
function preOrder(root: Container): Container[] {
  const order: Container[] = [];
  const stack: Container[] = [root];
  while (stack.length > 0) {
    const c = stack.pop()!;
    order.push(c);
    for (const ch of c.children) stack.push(ch);
  }
  return order;
}

/** Step 3, bottom-up with an explicit stack. */
function prune(root: Container): void {
  const order = preOrder(root);
  // Reverse pre-order visits every container after all of its descendants.
  for (let i = order.length - 1; i >= 0; i--) {
    const c = order[i]!;
    if (!c.children.some((ch) => ch.item === null)) continue;
    const next: Container[] = [];
    for (const ch of c.children) {
      if (ch.item !== null) next.push(ch);
      else if (ch.children.length === 0) ch.parent = null; // empty dummy: deleted
      else if (c !== root || ch.children.length === 1) {
        for (const g of ch.children) { g.parent = c; next.push(g); }
        ch.children = [];
        ch.parent = null;
      } else next.push(ch);
    }
    c.children = next;
  }
}

/** Step 5. */
function mergeBySubject(root: Container): void {
  const subjectOf = (c: Container): string => {
    const it = representative(c);
    return it === null ? '' : it.msg.subject;
  };
  const isReply = (c: Container): boolean => c.item !== null && extractBaseSubject(c.item.msg.subject).isReplyOrForward;
  const keyOf = (c: Container): string => casemapKey(extractBaseSubject(subjectOf(c)).base);
  // (A)+(B) The subject table.
  const table = new Map<string, Container>();
  for (const c of root.children) {
    const key = keyOf(c);
    if (key === '') continue;
    const old = table.get(key);
    if (old === undefined || (old.item !== null && (c.item === null || (isReply(old) && !isReply(c))))) table.set(key, c);
  }
  // (C) Merge threads with the same subject.
  for (const c of root.children.slice()) {
    if (c.parent !== root) continue; // merged into another thread meanwhile
    const key = keyOf(c);
    if (key === '') continue;
    const t = table.get(key);
    if (t === undefined || t === c) continue;
    if (t.item === null && c.item === null) {
      root.removeChild(c);
      for (const g of c.children) t.addChild(g);
      c.children = [];
    } else if (t.item === null || (isReply(c) && !isReply(t))) {
      root.removeChild(c);
      t.addChild(c);
    } else {
      const dummy = new Container(null);
      const i = root.children.indexOf(t);
      root.removeChild(c);
      root.removeChild(t);
      dummy.addChild(t);
      dummy.addChild(c);
      dummy.parent = root;
      root.children.splice(Math.min(Math.max(i, 0), root.children.length), 0, dummy);
      table.set(key, dummy);
    }
  }
}

/** Step 6: sorts siblings bottom-up (a dummy sorts by its first child, sorted first). */
function sortTree(root: Container): void {
  const order = preOrder(root);
  for (let i = order.length - 1; i >= 0; i--) {
    const c = order[i]!;
    if (c.children.length > 1) c.children.sort(compareContainers);
  }
}

function toNodes(top: Container[]): ThreadNode[] {
  const out: ThreadNode[] = [];
  const stack: { c: Container; into: ThreadNode[] }[] = [];
  for (let i = top.length - 1; i >= 0; i--) stack.push({ c: top[i]!, into: out });
  // Pushed in reverse, popped in order: each node is appended before its later siblings.
  while (stack.length > 0) {
    const { c, into } = stack.pop()!;
    const node: ThreadNode = { uid: c.item === null ? null : c.item.msg.uid, children: [] };
    into.push(node);
    for (let i = c.children.length - 1; i >= 0; i--) stack.push({ c: c.children[i]!, into: node.children });
  }
  return out;
}

/**
 * The thread-list text for `* THREAD `: `(1 2)(3 (4)(5))`. A node with one child continues
 * its list with the child; with several, each child's subtree is its own parenthesised list.
 * `id` maps a UID to the number to show (sequence number for THREAD); default: the UID.
 */
export function formatThread(tree: readonly ThreadNode[], id: (uid: number) => number = (u) => u): string {
  let out = '';
  type Task = ThreadNode | string;
  const stack: Task[] = [];
  const pushNested = (children: ThreadNode[]) => {
    for (let i = children.length - 1; i >= 0; i--) stack.push(')', children[i]!, '(');
  };
  for (let i = tree.length - 1; i >= 0; i--) {
    if (hasMessage(tree[i]!)) stack.push(')', tree[i]!, '(');
  }
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (typeof t === 'string') {
      out += t;
      continue;
    }
    const kids = t.children.filter(hasMessage);
    if (t.uid !== null) {
      out += String(id(t.uid));
      if (kids.length === 1) stack.push(kids[0]!, ' ');
      else if (kids.length > 1) {
        pushNested(kids);
        stack.push(' ');
      }
    } else if (kids.length === 1) stack.push(kids[0]!);
    else pushNested(kids);
  }
  return out;
}

/** `* THREAD (...)...`, or `* THREAD` when there is nothing. */
export function formatThreadResponse(tree: readonly ThreadNode[], id?: (uid: number) => number): string {
  const text = formatThread(tree, id);
  return text === '' ? '* THREAD' : `* THREAD ${text}`;
}

/** False for a dummy with no message below it (never produced by the algorithms). */
function hasMessage(n: ThreadNode): boolean {
  const stack = [n];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.uid !== null) return true;
    stack.push(...x.children);
  }
  return false;
}
