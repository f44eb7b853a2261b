// Reading what landed in an account's mailbox, after the delivery worker has caught up.
import type { RunningSystem } from '../../src/app/start.js';

export interface StoredMessage {
  subject: string;
  raw: string;
}

/** Every message in the mailbox (latin1 text), oldest first. */
export async function mailboxMessages(system: RunningSystem, address: string, mailbox = 'INBOX'): Promise<StoredMessage[]> {
  await system.worker.idle();
  const store = system.store;
  const acct = await store.getAccount(address);
  if (!acct) throw new Error(`no account ${address}`);
  const mb = await store.getMailbox(acct.id, mailbox);
  if (!mb) return [];
  const out: StoredMessage[] = [];
  for (const m of await store.getMessages(mb.id, (await store.listMessages(mb.id)).map((e) => e.uid))) {
    out.push({ subject: m.subject, raw: (await store.readBlob(m.blobId)).toString('latin1') });
  }
  return out;
}

/** Polls until a message with this subject is in the mailbox (or fails after timeoutMs). */
export async function waitForMessage(system: RunningSystem, address: string, subject: string | RegExp, mailbox = 'INBOX', timeoutMs = 15_000): Promise<StoredMessage> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = (await mailboxMessages(system, address, mailbox)).find((m) => (typeof subject === 'string' ? m.subject === subject : subject.test(m.subject)));
    if (found) return found;
    if (Date.now() > until) throw new Error(`no message "${subject}" in ${address}/${mailbox} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
