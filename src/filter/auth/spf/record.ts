// SPF record selection (RFC 7208 §4.5) and syntax (§4.6, §5, §6, §12). The whole record is
// parsed before evaluation: any syntax error anywhere is a permerror (§4.6).
import net from 'node:net';
import { SpfAbort } from './result.js';
import { parseDomainSpec, parseMacroString, type MacroToken } from './macro.js';
import { isTopLabel } from './domain.js';
import { ipFromBytes, parseIp, type Ip } from '../../../net/ip.js';

export type MechanismKind = 'all' | 'include' | 'a' | 'mx' | 'ptr' | 'ip4' | 'ip6' | 'exists';

export interface Mechanism {
  qualifier: '+' | '-' | '~' | '?';
  kind: MechanismKind;
  text: string;
  /** Target domain-spec (include/exists: always; a/mx/ptr: when given). */
  domain?: MacroToken[];
  /** ip4/ip6 network. */
  network?: Ip;
  cidr4: number;
  cidr6: number;
}

export interface SpfRecord {
  mechanisms: Mechanism[];
  redirect?: MacroToken[];
  /** exp= domain-spec. */
  exp?: MacroToken[];
}

/**
 * Picks the SPF record among a name's TXT records: those that are exactly "v=spf1" or start
 * with "v=spf1 "; none → null (result none); more than one → permerror. Strings of one record
 * are joined with nothing between them (§3.3).
 */
export function selectRecord(txt: string[][]): string | null {
  const found = txt.map((strings) => strings.join('')).filter((r) => /^v=spf1( |$)/i.test(r));
  if (found.length > 1) throw new SpfAbort('permerror', 'more than one SPF record');
  return found[0] ?? null;
}

export function parseRecord(text: string): SpfRecord {
  // §3.1: SPF records are 7-bit ASCII.
  if (/[^\x00-\x7f]/.test(text)) throw new SpfAbort('permerror', 'non-ASCII character in SPF record');
  const terms = text.split(' ').slice(1).filter((t) => t !== '');
  const record: SpfRecord = { mechanisms: [] };
  let sawRedirect = false;
  let sawExp = false;
  for (const term of terms) {
    const modifier = /^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$/s.exec(term);
    if (modifier) {
      const name = modifier[1].toLowerCase();
      const value = modifier[2];
      if (name === 'redirect') {
        if (sawRedirect) throw new SpfAbort('permerror', 'redirect= appears twice');
        sawRedirect = true;
        record.redirect = parseDomainSpec(value, isTopLabel);
      } else if (name === 'exp') {
        if (sawExp) throw new SpfAbort('permerror', 'exp= appears twice');
        sawExp = true;
        // An empty or malformed exp= is a syntax error (§6.2/4 erratum: explicit "exp=" is a
        // permerror); only expansion, DNS and explanation-text problems are ignored.
        record.exp = parseDomainSpec(value, isTopLabel);
      } else parseMacroString(value); // unknown modifiers: only their syntax matters (§6)
      continue;
    }
    record.mechanisms.push(parseMechanism(term));
  }
  return record;
}

function parseMechanism(term: string): Mechanism {
  const m = /^([+\-~?]?)([A-Za-z0-9]*)(.*)$/s.exec(term)!;
  const qualifier = (m[1] || '+') as Mechanism['qualifier'];
  const kind = m[2].toLowerCase();
  let rest = m[3];
  const mech: Mechanism = { qualifier, kind: kind as MechanismKind, text: term, cidr4: 32, cidr6: 128 };
  const bad = (why: string): never => {
    throw new SpfAbort('permerror', `${why}: "${term}"`);
  };
  switch (kind) {
    case 'all':
      if (rest !== '') bad('unexpected text after all');
      return mech;
    case 'include':
    case 'exists':
      if (!rest.startsWith(':')) bad(`${kind} needs a domain`);
      mech.domain = parseDomainSpec(rest.slice(1), isTopLabel);
      return mech;
    case 'a':
    case 'mx': {
      const cidr = /(?:\/(\d+))?(?:\/\/(\d+))?$/.exec(rest)!;
      if (cidr[1] !== undefined) mech.cidr4 = cidrValue(cidr[1], 32) ?? bad('invalid ip4-cidr-length');
      if (cidr[2] !== undefined) mech.cidr6 = cidrValue(cidr[2], 128) ?? bad('invalid ip6-cidr-length');
      rest = rest.slice(0, rest.length - cidr[0].length);
      if (rest !== '') {
        if (!rest.startsWith(':')) bad('unknown mechanism');
        mech.domain = parseDomainSpec(rest.slice(1), isTopLabel);
      }
      return mech;
    }
    case 'ptr':
      if (rest !== '') {
        if (!rest.startsWith(':')) bad('unknown mechanism');
        mech.domain = parseDomainSpec(rest.slice(1), isTopLabel);
      }
      return mech;
    case 'ip4': {
      const ip4 = /^:(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(rest);
      if (!ip4 || !isStrictIpv4(ip4[1])) bad('invalid ip4');
      mech.network = parseIp(ip4![1])!;
      if (ip4![2] !== undefined) mech.cidr4 = cidrValue(ip4![2], 32) ?? bad('invalid ip4-cidr-length');
      return mech;
    }
    case 'ip6': {
      const ip6 = /^:([^/]+)(?:\/(\d+))?$/.exec(rest);
      if (!ip6 || !net.isIPv6(ip6[1])) bad('invalid ip6');
      // An ip6 network is compared as IPv6 even when it is written in the mapped form.
      mech.network = ipFromBytes(ipv6Raw(ip6![1]));
      if (ip6![2] !== undefined) mech.cidr6 = cidrValue(ip6![2], 128) ?? bad('invalid ip6-cidr-length');
      return mech;
    }
    default:
      return bad('unknown mechanism');
  }
}

/** "0" or a number without leading zeros, at most `max`. */
function cidrValue(text: string, max: number): number | null {
  if (!/^(0|[1-9]\d*)$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** qnum: 0-255 without leading zeros. */
function isStrictIpv4(s: string): boolean {
  return s.split('.').every((q) => /^(0|[1-9]\d{0,2})$/.test(q) && Number(q) <= 255);
}

function ipv6Raw(s: string): Uint8Array {
  const parsed = parseIp(s)!;
  if (parsed.family === 6) return parsed.bytes;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(parsed.bytes, 12);
  return out;
}
