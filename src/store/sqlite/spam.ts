// The spam filter's state in SQLite: token databases, trained-message marks, message origins,
// user reports, reputation overrides and the quarantine. Token lookups are one statement per
// message (json_each over the token list), training one transaction per message (or per batch:
// trainMessages).
import type { MessageOrigin, TrainItem, QuarantineEntry, ReputationKind, OverrideAction, ReputationOverride, SpamReport, SpamVerdict, TokenCounts, TokenSnapshot } from '../types.js';
import type { StoreDb } from './db.js';
import { logisticStep, stepScratch } from '../../filter/bayes/logistic.js';

/** Tokens per statement (json_each keeps it one prepared statement whatever the count). */
const LOOKUP_BATCH = 2000;

export function getTokens(ctx: StoreDb, scope: number, tokens: string[]): Map<string, TokenCounts> {
  const out = new Map<string, TokenCounts>();
  for (let i = 0; i < tokens.length; i += LOOKUP_BATCH) {
    const rows = ctx.all<{ token: string; ham: number; spam: number; w: number }>(
      'SELECT token, ham, spam, w FROM spam_tokens WHERE scope = ? AND token IN (SELECT value FROM json_each(?))',
      scope, JSON.stringify(tokens.slice(i, i + LOOKUP_BATCH)),
    );
    for (const r of rows) out.set(r.token, { ham: r.ham, spam: r.spam, w: r.w });
  }
  return out;
}

export function getTotals(ctx: StoreDb, scope: number): TokenCounts {
  const r = ctx.get<{ ham: number; spam: number; bias: number; lr_ham: number; lr_spam: number }>('SELECT ham, spam, bias, lr_ham, lr_spam FROM spam_totals WHERE scope = ?', scope);
  return r ? { ham: r.ham, spam: r.spam, bias: r.bias, lrHam: r.lr_ham, lrSpam: r.lr_spam } : { ham: 0, spam: 0, bias: 0, lrHam: 0, lrSpam: 0 };
}

/** Days since 1970: the unit of a token's last-trained mark. */
export const dayOf = (d: Date): number => Math.floor(d.getTime() / 86_400_000);

/** One logistic step of the global model on a message's distinct tokens (their rows exist: the
 * message was just counted), inside the caller's transaction. `cache` carries a batch's weights
 * from one message to the next, so each token's row is read once per batch; without it they are
 * written at once. */
function logisticTrain(ctx: StoreDb, unique: string[], spam: boolean, prior: number, cache: WeightCache | null): void {
  const own = cache ?? newWeightCache(ctx);
  const missing = unique.filter((t) => !own.rows.has(t));
  for (let i = 0; i < missing.length; i += LOOKUP_BATCH) {
    for (const r of ctx.all<{ token: string; w: number; g2: number }>('SELECT token, w, g2 FROM spam_tokens WHERE scope = 0 AND token IN (SELECT value FROM json_each(?))', JSON.stringify(missing.slice(i, i + LOOKUP_BATCH)))) {
      own.rows.set(r.token, [r.w, r.g2]);
    }
  }
  const { w, g2 } = stepScratch(unique.length);
  for (let i = 0; i < unique.length; i++) { const e = own.rows.get(unique[i]); w[i] = e?.[0] ?? 0; g2[i] = e?.[1] ?? 0; }
  own.bias = logisticStep(w, g2, unique.length, own.bias, spam, prior);
  own.steps[spam ? 1 : 0]++;
  for (let i = 0; i < unique.length; i++) own.rows.set(unique[i], [w[i], g2[i]]);
  if (cache === null) writeWeights(ctx, own);
}

/** A batch's view of the model: the rows read or stepped so far, the bias, and the ham and
 * spam steps taken (to be added to the totals' counts). */
interface WeightCache { rows: Map<string, [number, number]>; bias: number; steps: [number, number] }
const newWeightCache = (ctx: StoreDb): WeightCache => ({ rows: new Map(), bias: getTotals(ctx, 0).bias ?? 0, steps: [0, 0] });
function writeWeights(ctx: StoreDb, c: WeightCache): void {
  for (const [t, [w, g2]] of c.rows) ctx.run('UPDATE spam_tokens SET w = ?, g2 = ? WHERE scope = 0 AND token = ?', w, g2, t);
  ctx.run('UPDATE spam_totals SET bias = ?, lr_ham = lr_ham + ?, lr_spam = lr_spam + ? WHERE scope = 0', c.bias, c.steps[0], c.steps[1]);
}

/** Counts (delta 1) or uncounts (-1) one message's tokens; counting one in the global database is
 * also a training step of its logistic model (uncounting leaves the model: a relabelled message
 * is then counted, and stepped, the other way). */
export function addTokens(ctx: StoreDb, scope: number, tokens: string[], verdict: SpamVerdict, delta: 1 | -1, at: Date, prior = 0, stepModel = true): void {
  const unique = Array.from(new Set(tokens));
  const h = verdict === 'ham' ? delta : 0;
  const s = verdict === 'spam' ? delta : 0;
  const day = dayOf(at);
  ctx.tx(() => {
    for (const t of unique) {
      if (delta > 0) {
        ctx.run('INSERT INTO spam_tokens (scope, token, ham, spam, seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT(scope, token) DO UPDATE SET ham = ham + excluded.ham, spam = spam + excluded.spam, seen = max(seen, excluded.seen)', scope, t, h, s, day);
      } else {
        ctx.run('UPDATE spam_tokens SET ham = max(0, ham + ?), spam = max(0, spam + ?) WHERE scope = ? AND token = ?', h, s, scope, t);
        ctx.run('DELETE FROM spam_tokens WHERE scope = ? AND token = ? AND ham = 0 AND spam = 0', scope, t);
      }
    }
    ctx.run('INSERT INTO spam_totals (scope, ham, spam) VALUES (?, 0, 0) ON CONFLICT(scope) DO NOTHING', scope);
    ctx.run('UPDATE spam_totals SET ham = max(0, ham + ?), spam = max(0, spam + ?), version = version + 1 WHERE scope = ?', h, s, scope);
    if (scope === 0 && delta > 0 && stepModel) logisticTrain(ctx, unique, verdict === 'spam', prior, null);
  });
}

/** Raised by every addTokens of the scope (0 before any). */
export function tokenVersion(ctx: StoreDb, scope: number): number {
  return ctx.get<{ version: number }>('SELECT version FROM spam_totals WHERE scope = ?', scope)?.version ?? 0;
}

/** Every token of the scope, with the totals and version they belong to (one read transaction).
 * Stops and returns null when there are more than `max` tokens. */
export function tokenSnapshot(ctx: StoreDb, scope: number, max: number, each: (token: string, ham: number, spam: number, w: number) => void): TokenSnapshot | null {
  return ctx.read(() => {
    const n = ctx.get<{ n: number }>('SELECT count(*) AS n FROM spam_tokens WHERE scope = ?', scope)!.n;
    if (n > max) return null;
    for (const r of ctx.q('SELECT token, ham, spam, w FROM spam_tokens WHERE scope = ?').raw().iterate(scope) as IterableIterator<[string, number, number, number]>) each(r[0], r[1], r[2], r[3]);
    return { totals: getTotals(ctx, scope), version: tokenVersion(ctx, scope), tokens: n };
  });
}

/** The first day after `after` on which some token of the scope was last trained, or null. */
export function nextTokenDay(ctx: StoreDb, scope: number, after: number): number | null {
  return ctx.get<{ day: number | null }>('SELECT min(seen) AS day FROM spam_tokens WHERE scope = ? AND seen > ?', scope, after)?.day ?? null;
}

/** How many tokens of the scope were last trained on `day`. */
export function tokensOfDay(ctx: StoreDb, scope: number, day: number): number {
  return ctx.get<{ n: number }>('SELECT count(*) AS n FROM spam_tokens WHERE scope = ? AND seen = ?', scope, day)!.n;
}

/** One batch of expiry: up to `limit` tokens of the scope last trained on `day`, seen in at most
 * `maxCount` messages, after `after` in token order (a cursor, so that a pass over one day
 * walks it once), are dropped. Returns how many, and the cursor for the next batch (null when the
 * day has no more such tokens). */
export function dropTokensOfDay(ctx: StoreDb, scope: number, day: number, maxCount: number, after: string, limit: number): { removed: number; next: string | null } {
  return ctx.tx(() => {
    const rows = ctx.all<{ token: string }>(
      'SELECT token FROM spam_tokens INDEXED BY spam_tokens_seen WHERE scope = ? AND seen = ? AND token > ? AND ham + spam <= ? ORDER BY token LIMIT ?',
      scope, day, after, maxCount, limit,
    );
    if (rows.length === 0) return { removed: 0, next: null };
    const removed = ctx.run('DELETE FROM spam_tokens WHERE scope = ? AND token IN (SELECT value FROM json_each(?))', scope, JSON.stringify(rows.map((r) => r.token))).changes;
    return { removed, next: rows.length < limit ? null : rows[rows.length - 1]!.token };
  });
}

/** Marks the scope's database as changed (for copies held in memory) without counting a message. */
export function bumpTokenVersion(ctx: StoreDb, scope: number): void {
  ctx.run('UPDATE spam_totals SET version = version + 1 WHERE scope = ?', scope);
}

/** The token databases trained since their size was last checked. */
export function tokenScopesToCheck(ctx: StoreDb): number[] {
  return ctx.all<{ scope: number }>('SELECT scope FROM spam_totals WHERE version != checked_version ORDER BY scope').map((r) => r.scope);
}

/** Records that the scope's size was checked at `version`. When tokens were dropped the version
 * is raised too (copies held in memory must reload); training meanwhile leaves it unchecked. */
export function markTokensChecked(ctx: StoreDb, scope: number, version: number, dropped: boolean): void {
  if (dropped) {
    ctx.run('UPDATE spam_totals SET checked_version = CASE WHEN version = ? THEN version + 1 ELSE checked_version END, version = version + 1 WHERE scope = ?', version, scope);
  } else ctx.run('UPDATE spam_totals SET checked_version = ? WHERE scope = ?', version, scope);
}

export function markTrained(ctx: StoreDb, scope: number, key: string, verdict: SpamVerdict | null): SpamVerdict | null {
  return ctx.tx(() => {
    const before = ctx.get<{ verdict: SpamVerdict }>('SELECT verdict FROM spam_trained WHERE scope = ? AND key = ?', scope, key);
    if (verdict) ctx.run('INSERT INTO spam_trained (scope, key, verdict, at) VALUES (?, ?, ?, ?) ON CONFLICT(scope, key) DO UPDATE SET verdict = excluded.verdict, at = excluded.at', scope, key, verdict, Date.now());
    else ctx.run('DELETE FROM spam_trained WHERE scope = ? AND key = ?', scope, key);
    return before?.verdict ?? null;
  });
}

/** Many messages' training in one transaction (one commit, so one fsync, for the lot), with the
 * same effect as markTrained and addTokens for each in turn. Messages trained for the first time
 * (nearly all, when seeding a database) are summed per token, so a token common to a hundred of
 * them is written once, and their logistic steps taken in order on a copy of the rows they touch;
 * a message relabelled or forgotten first has those written, then goes through addTokens as it
 * would alone (its uncounting may delete rows, which restarts their weights). Returns how many
 * messages changed. */
export function trainMessages(ctx: StoreDb, scope: number, items: readonly TrainItem[], at: Date, stepModel = true): number {
  return ctx.tx(() => {
    const day = dayOf(at);
    let sum = new Map<string, [number, number]>(); // token -> [ham, spam] of the pending messages
    let pending: TrainItem[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      const total = [0, 0];
      for (const [t, [h, sp]] of sum) {
        ctx.run('INSERT INTO spam_tokens (scope, token, ham, spam, seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT(scope, token) DO UPDATE SET ham = ham + excluded.ham, spam = spam + excluded.spam, seen = max(seen, excluded.seen)', scope, t, h, sp, day);
      }
      for (const it of pending) total[it.verdict === 'ham' ? 0 : 1]++;
      ctx.run('INSERT INTO spam_totals (scope, ham, spam) VALUES (?, 0, 0) ON CONFLICT(scope) DO NOTHING', scope);
      ctx.run('UPDATE spam_totals SET ham = ham + ?, spam = spam + ?, version = version + 1 WHERE scope = ?', total[0], total[1], scope);
      if (scope === 0 && stepModel) {
        // In the batch's order, each message stepping the model as the one before left it.
        const cache = newWeightCache(ctx);
        for (const it of pending) logisticTrain(ctx, [...new Set(it.tokens)], it.verdict === 'spam', it.prior ?? 0, cache);
        writeWeights(ctx, cache);
      }
      sum = new Map();
      pending = [];
    };
    let changed = 0;
    for (const it of items) {
      const prev = markTrained(ctx, scope, it.key, it.verdict);
      if (prev === it.verdict) continue;
      changed++;
      if (prev === null && it.verdict !== null) {
        const side = it.verdict === 'ham' ? 0 : 1;
        for (const t of new Set(it.tokens)) {
          let e = sum.get(t);
          if (e === undefined) sum.set(t, (e = [0, 0]));
          e[side]++;
        }
        pending.push(it);
        continue;
      }
      flush();
      if (prev !== null) addTokens(ctx, scope, it.tokens, prev, -1, at);
      if (it.verdict !== null) addTokens(ctx, scope, it.tokens, it.verdict, 1, at, it.prior ?? 0, stepModel);
    }
    flush();
    return changed;
  });
}

/** Tokens per read of setGlobalModel's walk. */
const MODEL_PAGE = 10_000;

/** Sets the global logistic model: every token's weight and AdaGrad sum from `model` (0 for a
 * token it lacks), the bias and the ham and spam it learnt from. Walks the tokens in pages, in
 * one transaction. Returns the tokens given a weight. */
export function setGlobalModel(ctx: StoreDb, model: (token: string) => [number, number] | undefined, bias: number, steps: { ham: number; spam: number }): number {
  return ctx.tx(() => {
    let after = '';
    let set = 0;
    for (;;) {
      const rows = ctx.all<{ token: string }>('SELECT token FROM spam_tokens WHERE scope = 0 AND token > ? ORDER BY token LIMIT ?', after, MODEL_PAGE);
      for (const { token } of rows) {
        const m = model(token);
        if (m !== undefined) set++;
        ctx.run('UPDATE spam_tokens SET w = ?, g2 = ? WHERE scope = 0 AND token = ?', m?.[0] ?? 0, m?.[1] ?? 0, token);
      }
      if (rows.length < MODEL_PAGE) break;
      after = rows[rows.length - 1]!.token;
    }
    ctx.run('INSERT INTO spam_totals (scope, ham, spam) VALUES (0, 0, 0) ON CONFLICT(scope) DO NOTHING');
    ctx.run('UPDATE spam_totals SET bias = ?, lr_ham = ?, lr_spam = ?, version = version + 1 WHERE scope = 0', bias, steps.ham, steps.spam);
    return set;
  });
}

/** Inside the delivery transaction. */
export function putOrigin(ctx: StoreDb, emailId: number, o: MessageOrigin): void {
  ctx.run(
    'INSERT OR REPLACE INTO email_origins (email_id, ip, helo, mail_from, from_domain, dkim_domains, from_auth) VALUES (?, ?, ?, ?, ?, ?, ?)',
    emailId, o.ip, o.helo, o.mailFrom, o.fromDomain, JSON.stringify(o.dkimDomains), o.fromAuth ?? '',
  );
}

interface OriginRow { ip: string; helo: string; mail_from: string; from_domain: string; dkim_domains: string; from_auth: string }
const toOrigin = (r: OriginRow): MessageOrigin => ({
  ip: r.ip, helo: r.helo, mailFrom: r.mail_from, fromDomain: r.from_domain, dkimDomains: JSON.parse(r.dkim_domains) as string[],
  ...(r.from_auth ? { fromAuth: r.from_auth } : {}),
});

export function getEmailOrigin(ctx: StoreDb, accountId: number, emailId: number): MessageOrigin | null {
  const r = ctx.get<OriginRow>(
    'SELECT o.* FROM email_origins o JOIN emails e ON e.id = o.email_id WHERE o.email_id = ? AND e.account_id = ?',
    emailId, accountId,
  );
  return r ? toOrigin(r) : null;
}

interface ReportRow { account_id: number; email_key: string; verdict: SpamVerdict; at: number; ip: string | null; mail_from_domain: string | null; from_domain: string | null; dkim_domain: string | null }
const toReport = (r: ReportRow): SpamReport => ({
  accountId: r.account_id, emailKey: r.email_key, verdict: r.verdict, at: new Date(r.at),
  ip: r.ip, mailFromDomain: r.mail_from_domain, fromDomain: r.from_domain, dkimDomain: r.dkim_domain,
});

export function putSpamReport(ctx: StoreDb, r: SpamReport): SpamVerdict | null {
  return ctx.tx(() => {
    const before = ctx.get<{ verdict: SpamVerdict }>('SELECT verdict FROM spam_reports WHERE account_id = ? AND email_key = ?', r.accountId, r.emailKey);
    ctx.run(
      `INSERT OR REPLACE INTO spam_reports (account_id, email_key, verdict, at, ip, mail_from_domain, from_domain, dkim_domain)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      r.accountId, r.emailKey, r.verdict, r.at.getTime(), r.ip, r.mailFromDomain, r.fromDomain, r.dkimDomain,
    );
    return before?.verdict ?? null;
  });
}

export function listSpamReports(ctx: StoreDb, f: { ip?: string; domain?: string; since?: Date; limit?: number }): SpamReport[] {
  const since = f.since?.getTime() ?? 0;
  const limit = Math.max(1, Math.min(f.limit ?? 100_000, 1_000_000));
  if (f.ip !== undefined) {
    return ctx.all<ReportRow>('SELECT * FROM spam_reports WHERE ip = ? AND at >= ? ORDER BY at DESC LIMIT ?', f.ip, since, limit).map(toReport);
  }
  if (f.domain !== undefined) {
    const d = f.domain;
    return ctx.all<ReportRow>(
      `SELECT * FROM spam_reports WHERE (mail_from_domain = ? OR from_domain = ? OR dkim_domain = ?) AND at >= ? ORDER BY at DESC LIMIT ?`,
      d, d, d, since, limit,
    ).map(toReport);
  }
  return ctx.all<ReportRow>('SELECT * FROM spam_reports WHERE at >= ? ORDER BY at DESC LIMIT ?', since, limit).map(toReport);
}

export function setReputationOverride(ctx: StoreDb, kind: ReputationKind, value: string, action: OverrideAction | null, reason: string): void {
  if (action) {
    ctx.run('INSERT OR REPLACE INTO reputation_overrides (kind, value, action, reason, at) VALUES (?, ?, ?, ?, ?)', kind, value, action, reason, Date.now());
  } else {
    ctx.run('DELETE FROM reputation_overrides WHERE kind = ? AND value = ?', kind, value);
  }
}

export function listReputationOverrides(ctx: StoreDb): ReputationOverride[] {
  return ctx.all<{ kind: ReputationKind; value: string; action: OverrideAction; reason: string; at: number }>(
    'SELECT * FROM reputation_overrides ORDER BY kind, value',
  ).map((r) => ({ kind: r.kind, value: r.value, action: r.action, reason: r.reason, at: new Date(r.at) }));
}

interface QuarantineRow {
  id: number; account_id: number; at: number; expires_at: number; mail_from: string; rcpt: string; subject: string;
  from_display: string; score: number; reasons: string; origin: string | null; size: number;
}
const QCOLS = 'id, account_id, at, expires_at, mail_from, rcpt, subject, from_display, score, reasons, origin, length(raw) AS size';
const toEntry = (r: QuarantineRow): QuarantineEntry => ({
  id: r.id, accountId: r.account_id, at: new Date(r.at), expiresAt: new Date(r.expires_at), mailFrom: r.mail_from, rcpt: r.rcpt,
  subject: r.subject, from: r.from_display, score: r.score, reasons: r.reasons, size: r.size,
  origin: r.origin ? (JSON.parse(r.origin) as MessageOrigin) : null,
});

export function quarantine(ctx: StoreDb, e: Omit<QuarantineEntry, 'id' | 'size'>, raw: Buffer): number {
  return ctx.tx(() => ctx.get<{ id: number }>(
    `INSERT INTO quarantine (account_id, at, expires_at, mail_from, rcpt, subject, from_display, score, reasons, origin, raw)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    e.accountId, e.at.getTime(), e.expiresAt.getTime(), e.mailFrom, e.rcpt, e.subject, e.from, e.score, e.reasons,
    e.origin ? JSON.stringify(e.origin) : null, raw,
  )!.id);
}

export function listQuarantine(ctx: StoreDb, opts: { accountId?: number }): QuarantineEntry[] {
  const rows = opts.accountId !== undefined
    ? ctx.all<QuarantineRow>(`SELECT ${QCOLS} FROM quarantine WHERE account_id = ? ORDER BY at, id`, opts.accountId)
    : ctx.all<QuarantineRow>(`SELECT ${QCOLS} FROM quarantine ORDER BY at, id`);
  return rows.map(toEntry);
}

export function getQuarantined(ctx: StoreDb, id: number): { entry: QuarantineEntry; raw: Buffer } | null {
  const r = ctx.get<QuarantineRow & { raw: Buffer }>(`SELECT ${QCOLS}, raw FROM quarantine WHERE id = ?`, id);
  return r ? { entry: toEntry(r), raw: r.raw } : null;
}

export function removeQuarantined(ctx: StoreDb, ids: number[]): number {
  return ctx.tx(() => ids.reduce((n, id) => n + ctx.run('DELETE FROM quarantine WHERE id = ?', id).changes, 0));
}

/** What the user last said of mail from this (authenticated) sender; kept until the account goes. */
export function setSenderVerdict(ctx: StoreDb, accountId: number, address: string, verdict: SpamVerdict, at: Date): void {
  ctx.run(
    'INSERT INTO sender_verdicts (account_id, address, verdict, at) VALUES (?, ?, ?, ?) ON CONFLICT(account_id, address) DO UPDATE SET verdict = excluded.verdict, at = excluded.at WHERE excluded.at >= at',
    accountId, address, verdict, at.getTime(),
  );
}

export function senderVerdict(ctx: StoreDb, accountId: number, address: string): SpamVerdict | null {
  return ctx.get<{ verdict: SpamVerdict }>('SELECT verdict FROM sender_verdicts WHERE account_id = ? AND address = ?', accountId, address)?.verdict ?? null;
}

export function purgeSpamReports(ctx: StoreDb, before: Date): number {
  return ctx.run('DELETE FROM spam_reports WHERE at < ?', before.getTime()).changes;
}

export function purgeQuarantine(ctx: StoreDb, now: Date): number {
  return ctx.run('DELETE FROM quarantine WHERE expires_at <= ?', now.getTime()).changes;
}
