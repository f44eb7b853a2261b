// check_host() (RFC 7208 §4): fetch the domain's SPF record, evaluate its mechanisms left to
// right (§5), follow include (§5.2) and redirect (§6.1) within the DNS limits (§4.6.4), and for
// a fail fetch the explanation (§6.2).
import { SpfAbort, QUALIFIER_RESULT, type SpfResult } from './result.js';
import { parseRecord, selectRecord, type Mechanism, type SpfRecord } from './record.js';
import { expandMacros, parseMacroString, type MacroToken } from './macro.js';
import { isCheckableDomain, targetName } from './domain.js';
import { inNetwork, macroIp, parseIp, reverseName, type Ip } from '../../../net/ip.js';
import type { SpfDns } from './lookups.js';

export interface CheckHostInput {
  ip: Ip;
  /** The domain whose policy is checked (<domain>). */
  domain: string;
  /** local-part@domain; the caller has substituted "postmaster" for a missing local-part. */
  sender: string;
  helo: string;
  /** Our host name, for %{r} in explanations. */
  receiver?: string;
  now?: Date;
}

export interface CheckHostOutcome {
  result: SpfResult;
  /** The exp= text, when the result is fail and the domain published a usable one. */
  explanation?: string;
  /** The mechanism that matched (e.g. "-all"), or "redirect=…" / "default". */
  mechanism?: string;
  /** Why the result is none/temperror/permerror. */
  problem?: string;
}

interface Evaluated {
  result: SpfResult;
  mechanism?: string;
  problem?: string;
  /** The record whose term decided the result (its exp= applies), with its domain. */
  decidedBy?: { record: SpfRecord; domain: string };
}

export async function checkHost(input: CheckHostInput, dns: SpfDns): Promise<CheckHostOutcome> {
  const ctx = new Evaluation(input, dns);
  const out = await ctx.run(input.domain, false);
  const outcome: CheckHostOutcome = { result: out.result };
  if (out.mechanism) outcome.mechanism = out.mechanism;
  if (out.problem) outcome.problem = out.problem;
  if (out.result === 'fail' && out.decidedBy?.record.exp) {
    const text = await ctx.explanation(out.decidedBy.record.exp, out.decidedBy.domain);
    if (text !== null) outcome.explanation = text;
  }
  return outcome;
}

class Evaluation {
  private readonly local: string;
  private readonly senderDomain: string;
  private readonly validated = new Map<string, Promise<string[]>>();

  constructor(
    private readonly input: CheckHostInput,
    private readonly dns: SpfDns,
  ) {
    const at = input.sender.lastIndexOf('@');
    this.local = input.sender.slice(0, at);
    this.senderDomain = input.sender.slice(at + 1);
  }

  /** One check_host() level; `nested` for include/redirect targets. */
  async run(domain: string, nested: boolean): Promise<Evaluated> {
    try {
      return await this.evaluate(domain);
    } catch (e) {
      if (!(e instanceof SpfAbort)) throw e;
      if (nested && e.result === 'none') return { result: 'none', problem: e.message };
      return { result: e.result, problem: e.message };
    }
  }

  private async evaluate(domain: string): Promise<Evaluated> {
    if (!isCheckableDomain(domain)) throw new SpfAbort('none', `"${domain}" is not a usable domain name`);
    const txt = await this.dns.tryQuery(domain, 'TXT');
    if (txt.error) throw new SpfAbort('temperror', `DNS ${txt.error} looking up TXT ${domain}`);
    const text = selectRecord(txt.records as string[][]);
    if (text === null) throw new SpfAbort('none', `no SPF record at ${domain}`);
    const record = parseRecord(text);
    for (const mech of record.mechanisms) {
      if (await this.matches(mech, domain)) {
        return { result: QUALIFIER_RESULT[mech.qualifier], mechanism: mech.text, decidedBy: { record, domain } };
      }
    }
    if (record.redirect) {
      this.dns.countTerm('redirect');
      const target = await this.expandDomain(record.redirect, domain);
      const sub = await this.run(target, true);
      if (sub.result === 'none') return { result: 'permerror', problem: `redirect target ${target} has no SPF record` };
      return sub; // the target's own exp= applies, never ours (§6.2)
    }
    return { result: 'neutral', mechanism: 'default', decidedBy: { record, domain } };
  }

  private async matches(mech: Mechanism, domain: string): Promise<boolean> {
    const ip = this.input.ip;
    const addrType = ip.family === 4 ? 'A' : 'AAAA';
    const cidr = ip.family === 4 ? mech.cidr4 : mech.cidr6;
    switch (mech.kind) {
      case 'all':
        return true;
      case 'ip4':
      case 'ip6':
        return inNetwork(ip, mech.network!, mech.network!.family === 4 ? mech.cidr4 : mech.cidr6);
      case 'include': {
        this.dns.countTerm(mech.text);
        const target = await this.expandDomain(mech.domain!, domain);
        const sub = await this.run(target, true);
        switch (sub.result) {
          case 'pass':
            return true;
          case 'fail':
          case 'softfail':
          case 'neutral':
            return false;
          case 'none':
            throw new SpfAbort('permerror', `include target ${target} has no SPF record`);
          default:
            throw new SpfAbort(sub.result, sub.problem ?? `include:${target} gave ${sub.result}`);
        }
      }
      case 'a': {
        this.dns.countTerm(mech.text);
        const target = mech.domain ? await this.expandDomain(mech.domain, domain) : domain;
        const addrs = await this.dns.query(target, addrType);
        this.dns.countVoid(addrs, mech.text);
        return addrs.some((a) => matchAddress(ip, a, cidr));
      }
      case 'mx': {
        this.dns.countTerm(mech.text);
        const target = mech.domain ? await this.expandDomain(mech.domain, domain) : domain;
        const mxs = await this.dns.query(target, 'MX');
        this.dns.countVoid(mxs, mech.text);
        // §4.6.4: at most 10 MX names may be looked up; more is a permerror.
        if (mxs.length > 10) throw new SpfAbort('permerror', `${target} has more than 10 MX records`);
        for (const mx of [...mxs].sort((x, y) => x.priority - y.priority)) {
          const addrs = await this.dns.query(mx.exchange, addrType);
          if (addrs.some((a) => matchAddress(ip, a, cidr))) return true;
        }
        return false;
      }
      case 'ptr': {
        this.dns.countTerm(mech.text);
        const target = (mech.domain ? await this.expandDomain(mech.domain, domain) : domain).toLowerCase();
        const names = await this.validatedNames(true, mech.text);
        return names.some((n) => n === target || n.endsWith(`.${target}`));
      }
      case 'exists': {
        this.dns.countTerm(mech.text);
        const target = await this.expandDomain(mech.domain!, domain);
        const addrs = await this.dns.query(target, 'A'); // always A (§5.7)
        this.dns.countVoid(addrs, mech.text);
        return addrs.length > 0;
      }
    }
  }

  /**
   * §5.5: names from the PTR lookup of <ip> (at most 10) whose A/AAAA records include <ip>.
   * A DNS error on the PTR lookup means no names; errors on the address lookups skip that name.
   */
  private validatedNames(countVoid: boolean, what: string): Promise<string[]> {
    const key = String(countVoid);
    let p = this.validated.get(key);
    if (!p) {
      p = (async () => {
        const ip = this.input.ip;
        const ptr = await this.dns.tryQuery(reverseName(ip), 'PTR');
        if (countVoid && !ptr.error) this.dns.countVoid(ptr.records, what);
        const out: string[] = [];
        for (const name of (ptr.records as string[]).slice(0, 10)) {
          const addrs = await this.dns.tryQuery(name, ip.family === 4 ? 'A' : 'AAAA');
          if ((addrs.records as string[]).some((a) => matchAddress(ip, a, ip.family === 4 ? 32 : 128))) out.push(name.toLowerCase().replace(/\.$/, ''));
        }
        return out;
      })();
      this.validated.set(key, p);
    }
    return p;
  }

  /** Expands a domain-spec and applies §7.3's trailing-dot and length rules. */
  private async expandDomain(tokens: MacroToken[], domain: string): Promise<string> {
    return targetName(await expandMacros(tokens, (letter) => this.macroValue(letter, domain)));
  }

  private async macroValue(letter: string, domain: string): Promise<string> {
    const { ip, helo, sender } = this.input;
    switch (letter) {
      case 's':
        return sender;
      case 'l':
        return this.local;
      case 'o':
        return this.senderDomain;
      case 'd':
        return domain;
      case 'i':
        return macroIp(ip);
      case 'v':
        return ip.family === 4 ? 'in-addr' : 'ip6';
      case 'h':
        return helo;
      case 'p': {
        // Prefer the validated name that is <domain> or below it, then any (§7.3).
        const names = await this.validatedNames(false, '%{p}');
        const d = domain.toLowerCase();
        return names.find((n) => n === d) ?? names.find((n) => n.endsWith(`.${d}`)) ?? names[0] ?? 'unknown';
      }
      case 'c':
        return ip.text;
      case 'r':
        return this.input.receiver || 'unknown';
      case 't':
        return String(Math.floor((this.input.now ?? new Date()).getTime() / 1000));
      default:
        throw new SpfAbort('permerror', `unknown macro letter ${letter}`);
    }
  }

  /**
   * §6.2: the explanation for a fail. Any problem (DNS error, not exactly one TXT record,
   * non-ASCII text, macro syntax error) means "no explanation": null.
   */
  async explanation(exp: MacroToken[], domain: string): Promise<string | null> {
    try {
      const target = await this.expandDomain(exp, domain);
      const txt = await this.dns.tryQuery(target, 'TXT');
      if (txt.error || txt.records.length !== 1) return null;
      const text = (txt.records[0] as string[]).join('');
      if (/[^\x00-\x7f]/.test(text)) return null;
      return await expandMacros(parseMacroString(text, true), (letter) => this.macroValue(letter, domain));
    } catch (e) {
      if (e instanceof SpfAbort) return null;
      throw e;
    }
  }
}

function matchAddress(ip: Ip, addr: string, bits: number): boolean {
  const a = parseIp(addr);
  return a !== null && inNetwork(ip, a, bits);
}
