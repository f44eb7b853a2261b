// The door: the checks made while a client is still talking to us, before any content is seen.
// One Door per server; each hook returns whether to refuse now, the score signals it found, and
// whether the client is allow-listed (allow-listed sources skip the remaining door checks, and
// the content filter may skip scoring them).
//
//   connect  allow/deny list by IP; then, in parallel, the reputation block, the DNS blocklists
//            and forward-confirmed reverse DNS; allow-listing by a forward-confirmed reverse
//            name; deny by any reverse name. A DNSBL listing (or reputation block) is refused
//            here when spam.dnsbl.rejectAt is "connect", else carried in `refuseAtRcpt`.
//   helo     deny by HELO name; HELO checks as points.
//   mailFrom allow/deny by sender address or domain.
//   rcpt     the carried DNSBL refusal (postmaster@ exempt, RFC 5321 section 4.5.1), the deny
//            list again for HELO and sender (so a caller hooking only RCPT is covered), then
//            greylisting.
//
// Decisions:
// - Every address that parses is looked up in the DNSBLs, loopback and private ranges included
//   (public lists answer NXDOMAIN for them, the cache absorbs repeats, and RFC 5782's
//   127.0.0.2/127.0.0.1 test points make tests real); only allow-listed clients are not.
// - Within a stage, allow beats deny (an allow entry is the narrower exception). Across stages,
//   the earlier decides: a client allowed by IP is not refused for its sender; a client denied
//   by IP never gets to claim an allowed sender.
// - The allow list's domain entries match the sender domain and the FORWARD-CONFIRMED reverse
//   name only. Never the HELO or an unconfirmed PTR name: anyone can claim those. The deny list
//   matches all of them (claiming a denied name only hurts the claimer).
// - A sender allow-listing (mailFrom) sets allowListed and exempts from greylisting, but it does
//   not lift a DNSBL/reputation refusal carried to RCPT: envelope senders are forged freely. The
//   content filter should trust it only with SPF or DKIM alignment (`allowedBy.on` says which
//   fact matched).
// - A loopback client is not exempt from anything, except that HELO "localhost" or our own name
//   from loopback (or from one of our addresses) is not a finding.
// - spam.enabled = false makes every hook a pass with no signals, and greetingDelay 0.
// - Lookup failures (DNSBL, reverse DNS, the reputation callback) fail open.
import type { Resolver } from '../../dns/resolver.js';
import type { SpamConfig } from '../../config/spam.js';
import { normalizeIp } from '../../net/ip.js';
import { compileList, match, type CompiledList, type ListMatch } from './lists.js';
import { DnsblChecker, type DnsblOptions, type DnsblResult } from './dnsbl.js';
import { cleanText } from './lookup.js';
import { checkFcrdns, type FcrdnsResult } from './fcrdns.js';
import { checkHelo } from './helo.js';
import { Greylist } from './greylist.js';

/** A scoring signal (the same shape the content filter uses). */
export type Signal = { name: string; score: number; detail?: string };

/** An SMTP reply refusing (5xx) or deferring (4xx) the client. */
export type Refusal = { code: number; enhanced: string; message: string };

export interface DoorResult {
  /** Refuse now with this reply, or null to go on. */
  refuse: Refusal | null;
  signals: Signal[];
  allowListed: boolean;
  /** The list entry that allow-listed the client. */
  allowedBy?: ListMatch;
  /** connect only: a refusal to give at RCPT (spam.dnsbl.rejectAt = "rcpt"). */
  refuseAtRcpt?: Refusal | null;
  /** connect only, for logs and trace headers. */
  dnsbl?: DnsblResult;
  fcrdns?: FcrdnsResult;
}

export interface DoorOptions {
  now?: () => number;
  /** Our host names and domains: a HELO claiming one of them is a finding. */
  ourHostnames?: string[];
  /** Our addresses: a HELO literal naming one of them is a finding. */
  ourIps?: string[];
  /** The reputation block reason for an address, or null (wired later). */
  isBlocked?: (ip: string) => Promise<string | null>;
  /** Cache tuning for the DNSBL checker. */
  dnsbl?: Omit<DnsblOptions, 'now'>;
  /** How many PTR names FCrDNS checks (default 5). */
  fcrdnsMaxNames?: number;
}

/** How long onConnect should hold the greeting so that early talkers (pregreet) are caught by
 * smtp-server's "421 You talk too soon". */
export function greetingDelay(cfg: SpamConfig): number {
  return cfg.enabled && Number.isFinite(cfg.pregreetMs) ? Math.max(0, cfg.pregreetMs) : 0;
}

function pass(): DoorResult {
  return { refuse: null, signals: [], allowListed: false };
}

function allowed(by: ListMatch): DoorResult {
  return { refuse: null, signals: [{ name: 'allow_list', score: 0, detail: `${by.entry} (${by.on} ${by.value})` }], allowListed: true, allowedBy: by };
}

function refusal(code: number, enhanced: string, message: string): Refusal {
  return { code, enhanced, message };
}

function isPostmaster(rcpt: string): boolean {
  const at = rcpt.lastIndexOf('@');
  return (at === -1 ? rcpt : rcpt.slice(0, at)).trim().toLowerCase() === 'postmaster';
}

export class Door {
  readonly dnsbl: DnsblChecker;
  readonly greylist: Greylist | null;
  private readonly allow: CompiledList;
  private readonly deny: CompiledList;

  constructor(
    private readonly cfg: SpamConfig,
    private readonly resolver: Resolver,
    private readonly opts: DoorOptions = {},
  ) {
    this.allow = compileList(cfg.allow, 'allow');
    this.deny = compileList(cfg.deny, 'deny');
    this.dnsbl = new DnsblChecker(cfg.dnsbl.zones, resolver, cfg.dnsbl.timeoutMs, { ...opts.dnsbl, ...(opts.now ? { now: opts.now } : {}) });
    this.greylist = cfg.greylist.enabled ? new Greylist(cfg.greylist, opts.now ? { now: opts.now } : {}) : null;
  }

  async connect(address: string, clientHostname: string): Promise<DoorResult> {
    if (!this.cfg.enabled) return pass();
    const ip = normalizeIp(address) ?? address;
    const byIp = match(this.allow, { ip });
    if (byIp) return allowed(byIp);
    const denied = match(this.deny, { ip });
    if (denied) return { refuse: this.denyIp(ip), signals: [], allowListed: false };

    const hint = clientHostname && !clientHostname.startsWith('[') ? clientHostname : '';
    const [blocked, dnsbl, fcrdns] = await Promise.all([
      this.opts.isBlocked ? this.opts.isBlocked(ip).catch(() => null) : Promise.resolve(null),
      this.dnsbl.check(ip),
      checkFcrdns(this.resolver, ip, { timeoutMs: this.cfg.dnsbl.timeoutMs, ...(hint ? { hint } : {}), ...(this.opts.fcrdnsMaxNames ? { maxNames: this.opts.fcrdnsMaxNames } : {}) }),
    ]);

    if (fcrdns.status === 'pass' && fcrdns.name) {
      const byName = match(this.allow, { rdns: fcrdns.name });
      if (byName) return { ...allowed(byName), dnsbl, fcrdns };
    }
    const names = [...new Set([...fcrdns.ptr, ...(hint ? [hint.toLowerCase().replace(/\.$/, '')] : [])])];
    const deniedName = names.length ? match(this.deny, { rdns: names }) : null;
    if (deniedName) {
      return { refuse: refusal(554, '5.7.1', `Service unavailable; client host ${cleanText(deniedName.value, 100)}[${ip}] refused by local policy`), signals: [], allowListed: false, dnsbl, fcrdns };
    }

    const signals: Signal[] = [];
    for (const z of dnsbl.zones) {
      if (z.status === 'listed') {
        const score = typeof z.action === 'number' ? z.action : 0;
        const what = z.action === 'reject' ? 'refused' : z.action === null ? 'no action for this code' : `${score} points`;
        signals.push({ name: `dnsbl:${z.zone}`, score, detail: `${z.codes.join(',')}: ${what}` });
      } else if (z.status === 'error') signals.push({ name: `dnsbl_error:${z.zone}`, score: 0, detail: z.error ?? 'error' });
    }
    if (fcrdns.status === 'fail' || fcrdns.status === 'none') {
      signals.push({ name: 'no_fcrdns', score: this.cfg.scores.noFcrdns, detail: fcrdns.status === 'none' ? 'no PTR record' : `PTR ${fcrdns.ptr.join(', ')} does not resolve back to ${ip}` });
    } else if (fcrdns.status === 'temperror') signals.push({ name: 'fcrdns_temperror', score: 0, detail: fcrdns.error ?? 'temporary error' });

    let refuse: Refusal | null = null;
    if (blocked) refuse = refusal(554, '5.7.1', `Service unavailable; client [${ip}] blocked: ${cleanText(blocked)}`);
    else if (dnsbl.reject) refuse = this.dnsblRefusal(ip, dnsbl.reject.zone, dnsbl.reject.reason);
    if (refuse && this.cfg.dnsbl.rejectAt === 'rcpt') return { refuse: null, refuseAtRcpt: refuse, signals, allowListed: false, dnsbl, fcrdns };
    return { refuse, refuseAtRcpt: null, signals, allowListed: false, dnsbl, fcrdns };
  }

  helo(address: string, helo: string, connectResult?: DoorResult): DoorResult {
    if (!this.cfg.enabled) return pass();
    const ip = normalizeIp(address) ?? address;
    const early = this.allowedEarlier(ip, connectResult);
    if (early) return early;
    const denied = this.denyHelo(helo);
    if (denied) return { refuse: denied, signals: [], allowListed: false };
    const finding = checkHelo(helo, ip, { ourHostnames: this.opts.ourHostnames ?? [], ourIps: this.opts.ourIps ?? [] });
    if (!finding) return pass();
    const score = finding.name === 'helo_ip_mismatch' ? this.cfg.scores.heloIpLiteralMismatch : this.cfg.scores.badHelo;
    return { refuse: null, signals: [{ name: finding.name, score, detail: finding.detail }], allowListed: false };
  }

  mailFrom(address: string, from: string, connectResult?: DoorResult): DoorResult {
    if (!this.cfg.enabled) return pass();
    const ip = normalizeIp(address) ?? address;
    const early = this.allowedEarlier(ip, connectResult);
    if (early) return early;
    if (!from) return pass(); // the null sender matches no list
    const ok = match(this.allow, { address: from });
    if (ok) return allowed(ok);
    const denied = this.denySender(from);
    return denied ? { refuse: denied, signals: [], allowListed: false } : pass();
  }

  async rcpt(address: string, helo: string, from: string, rcpt: string, connectResult: DoorResult): Promise<DoorResult> {
    if (!this.cfg.enabled) return pass();
    const ip = normalizeIp(address) ?? address;
    const early = this.allowedEarlier(ip, connectResult);
    if (early) return early;
    const carried = connectResult.refuseAtRcpt ?? null;
    if (carried && !isPostmaster(rcpt)) {
      // A DNSBL refusal quotes the TXT reason if it has arrived since connect.
      const z = connectResult.dnsbl?.reject;
      const fromDnsbl = z && carried.message.startsWith(this.dnsblRefusal(ip, z.zone).message);
      return { refuse: fromDnsbl ? this.dnsblRefusal(ip, z.zone, z.reason ?? this.dnsbl.reason(ip, z.zone)) : carried, signals: [], allowListed: false };
    }
    const denied = (helo ? this.denyHelo(helo) : null) ?? (from ? this.denySender(from) : null);
    if (denied) return { refuse: denied, signals: [], allowListed: false };
    const senderAllowed = from ? match(this.allow, { address: from }) : null;
    if (senderAllowed) return allowed(senderAllowed);
    if (!this.greylist) return pass();
    const v = this.greylist.check(ip, from, rcpt);
    if (v.action === 'defer') {
      const secs = Math.max(1, Math.ceil(v.retryInMs / 1000));
      return {
        refuse: refusal(451, '4.7.1', `Greylisted: the first delivery attempt from ${v.network} for this sender and recipient is deferred, please try again in ${secs} seconds`),
        signals: [{ name: 'greylist', score: 0, detail: `deferred (${v.reason})` }],
        allowListed: false,
      };
    }
    return { refuse: null, signals: [{ name: 'greylist', score: 0, detail: `passed (${v.reason})` }], allowListed: false };
  }

  /** An allow-listing decided at connect (or by IP, for a caller without the connect result). */
  private allowedEarlier(ip: string, connectResult?: DoorResult): DoorResult | null {
    if (connectResult?.allowListed && connectResult.allowedBy) return allowed(connectResult.allowedBy);
    const byIp = match(this.allow, { ip });
    return byIp ? allowed(byIp) : null;
  }

  private denyIp(ip: string): Refusal {
    return refusal(554, '5.7.1', `Service unavailable; client [${ip}] refused by local policy`);
  }

  private denyHelo(helo: string): Refusal | null {
    const d = match(this.deny, { helo });
    return d ? refusal(554, '5.7.1', `Service unavailable; HELO name ${cleanText(helo, 100)} refused by local policy`) : null;
  }

  private denySender(from: string): Refusal | null {
    const d = match(this.deny, { address: from });
    return d ? refusal(554, '5.7.1', `Sender address <${cleanText(from, 254)}> refused by local policy`) : null;
  }

  private dnsblRefusal(ip: string, zone: string, reason?: string): Refusal {
    return refusal(554, '5.7.1', `Service unavailable; client [${ip}] blocked using ${zone}${reason ? `; ${reason}` : ''}`);
  }
}
