// How TLS is used towards a destination. Without an MTA-STS policy (or mode none, or testing)
// STARTTLS is used whenever offered but the certificate is not checked (opportunistic, RFC 7435:
// most MX certificates would fail a check, and refusing them would only push mail to plain text).
// With `mode: enforce` only MX hosts matching the policy are used, and each must offer STARTTLS
// with a certificate valid for its MX host name, chained to a trusted CA (system + caFile).
import fs from 'node:fs';
import tls from 'node:tls';
import type { Logger } from '../../log/logger.js';
import type { MxHost } from './mx.js';
import { policyAllowsMx, type StsPolicy } from './mta-sts-policy.js';

export type TlsMode = 'opportunistic' | 'verify';

export interface HostPlan {
  hosts: MxHost[];
  tls: TlsMode;
  /** MTA-STS testing mode: deliver as usual, report what enforce would have refused. */
  report: boolean;
  /** MX hosts left out because the enforced policy does not list them. */
  excluded: string[];
}

/** The system's root CAs plus the PEM file `outbound.caFile`; throws when that file cannot be read. */
export function trustedCas(caFile: string | null): string[] {
  return caFile ? [...tls.rootCertificates, fs.readFileSync(caFile, 'utf8')] : [...tls.rootCertificates];
}

/** trustedCas, read once by the sender: an unreadable file is logged and the system CAs used. */
export function loadTrustedCas(caFile: string | null, logger: Logger): string[] {
  try {
    return trustedCas(caFile);
  } catch (e) {
    logger.error({ caFile, err: (e as Error).message }, 'cannot read outbound.caFile; using the system CAs only');
    return trustedCas(null);
  }
}

export function planHosts(hosts: MxHost[], sts: StsPolicy | null): HostPlan {
  if (!sts || sts.mode === 'none') return { hosts, tls: 'opportunistic', report: false, excluded: [] };
  if (sts.mode === 'testing') return { hosts, tls: 'opportunistic', report: true, excluded: hosts.filter((h) => !policyAllowsMx(sts, h.name)).map((h) => h.name) };
  return {
    hosts: hosts.filter((h) => policyAllowsMx(sts, h.name)),
    tls: 'verify',
    report: false,
    excluded: hosts.filter((h) => !policyAllowsMx(sts, h.name)).map((h) => h.name),
  };
}
