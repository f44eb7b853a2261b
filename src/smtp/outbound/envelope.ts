// Checking an OutboundEnvelope before it is queued, and the per-recipient facts derived from it
// (destination domain, NOTIFY defaults). Bad input is refused at enqueue(), never mid-delivery.
import { domainToASCII } from 'node:url';
import { isValidAddress, splitAddress } from '../../routing/resolve.js';
import { OutboundQueueError, type Notify, type OutboundEnvelope } from './types.js';

export interface CheckedRecipient {
  address: string;
  domain: string;
  notify: Notify[] | null;
  orcpt: string | null;
}

const NOTIFY = new Set<Notify>(['SUCCESS', 'FAILURE', 'DELAY', 'NEVER']);

function invalid(msg: string): never {
  throw new OutboundQueueError('invalid', `outbound queue: ${msg}`);
}

/** The domain deliveries are grouped and routed by: lower-case, IDNs as A-labels, address
 * literals ("[192.0.2.1]") kept as they are. */
export function destinationDomain(address: string): string {
  const { domain } = splitAddress(address);
  if (domain.startsWith('[')) return domain;
  return domainToASCII(domain) || domain;
}

export function checkEnvelope(env: OutboundEnvelope): CheckedRecipient[] {
  if (typeof env.mailFrom !== 'string' || (env.mailFrom !== '' && !isValidAddress(env.mailFrom))) invalid(`bad sender address ${JSON.stringify(env.mailFrom)}`);
  if (!Array.isArray(env.recipients) || env.recipients.length === 0) invalid('no recipients');
  if (env.ret !== undefined && env.ret !== 'FULL' && env.ret !== 'HDRS') invalid(`bad RET ${JSON.stringify(env.ret)}`);
  if (env.envid !== undefined && !/^[\x21-\x7e]{1,100}$/.test(env.envid)) invalid('bad ENVID');
  const seen = new Set<string>();
  const out: CheckedRecipient[] = [];
  for (const r of env.recipients) {
    if (!r || typeof r.address !== 'string' || !isValidAddress(r.address)) invalid(`bad recipient address ${JSON.stringify(r?.address)}`);
    let notify: Notify[] | null = null;
    if (r.notify !== undefined) {
      if (!Array.isArray(r.notify) || r.notify.length === 0 || r.notify.some((n) => !NOTIFY.has(n))) invalid(`bad NOTIFY for ${r.address}`);
      if (r.notify.includes('NEVER') && r.notify.length > 1) invalid(`NOTIFY=NEVER cannot be combined (${r.address})`);
      notify = [...new Set(r.notify)];
    }
    if (r.orcpt !== undefined && !/^[\x20-\x7e\u0080-\uffff]{1,500}$/.test(r.orcpt)) invalid(`bad ORCPT for ${r.address}`);
    // one delivery per address: the same mailbox named twice gets one copy
    const key = r.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ address: r.address, domain: destinationDomain(r.address), notify, orcpt: r.orcpt ?? null });
  }
  return out;
}

/** RFC 3461 §4.1: without NOTIFY, a DSN is sent on failure and may be on delay. */
export function wants(notify: Notify[] | null, what: 'SUCCESS' | 'FAILURE' | 'DELAY'): boolean {
  if (notify === null) return what !== 'SUCCESS';
  return notify.includes(what);
}
