// `fjord reputation`: what user reports say about sending IPs and domains, and the
// administrator's overrides. Blocks are explainable (show) and reversible (unblock, allow).
import net from 'node:net';
import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import { Reputation, bumpReputationGeneration, type SourceStanding } from '../../filter/reputation/reputation.js';
import type { ReputationKind, Store } from '../../store/types.js';

export const usage = `fjord reputation list [--blocked] [--json]
fjord reputation show IP|DOMAIN [--json]
fjord reputation block IP|DOMAIN [--reason TEXT]
fjord reputation unblock IP|DOMAIN
fjord reputation allow IP|DOMAIN [--reason TEXT]`;

function kindOf(value: string): ReputationKind {
  return net.isIP(value) ? 'ip' : 'domain';
}

function normalise(value: string): string {
  const v = value.trim().toLowerCase().replace(/\.$/, '');
  if (!v || (!net.isIP(v) && !/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(v))) throw new UsageError(`not an IP address or domain: ${value}`);
  return v;
}

function line(s: SourceStanding): string {
  const state = s.blocked ? 'BLOCKED' : s.override?.action === 'allow' ? 'allowed' : 'ok';
  return `${s.kind}\t${s.value}\t${state}\tscore=${s.score}\tspam=${s.spam} (${s.spamReporters} users)\tham=${s.ham} (${s.hamReporters} users)${s.reason ? `\t${s.reason}` : ''}`;
}

function json(s: SourceStanding): string {
  return JSON.stringify({ ...s, lastReport: s.lastReport?.toISOString() ?? null, override: s.override ? { ...s.override, at: s.override.at.toISOString() } : null });
}

/** Every source with reports within the horizon or with an override. */
async function sources(store: Store, rep: Reputation, halfLifeDays: number): Promise<SourceStanding[]> {
  const keys = new Set<string>();
  for (const r of await store.listSpamReports({ since: new Date(Date.now() - halfLifeDays * 8 * 86_400_000) })) {
    if (r.ip) keys.add(`ip ${r.ip}`);
    for (const d of [r.mailFromDomain, r.fromDomain, r.dkimDomain]) if (d) keys.add(`domain ${d}`);
  }
  for (const o of await store.listReputationOverrides()) keys.add(`${o.kind} ${o.value}`);
  const out: SourceStanding[] = [];
  for (const k of keys) {
    const [kind, value] = k.split(' ') as [ReputationKind, string];
    out.push(await rep.standing(kind, value));
  }
  return out.sort((a, b) => Number(b.blocked) - Number(a.blocked) || b.spam - a.spam || a.value.localeCompare(b.value));
}

export async function reputationCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' }, blocked: { type: 'boolean' }, reason: { type: 'string' } });
  const [sub] = positionals;
  const config = configFrom(values);
  await withStore(config, async (store) => {
    const rep = new Reputation(store, config.spam.reputation);
    switch (sub) {
      case 'list': {
        for (const s of await sources(store, rep, config.spam.reputation.halfLifeDays)) {
          if (values.blocked && !s.blocked) continue;
          console.log(values.json ? json(s) : line(s));
        }
        return;
      }
      case 'show': {
        const v = normalise(need(positionals, 1, 'IP or domain'));
        const s = await rep.standing(kindOf(v), v);
        if (values.json) return void console.log(json(s));
        console.log(line(s));
        const reports = await store.listSpamReports(kindOf(v) === 'ip' ? { ip: v, limit: 20 } : { domain: v, limit: 20 });
        for (const r of reports) {
          console.log(`  ${r.at.toISOString()}\t${r.verdict}\taccount ${r.accountId}\tip=${r.ip ?? '-'} mailfrom=${r.mailFromDomain ?? '-'} from=${r.fromDomain ?? '-'} dkim=${r.dkimDomain ?? '-'}`);
        }
        return;
      }
      case 'block':
      case 'unblock':
      case 'allow': {
        const v = normalise(need(positionals, 1, 'IP or domain'));
        await store.setReputationOverride(kindOf(v), v, sub, (values.reason as string | undefined) ?? '');
        await bumpReputationGeneration(store);
        console.log(line(await new Reputation(store, config.spam.reputation).standing(kindOf(v), v)));
        return;
      }
      default:
        throw new UsageError(usage);
    }
  });
}
