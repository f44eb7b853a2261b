// Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (with LIST-EXTENDED,
// LIST-STATUS, SPECIAL-USE, CHILDREN), LSUB and STATUS (with STATUS=SIZE, CONDSTORE, OBJECTID).
import type { Command, Token } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import type { Session } from '../session.js';
import { StoreError, type Mailbox, type SpecialUse } from '../../store/types.js';
import { DELIMITER, decodeMutf7, patternRegExp, validNewName } from '../mailbox-name.js';
import { atomUpper, mailboxArg, mailboxOut } from './args.js';

const SPECIAL_USES = new Set(['\\Drafts', '\\Sent', '\\Junk', '\\Trash', '\\Archive', '\\All', '\\Flagged']);

export function mailboxIdString(id: number): string {
  return 'F' + id.toString(36);
}

/** Replies to a StoreError with the matching response code; rethrows anything else. */
export function storeErrorReply(s: Session, tag: string, err: unknown): void {
  if (!(err instanceof StoreError)) throw err;
  const code = {
    exists: 'ALREADYEXISTS', 'not-found': 'NONEXISTENT', 'nonexistent-mailbox': 'NONEXISTENT',
    invalid: 'CANNOT', overquota: 'OVERQUOTA', 'in-use': 'INUSE',
  }[err.code];
  s.no(tag, `[${code}] ${err.message}`);
}

export async function create(s: Session, cmd: Command): Promise<void> {
  let name = mailboxArg(s, cmd.args[0]);
  if (name === null || cmd.args.length > 2) return s.bad(cmd.tag, 'CREATE expects a mailbox name');
  if (name.endsWith(DELIMITER)) name = name.slice(0, -1); // "foo/" means: foo, to hold children
  if (name === 'INBOX') return s.no(cmd.tag, '[ALREADYEXISTS] INBOX always exists');
  if (!validNewName(name)) return s.no(cmd.tag, '[CANNOT] Invalid mailbox name');
  let specialUse: SpecialUse | undefined;
  const opts = cmd.args[1];
  if (opts) {
    // RFC 6154: CREATE name (USE (\Drafts))
    if (opts.type !== 'list' || opts.items.length !== 2 || atomUpper(opts.items[0]) !== 'USE' || opts.items[1]?.type !== 'list') {
      return s.bad(cmd.tag, 'Invalid CREATE parameters');
    }
    const uses = opts.items[1].items.map((t) => (t.type === 'atom' ? t.value : ''));
    if (uses.length > 1) return s.no(cmd.tag, '[USEATTR] Only one special use per mailbox is supported');
    const use = uses[0] ? [...SPECIAL_USES].find((u) => u.toLowerCase() === uses[0]!.toLowerCase()) : undefined;
    if (uses.length === 1 && !use) return s.no(cmd.tag, '[USEATTR] Unknown special use');
    specialUse = use as SpecialUse | undefined;
  }
  const store = s.ctx.store;
  const accountId = s.account!.id;
  try {
    // Create missing parents too (RFC 9051 §6.3.4).
    const levels = name.split(DELIMITER);
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join(DELIMITER);
      if (!(await store.getMailbox(accountId, parent))) await store.createMailbox(accountId, parent).catch(ignoreExists);
    }
    const mb = await store.createMailbox(accountId, name, specialUse ? { specialUse } : undefined);
    s.ok(cmd.tag, `[MAILBOXID (${mailboxIdString(mb.id)})] CREATE completed`);
  } catch (err) {
    storeErrorReply(s, cmd.tag, err);
  }
}

function ignoreExists(err: unknown): void {
  if (!(err instanceof StoreError && err.code === 'exists')) throw err;
}

export async function del(s: Session, cmd: Command): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  if (name === null || cmd.args.length !== 1) return s.bad(cmd.tag, 'DELETE expects a mailbox name');
  try {
    await s.ctx.store.deleteMailbox(s.account!.id, name).catch((err: unknown) => {
      if (err instanceof StoreError && err.code === 'in-use') throw new HasChildren(err.message);
      throw err;
    });
    if (s.view && s.view.mailbox.name === name) {
      s.view = null;
      s.state = 'auth';
    }
    s.ok(cmd.tag, 'DELETE completed');
  } catch (err) {
    if (err instanceof HasChildren) return s.no(cmd.tag, `[HASCHILDREN] ${err.message}`);
    storeErrorReply(s, cmd.tag, err);
  }
}

class HasChildren extends Error {}

export async function rename(s: Session, cmd: Command): Promise<void> {
  const from = mailboxArg(s, cmd.args[0]);
  let to = mailboxArg(s, cmd.args[1]);
  if (from === null || to === null || cmd.args.length !== 2) return s.bad(cmd.tag, 'RENAME expects two mailbox names');
  if (to.endsWith(DELIMITER)) to = to.slice(0, -1);
  if (!validNewName(to) || to === 'INBOX') return s.no(cmd.tag, '[CANNOT] Invalid new mailbox name');
  try {
    const levels = to.split(DELIMITER);
    for (let i = 1; i < levels.length; i++) {
      const parent = levels.slice(0, i).join(DELIMITER);
      if (parent !== from && !(await s.ctx.store.getMailbox(s.account!.id, parent))) {
        await s.ctx.store.createMailbox(s.account!.id, parent).catch(ignoreExists);
      }
    }
    await s.ctx.store.renameMailbox(s.account!.id, from, to);
    await s.announce(true);
    s.ok(cmd.tag, 'RENAME completed');
  } catch (err) {
    storeErrorReply(s, cmd.tag, err);
  }
}

export async function subscribe(s: Session, cmd: Command): Promise<void> {
  await setSubscribed(s, cmd, true);
}
export async function unsubscribe(s: Session, cmd: Command): Promise<void> {
  await setSubscribed(s, cmd, false);
}

async function setSubscribed(s: Session, cmd: Command, on: boolean): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  if (name === null || cmd.args.length !== 1) return s.bad(cmd.tag, `${cmd.name} expects a mailbox name`);
  try {
    await s.ctx.store.setSubscribed(s.account!.id, name, on);
    s.ok(cmd.tag, `${cmd.name} completed`);
  } catch (err) {
    storeErrorReply(s, cmd.tag, err);
  }
}

// ---- LIST / LSUB ----

interface ListOptions {
  subscribedOnly: boolean;
  recursiveMatch: boolean;
  specialUseOnly: boolean;
  returnSubscribed: boolean;
  returnSpecialUse: boolean;
  returnChildren: boolean;
  status: string[] | null;
  extended: boolean;
}

interface Node {
  name: string;
  mailbox: Mailbox | null; // null: a level that exists only as a parent of others
  children: boolean;
  subscribedChild: boolean;
}

export async function list(s: Session, cmd: Command): Promise<void> {
  const args = [...cmd.args];
  const o: ListOptions = {
    subscribedOnly: false, recursiveMatch: false, specialUseOnly: false, returnSubscribed: false,
    returnSpecialUse: false, returnChildren: false, status: null, extended: false,
  };
  const first = args[0];
  if (first?.type === 'list') {
    args.shift();
    o.extended = true;
    for (const t of first.items) {
      const v = atomUpper(t);
      if (v === 'SUBSCRIBED') o.subscribedOnly = o.returnSubscribed = true;
      else if (v === 'RECURSIVEMATCH') o.recursiveMatch = true;
      else if (v === 'SPECIAL-USE') o.specialUseOnly = o.returnSpecialUse = true;
      else if (v === 'REMOTE') { /* no remote mailboxes */ }
      else return s.bad(cmd.tag, 'Unknown LIST selection option');
    }
    if (o.recursiveMatch && !o.subscribedOnly && !o.specialUseOnly) return s.bad(cmd.tag, 'RECURSIVEMATCH needs another selection option');
  }
  const ref = args.shift();
  const pat = args.shift();
  if (ref === undefined || pat === undefined) return s.bad(cmd.tag, 'LIST expects a reference and a mailbox pattern');
  const reference = tokenString(ref);
  const patterns = pat.type === 'list' ? pat.items.map(tokenString) : [tokenString(pat)];
  if (reference === null || patterns.length === 0 || patterns.some((p) => p === null)) return s.bad(cmd.tag, 'Invalid LIST arguments');
  if (pat.type === 'list') o.extended = true;
  if (args.length > 0) {
    if (atomUpper(args[0]) !== 'RETURN' || args[1]?.type !== 'list' || args.length !== 2) return s.bad(cmd.tag, 'Invalid LIST return options');
    o.extended = true;
    const items = args[1].items;
    for (let i = 0; i < items.length; i++) {
      const v = atomUpper(items[i]);
      if (v === 'SUBSCRIBED') o.returnSubscribed = true;
      else if (v === 'CHILDREN') o.returnChildren = true;
      else if (v === 'SPECIAL-USE') o.returnSpecialUse = true;
      else if (v === 'STATUS' && items[i + 1]?.type === 'list') {
        const st = statusItems((items[++i] as Extract<Token, { type: 'list' }>).items);
        if (!st) return s.bad(cmd.tag, 'Invalid STATUS items');
        o.status = st;
      } else return s.bad(cmd.tag, 'Unknown LIST return option');
    }
  }
  await listMailboxes(s, cmd.tag, reference, patterns as string[], o, 'LIST');
}

export async function lsub(s: Session, cmd: Command): Promise<void> {
  const reference = tokenString(cmd.args[0]);
  const pattern = tokenString(cmd.args[1]);
  if (reference === null || pattern === null || cmd.args.length !== 2) return s.bad(cmd.tag, 'LSUB expects a reference and a mailbox pattern');
  await listMailboxes(s, cmd.tag, reference, [pattern], {
    subscribedOnly: true, recursiveMatch: false, specialUseOnly: false, returnSubscribed: false,
    returnSpecialUse: false, returnChildren: false, status: null, extended: false,
  }, 'LSUB');
}

async function listMailboxes(s: Session, tag: string, reference: string, patterns: string[], o: ListOptions, verb: 'LIST' | 'LSUB'): Promise<void> {
  const store = s.ctx.store;
  const accountId = s.account!.id;
  if (o.extended) patterns = patterns.filter((p) => p !== ''); // RFC 5258 §3: ignored
  else if (patterns.length === 1 && patterns[0] === '') {
    // The hierarchy delimiter and root of the reference.
    s.send(`* ${verb} (\\Noselect) "${DELIMITER}" ""`);
    return s.ok(tag, `${verb} completed`);
  }
  const [mailboxes, subscriptions] = await Promise.all([store.listMailboxes(accountId), store.listSubscriptions(accountId)]);
  const subscribed = new Set(subscriptions);
  // Wildcards are plain ASCII, so a whole pattern decodes like a name.
  const wire = (p: string) => (s.utf8 ? p : decodeMutf7(p));
  const refName = wire(reference);
  const regexps = patterns.map((p) => wire(p)).filter((p): p is string => p !== null).map((p) => patternRegExp(refName ?? '', p));
  // Every name, every parent level of a name (a level may exist only as a parent), and, when
  // listing subscriptions, subscribed names that have no mailbox.
  const nodes = new Map<string, Node>();
  const node = (name: string) => {
    let n = nodes.get(name);
    if (!n) nodes.set(name, (n = { name, mailbox: null, children: false, subscribedChild: false }));
    return n;
  };
  for (const mb of mailboxes) node(mb.name).mailbox = mb;
  const listSubs = o.subscribedOnly || verb === 'LSUB';
  const names = listSubs ? [...mailboxes.map((m) => m.name), ...subscriptions] : mailboxes.map((m) => m.name);
  for (const name of names) {
    if (listSubs) node(name);
    const levels = name.split(DELIMITER);
    for (let i = 1; i < levels.length; i++) {
      const parent = node(levels.slice(0, i).join(DELIMITER));
      if (nodes.get(name)?.mailbox || !listSubs) parent.children = true;
      if (subscribed.has(name)) parent.subscribedChild = true;
    }
  }
  const matches = (name: string) => regexps.some((re) => re.test(name));
  const percentParents = patterns.some((p) => p.endsWith('%'));
  const out: { node: Node; attrs: string[]; childInfo: boolean }[] = [];
  for (const n of nodes.values()) {
    if (!matches(n.name)) continue;
    const mb = n.mailbox;
    const isSub = subscribed.has(n.name);
    const attrs: string[] = [];
    if (!mb) attrs.push(s.rev2 || o.extended ? '\\NonExistent' : '\\Noselect');
    if (mb || n.children) attrs.push(n.children ? '\\HasChildren' : '\\HasNoChildren');
    if (verb === 'LIST' && isSub && o.returnSubscribed) attrs.push('\\Subscribed');
    if (mb?.specialUse) attrs.push(mb.specialUse);
    let childInfo = false;
    if (listSubs && !isSub) {
      // RECURSIVEMATCH (or LSUB with %): a parent is listed when a child is subscribed.
      if (!(n.subscribedChild && (o.recursiveMatch || (verb === 'LSUB' && percentParents)))) continue;
      if (verb === 'LSUB') attrs.splice(0, attrs.length, '\\Noselect');
      else childInfo = true;
    } else if (!listSubs && !mb && !n.children) continue;
    if (verb === 'LSUB' && isSub) attrs.splice(0, attrs.length, ...(mb ? [] : ['\\Noselect']));
    if (o.specialUseOnly && !mb?.specialUse) continue;
    out.push({ node: n, attrs, childInfo });
  }
  out.sort((a, b) => (a.node.name === 'INBOX' ? -1 : b.node.name === 'INBOX' ? 1 : a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));
  for (const { node: n, attrs, childInfo } of out) {
    const ext = childInfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
    s.send(`* ${verb} (${attrs.join(' ')}) "${DELIMITER}" ${mailboxOut(s, n.name)}${ext}`);
    if (o.status && n.mailbox) s.send(await statusLine(s, n.mailbox, o.status));
  }
  s.ok(tag, `${verb} completed`);
}

// ---- STATUS ----

const STATUS_ITEMS = new Set(['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'DELETED-STORAGE', 'SIZE', 'HIGHESTMODSEQ', 'RECENT', 'APPENDLIMIT', 'MAILBOXID']);

function statusItems(items: Token[]): string[] | null {
  const out: string[] = [];
  for (const t of items) {
    const v = atomUpper(t);
    if (!v || !STATUS_ITEMS.has(v)) return null;
    out.push(v);
  }
  return out.length > 0 ? out : null;
}

async function statusLine(s: Session, mb: Mailbox, items: string[]): Promise<string> {
  const parts: string[] = [];
  for (const item of items) {
    switch (item) {
      case 'MESSAGES': parts.push(`MESSAGES ${mb.messages}`); break;
      case 'UIDNEXT': parts.push(`UIDNEXT ${mb.uidNext}`); break;
      case 'UIDVALIDITY': parts.push(`UIDVALIDITY ${mb.uidValidity}`); break;
      case 'UNSEEN': parts.push(`UNSEEN ${mb.unseen}`); break;
      case 'SIZE': parts.push(`SIZE ${mb.size}`); break;
      case 'HIGHESTMODSEQ': parts.push(`HIGHESTMODSEQ ${mb.highestModseq}`); break;
      case 'RECENT': parts.push('RECENT 0'); break;
      case 'APPENDLIMIT': parts.push(`APPENDLIMIT ${s.ctx.config.imap.appendLimit}`); break;
      case 'MAILBOXID': parts.push(`MAILBOXID (${mailboxIdString(mb.id)})`); break;
      case 'DELETED':
      case 'DELETED-STORAGE': {
        const deleted = (await s.ctx.store.listMessages(mb.id)).filter((e) => e.flags.includes('\\Deleted'));
        // RFC 9208 §5.1: DELETED-STORAGE is in units of 1024 octets, like the STORAGE resource.
        parts.push(item === 'DELETED' ? `DELETED ${deleted.length}` : `DELETED-STORAGE ${Math.ceil(deleted.reduce((n, e) => n + e.size, 0) / 1024)}`);
        break;
      }
    }
  }
  return `* STATUS ${mailboxOut(s, mb.name)} (${parts.join(' ')})`;
}

export async function status(s: Session, cmd: Command): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  const itemsTok = cmd.args[1];
  if (name === null || itemsTok?.type !== 'list' || cmd.args.length !== 2) return s.bad(cmd.tag, 'STATUS expects a mailbox and a list of items');
  const items = statusItems(itemsTok.items);
  if (!items) return s.bad(cmd.tag, 'Invalid STATUS items');
  if (items.includes('HIGHESTMODSEQ')) s.enabled.add('CONDSTORE');
  const mb = await s.ctx.store.getMailbox(s.account!.id, name);
  if (!mb) return s.no(cmd.tag, '[NONEXISTENT] No such mailbox');
  s.send(await statusLine(s, mb, items));
  await s.announce(true);
  s.ok(cmd.tag, 'STATUS completed');
}
