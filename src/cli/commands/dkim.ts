// `fjord dkim list|rotate`: the DKIM signing keys of local domains. Rotation activates a new
// pair at once and retires the old one, whose DNS records must stay published for a grace period
// so that mail signed before the rotation still verifies. Private keys are never printed.
import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import type { DkimKey } from '../../store/types.js';
import { ensureDkimKeys, publishedUntil, rotateDkimKeys, dkimRecordText, DOUBLE_SIGNING_HOURS } from '../../dkim/keys.js';
import { recordLine } from '../../dns/records.js';
import { domainRecords } from './dns.js';

export const usage = `fjord dkim list [DOMAIN] [--json]
fjord dkim rotate DOMAIN`;

const day = (d: Date) => d.toISOString().slice(0, 10);

function state(k: DkimKey, now: Date): string {
  if (k.active) return 'active';
  const until = publishedUntil(k)!;
  return until > now
    ? `retired ${day(k.retiredAt!)}, keep its DNS record until ${day(until)}`
    : `retired ${day(k.retiredAt!)}, grace over: its DNS record may go`;
}

function json(k: DkimKey): string {
  return JSON.stringify({
    domain: k.domain, selector: k.selector, algorithm: k.algorithm, active: k.active,
    createdAt: k.createdAt.toISOString(), retiredAt: k.retiredAt?.toISOString() ?? null,
    publishUntil: publishedUntil(k)?.toISOString() ?? null,
    dnsName: `${k.selector}._domainkey.${k.domain}`, record: dkimRecordText(k),
  });
}

export async function dkimCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' } });
  const [sub] = positionals;
  const config = configFrom(values);
  await withStore(config, async (store) => {
    switch (sub) {
      case 'list': {
        const domain = positionals[1];
        // A local domain without keys gets them now, as it would at its first signed message.
        const domains = domain !== undefined ? [domain] : (await store.listDomains()).map((d) => d.name);
        for (const d of domains) await ensureDkimKeys(store, d);
        const now = new Date();
        for (const k of await store.listDkimKeys(domain)) {
          console.log(values.json ? json(k) : `${k.domain}\t${k.selector}\t${k.algorithm}\tcreated ${day(k.createdAt)}\t${state(k, now)}`);
        }
        return;
      }
      case 'rotate': {
        const domain = need(positionals, 1, 'domain');
        const r = await rotateDkimKeys(store, domain);
        const name = r.active[0]?.domain ?? domain;
        console.log(`DKIM keys of ${name} rotated: ${r.active.map((k) => `${k.selector} (${k.algorithm})`).join(', ')} sign from now on.`);
        if (r.retired.length) {
          console.log(`Retired ${r.retired.map((k) => k.selector).join(', ')}: keep their DNS records published until ${day(r.graceUntil)} so that mail signed with them (still in queues or being forwarded) verifies; then remove them.`);
        }
        console.log(`Publish the new records now. For ${DOUBLE_SIGNING_HOURS} hours the retired keys sign beside the new ones, so mail verifies while the new records spread:`);
        const set = await domainRecords(store, config, name);
        for (const rec of set.records.filter((x) => x.kind === 'dkim')) console.log(`; ${rec.comment}\n${recordLine(rec)}`);
        return;
      }
      default:
        throw new UsageError(usage);
    }
  });
}
