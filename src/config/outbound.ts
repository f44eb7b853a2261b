// Settings for mail we send (the `outbound` and `sending` sections of the config file): how the
// outbound queue reaches other servers and when it gives up, and the per-account limits that
// keep the provider off blocklists. Parsed here, exposed through the one Config.
import { obj as objAt, nonNegative as num, str as strOrNull, strings } from './values.js';

const obj = (v: unknown, name: string) => objAt(v, `"${name}"`);

export interface OutboundConfig {
  /** Remote SMTP port (25; tests point it at a sink on another port). */
  port: number;
  /** Port of the MTA-STS policy host (443; tests use another). */
  mtaStsPort: number;
  /** Extra CA certificates (PEM file) trusted for MTA-STS and for STS-enforced SMTP TLS, besides
   * the system's (tests use their own CA). */
  caFile: string | null;
  /** Delay before each retry of a temporary failure, in seconds; the last one repeats. */
  retrySchedule: number[];
  /** Give up on a recipient this long after the message was queued (seconds; 5 days). */
  giveUpAfter: number;
  /** Send the sender a delay warning once a recipient has waited this long (seconds; 4 hours). */
  delayWarningAfter: number;
  /** Timeouts (ms) for connect, greeting and each command; data gets its own. */
  connectTimeout: number;
  commandTimeout: number;
  dataTimeout: number;
  /** Destinations delivered to at once, and messages per destination connection before it is closed. */
  concurrency: number;
  messagesPerConnection: number;
  /** IP addresses our mail leaves from: listed in the SPF records `fjord dns records` prints. */
  sendingIps: string[];
  /** Where admin notices go (freezes); default postmaster@<first local domain>. */
  postmaster: string | null;
}

/** Per-account sending limits; `domains` and `accounts` override them by name. */
export interface SendingLimits {
  recipientsPerMessage: number;
  messagesPerHour: number;
  messagesPerDay: number;
  distinctRecipientsPerDay: number;
}

export interface SendingConfig {
  limits: SendingLimits;
  domains: Record<string, Partial<SendingLimits>>;
  accounts: Record<string, Partial<SendingLimits>>;
  /** Sending is frozen once an account's bulk score over the window reaches this. */
  freezeScore: number;
  /** Sliding window of the bulk score (seconds; 24 hours). */
  windowSeconds: number;
  /** Local address that receives ARF (RFC 5965) complaint reports; default abuse@ of every local domain. */
  abuse: string | null;
}

export const DEFAULT_OUTBOUND: OutboundConfig = {
  port: 25,
  mtaStsPort: 443,
  caFile: null,
  retrySchedule: [60, 300, 900, 1800, 3600, 7200, 14400],
  giveUpAfter: 5 * 24 * 3600,
  delayWarningAfter: 4 * 3600,
  connectTimeout: 30_000,
  commandTimeout: 300_000,
  dataTimeout: 600_000,
  concurrency: 20,
  messagesPerConnection: 100,
  sendingIps: [],
  postmaster: null,
};

export const DEFAULT_SENDING: SendingConfig = {
  limits: { recipientsPerMessage: 50, messagesPerHour: 100, messagesPerDay: 500, distinctRecipientsPerDay: 300 },
  domains: {},
  accounts: {},
  freezeScore: 100,
  windowSeconds: 24 * 3600,
  abuse: null,
};

export function parseOutboundConfig(v: unknown): OutboundConfig {
  const o = obj(v, 'outbound');
  const d = DEFAULT_OUTBOUND;
  let schedule = d.retrySchedule;
  if (o.retrySchedule !== undefined) {
    if (!Array.isArray(o.retrySchedule) || o.retrySchedule.length === 0 || o.retrySchedule.some((x) => typeof x !== 'number' || !(x > 0))) {
      throw new Error('config: outbound.retrySchedule must be a non-empty list of positive numbers (seconds)');
    }
    schedule = o.retrySchedule as number[];
  }
  return {
    port: num(o.port, d.port, 'outbound.port'),
    mtaStsPort: num(o.mtaStsPort, d.mtaStsPort, 'outbound.mtaStsPort'),
    caFile: strOrNull(o.caFile, d.caFile, 'outbound.caFile'),
    retrySchedule: schedule,
    giveUpAfter: num(o.giveUpAfter, d.giveUpAfter, 'outbound.giveUpAfter'),
    delayWarningAfter: num(o.delayWarningAfter, d.delayWarningAfter, 'outbound.delayWarningAfter'),
    connectTimeout: num(o.connectTimeout, d.connectTimeout, 'outbound.connectTimeout'),
    commandTimeout: num(o.commandTimeout, d.commandTimeout, 'outbound.commandTimeout'),
    dataTimeout: num(o.dataTimeout, d.dataTimeout, 'outbound.dataTimeout'),
    concurrency: Math.max(1, num(o.concurrency, d.concurrency, 'outbound.concurrency')),
    messagesPerConnection: Math.max(1, num(o.messagesPerConnection, d.messagesPerConnection, 'outbound.messagesPerConnection')),
    sendingIps: strings(o.sendingIps, d.sendingIps, 'outbound.sendingIps'),
    postmaster: strOrNull(o.postmaster, d.postmaster, 'outbound.postmaster'),
  };
}

function limits(v: unknown, fallback: SendingLimits, name: string): SendingLimits {
  const o = obj(v, name);
  return {
    recipientsPerMessage: num(o.recipientsPerMessage, fallback.recipientsPerMessage, `${name}.recipientsPerMessage`),
    messagesPerHour: num(o.messagesPerHour, fallback.messagesPerHour, `${name}.messagesPerHour`),
    messagesPerDay: num(o.messagesPerDay, fallback.messagesPerDay, `${name}.messagesPerDay`),
    distinctRecipientsPerDay: num(o.distinctRecipientsPerDay, fallback.distinctRecipientsPerDay, `${name}.distinctRecipientsPerDay`),
  };
}

function partials(v: unknown, name: string): Record<string, Partial<SendingLimits>> {
  const o = obj(v, name);
  const out: Record<string, Partial<SendingLimits>> = {};
  for (const [k, x] of Object.entries(o)) {
    const full = limits(x, { recipientsPerMessage: -1, messagesPerHour: -1, messagesPerDay: -1, distinctRecipientsPerDay: -1 }, `${name}.${k}`);
    out[k.toLowerCase()] = Object.fromEntries(Object.entries(full).filter(([, n]) => n >= 0));
  }
  return out;
}

export function parseSendingConfig(v: unknown): SendingConfig {
  const o = obj(v, 'sending');
  const d = DEFAULT_SENDING;
  return {
    limits: limits(o.limits, d.limits, 'sending.limits'),
    domains: partials(o.domains, 'sending.domains'),
    accounts: partials(o.accounts, 'sending.accounts'),
    freezeScore: num(o.freezeScore, d.freezeScore, 'sending.freezeScore'),
    windowSeconds: num(o.windowSeconds, d.windowSeconds, 'sending.windowSeconds'),
    abuse: strOrNull(o.abuse, d.abuse, 'sending.abuse'),
  };
}

/** The limits that apply to an account: its own overrides, else its domain's, else the defaults. */
export function limitsFor(c: SendingConfig, account: string): SendingLimits {
  const a = account.toLowerCase();
  const domain = a.slice(a.lastIndexOf('@') + 1);
  return { ...c.limits, ...c.domains[domain], ...c.accounts[a] };
}
