// SEARCH / UID SEARCH (ESEARCH, SEARCHRES, CONDSTORE), SORT and THREAD: argument parsing and
// evaluation live in ../search; this file ties them to the session's view and saved result.
import type { Command } from '../parser/types.js';
import type { Session } from '../session.js';
import { parseSearchArgs } from '../search/parse.js';
import { evaluateSearchDetailed, usesModseq, type SearchContext } from '../search/evaluate.js';
import { formatEsearchResponse, formatSearchResponse, formatSortResponse, savedResult, sequenceNumberOf } from '../search/respond.js';
import { parseSortArgs, sortMessages } from '../search/sort.js';
import { formatThreadResponse, parseThreadArgs, threadMessages } from '../search/thread.js';
import { MessageLoader } from '../search/messages.js';
import type { SearchError } from '../search/types.js';

/** What one SEARCH/SORT/THREAD works on: the view, the shared index and content caches. */
async function context(s: Session): Promise<SearchContext> {
  const view = s.view!;
  const entries = await s.ctx.indexCache.entries(view.id);
  const entryOf = (uid: number) => {
    let lo = 0;
    let hi = entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = entries[mid]!;
      if (e.uid === uid) return e;
      if (e.uid < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  };
  return {
    store: s.ctx.store, mailboxId: view.id, uids: view.knownUids(), saved: s.saved,
    loader: new MessageLoader(s.ctx.store, view.id, { cache: s.ctx.contentCache, entryOf }),
    index: async () => entries,
  };
}

function refuse(s: Session, tag: string, e: SearchError): void {
  if (e.code === 'BADCHARSET') s.no(tag, `[BADCHARSET (UTF-8 US-ASCII)] ${e.error}`);
  else s.bad(tag, e.error);
}

export async function search(s: Session, cmd: Command): Promise<void> {
  const byUid = cmd.name === 'UID SEARCH';
  const parsed = parseSearchArgs(cmd.args, { esearch: true });
  if ('error' in parsed) {
    // RFC 9051 §6.4.4.1: a SEARCH ... RETURN (SAVE) answered NO empties the saved result (a BAD
    // one was never run and leaves it alone).
    const ret = cmd.args[0]?.type === 'atom' && cmd.args[0].value.toUpperCase() === 'RETURN' ? cmd.args[1] : undefined;
    const saving = ret?.type === 'list' && ret.items.some((t) => t.type === 'atom' && t.value.toUpperCase() === 'SAVE');
    if (saving && parsed.code === 'BADCHARSET') s.saved = [];
    return refuse(s, cmd.tag, parsed);
  }
  if (usesModseq(parsed.key)) s.enabled.add('CONDSTORE');
  const ctx = await context(s);
  const result = await evaluateSearchDetailed(parsed.key, ctx);
  const opts = { uid: byUid, view: ctx.uids, modseqs: result.modseqs };
  const ret = parsed.returnOpts;
  if (ret?.save) s.saved = savedResult(result.uids, ret) ?? [];
  if (ret || s.rev2) {
    const line = formatEsearchResponse(result.uids, { ...opts, tag: cmd.tag, returnOpts: ret ?? { min: false, max: false, all: true, count: false, save: false } });
    if (line !== null) s.send(line);
  } else {
    s.send(formatSearchResponse(result.uids, opts));
  }
  await s.announce(byUid);
  s.ok(cmd.tag, `${cmd.name} completed`);
}

export async function sort(s: Session, cmd: Command): Promise<void> {
  const byUid = cmd.name === 'UID SORT';
  const parsed = parseSortArgs(cmd.args);
  if ('error' in parsed) return refuse(s, cmd.tag, parsed);
  if (usesModseq(parsed.key)) s.enabled.add('CONDSTORE');
  const ctx = await context(s);
  const result = await evaluateSearchDetailed(parsed.key, ctx);
  const sorted = await sortMessages(result.uids, parsed.criteria, ctx);
  s.send(formatSortResponse(sorted, { uid: byUid, view: ctx.uids, modseqs: result.modseqs }));
  await s.announce(byUid);
  s.ok(cmd.tag, `${cmd.name} completed`);
}

export async function thread(s: Session, cmd: Command): Promise<void> {
  const byUid = cmd.name === 'UID THREAD';
  const parsed = parseThreadArgs(cmd.args);
  if ('error' in parsed) return refuse(s, cmd.tag, parsed);
  const ctx = await context(s);
  const result = await evaluateSearchDetailed(parsed.key, ctx);
  const tree = await threadMessages(result.uids, parsed.algorithm, ctx);
  s.send(byUid ? formatThreadResponse(tree) : formatThreadResponse(tree, (u) => sequenceNumberOf(ctx.uids, u)));
  await s.announce(byUid);
  s.ok(cmd.tag, `${cmd.name} completed`);
}
