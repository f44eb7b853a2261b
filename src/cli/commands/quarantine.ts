// `fjord quarantine`: messages refused for their content are kept for a while (spam.quarantineDays)
// so that a false positive can be found and delivered after all.
import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import { releaseQuarantined } from '../../filter/quarantine.js';
import type { QuarantineEntry } from '../../store/types.js';

export const usage = `fjord quarantine list [--account ADDRESS] [--json]
fjord quarantine release ID...
fjord quarantine purge [--all]      (default: only expired entries)`;

function json(e: QuarantineEntry, account: string): string {
  return JSON.stringify({ id: e.id, account, at: e.at.toISOString(), expiresAt: e.expiresAt.toISOString(), mailFrom: e.mailFrom, rcpt: e.rcpt, from: e.from, subject: e.subject, score: e.score, reasons: e.reasons, size: e.size, ip: e.origin?.ip ?? null });
}

export async function quarantineCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' }, account: { type: 'string' }, all: { type: 'boolean' } });
  const [sub] = positionals;
  const config = configFrom(values);
  await withStore(config, async (store) => {
    switch (sub) {
      case 'list': {
        let accountId: number | undefined;
        if (values.account) {
          const a = await store.getAccount(String(values.account));
          if (!a) throw new Error(`no such account: ${values.account}`);
          accountId = a.id;
        }
        const names = new Map<number, string>();
        for (const e of await store.listQuarantine({ accountId })) {
          if (!names.has(e.accountId)) names.set(e.accountId, (await store.getAccountById(e.accountId))?.address ?? `#${e.accountId}`);
          const who = names.get(e.accountId)!;
          console.log(values.json ? json(e, who) : `${e.id}\t${e.at.toISOString()}\t${who}\tscore=${e.score}\tfrom=${e.from || e.mailFrom || '<>'}\t${e.subject}`);
        }
        return;
      }
      case 'release': {
        need(positionals, 1, 'quarantine id');
        let failed = 0;
        for (const arg of positionals.slice(1)) {
          const id = Number(arg);
          if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`not a quarantine id: ${arg}`);
          const r = await releaseQuarantined(store, id);
          if (r !== 'released') failed++;
          console.log(r === 'released' ? `${id} released to INBOX` : `${id} not released: ${r}`);
        }
        if (failed) throw new Error(`${failed} of ${positionals.length - 1} not released`);
        return;
      }
      case 'purge': {
        const n = values.all
          ? await store.removeQuarantined((await store.listQuarantine()).map((e) => e.id))
          : await store.purgeQuarantine(new Date());
        console.log(`${n} quarantined messages removed`);
        return;
      }
      default:
        throw new UsageError(usage);
    }
  });
}
