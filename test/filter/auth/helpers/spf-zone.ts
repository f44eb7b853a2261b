// Loads one scenario's `zonedata` of the openspf YAML suite into the loopback TestDnsServer,
// following the reference driver's rules (shared/conformance/spf/README.md):
// SPF-type records double as TXT unless the name has TXT entries or `TXT: NONE`; a list is one
// record of several strings; a bare TIMEOUT makes queries of the types not listed time out.
import * as packet from 'dns-packet';
import type { TestDnsServer, ZoneRecord, RecordType } from '../../../helpers/dns-server.js';

type Item = string | Record<string, unknown>;

/** Per-name query types that must time out (TIMEOUT marker with records of other types). */
export type TimeoutRules = Map<string, Set<string> | 'all'>;

export function loadZone(server: TestDnsServer, zonedata: Record<string, Item[]> | undefined): TimeoutRules {
  server.clear();
  const timeouts: TimeoutRules = new Map();
  for (const [rawName, items] of Object.entries(zonedata ?? {})) {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    const records: ZoneRecord[] = [];
    const spf: ZoneRecord[] = [];
    let txtListed = false;
    let timeoutAfter: Set<string> | null = null;
    for (const item of items ?? []) {
      if (item === 'TIMEOUT') {
        timeoutAfter = new Set(records.map((r) => r.type));
        if (spf.length) timeoutAfter.add('SPF');
        if (spf.length && !txtListed) timeoutAfter.add('TXT'); // served as TXT too
        continue;
      }
      if (typeof item !== 'object' || item === null) throw new Error(`unknown zone item ${String(item)} at ${name}`);
      for (const [type, value] of Object.entries(item)) {
        switch (type) {
          case 'TXT':
            txtListed = true;
            if (value !== 'NONE') records.push({ type: 'TXT', data: strings(value) });
            break;
          case 'SPF':
            spf.push({ type: 'SPF', data: strings(value) });
            break;
          case 'MX': {
            const [preference, exchange] = value as [number, string];
            records.push({ type: 'MX', data: { preference: Number(preference), exchange: String(exchange) } });
            break;
          }
          case 'A':
          case 'AAAA':
          case 'PTR':
          case 'CNAME':
            records.push({ type: type as RecordType, data: String(value) });
            break;
          default:
            throw new Error(`unknown record type ${type} at ${name}`);
        }
      }
    }
    // Auto-duplication: RFC 7208 checkers only ask for TXT.
    if (!txtListed) for (const r of spf) records.push({ type: 'TXT', data: r.data });
    records.push(...spf);
    if (records.length) server.set(name, records.map((r) => ({ ...r, ttl: 0 })));
    if (timeoutAfter) timeouts.set(name, timeoutAfter.size ? timeoutAfter : 'all');
  }
  applyTimeouts(server, timeouts);
  return timeouts;
}

function strings(value: unknown): string | string[] {
  if (Array.isArray(value)) return value.map((v) => String(v));
  return String(value);
}

/**
 * TestDnsServer can only make a whole name time out; the suite wants "types without records
 * time out, listed types answer" (e.g. spftimeout.example.net: TXT answers, other types hang).
 * Whole-name timeouts use the helper's own `misbehave`; the per-type case wraps this server
 * instance's query handler (the helper's only hook) to stay silent for the unlisted types.
 */
function applyTimeouts(server: TestDnsServer, timeouts: TimeoutRules): void {
  const perType = new Map<string, Set<string>>();
  for (const [name, rule] of timeouts) {
    if (rule === 'all') server.misbehave(name, 'timeout');
    else perType.set(name, rule);
  }
  const target = server as unknown as { answer: (msg: Buffer, max: number) => Buffer | null; __origAnswer?: (msg: Buffer, max: number) => Buffer | null };
  if (typeof target.answer !== 'function') throw new Error('TestDnsServer has no answer() hook: per-type TIMEOUT cannot be emulated');
  const orig = (target.__origAnswer ??= target.answer.bind(server));
  target.answer = perType.size === 0 ? orig : (msg, max) => {
    try {
      const q = packet.decode(msg).questions?.[0];
      const listed = q && perType.get(q.name.toLowerCase().replace(/\.$/, ''));
      if (listed && !listed.has(q.type)) return null;
    } catch {
      /* let the server handle garbage */
    }
    return orig(msg, max);
  };
}
