// Sender authentication (SPF, DKIM, DMARC, ARC) for the MX: the entry points.
export { authenticateMessage, startSpf, type AuthInput, type AuthOptions, type AuthVerdict } from './authenticate.js';
export { removeForgedResults, removeSpamVerdictFields, removeReturnPathFields, removeFields } from './forged-results.js';
export type { AuthSignal } from './signals.js';
export { checkSpf, checkSpfMailFrom, checkSpfHelo, type SpfCheck, type SpfIdentityResult, type SpfResult } from './spf/index.js';
export { boundedLookup, type DnsLookup } from './dns.js';
