// Releasing a quarantined message: it is delivered to the recipient's INBOX exactly once (the
// delivery key names the quarantine entry), then the entry is removed.
import type { Store } from '../store/types.js';
import { parseMessage } from '../mime/index.js';

export type ReleaseOutcome = 'released' | 'not-found' | 'no-account' | 'overquota';

export async function releaseQuarantined(store: Store, id: number): Promise<ReleaseOutcome> {
  const q = await store.getQuarantined(id);
  if (!q) return 'not-found';
  const [outcome] = await store.deliver([{
    deliveryKey: `quarantine:${id}`,
    accountId: q.entry.accountId,
    raw: q.raw,
    parsed: parseMessage(q.raw),
    internalDate: q.entry.at,
    origin: q.entry.origin ?? undefined,
  }]);
  if (outcome!.status === 'overquota') return 'overquota';
  if (outcome!.status === 'no-account') return 'no-account';
  await store.removeQuarantined([id]);
  return 'released';
}
