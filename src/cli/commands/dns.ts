// `fjord dns records|check DOMAIN`: the DNS records to publish for a local domain (zone-file
// text or JSON), and whether DNS holds them as needed (exit status 1 when a required one is
// missing or wrong). Both generate the domain's DKIM keys first if it has none.
import { parse, configFrom, need, UsageError } from '../args.js';
import { withStore } from './with-store.js';
import type { Config } from '../../config/config.js';
import type { Store } from '../../store/types.js';
import { ensureDkimKeys } from '../../dkim/keys.js';
import { dnsRecords, zoneText, type DnsRecordSet } from '../../dns/records.js';
import { checkDnsRecords, checksFailed, type RecordCheck } from '../../dns/check.js';
import { createResolver } from '../../dns/resolver.js';
import { boundedLookup } from '../../filter/auth/dns.js';
import { fetchStsPolicyText } from '../../smtp/outbound/mta-sts.js';
import { resolverLookup } from '../../smtp/outbound/dns-lookup.js';
import { trustedCas } from '../../smtp/outbound/tls-policy.js';

export const usage = `fjord dns records DOMAIN [--json] [--hostname NAME]
fjord dns check DOMAIN [--json] [--hostname NAME] [--dns HOST:PORT]`;

/** The record set of a local domain, with its DKIM keys (generated when it has none). */
export async function domainRecords(store: Store, config: Config, domain: string): Promise<DnsRecordSet> {
  await ensureDkimKeys(store, domain);
  const name = (await store.getDomain(domain))!.name;
  return dnsRecords({
    domain: name,
    hostname: config.hostname,
    sendingIps: config.outbound.sendingIps,
    dkimKeys: await store.listDkimKeys(name),
    certificate: config.tls.cert !== null,
  });
}

function checkLines(c: RecordCheck): string[] {
  const head = `${c.status.padEnd(7)} ${c.kind.padEnd(12)} ${c.name} ${c.type}${c.optional ? ' (optional)' : ''}`;
  if (c.status === 'OK') return [head + (c.detail ? `: ${c.detail}` : '')];
  const lines = [head];
  if (c.detail) lines.push(`        ${c.detail}`);
  lines.push(`        expected: ${c.expected}`);
  lines.push(`        found:    ${c.found.length ? c.found.join(' | ') : '(nothing)'}`);
  return lines;
}

export async function dnsCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' }, hostname: { type: 'string' }, dns: { type: 'string' } });
  const [sub] = positionals;
  if (sub !== 'records' && sub !== 'check') throw new UsageError(usage);
  const domain = need(positionals, 1, 'domain');
  const config = configFrom(values, { hostname: values.hostname as string | undefined, dns: values.dns as string | undefined });
  const set = await withStore(config, (store) => domainRecords(store, config, domain));
  if (sub === 'records') {
    if (values.json) console.log(JSON.stringify(set, null, 2));
    else process.stdout.write(zoneText(set));
    return;
  }
  const resolver = createResolver(config.dns);
  // The policy host is reached as a sender would: through our resolver, trusting the system's
  // CAs and outbound.caFile, on outbound.mtaStsPort.
  const ca = trustedCas(config.outbound.caFile); // an unreadable caFile fails the check, loudly
  const fetchStsPolicy = (d: string) => fetchStsPolicyText(d, { port: config.outbound.mtaStsPort, ca, timeoutMs: 10_000, lookup: resolverLookup(resolver, 10_000) });
  const checks = await checkDnsRecords(set, { lookup: boundedLookup(resolver), sendingIps: config.outbound.sendingIps, fetchStsPolicy });
  const failed = checksFailed(checks);
  if (values.json) {
    console.log(JSON.stringify({ domain: set.domain, hostname: set.hostname, ok: !failed, checks }, null, 2));
  } else {
    for (const c of checks) console.log(checkLines(c).join('\n'));
    const ok = checks.filter((c) => c.status === 'OK').length;
    console.log(`${ok} of ${checks.length} records OK`);
  }
  if (failed) {
    const bad = checks.filter((c) => !c.optional && c.status !== 'OK').length;
    throw new Error(`${bad} required record(s) of ${set.domain} missing or wrong`);
  }
}
