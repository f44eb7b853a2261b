import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';

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
