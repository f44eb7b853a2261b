// The DNS records an operator publishes for a local domain, so that its mail is delivered to us
// (MX), what we send is authenticated (SPF, DKIM, DMARC), other servers must use TLS to reach us
// (MTA-STS, TLS-RPT) and mail programs set themselves up (SRV per RFC 6186/8314, autoconfig).
// One description feeds the zone-file text, the --json output and `fjord dns check`.
import crypto from 'node:crypto';
import type { DkimKey } from '../store/types.js';
import { dkimRecordText, publishedDkimKeys, publishedUntil } from '../dkim/keys.js';
import { ipFromBytes, parseCidr, reverseName, type Cidr } from '../net/ip.js';

export type RecordKind = 'mx' | 'spf' | 'helo-spf' | 'dkim' | 'dmarc' | 'mta-sts' | 'mta-sts-host' | 'tls-rpt' | 'srv' | 'autoconfig' | 'ptr';

export type RecordData =
  | { type: 'MX'; priority: number; exchange: string }
  | { type: 'TXT'; text: string; /** The text as DNS character-strings of at most 255 octets. */ strings: string[] }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'CNAME'; target: string }
  | { type: 'PTR'; target: string };

export type DnsRecord = RecordData & {
  /** Fully qualified, lower-case, no trailing dot. */
  name: string;
  kind: RecordKind;
  /** One line saying why the record is there. */
  comment: string;
  /** Helps but is not needed for mail to flow: `fjord dns check` reports it without failing. */
  optional: boolean;
  /** DKIM: the key behind the record. */
  dkim?: { selector: string; algorithm: DkimKey['algorithm']; publicKey: string; active: boolean; publishUntil: string | null };
};

export interface DnsRecordSet {
  domain: string;
  hostname: string;
  records: DnsRecord[];
  /** The MTA-STS policy file and where it must be served. */
  mtaSts: { url: string; policy: string };
  /** Problems of the configuration the operator should fix. */
  warnings: string[];
  /** Things to set up outside this zone. */
  notes: string[];
}

export interface RecordsInput {
  domain: string;
  /** config.hostname: our MX and the host of every service. */
  hostname: string;
  /** config.outbound.sendingIps (addresses or CIDR ranges). */
  sendingIps: readonly string[];
  /** The domain's keys (active and retired); the published ones are picked here. */
  dkimKeys: DkimKey[];
  /** Whether a certificate is configured (else a self-signed one is used). */
  certificate: boolean;
  now?: Date;
}

export const TTL = 3600;
/** RFC 8461 §3.2: how long senders cache the policy (one week). */
const MTA_STS_MAX_AGE = 604800;

/** TXT text as character-strings of at most 255 octets (RFC 1035 §3.3.14). */
export function txtStrings(text: string): string[] {
  const b = Buffer.from(text);
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, i + 255).toString());
  return out.length ? out : [''];
}

const txt = (text: string) => ({ type: 'TXT' as const, text, strings: txtStrings(text) });

/** The configured sending addresses and ranges, and the entries that are neither. */
export function sendingNetworks(sendingIps: readonly string[]): { networks: Cidr[]; invalid: string[] } {
  const networks: Cidr[] = [];
  const invalid: string[] = [];
  for (const s of sendingIps) {
    const c = parseCidr(s);
    if (c) networks.push(c);
    else invalid.push(s);
  }
  return { networks, invalid };
}

/** The SPF mechanisms that authorise our sending hosts (a:HOST when none are configured). */
export function spfMechanisms(networks: readonly Cidr[], hostname: string): string[] {
  if (networks.length === 0) return [`a:${hostname}`];
  return networks.map((c) => {
    const full = c.prefix === (c.family === 4 ? 32 : 128);
    return `ip${c.family}:${full ? c.text.slice(0, c.text.indexOf('/')) : c.text}`;
  });
}

export function mtaStsPolicy(hostname: string): string {
  return `version: STSv1\nmode: enforce\nmx: ${hostname}\nmax_age: ${MTA_STS_MAX_AGE}\n`;
}

// Client setup (RFC 6186, RFC 8314 §5.1): implicit TLS is preferred (lower priority value), IMAP
// over POP3. The ports are the standard ones whatever this machine listens on in testing.
const SERVICES: { service: string; port: number; priority: number; what: string }[] = [
  { service: '_submissions._tcp', port: 465, priority: 0, what: 'mail submission over implicit TLS (RFC 8314)' },
  { service: '_submission._tcp', port: 587, priority: 10, what: 'mail submission with STARTTLS (RFC 6186)' },
  { service: '_imaps._tcp', port: 993, priority: 0, what: 'IMAP over implicit TLS' },
  { service: '_imap._tcp', port: 143, priority: 10, what: 'IMAP with STARTTLS' },
  { service: '_pop3s._tcp', port: 995, priority: 20, what: 'POP3 over implicit TLS' },
  { service: '_pop3._tcp', port: 110, priority: 30, what: 'POP3 with STLS' },
];

export function dnsRecords(input: RecordsInput): DnsRecordSet {
  const domain = input.domain.toLowerCase().replace(/\.$/, '');
  const host = input.hostname.toLowerCase().replace(/\.$/, '');
  const now = input.now ?? new Date();
  const postmaster = `postmaster@${domain}`;
  const warnings: string[] = [];
  const records: DnsRecord[] = [];
  const add = (name: string, kind: RecordKind, data: RecordData, comment: string, optional = false) =>
    records.push({ ...data, name, kind, comment, optional });

  if (!host.includes('.') || host === 'localhost') warnings.push(`hostname "${host}" is not a public host name: set "hostname" in the config file`);

  add(domain, 'mx', { type: 'MX', priority: 10, exchange: host }, `mail for ${domain} is delivered to ${host}`);

  const { networks, invalid } = sendingNetworks(input.sendingIps);
  for (const x of invalid) warnings.push(`outbound.sendingIps: "${x}" is not an IP address or range (left out of SPF)`);
  const spf = `v=spf1 ${spfMechanisms(networks, host).join(' ')} -all`;
  if (networks.length === 0) {
    warnings.push(`outbound.sendingIps is empty: SPF authorises a:${host} (the addresses of ${host}); list the addresses mail leaves from in outbound.sendingIps`);
  }
  add(domain, 'spf', txt(spf), 'SPF: only our sending hosts may use this domain in MAIL FROM; everything else fails (-all)');
  if (host !== domain) {
    add(host, 'helo-spf', txt(spf), `SPF for our HELO name ${host} (once per host, not per domain)`, true);
  }

  for (const k of publishedDkimKeys(input.dkimKeys, now)) {
    const until = publishedUntil(k);
    const comment = k.active
      ? `DKIM ${k.algorithm} key ${k.selector} (active: signs outgoing mail)`
      : `DKIM ${k.algorithm} key ${k.selector} (retired ${day(k.retiredAt!)}: keep until ${day(until!)} so mail signed before the rotation still verifies, then remove)`;
    records.push({
      ...txt(dkimRecordText(k)), name: `${k.selector}._domainkey.${domain}`, kind: 'dkim', comment, optional: false,
      dkim: { selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey, active: k.active, publishUntil: until?.toISOString() ?? null },
    });
  }
  if (!input.dkimKeys.some((k) => k.active)) warnings.push(`${domain} has no active DKIM key: run fjord dkim rotate ${domain}`);

  add(`_dmarc.${domain}`, 'dmarc', txt(`v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:${postmaster}`),
    `DMARC: quarantine mail failing SPF and DKIM alignment, reports to ${postmaster}; once the reports show all your mail aligned, change to p=reject`);

  const policy = mtaStsPolicy(host);
  const stsId = crypto.createHash('sha256').update(policy).digest('hex').slice(0, 20);
  add(`_mta-sts.${domain}`, 'mta-sts', txt(`v=STSv1; id=${stsId}`),
    'MTA-STS: senders must reach us over TLS with a valid certificate (id= changes with the policy)');
  add(`mta-sts.${domain}`, 'mta-sts-host', { type: 'CNAME', target: host },
    `MTA-STS policy host: serves https://mta-sts.${domain}/.well-known/mta-sts.txt (or point it at your web server)`, true);
  if (!input.certificate) {
    warnings.push(`no TLS certificate configured (tls.cert): senders enforcing MTA-STS refuse a self-signed certificate; publish the MTA-STS records once ${host} has a certificate from a public CA`);
  }
  add(`_smtp._tls.${domain}`, 'tls-rpt', txt(`v=TLSRPTv1; rua=mailto:${postmaster}`),
    `TLS-RPT: senders report TLS failures reaching us to ${postmaster}`);

  for (const s of SERVICES) {
    add(`${s.service}.${domain}`, 'srv', { type: 'SRV', priority: s.priority, weight: 1, port: s.port, target: host }, `client setup: ${s.what}`, true);
  }
  add(`autoconfig.${domain}`, 'autoconfig', { type: 'CNAME', target: host }, 'client setup: Thunderbird-style autoconfig (served by the web service)', true);
  add(`autodiscover.${domain}`, 'autoconfig', { type: 'CNAME', target: host }, 'client setup: Outlook-style autodiscover (served by the web service)', true);

  // Receivers (Gmail, Microsoft, most MXs) refuse or junk mail from an address without reverse
  // DNS that names a host resolving back to it. The reverse zone is the IP provider's, not this
  // domain's, but without it nothing else here helps; ranges cannot be listed address by address.
  for (const n of networks) {
    if (n.prefix !== (n.family === 4 ? 32 : 128)) continue;
    const ip = ipFromBytes(n.bytes).text;
    add(reverseName(ipFromBytes(n.bytes)), 'ptr', { type: 'PTR', target: host },
      `reverse DNS of the sending address ${ip}: must name ${host}, whose A/AAAA must include ${ip} (set in your IP provider's reverse zone)`);
  }

  const ipList = input.sendingIps.length ? input.sendingIps.join(', ') : `the addresses of ${host}`;
  return {
    domain,
    hostname: host,
    records,
    mtaSts: { url: `https://mta-sts.${domain}/.well-known/mta-sts.txt`, policy },
    warnings,
    notes: [
      `${host} needs A/AAAA records, and each sending address (${ipList}) a PTR record naming ${host} (set by your IP provider; single addresses are checked by fjord dns check)`,
      `mail to ${postmaster} must reach someone: DMARC and TLS-RPT reports go there`,
    ],
  };
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** "…" with " and \ escaped, as zone files quote character-strings. */
function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

export function recordValue(r: DnsRecord): string {
  switch (r.type) {
    case 'MX': return `${r.priority} ${r.exchange}.`;
    case 'TXT': return r.strings.map(quote).join(' ');
    case 'SRV': return `${r.priority} ${r.weight} ${r.port} ${r.target}.`;
    case 'CNAME':
    case 'PTR': return `${r.target}.`;
  }
}

/** One record as a zone-file line (absolute names). */
export function recordLine(r: DnsRecord): string {
  return `${r.name}.\t${TTL}\tIN\t${r.type}\t${recordValue(r)}`;
}

/** Zone-file text: a comment line before each record, warnings and the MTA-STS policy as comments. */
export function zoneText(set: DnsRecordSet): string {
  const lines = [`; DNS records for ${set.domain} (Fjord Mail on ${set.hostname})`];
  for (const w of set.warnings) lines.push(`; WARNING: ${w}`);
  for (const r of set.records) {
    // A PTR belongs to the IP provider's reverse zone: shown, commented out, so that this text
    // still loads as the domain's zone.
    lines.push('', `; ${r.comment}${r.optional ? ' [optional]' : ''}`, r.kind === 'ptr' ? `; ${recordLine(r)}` : recordLine(r));
  }
  lines.push('', `; MTA-STS policy: serve this file at ${set.mtaSts.url}`, `; (HTTPS with a certificate valid for mta-sts.${set.domain}):`);
  for (const l of set.mtaSts.policy.trimEnd().split('\n')) lines.push(`;   ${l}`);
  lines.push('');
  for (const n of set.notes) lines.push(`; Also: ${n}`);
  return lines.join('\n') + '\n';
}
