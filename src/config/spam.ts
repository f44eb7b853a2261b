// The spam filter's settings (the `spam` section of the config file): what happens at the door
// (DNS blocklists, local lists, greeting checks, greylisting), how scores become actions, and
// how user reports build reputation. Parsed here, exposed through the one Config.
import os from 'node:os';
import { obj, num, bool, strings as anyStrings } from './values.js';
import { DEFAULT_LOGISTIC_POINTS } from '../filter/bayes/logistic.js';

/** What a DNSBL return code means: refuse the client, or add points to its messages. */
export type DnsblAction = 'reject' | number;

export interface DnsblZone {
  /** e.g. "zen.spamhaus.org"; the query is <reversed ip>.<zone>. */
  zone: string;
  /** Return code (A record, e.g. "127.0.0.2", a CIDR "127.0.0.0/24", or "*") → action. */
  codes: Record<string, DnsblAction>;
  /** Also look up IPv6 clients (reversed nibbles). */
  ipv6: boolean;
}

export interface SpamConfig {
  enabled: boolean;
  /** Points at which a message goes to Junk, and at which it is refused at DATA. */
  thresholds: { junk: number; reject: number };
  dnsbl: {
    zones: DnsblZone[];
    /** Per lookup; a slow or failing list never blocks mail (fail open). */
    timeoutMs: number;
    /** Refuse a listed client at connect, or at its first RCPT (so the refusal can be logged
     * with the envelope, and postmaster@ can still be reached). */
    rejectAt: 'connect' | 'rcpt';
  };
  /** Local lists: IP, CIDR, domain (matches the sender domain, HELO and reverse name) or
   * address. Allowed sources skip the door checks and content scoring; denied ones are refused. */
  allow: string[];
  deny: string[];
  /** Clients that talk before our greeting are refused; the greeting waits this long (ms). */
  pregreetMs: number;
  /** Points for a client without forward-confirmed reverse DNS, and for a bad HELO; and for mail
   * from an authenticated From address the recipient wrote to or moved out of Junk (knownSender,
   * negative) or moved into Junk (junkedSender). */
  scores: { noFcrdns: number; badHelo: number; heloIpLiteralMismatch: number; knownSender: number; junkedSender: number };
  greylist: {
    enabled: boolean;
    /** A new (ip/24, sender, recipient) triplet is deferred until it retries after this (ms). */
    delayMs: number;
    /** A retry later than this after the first attempt starts over (ms). */
    retryWindowMs: number;
    /** A client that passed is allow-listed (all triplets) for this long (ms). */
    passTtlMs: number;
  };
  /** Refuse at DATA when the sender's DMARC policy is p=reject and the message fails it. */
  honorDmarcReject: boolean;
  /** Refused messages are kept in quarantine this long (days) so a false positive can be released. */
  quarantineDays: number;
  /** Most tokens in the global and in each account's Bayes database; beyond, those not trained
   * for longest are dropped (see filter/bayes/expiry.ts). logisticScale: points per unit of the
   * global logistic model's margin (LOGREG, filter/bayes/logistic.ts); 0 leaves it out, and with
   * it LOGREG's offset of 2.5 points, so the sum's calibration moves: only for a trial. */
  bayes: { maxGlobalTokens: number; maxAccountTokens: number; logisticScale: number };
  /** Content analysis (parsing, rules, tokens) runs on `threads` threads of its own (0: on the
   * main thread; by default one per core beside the main one, 1 to 4); a message not analysed within
   * `timeoutMs` has its thread replaced and is judged without its content, `uncheckedScore`
   * points added (CONTENT_UNCHECKED). */
  analysis: { threads: number; timeoutMs: number; uncheckedScore: number };
  reputation: {
    /** Weight of a report halves after this many days. */
    halfLifeDays: number;
    /** A source is blocked at the door once this many distinct users reported it as spam... */
    blockReporters: number;
    /** ...and its decayed spam weight exceeds ham weight by this factor. */
    blockSpamRatio: number;
    /** Points added per decayed spam report beyond ham reports, capped at maxScore. */
    scorePerReport: number;
    maxScore: number;
  };
}

/** Threads for content analysis when the config names none: one per core beside the main
 * thread's, at least 1 and at most 4. On this 2-core machine (bench smtp, 20 clients) one thread
 * delivered as much as analysis on the main thread with 20 KB messages (316 and 317 msg/s) and
 * more with a 2/20/200 KB mix (183 against 150; two threads 162). */
function defaultAnalysisThreads(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export const SPAM_DEFAULTS: SpamConfig = {
  enabled: true,
  thresholds: { junk: 5, reject: 15 },
  dnsbl: { zones: [], timeoutMs: 2000, rejectAt: 'connect' },
  allow: [],
  deny: [],
  pregreetMs: 300,
  // knownSender: enough to keep a friend's spammy-looking message (Bayes +5, a rule or two) in
  // the Inbox, not enough to let spam from a hijacked friend's account (more rules) in.
  scores: { noFcrdns: 1.5, badHelo: 1.5, heloIpLiteralMismatch: 1, knownSender: -3, junkedSender: 3 },
  greylist: { enabled: false, delayMs: 5 * 60_000, retryWindowMs: 4 * 3600_000, passTtlMs: 36 * 86400_000 },
  honorDmarcReject: true,
  quarantineDays: 14,
  // 2 million global tokens: about 20,000 messages' worth of new tokens, 64 MB held in memory;
  // 200,000 per account (SpamAssassin's default per-user database holds 150,000).
  bayes: { maxGlobalTokens: 2_000_000, maxAccountTokens: 200_000, logisticScale: DEFAULT_LOGISTIC_POINTS.scale },
  analysis: { threads: defaultAnalysisThreads(), timeoutMs: 10_000, uncheckedScore: 3 },
  reputation: { halfLifeDays: 30, blockReporters: 3, blockSpamRatio: 4, scorePerReport: 1, maxScore: 6 },
};

/** Lists of addresses, domains and networks: compared lower-case. */
function strings(v: unknown, d: string[], name: string): string[] {
  return v === undefined ? d : anyStrings(v, d, name).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/** A score that only makes sense one way: a bonus that raised the score would punish a user's
 * own correspondents. */
function signed(v: unknown, d: number, name: string, sign: 1 | -1): number {
  const n = num(v, d, name);
  if (n * sign < 0) throw new Error(`config: ${name} must be ${sign < 0 ? 'zero or negative' : 'zero or positive'}`);
  return n;
}

function count(v: unknown, d: number, name: string, min: number, max: number): number {
  const n = num(v, d, name);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`config: ${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** A database below a thousand tokens could not tell spam from ham. */
function tokenLimit(v: unknown, d: number, name: string): number {
  const n = num(v, d, name);
  if (!Number.isInteger(n) || n < 1000) throw new Error(`config: ${name} must be a whole number of at least 1000`);
  return n;
}

function zones(v: unknown): DnsblZone[] {
  if (v === undefined) return SPAM_DEFAULTS.dnsbl.zones;
  if (!Array.isArray(v)) throw new Error('config: spam.dnsbl.zones must be a list');
  return v.map((z, i) => {
    const name = `spam.dnsbl.zones[${i}]`;
    // Shorthand: a bare zone name refuses on any 127.0.0.x answer.
    if (typeof z === 'string') return { zone: z.toLowerCase(), codes: { '127.0.0.0/8': 'reject' }, ipv6: true };
    const o = obj(z, name);
    if (typeof o.zone !== 'string' || !o.zone) throw new Error(`config: ${name}.zone must be a name`);
    const codes: Record<string, DnsblAction> = {};
    for (const [k, a] of Object.entries(obj(o.codes ?? { '127.0.0.0/8': 'reject' }, `${name}.codes`))) {
      if (a !== 'reject' && (typeof a !== 'number' || !Number.isFinite(a))) throw new Error(`config: ${name}.codes["${k}"] must be "reject" or a score`);
      codes[k] = a;
    }
    return { zone: o.zone.toLowerCase().replace(/\.$/, ''), codes, ipv6: bool(o.ipv6, true, `${name}.ipv6`) };
  });
}

export function parseSpamConfig(v: unknown): SpamConfig {
  const j = obj(v, 'spam');
  const D = SPAM_DEFAULTS;
  const t = obj(j.thresholds, 'spam.thresholds');
  const d = obj(j.dnsbl, 'spam.dnsbl');
  const s = obj(j.scores, 'spam.scores');
  const g = obj(j.greylist, 'spam.greylist');
  const r = obj(j.reputation, 'spam.reputation');
  const b = obj(j.bayes, 'spam.bayes');
  const an = obj(j.analysis, 'spam.analysis');
  const rejectAt = d.rejectAt ?? D.dnsbl.rejectAt;
  if (rejectAt !== 'connect' && rejectAt !== 'rcpt') throw new Error('config: spam.dnsbl.rejectAt must be "connect" or "rcpt"');
  const cfg: SpamConfig = {
    enabled: bool(j.enabled, D.enabled, 'spam.enabled'),
    thresholds: { junk: num(t.junk, D.thresholds.junk, 'spam.thresholds.junk'), reject: num(t.reject, D.thresholds.reject, 'spam.thresholds.reject') },
    dnsbl: { zones: zones(d.zones), timeoutMs: num(d.timeoutMs, D.dnsbl.timeoutMs, 'spam.dnsbl.timeoutMs'), rejectAt },
    allow: strings(j.allow, D.allow, 'spam.allow'),
    deny: strings(j.deny, D.deny, 'spam.deny'),
    pregreetMs: num(j.pregreetMs, D.pregreetMs, 'spam.pregreetMs'),
    scores: {
      noFcrdns: num(s.noFcrdns, D.scores.noFcrdns, 'spam.scores.noFcrdns'),
      badHelo: num(s.badHelo, D.scores.badHelo, 'spam.scores.badHelo'),
      heloIpLiteralMismatch: num(s.heloIpLiteralMismatch, D.scores.heloIpLiteralMismatch, 'spam.scores.heloIpLiteralMismatch'),
      knownSender: signed(s.knownSender, D.scores.knownSender, 'spam.scores.knownSender', -1),
      junkedSender: signed(s.junkedSender, D.scores.junkedSender, 'spam.scores.junkedSender', 1),
    },
    greylist: {
      enabled: bool(g.enabled, D.greylist.enabled, 'spam.greylist.enabled'),
      delayMs: num(g.delayMs, D.greylist.delayMs, 'spam.greylist.delayMs'),
      retryWindowMs: num(g.retryWindowMs, D.greylist.retryWindowMs, 'spam.greylist.retryWindowMs'),
      passTtlMs: num(g.passTtlMs, D.greylist.passTtlMs, 'spam.greylist.passTtlMs'),
    },
    honorDmarcReject: bool(j.honorDmarcReject, D.honorDmarcReject, 'spam.honorDmarcReject'),
    quarantineDays: num(j.quarantineDays, D.quarantineDays, 'spam.quarantineDays'),
    bayes: {
      maxGlobalTokens: tokenLimit(b.maxGlobalTokens, D.bayes.maxGlobalTokens, 'spam.bayes.maxGlobalTokens'),
      maxAccountTokens: tokenLimit(b.maxAccountTokens, D.bayes.maxAccountTokens, 'spam.bayes.maxAccountTokens'),
      logisticScale: signed(b.logisticScale, D.bayes.logisticScale, 'spam.bayes.logisticScale', 1),
    },
    analysis: {
      threads: count(an.threads, D.analysis.threads, 'spam.analysis.threads', 0, 16),
      timeoutMs: count(an.timeoutMs, D.analysis.timeoutMs, 'spam.analysis.timeoutMs', 100, 600_000),
      uncheckedScore: num(an.uncheckedScore, D.analysis.uncheckedScore, 'spam.analysis.uncheckedScore'),
    },
    reputation: {
      halfLifeDays: num(r.halfLifeDays, D.reputation.halfLifeDays, 'spam.reputation.halfLifeDays'),
      blockReporters: num(r.blockReporters, D.reputation.blockReporters, 'spam.reputation.blockReporters'),
      blockSpamRatio: num(r.blockSpamRatio, D.reputation.blockSpamRatio, 'spam.reputation.blockSpamRatio'),
      scorePerReport: num(r.scorePerReport, D.reputation.scorePerReport, 'spam.reputation.scorePerReport'),
      maxScore: num(r.maxScore, D.reputation.maxScore, 'spam.reputation.maxScore'),
    },
  };
  if (cfg.thresholds.reject < cfg.thresholds.junk) throw new Error('config: spam.thresholds.reject must be at least spam.thresholds.junk');
  return cfg;
}
