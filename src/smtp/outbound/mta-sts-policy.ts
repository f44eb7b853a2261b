// MTA-STS (RFC 8461) as text: the `_mta-sts` TXT record, the policy file, and matching an MX
// host name against the policy's `mx:` patterns. Pure functions; fetching and caching are in
// mta-sts.ts.

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** Patterns: "mail.example.com" or "*.example.net" (one leftmost label). Lower case. */
  mx: string[];
  /** Seconds the policy may be cached. */
  maxAge: number;
}

/** RFC 8461 §3.2: at most one year. */
export const MAX_STS_AGE = 31_557_600;

/** The policy id from the TXT records at _mta-sts.<domain> (each record: its character-strings).
 * Null when there is no usable record: none, or more than one starting with v=STSv1 (§3.1). */
export function parseStsRecord(records: string[][]): string | null {
  const sts = records.map((r) => r.join('')).filter((t) => /^v=STSv1\s*(;|$)/.test(t));
  if (sts.length !== 1) return null;
  let id: string | null = null;
  for (const field of sts[0].split(';').slice(1)) {
    const m = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(field);
    if (!m) continue;
    if (m[1] === 'id') id = m[2];
  }
  return id !== null && /^[A-Za-z0-9]{1,32}$/.test(id) ? id : null;
}

/** Parses a policy file; throws with the reason when it is not a valid STSv1 policy. */
export function parseStsPolicy(text: string): StsPolicy {
  let version: string | null = null;
  let mode: string | null = null;
  let maxAge: number | null = null;
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad policy line ${JSON.stringify(line.slice(0, 80))}`);
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case 'version':
        version ??= value;
        break;
      case 'mode':
        mode ??= value;
        break;
      case 'max_age':
        if (maxAge === null) {
          if (!/^\d{1,10}$/.test(value)) throw new Error(`bad max_age ${JSON.stringify(value)}`);
          maxAge = Math.min(Number(value), MAX_STS_AGE);
        }
        break;
      case 'mx':
        if (!/^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(value)) throw new Error(`bad mx pattern ${JSON.stringify(value)}`);
        mx.push(value.toLowerCase().replace(/\.$/, ''));
        break;
      default:
        break; // unknown keys are ignored (§3.2: extensions)
    }
  }
  if (version !== 'STSv1') throw new Error('policy version is not STSv1');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') throw new Error(`bad mode ${JSON.stringify(mode)}`);
  if (maxAge === null) throw new Error('policy has no max_age');
  if (mode !== 'none' && mx.length === 0) throw new Error('policy has no mx');
  return { mode, mx, maxAge };
}

/** §4.1: exact match, or "*." matching exactly one leftmost label. */
export function mxMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (p.startsWith('*.')) {
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot + 1) === p.slice(2);
  }
  return h === p;
}

export function policyAllowsMx(policy: StsPolicy, host: string): boolean {
  return policy.mx.some((p) => mxMatches(p, host));
}
