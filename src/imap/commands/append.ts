// APPEND with MULTIAPPEND (RFC 3502), UIDPLUS's APPENDUID, BINARY literal8 and UTF8=ACCEPT's
// UTF8 (...) form. Messages are parsed and indexed exactly like SMTP deliveries.
import type { Command, Token } from '../parser/types.js';
import type { Session } from '../session.js';
import { StoreError, type NewMessage } from '../../store/types.js';
import { parseMessage } from '../../mime/index.js';
import { compressSet } from '../number-set.js';
import { atomUpper, flagList, mailboxArg } from './args.js';
import { storeErrorReply } from './mailboxes.js';

interface Item {
  raw: Buffer;
  flags: string[];
  date: Date | undefined;
}

export async function append(s: Session, cmd: Command): Promise<void> {
  const name = mailboxArg(s, cmd.args[0]);
  if (name === null) return s.bad(cmd.tag, 'APPEND expects a mailbox name');
  const items: Item[] = [];
  const args = cmd.args;
  let i = 1;
  while (i < args.length) {
    let flags: string[] = [];
    let date: Date | undefined;
    if (args[i]?.type === 'list') {
      const f = flagList(args[i]);
      if (f === null) return s.bad(cmd.tag, 'Invalid flag list');
      flags = f;
      i++;
    }
    const d = args[i];
    if (d?.type === 'string') {
      const parsed = parseDateTime(d.value);
      if (!parsed) return s.bad(cmd.tag, 'Invalid date-time');
      date = parsed;
      i++;
    }
    let lit: Token | undefined = args[i];
    if (atomUpper(lit) === 'UTF8') {
      // UTF8 (~{n}...) : a message that may carry UTF-8 headers (RFC 6855 §4)
      const l = args[i + 1];
      if (l?.type !== 'list' || l.items.length !== 1 || l.items[0]?.type !== 'literal') return s.bad(cmd.tag, 'Invalid UTF8 APPEND data');
      lit = l.items[0];
      i++;
    }
    if (lit?.type !== 'literal') return s.bad(cmd.tag, 'APPEND expects the message as a literal');
    i++;
    if (lit.value.length === 0) return s.no(cmd.tag, 'Cannot append an empty message');
    if (lit.value.length > s.ctx.config.imap.appendLimit) return s.no(cmd.tag, '[TOOBIG] Message exceeds the APPENDLIMIT');
    items.push({ raw: lit.value, flags, date });
  }
  if (items.length === 0) return s.bad(cmd.tag, 'APPEND expects a message');
  const store = s.ctx.store;
  const mb = await store.getMailbox(s.account!.id, name);
  if (!mb) return s.no(cmd.tag, '[TRYCREATE] No such mailbox');

  const messages = items.map((it): NewMessage => {
    const msg: NewMessage = { raw: it.raw, parsed: parseMessage(it.raw), flags: it.flags };
    if (it.date) msg.internalDate = it.date;
    return msg;
  });
  let done: number[];
  let validity: number;
  try {
    // MULTIAPPEND is all or nothing, and no session sees a partial result (RFC 3502 §6.3.11).
    ({ uids: done, uidValidity: validity } = await store.appendMany(mb.id, messages));
  } catch (err) {
    if (err instanceof StoreError && err.code === 'overquota') return s.no(cmd.tag, '[OVERQUOTA] Quota exceeded');
    return storeErrorReply(s, cmd.tag, err);
  }
  if (s.view?.id === mb.id) s.view.dirty = true;
  await s.announce(true);
  s.ok(cmd.tag, `[APPENDUID ${validity} ${compressSet(done)}] APPEND completed`);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE */
export function parseDateTime(v: string): Date | null {
  const m = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(v);
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  const day = Number(m[1]!.trim());
  const [h, min, sec] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (month < 0 || day < 1 || day > 31 || h > 23 || min > 59 || sec > 60) return null;
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const t = Date.UTC(Number(m[3]), month, day, h, min, sec) - offset * 60_000;
  // 31-Feb and the like do not exist.
  if (new Date(Date.UTC(Number(m[3]), month, day)).getUTCMonth() !== month) return null;
  return new Date(t);
}
