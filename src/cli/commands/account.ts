import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import { hashPassword, generatePassword } from '../../auth/password.js';
import { isValidAddress } from '../../routing/resolve.js';
import { sendingCommand, identityCommand } from './account-sending.js';

export const usage = `fjord account add ADDRESS [--password-stdin | --password PW] [--quota BYTES] [--quota-messages N]
  (prefer --password-stdin: a password on the command line is visible to other local users)
fjord account list [DOMAIN] [--json]
fjord account passwd ADDRESS [--password PW | --password-stdin]
fjord account quota ADDRESS [--quota BYTES] [--quota-messages N]
fjord account remove ADDRESS
fjord account sending ADDRESS [--unfreeze] [--json]   (limits, counters, bulk score, freeze)
fjord account identity ADDRESS [add|remove OTHER]      (extra addresses it may send as)`;

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0];
}

/** The new password: --password, --password-stdin, or a generated one (printed once). */
async function choosePassword(values: Record<string, string | boolean | undefined>): Promise<{ password: string; generated: boolean }> {
  if (values.password !== undefined && values['password-stdin']) throw new UsageError('use either --password or --password-stdin');
  if (typeof values.password === 'string') return { password: values.password, generated: false };
  if (values['password-stdin']) {
    const pw = await readStdinLine();
    if (!pw) throw new UsageError('empty password on standard input');
    return { password: pw, generated: false };
  }
  return { password: generatePassword(), generated: true };
}

function parseSize(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*([kmgt]?)i?b?$/i.exec(String(v).trim());
  if (!m) throw new UsageError(`${name} must be a number of bytes (suffixes K, M, G, T allowed)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * mult;
}

function parseCount(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(String(v))) throw new UsageError(`${name} must be a whole number`);
  return Number(v);
}

export async function accountCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, {
    password: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    quota: { type: 'string' },
    'quota-messages': { type: 'string' },
    json: { type: 'boolean' },
    unfreeze: { type: 'boolean' },
  });
  const [sub] = positionals;
  const config = configFrom(values);
  switch (sub) {
    case 'add': {
      const address = need(positionals, 1, 'address').toLowerCase();
      if (!isValidAddress(address)) throw new UsageError(`invalid address "${address}"`);
      const quotaBytes = parseSize(values.quota, '--quota');
      const quotaMessages = parseCount(values['quota-messages'], '--quota-messages');
      const { password, generated } = await choosePassword(values);
      const passwordHash = await hashPassword(password);
      await withStore(config, async (store) => {
        const a = await store.addAccount({ address, passwordHash, quotaBytes, quotaMessages });
        console.log(`account ${a.address} added`);
        if (generated) console.log(`password: ${password}`);
      });
      return;
    }
    case 'list':
      await withStore(config, async (store) => {
        for (const a of await store.listAccounts(positionals[1])) {
          if (values.json) {
            console.log(JSON.stringify({ address: a.address, quotaBytes: a.quotaBytes, quotaMessages: a.quotaMessages, usedBytes: a.usedBytes, usedMessages: a.usedMessages, createdAt: a.createdAt.toISOString() }));
          } else {
            const q = a.quotaBytes ? `${a.usedBytes}/${a.quotaBytes} bytes` : `${a.usedBytes} bytes`;
            console.log(`${a.address}\t${a.usedMessages} messages\t${q}`);
          }
        }
      });
      return;
    case 'passwd': {
      const address = need(positionals, 1, 'address');
      const { password, generated } = await choosePassword(values);
      const hash = await hashPassword(password);
      await withStore(config, async (store) => {
        await store.setPasswordHash(address, hash);
        console.log(`password of ${address.toLowerCase()} changed`);
        if (generated) console.log(`password: ${password}`);
      });
      return;
    }
    case 'quota': {
      const address = need(positionals, 1, 'address');
      const bytes = parseSize(values.quota, '--quota');
      const messages = parseCount(values['quota-messages'], '--quota-messages');
      await withStore(config, async (store) => {
        const a = bytes === undefined && messages === undefined ? await store.getAccount(address) : await store.setQuota(address, { bytes, messages });
        if (!a) throw new UsageError(`unknown account ${address}`);
        const u = await store.getQuotaUsage(a.id);
        console.log(`${a.address}: ${u.usedBytes} of ${u.quotaBytes || 'unlimited'} bytes, ${u.usedMessages} of ${u.quotaMessages || 'unlimited'} messages`);
      });
      return;
    }
    case 'remove': {
      const address = need(positionals, 1, 'address');
      await withStore(config, async (store) => {
        await store.removeAccount(address);
        console.log(`account ${address.toLowerCase()} removed`);
      });
      return;
    }
    case 'sending':
      await sendingCommand(config, need(positionals, 1, 'address'), { unfreeze: values.unfreeze === true, json: values.json === true });
      return;
    case 'identity':
      await identityCommand(config, need(positionals, 1, 'address'), positionals[2], positionals[3]);
      return;
    default:
      throw new UsageError(usage);
  }
}
