// Which local accounts an address delivers to: the account itself, an alias (possibly to
// several accounts, possibly chained), sub-addressing (user+tag@domain → user@domain), then
// the domain's catch-all (@domain).
import type { Store } from '../store/types.js';

export type Resolution =
  | { kind: 'local'; accounts: string[] }
  | { kind: 'unknown-user' }
  | { kind: 'not-local' };

const MAX_ALIAS_DEPTH = 8;

/** Syntax check for an RFC 5321 forward-path/reverse-path mailbox (SMTPUTF8 allowed). */
export function isValidAddress(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return false;
  // dot-atom or quoted-string local part, no controls or spaces outside quotes
  if (!/^(?:[^\s"(),:;<>@[\\\]\x00-\x1f\x7f.]+(?:\.[^\s"(),:;<>@[\\\]\x00-\x1f\x7f.]+)*|"(?:[^"\\\x00-\x1f\x7f]|\\[\x20-\x7e])*")$/u.test(local)) return false;
  if (/^\[.*\]$/.test(domain)) return true; // address literal: syntactically fine, never local
  return /^(?=.{1,253}$)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)*[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u.test(domain);
}

export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

/** Local accounts reached by an address. `catchAll: false` leaves out the domain's catch-all
 * (deciding who may send as an address must not hand a whole domain to the catch-all's owner). */
export async function resolveRecipient(store: Store, address: string, opts: { catchAll?: boolean } = {}): Promise<Resolution> {
  const lower = address.toLowerCase();
  const { local, domain } = splitAddress(lower);
  if (!(await store.getDomain(domain))) return { kind: 'not-local' };
  const found = new Set<string>();
  await expand(store, lower, found, 0);
  if (found.size === 0) {
    const plus = local.indexOf('+');
    if (plus > 0) await expand(store, `${local.slice(0, plus)}@${domain}`, found, 0);
  }
  if (found.size === 0 && opts.catchAll !== false) {
    for (const target of await store.getAliasTargets('@' + domain)) await expand(store, target, found, 1);
  }
  return found.size ? { kind: 'local', accounts: [...found] } : { kind: 'unknown-user' };
}

async function expand(store: Store, address: string, out: Set<string>, depth: number): Promise<void> {
  if (depth > MAX_ALIAS_DEPTH) return;
  const account = await store.getAccount(address);
  if (account) {
    out.add(account.address);
    return;
  }
  for (const target of await store.getAliasTargets(address)) await expand(store, target.toLowerCase(), out, depth + 1);
}
