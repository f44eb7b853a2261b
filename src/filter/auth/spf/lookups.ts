// DNS for one SPF evaluation: typed lookups over the bounded resolver function, with the
// RFC 7208 §4.6.4 limits (10 DNS-querying terms, 2 void lookups) counted across include and
// redirect. DNS errors become temperror (§2.6.6); a name no query can be built for (e.g. a label
// over 63 octets after macro expansion) is treated as non-existent.
import type { DnsLookup } from '../dns.js';
import { SpfAbort } from './result.js';
import { isQueryableName } from './domain.js';

export interface MxRecord {
  exchange: string;
  priority: number;
}

export type RrType = 'TXT' | 'A' | 'AAAA' | 'MX' | 'PTR';

const MISSING = new Set(['ENOTFOUND', 'ENODATA', 'EBADNAME']);

export class SpfDns {
  /** DNS-querying terms evaluated so far (include, a, mx, ptr, exists, redirect). */
  terms = 0;
  voids = 0;
  /** Every name/type queried, for diagnostics. */
  readonly queried: string[] = [];

  constructor(
    private readonly lookup: DnsLookup,
    readonly maxTerms = 10,
    readonly maxVoids = 2,
  ) {}

  /** Counts one DNS-querying term; the eleventh is a permerror. */
  countTerm(what: string): void {
    if (++this.terms > this.maxTerms) throw new SpfAbort('permerror', `more than ${this.maxTerms} DNS-querying terms (at ${what})`);
  }

  /** Records of a type; [] when the name or type does not exist. Other errors throw temperror. */
  async query(name: string, type: 'TXT'): Promise<string[][]>;
  async query(name: string, type: 'A' | 'AAAA' | 'PTR'): Promise<string[]>;
  async query(name: string, type: 'MX'): Promise<MxRecord[]>;
  async query(name: string, type: RrType): Promise<unknown[]> {
    const r = await this.tryQuery(name, type);
    if (r.error) throw new SpfAbort('temperror', `DNS ${r.error} looking up ${type} ${name}`);
    return r.records;
  }

  /** Like query(), but a DNS error is returned instead of thrown (ptr and exp skip errors). */
  async tryQuery(name: string, type: RrType): Promise<{ records: unknown[]; error?: string }> {
    this.queried.push(`${name} ${type}`);
    if (!isQueryableName(name)) return { records: [] };
    try {
      const records = (await this.lookup(name, type)) as unknown[];
      return { records: Array.isArray(records) ? records : [] };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'ERROR';
      if (MISSING.has(code)) return { records: [] };
      return { records: [], error: code };
    }
  }

  /** §4.6.4: a lookup with no answer (NXDOMAIN or NODATA) counts as void; the third is a permerror. */
  countVoid(records: unknown[], what: string): void {
    if (records.length === 0 && ++this.voids > this.maxVoids) throw new SpfAbort('permerror', `more than ${this.maxVoids} void lookups (at ${what})`);
  }
}
