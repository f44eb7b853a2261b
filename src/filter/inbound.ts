// The spam filter as the MX sees it: one object with a hook per SMTP step. At connect and in the
// envelope, the door (lists, reputation, DNS blocklists, HELO, greylisting) may refuse; at DATA,
// before the 250, every signal (door, SPF/DKIM/DMARC/ARC, rules, Bayes per recipient,
// reputation, what the recipient showed of the sender) is combined into a score per
// recipient, and the message is refused (and kept in quarantine), delivered to Junk, or
// delivered to the Inbox.
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Resolver } from '../dns/resolver.js';
import type { MessageOrigin, Store } from '../store/types.js';
import { parseMessage } from '../mime/index.js';
import { Door, type DoorResult, type Refusal, type Signal } from './door/index.js';
import { Reputation } from './reputation/reputation.js';
import { authenticateMessage, startSpf, removeForgedResults, removeSpamVerdictFields, removeReturnPathFields, type SpfCheck } from './auth/index.js';
import { ContentFilter, decide, type Verdict } from './verdict.js';
import type { AnalysisPool } from './analysis/pool.js';
import { authenticatedFrom, senderSignals } from './correspondents.js';

export type { Refusal, Signal };

/** What the door learnt about one SMTP session. */
export interface DoorState {
  ip: string;
  connect: DoorResult;
  /** Signals gathered so far (connect, HELO) for every message of the session. */
  signals: Signal[];
  allowListed: boolean;
  heloChecked: string | null;
  /** SPF started when the transaction's first recipient was accepted, for that HELO name and sender. */
  spf?: { helo: string; mailFrom: string; check: Promise<SpfCheck> };
}

export interface JudgeInput {
  door: DoorState;
  /** The message data as received (no trace fields yet). */
  data: Buffer;
  /** Our trace fields (Return-Path, Received) as they will be stored before the data. */
  trace?: string;
  helo: string;
  mailFrom: string;
  recipients: { rcpt: string; account: string }[];
  queueId: string;
}

export interface Judgement {
  refuse: Refusal | null;
  /** The data with forged Authentication-Results fields removed. */
  data: Buffer;
  /** Header fields to add for every recipient (Authentication-Results), CRLF-terminated. */
  headers: string;
  origin: MessageOrigin;
  /** Per recipient, in input order. */
  recipients: { junk: boolean; headers: string }[];
}

/** Per-recipient Bayes lookups are bounded; the rest share the global judgement. */
const MAX_PERSONAL_RECIPIENTS = 20;

export class InboundFilter {
  readonly door: Door;
  readonly reputation: Reputation;

  constructor(
    private readonly config: Config,
    private readonly store: Store,
    private readonly resolver: Resolver,
    readonly content: ContentFilter,
    private readonly logger: Logger,
    /** Where content is analysed (null: on this thread). */
    private readonly analysis: AnalysisPool | null = null,
  ) {
    this.reputation = new Reputation(store, config.spam.reputation);
    this.door = new Door(config.spam, resolver, {
      ourHostnames: [config.hostname],
      isBlocked: (ip) => this.reputation.blockedIp(ip),
    });
  }

  async connect(ip: string, clientHostname: string): Promise<DoorState & { refuse: Refusal | null }> {
    const r = await this.door.connect(ip, clientHostname);
    return { ip, connect: r, signals: [...r.signals], allowListed: r.allowListed, heloChecked: null, refuse: r.refuse };
  }

  async mailFrom(state: DoorState, helo: string, from: string): Promise<Refusal | null> {
    if (state.heloChecked !== helo) {
      // The HELO name is judged once per name (a client may send EHLO again after STARTTLS).
      state.signals = state.signals.filter((s) => !s.name.startsWith('helo_'));
      const h = this.door.helo(state.ip, helo, state.connect);
      if (h.refuse) return h.refuse;
      state.signals.push(...h.signals);
      state.heloChecked = helo;
    }
    const m = this.door.mailFrom(state.ip, from, state.connect);
    if (m.refuse) return m.refuse;
    if (!state.allowListed) {
      const blocked = await this.failOpen('reputation', this.reputation.blockedDomain([domainOf(from)]), null);
      if (blocked) return { code: 554, enhanced: '5.7.1', message: `Sender domain ${blocked.domain} blocked: ${blocked.reason}` };
    }
    return null;
  }

  /** A recipient was accepted: SPF, which needs only the envelope, starts now (once per
   * transaction), so its lookups run while DATA is exchanged instead of delaying the 250.
   * Not earlier: a transaction whose recipients are all refused costs no lookups. */
  recipientAccepted(state: DoorState, helo: string, from: string): void {
    if (state.spf !== undefined && state.spf.helo === helo && state.spf.mailFrom === from) return;
    const check = startSpf({ ip: state.ip, helo, mailFrom: from, hostname: this.config.hostname, resolver: this.resolver });
    check.catch(() => undefined); // judged at DATA, or dropped if the client never gets there
    state.spf = { helo, mailFrom: from, check };
  }

  async rcpt(state: DoorState, from: string, rcpt: string, helo = ''): Promise<Refusal | null> {
    const r = await this.door.rcpt(state.ip, helo, from, rcpt, state.connect);
    return r.refuse;
  }

  async judge(input: JudgeInput): Promise<Judgement> {
    const { config } = this;
    const { door } = input;
    const cfg = config.spam;
    const started = performance.now();
    const data = removeReturnPathFields(removeSpamVerdictFields(removeForgedResults(input.data, config.hostname)));
    const parsed = parseMessage(data);
    const early = door.spf !== undefined && door.spf.helo === input.helo && door.spf.mailFrom === input.mailFrom ? door.spf.check : undefined;
    const auth = await authenticateMessage({
      raw: data, ip: door.ip, helo: input.helo, mailFrom: input.mailFrom, hostname: config.hostname, resolver: this.resolver, spf: early,
      fromDomains: parsed.from.filter((a) => a.address.includes('@')).map((a) => a.address.slice(a.address.lastIndexOf('@') + 1)),
    });
    const fromDomain = (parsed.from[0]?.address ?? '').split('@')[1]?.toLowerCase() ?? '';
    const dkimDomains = auth.dkim.filter((d) => d.result === 'pass').map((d) => d.domain);
    const sender = authenticatedFrom(parsed.from.map((a) => a.address), auth);
    const origin: MessageOrigin = { ip: door.ip, helo: input.helo, mailFrom: input.mailFrom, fromDomain, dkimDomains, ...(sender ? { fromAuth: sender } : {}) };
    const headers = auth.header;
    const base = (j: Partial<Judgement>): Judgement => ({ refuse: null, data, headers, origin, recipients: input.recipients.map(() => ({ junk: false, headers: '' })), ...j });

    if (door.allowListed) return base({});
    if (auth.dmarcReject && cfg.honorDmarcReject) {
      return base({ refuse: { code: 550, enhanced: '5.7.1', message: `Message rejected by the DMARC policy of ${auth.dmarc.domain}` } });
    }
    const blocked = await this.failOpen('reputation', this.reputation.blockedDomain([fromDomain, ...dkimDomains]), null);
    if (blocked) return base({ refuse: { code: 554, enhanced: '5.7.1', message: `Sender domain ${blocked.domain} blocked: ${blocked.reason}` } });

    const shared: Signal[] = [
      ...door.signals,
      ...auth.signals,
      ...(await this.failOpen('reputation', this.reputation.signals(door.ip, [domainOf(input.mailFrom), fromDomain, ...dkimDomains]), [])),
    ];
    // The content as it will be stored (our trace fields and Authentication-Results before the
    // data): as corpora hold mail, as reports train on it, and as the rules about the relay's
    // HELO and the newest Received expect it.
    const asStored = Buffer.concat([Buffer.from((input.trace ?? '') + headers), data]);
    const content = this.analysis === null ? this.content.analyse(asStored, parseMessage(asStored)) : await this.analysis.analyse(asStored);
    if (content === null) this.logger.warn({ id: input.queueId, ip: door.ip, bytes: asStored.length }, 'content not analysed in time; judged without it');
    const contentSignals: Signal[] = content === null
      ? [{ name: 'CONTENT_UNCHECKED', score: cfg.analysis.uncheckedScore, detail: `not analysed within ${cfg.analysis.timeoutMs} ms` }]
      : content.rules;
    const verdicts: Verdict[] = [];
    const byAccount = new Map<string, Verdict>();
    for (const r of input.recipients) {
      let v = byAccount.get(r.account);
      if (!v) {
        const account = byAccount.size < MAX_PERSONAL_RECIPIENTS ? await this.failOpen('account', this.store.getAccount(r.account), null) : null;
        const judged = content === null ? contentSignals : await this.failOpen('bayes', this.content.judgeContent(content.rules, content.tokens, account?.id ?? null), contentSignals);
        const history = account === null ? [] : await this.failOpen('sender history', senderSignals({
          wroteTo: (a) => this.store.hasWrittenTo(account.id, a),
          verdict: (a) => this.store.senderVerdict(account.id, a),
        }, sender, cfg.scores), []);
        const signals = [...shared, ...judged, ...history];
        v = decide(signals, cfg.thresholds, content?.refuse ?? false);
        byAccount.set(r.account, v);
      }
      verdicts.push(v);
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    this.logger.info({ id: input.queueId, ip: door.ip, ms, scores: verdicts.map((v) => v.score), spf: auth.spf.result, dkim: dkimDomains, dmarc: auth.dmarc.result }, 'message judged');

    if (verdicts.length > 0 && verdicts.every((v) => v.verdict === 'reject')) {
      // Refused only once a copy is safe in quarantine; if that fails it goes to Junk instead.
      const kept = await this.quarantine(input, data, headers, parsed.subject ?? '', parsed.from[0]?.address ?? '', origin, verdicts).then(
        () => true,
        (e) => (this.logger.error({ id: input.queueId, err: (e as Error).message }, 'quarantine failed; delivering to Junk'), false),
      );
      const top = verdicts[0]!;
      if (kept) return base({ refuse: { code: 550, enhanced: '5.7.1', message: `Message refused as spam (score ${top.score.toFixed(1)})` } });
    }
    return base({
      recipients: verdicts.map((v) => ({
        junk: v.verdict !== 'ham',
        headers: spamHeaders(v, cfg.thresholds.junk),
      })),
    });
  }

  /** The filter's own state (reputation, tokens) being unavailable must not stop mail: the
   * signal is skipped and the message judged on the rest. */
  private failOpen<T>(what: string, p: Promise<T>, fallback: T): Promise<T> {
    return p.catch((e) => {
      this.logger.warn({ err: (e as Error).message, what }, 'spam filter check skipped');
      return fallback;
    });
  }

  /** Refused messages are kept (per recipient) so a false positive can be released. */
  private async quarantine(input: JudgeInput, data: Buffer, headers: string, subject: string, from: string, origin: MessageOrigin, verdicts: Verdict[]): Promise<void> {
    const now = Date.now();
    const expires = now + this.config.spam.quarantineDays * 86_400_000;
    for (let i = 0; i < input.recipients.length; i++) {
      const r = input.recipients[i]!;
      const account = await this.store.getAccount(r.account);
      if (!account) continue;
      const v = verdicts[i]!;
      const raw = Buffer.concat([Buffer.from(headers + spamHeaders(v, this.config.spam.thresholds.junk)), data]);
      const id = await this.store.quarantine({
        accountId: account.id, at: new Date(now), expiresAt: new Date(expires), mailFrom: input.mailFrom, rcpt: r.rcpt,
        subject: subject.slice(0, 500), from: from.slice(0, 300), score: v.score, reasons: describe(v.signals).slice(0, 2000), origin,
      }, raw);
      this.logger.info({ id: input.queueId, quarantine: id, account: r.account, score: v.score }, 'message quarantined');
    }
  }
}

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at > 0 ? address.slice(at + 1).toLowerCase() : '';
}

function describe(signals: Signal[]): string {
  return signals.filter((s) => s.score !== 0).map((s) => `${s.name}=${Math.round(s.score * 100) / 100}`).join(' ');
}

/** X-Spam-Status / X-Spam-Score in the form mail programs' filters already know. */
export function spamHeaders(v: Verdict, required: number): string {
  const tests = v.signals.filter((s) => s.score !== 0).map((s) => s.name.replace(/[^A-Za-z0-9_.:-]/g, '_')).join(',') || 'none';
  const status = `${v.verdict === 'ham' ? 'No' : 'Yes'}, score=${v.score.toFixed(1)} required=${required.toFixed(1)} tests=${tests}`;
  return `X-Spam-Status: ${fold(status)}\r\nX-Spam-Score: ${v.score.toFixed(1)}\r\n`;
}

/** Folds a long header value at commas (RFC 5322 line length). */
function fold(value: string): string {
  const out: string[] = [];
  let line = '';
  for (const part of value.split(/(?<=,)/)) {
    if (line.length + part.length > 900 && line) {
      out.push(line);
      line = '\t' + part;
    } else line += part;
  }
  out.push(line);
  return out.join('\r\n');
}
