// First start of a new data folder: a demo domain and account so the quick start has something
// to send mail to. Credentials go to the terminal once, on stderr: stdout carries the JSON log
// stream, which log collectors keep.
import type { AddressInfo } from 'node:net';
import type { Store } from '../../store/types.js';
import { hashPassword, generatePassword } from '../../auth/password.js';

export const DEMO_DOMAIN = 'fjord.test';
export const DEMO_ACCOUNT = `demo@${DEMO_DOMAIN}`;

export async function ensureDemo(store: Store, addresses: { smtp: AddressInfo | null; imap?: AddressInfo | null; imaps?: AddressInfo | null; pop3?: AddressInfo | null; pop3s?: AddressInfo | null }): Promise<void> {
  if (await store.getSetting('demo-created')) return;
  if ((await store.listDomains()).length > 0) {
    await store.setSetting('demo-created', 'skipped');
    return;
  }
  const password = generatePassword();
  await store.addDomain(DEMO_DOMAIN);
  await store.addAccount({ address: DEMO_ACCOUNT, passwordHash: await hashPassword(password) });
  await store.setSetting('demo-created', new Date().toISOString());
  const at = (a: AddressInfo | null | undefined) => (a ? `${a.address}:${a.port}` : 'off');
  const smtp = at(addresses.smtp);
  process.stderr.write(
    [
      '',
      '  Fjord Mail is running with a demo account (created on this first start):',
      `    domain:   ${DEMO_DOMAIN}`,
      `    account:  ${DEMO_ACCOUNT}`,
      `    password: ${password}`,
      `    SMTP:     ${smtp}   (try: swaks --server ${smtp.replace(/:(\d+)$/, ' --port $1')} --to ${DEMO_ACCOUNT})`,
      `    IMAP:     ${at(addresses.imap)} (STARTTLS), ${at(addresses.imaps)} (TLS; self-signed certificate)`,
      `    POP3:     ${at(addresses.pop3)} (STLS), ${at(addresses.pop3s)} (TLS)`,
      `  List its mail with: npx fjord mail list ${DEMO_ACCOUNT}`,
      '',
      '',
    ].join('\n'),
  );
}
