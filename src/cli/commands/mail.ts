import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';

export const usage = 'fjord mail list ACCOUNT [--mailbox NAME] [--json]';

export async function mailCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { mailbox: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals[0] !== 'list') throw new UsageError(usage);
  const address = need(positionals, 1, 'account');
  const config = configFrom(values);
  await withStore(config, async (store) => {
    const account = await store.getAccount(address);
    if (!account) throw new UsageError(`unknown account ${address}`);
    const name = (values.mailbox as string | undefined) ?? 'INBOX';
    const mailbox = await store.getMailbox(account.id, name);
    if (!mailbox) throw new UsageError(`no mailbox "${name}" in ${account.address}`);
    const index = await store.listMessages(mailbox.id);
    const CHUNK = 500;
    for (let i = 0; i < index.length; i += CHUNK) {
      const records = await store.getMessages(mailbox.id, index.slice(i, i + CHUNK).map((m) => m.uid));
      for (const m of records) {
        const date = (m.date ?? m.internalDate).toISOString();
        if (values.json) {
          console.log(JSON.stringify({ uid: m.uid, date, internalDate: m.internalDate.toISOString(), from: m.from, subject: m.subject, size: m.size, flags: m.flags, messageId: m.messageId }));
        } else {
          console.log([m.uid, date, m.from || '-', m.subject || '(no subject)', m.size, m.flags.join(' ') || '-'].join('\t'));
        }
      }
    }
  });
}
