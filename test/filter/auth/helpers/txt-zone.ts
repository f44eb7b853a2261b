// Serves DKIM/ARC key records (name → TXT value) from the loopback DNS server, with the
// conventions of the shared corpora: "NXDOMAIN", "~~Query timed out~~", "~~SERVFAIL~~", '""'.
import type { TestDnsServer } from '../../../helpers/dns-server.js';

export function loadTxt(server: TestDnsServer, records: Iterable<[string, string]>): void {
  server.clear();
  for (const [name, value] of records) {
    if (value === 'NXDOMAIN') continue;
    if (value === '~~Query timed out~~') server.misbehave(name, 'timeout');
    else if (value === '~~SERVFAIL~~') server.misbehave(name, 'servfail');
    else server.add(name, { type: 'TXT', data: value === '""' ? '' : value, ttl: 0 });
  }
}
