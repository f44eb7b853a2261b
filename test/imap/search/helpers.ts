// Shared fixtures of the search engine tests: a real SQLite store in a temp directory, messages
// delivered from hand-written RFC 5322 text, and command lines tokenised by the real parser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../../../src/store/index.js';
import type { Store } from '../../../src/store/types.js';
import { parseMessage } from '../../../src/mime/index.js';
import { parseCommand } from '../../../src/imap/parser/grammar.js';
import type { Token } from '../../../src/imap/parser/types.js';
import type { SearchContext } from '../../../src/imap/search/evaluate.js';

export interface TestMessage {
  /** Header lines and body, joined with CRLF; a blank line separates them. */
  headers: string[];
  body?: string;
  flags?: string[];
  internalDate?: string;
}

export interface Fixture {
  store: Store;
  mailboxId: number;
  accountId: number;
  /** UIDs in delivery order. */
  uids: number[];
  ctx(opts?: { view?: number[]; saved?: number[] | null }): SearchContext;
  add(msgs: TestMessage[]): Promise<number[]>;
  close(): Promise<void>;
}

let seq = 0;

export function rawMessage(m: TestMessage): Buffer {
  return Buffer.from(m.headers.join('\r\n') + '\r\n\r\n' + (m.body ?? '') + '\r\n', 'utf8');
}

export async function openFixture(msgs: TestMessage[] = []): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fjord-search-'));
  const store = await openStore({ dataDir: dir });
  await store.addDomain('fjord.test');
  const account = await store.addAccount({ address: 'alice@fjord.test', passwordHash: 'x' });
  const inbox = await store.getMailbox(account.id, 'INBOX');
  if (inbox === null) throw new Error('no INBOX');
  const uids: number[] = [];
  const add = async (list: TestMessage[]): Promise<number[]> => {
    const out: number[] = [];
    for (const m of list) {
      const raw = rawMessage(m);
      const [res] = await store.deliver([{
        deliveryKey: `k${++seq}`,
        accountId: account.id,
        raw,
        parsed: parseMessage(raw),
        flags: m.flags,
        internalDate: m.internalDate === undefined ? undefined : new Date(m.internalDate),
      }]);
      if (res?.status !== 'delivered') throw new Error(`delivery failed: ${JSON.stringify(res)}`);
      out.push(res.uid);
      uids.push(res.uid);
    }
    return out;
  };
  await add(msgs);
  return {
    store,
    mailboxId: inbox.id,
    accountId: account.id,
    uids,
    add,
    ctx: (opts = {}) => ({ store, mailboxId: inbox.id, uids: opts.view ?? uids.slice(), saved: opts.saved ?? null }),
    close: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The argument tokens of `a X <args>` as the real parser makes them; `literals` replace
 * each `{}` marker in order. */
export function tokens(args: string, literals: (string | Buffer)[] = []): Token[] {
  const parts = (args === '' ? 'a X' : 'a X ' + args).split('{}');
  if (parts.length !== literals.length + 1) throw new Error('literal count mismatch');
  const res = parseCommand({
    lines: parts.map((p) => Buffer.from(p, 'utf8')),
    literals: literals.map((l) => ({ data: typeof l === 'string' ? Buffer.from(l, 'utf8') : l, binary: false, sync: true })),
  }, 32);
  if (res.kind !== 'command') throw new Error(`parse failed: ${JSON.stringify(res)}`);
  return res.command.args;
}
