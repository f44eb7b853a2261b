// `fjord domain add|list|remove`: the local domains. Adding one also generates its DKIM keys and
// prints the DNS records to publish for it.
import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import { ensureDkimKeys } from '../../dkim/keys.js';
import { zoneText } from '../../dns/records.js';
import { domainRecords } from './dns.js';

export const usage = 'fjord domain add|list|remove [NAME] [--data DIR] [--config FILE]';

export async function domainCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' } });
  const [sub] = positionals;
  const config = configFrom(values);
  await withStore(config, async (store) => {
    switch (sub) {
      case 'add': {
        const d = await store.addDomain(need(positionals, 1, 'domain name'));
        console.log(`domain ${d.name} added`);
        const keys = await ensureDkimKeys(store, d.name);
        console.log(`DKIM keys: ${keys.map((k) => `${k.selector} (${k.algorithm})`).join(', ')}`);
        console.log(`Publish these DNS records (fjord dns records ${d.name} prints them again, fjord dns check ${d.name} checks them):\n`);
        process.stdout.write(zoneText(await domainRecords(store, config, d.name)));
        return;
      }
      case 'list': {
        const list = await store.listDomains();
        if (values.json) for (const d of list) console.log(JSON.stringify({ name: d.name, createdAt: d.createdAt.toISOString() }));
        else for (const d of list) console.log(d.name);
        return;
      }
      case 'remove': {
        const name = need(positionals, 1, 'domain name');
        await store.removeDomain(name);
        console.log(`domain ${name.toLowerCase()} removed`);
        return;
      }
      default:
        throw new UsageError(usage);
    }
  });
}
