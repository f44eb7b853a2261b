// Reputation of sending IPs and domains, built from what users report ("spam" / "not spam")
// and from the administrator's overrides. Reports decay (a half-life), and only distinct users
// count towards a block, so one angry user cannot block a source and a newsletter many people
// signed up for (and a few reported) is weighed against those who rescued it from Junk.
import type { SpamConfig } from '../../config/spam.js';
import type { ReputationKind, ReputationOverride, SpamReport, Store } from '../../store/types.js';

export interface Signal {
  name: string;
  score: number;
  detail?: string;
}

export interface SourceStanding {
  kind: ReputationKind;
  value: string;
  /** Decayed weight of spam and ham reports. */
  spam: number;
  ham: number;
  /** Distinct users whose latest report on a message from this source says spam / ham. */
  spamReporters: number;
  hamReporters: number;
  reports: number;
  lastReport: Date | null;
  override: ReputationOverride | null;
  /** Points this source adds to its messages. */
  score: number;
  /** Refused at the door, and why. */
  blocked: boolean;
  reason: string;
}

const CACHE_MS = 60_000;
const CACHE_MAX = 50_000;
/** How often a server looks whether an admin command changed overrides. */
const GENERATION_CHECK_MS = 1000;
const GENERATION_KEY = 'reputation.generation';

/** Tells running servers (another process) to drop cached standings: overrides changed. */
export async function bumpReputationGeneration(store: Store): Promise<void> {
  await store.setSetting(GENERATION_KEY, String(Date.now()) + ':' + Math.random().toString(36).slice(2));
}

/** Reports older than eight half-lives (under 0.4% of their weight) no longer count, and the
 * hourly upkeep deletes them: who reported what, from which IP, is not kept beyond its use. */
export function reportHorizon(cfg: SpamConfig['reputation'], now: number): Date {
  return new Date(now - cfg.halfLifeDays * 8 * 86_400_000);
}

export class Reputation {
  private readonly cache = new Map<string, { at: number; standing: Promise<SourceStanding> }>();
  private overrides: Promise<Map<string, ReputationOverride>> | null = null;
  private generation: string | null = null;
  private generationCheckedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly cfg: SpamConfig['reputation'],
    private readonly now: () => number = Date.now,
  ) {}

  /** Forget cached standings (after a report or an override changed them). */
  invalidate(): void {
    this.cache.clear();
    this.overrides = null;
  }

  async standing(kind: ReputationKind, value: string): Promise<SourceStanding> {
    const key = `${kind} ${value.toLowerCase()}`;
    const t = this.now();
    if (t - this.generationCheckedAt >= GENERATION_CHECK_MS) {
      this.generationCheckedAt = t;
      const g = await this.store.getSetting(GENERATION_KEY);
      if (g !== this.generation) {
        this.generation = g;
        this.invalidate();
      }
    }
    const hit = this.cache.get(key);
    if (hit && t - hit.at < CACHE_MS) return hit.standing;
    const standing = this.compute(kind, value.toLowerCase());
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, { at: t, standing });
    standing.catch(() => this.cache.delete(key));
    return standing;
  }

  /** Reason the IP is blocked, or null. */
  async blockedIp(ip: string): Promise<string | null> {
    const s = await this.standing('ip', ip);
    return s.blocked ? s.reason : null;
  }

  /** The first blocked domain among these (envelope, From and DKIM domains), or null. */
  async blockedDomain(domains: Iterable<string>): Promise<{ domain: string; reason: string } | null> {
    for (const d of new Set(Array.from(domains, (x) => x.toLowerCase()).filter(Boolean))) {
      const s = await this.standing('domain', d);
      if (s.blocked) return { domain: d, reason: s.reason };
    }
    return null;
  }

  /** Points for a message from this IP and these domains; allow-listed sources subtract. */
  async signals(ip: string, domains: Iterable<string>): Promise<Signal[]> {
    const out: Signal[] = [];
    const sources: [ReputationKind, string][] = [['ip', ip], ...Array.from(new Set(Array.from(domains, (d) => d.toLowerCase()).filter(Boolean)), (d): [ReputationKind, string] => ['domain', d])];
    for (const [kind, value] of sources) {
      const s = await this.standing(kind, value);
      if (s.override?.action === 'allow') out.push({ name: `REPUTATION_ALLOW_${kind.toUpperCase()}`, score: -this.cfg.maxScore, detail: value });
      else if (s.score > 0) out.push({ name: `REPUTATION_${kind.toUpperCase()}`, score: s.score, detail: `${value}: ${s.spamReporters} users reported spam` });
    }
    return out;
  }

  private async overrideMap(): Promise<Map<string, ReputationOverride>> {
    this.overrides ??= this.store.listReputationOverrides().then((l) => new Map(l.map((o) => [`${o.kind} ${o.value}`, o])));
    return this.overrides;
  }

  private async compute(kind: ReputationKind, value: string): Promise<SourceStanding> {
    const override = (await this.overrideMap()).get(`${kind} ${value}`) ?? null;
    const horizon = reportHorizon(this.cfg, this.now());
    const reports = await this.store.listSpamReports(kind === 'ip' ? { ip: value, since: horizon } : { domain: value, since: horizon });
    return standingFrom(kind, value, reports, override, this.cfg, this.now());
  }
}

/** The arithmetic, separate so it reads (and tests) on its own. */
export function standingFrom(
  kind: ReputationKind,
  value: string,
  reports: SpamReport[],
  override: ReputationOverride | null,
  cfg: SpamConfig['reputation'],
  now: number,
): SourceStanding {
  const halfLife = Math.max(1, cfg.halfLifeDays) * 86_400_000;
  let spam = 0;
  let ham = 0;
  const spamUsers = new Set<number>();
  const hamUsers = new Set<number>();
  let last = 0;
  // After an unblock, only newer reports can block again.
  const blockFrom = override?.action === 'unblock' ? override.at.getTime() : 0;
  const blockingUsers = new Set<number>();
  let blockingSpam = 0;
  for (const r of reports) {
    const w = Math.pow(0.5, Math.max(0, now - r.at.getTime()) / halfLife);
    if (r.verdict === 'spam') {
      spam += w;
      spamUsers.add(r.accountId);
      if (r.at.getTime() >= blockFrom) {
        blockingSpam += w;
        blockingUsers.add(r.accountId);
      }
    } else {
      ham += w;
      hamUsers.add(r.accountId);
    }
    last = Math.max(last, r.at.getTime());
  }
  // A user who reported both ways counts for neither side's distinct-user total.
  for (const u of hamUsers) if (spamUsers.has(u)) { spamUsers.delete(u); hamUsers.delete(u); blockingUsers.delete(u); }
  const net = Math.max(0, spam - ham);
  let score = Math.min(cfg.maxScore, Math.round(net * cfg.scorePerReport * 100) / 100);
  let blocked = blockingUsers.size >= cfg.blockReporters && blockingSpam >= cfg.blockSpamRatio * ham && blockingSpam > 0;
  let reason = blocked ? `reported as spam by ${blockingUsers.size} users (${ham > 0 ? `${hamUsers.size} said not spam` : 'none said not spam'})` : '';
  if (override?.action === 'block') {
    blocked = true;
    reason = `blocked by the administrator${override.reason ? `: ${override.reason}` : ''}`;
  } else if (override?.action === 'allow') {
    blocked = false;
    score = 0;
    reason = '';
  }
  return {
    kind, value, spam: round(spam), ham: round(ham), spamReporters: spamUsers.size, hamReporters: hamUsers.size,
    reports: reports.length, lastReport: last ? new Date(last) : null, override, score, blocked, reason,
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
