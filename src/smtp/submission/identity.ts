// Who an authenticated user may send as: the account's own address (with or without a +tag), an
// alias that delivers to it (directly or through a chain; not the domain's catch-all), or an
// identity the operator configured for the account. Anything else is spoofing and is refused.
import type { Account, Store } from '../../store/types.js';
import { resolveRecipient, isValidAddress } from '../../routing/resolve.js';

export class SenderIdentity {
  private readonly known = new Map<string, boolean>();

  constructor(
    private readonly store: Store,
    private readonly account: Account,
    private readonly identities: string[],
  ) {}

  /** Whether the account may use `address` as envelope sender or in From:/Sender:. */
  async owns(address: string): Promise<boolean> {
    const a = address.toLowerCase();
    if (!isValidAddress(a)) return false;
    let v = this.known.get(a);
    if (v === undefined) {
      v = await this.check(a);
      if (this.known.size < 100) this.known.set(a, v);
    }
    return v;
  }

  private async check(a: string): Promise<boolean> {
    if (a === this.account.address || this.identities.includes(a)) return true;
    const r = await resolveRecipient(this.store, a, { catchAll: false });
    return r.kind === 'local' && r.accounts.includes(this.account.address);
  }
}
