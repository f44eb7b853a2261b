import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';

export const usage = `fjord alias add ALIAS TARGET      (ALIAS may be @domain for a catch-all)
fjord alias list [DOMAIN] [--json]
fjord alias remove ALIAS [TARGET]`;

export async function aliasCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' } });
  const [sub] = positionals;
  const config = configFrom(values);
  await withStore(config, async (store) => {
    switch (sub) {
      case 'add': {
        const a = await store.addAlias(need(positionals, 1, 'alias'), need(positionals, 2, 'target'));
        console.log(`alias ${a.alias} -> ${a.target} added`);
        return;
      }
      case 'list':
        for (const a of await store.listAliases(positionals[1])) {
          console.log(values.json ? JSON.stringify({ alias: a.alias, target: a.target }) : `${a.alias}\t${a.target}`);
        }
        return;
      case 'remove': {
        const alias = need(positionals, 1, 'alias');
        await store.removeAlias(alias, positionals[2]);
        console.log(`alias ${alias.toLowerCase()} removed`);
        return;
      }
      default:
        throw new UsageError(usage);
    }
  });
}
