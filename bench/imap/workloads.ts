// The IMAP workloads, run the same way against any server.
import { ImapClient, quote, type Reply } from './client.js';
import { rng } from './messages.js';
import type { BenchUser, ImapTarget } from './target.js';
import { machineBusySeconds } from './proc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function exists(sel: Reply): number {
  for (const l of sel.lines) {
    const m = /^\* (\d+) EXISTS/i.exec(l);
    if (m) return Number(m[1]);
  }
  throw new Error('SELECT without EXISTS: ' + sel.lines.join(' | ').slice(0, 500));
}

function responseCode(sel: Reply, code: string): number | null {
  const re = new RegExp(`\\[${code} (\\d+)\\]`, 'i');
  for (const l of [...sel.lines, sel.text]) {
    const m = re.exec(l);
    if (m) return Number(m[1]);
  }
  return null;
}

async function login(port: number, user: BenchUser, localAddress?: string): Promise<ImapClient> {
  const c = await ImapClient.connect(port, { localAddress });
  await c.ok(`LOGIN ${quote(user.address)} ${quote(user.password)}`);
  return c;
}

/** Generator, server and other processes' CPU over a measured window (100 % = one core). */
export class CpuWindow {
  private readonly own = process.cpuUsage();
  private readonly server: number;
  private readonly machine = machineBusySeconds();
  private readonly t = performance.now();
  constructor(private readonly target: ImapTarget) {
    this.server = target.cpuSeconds();
  }
  end(): { wallS: number; generatorCpuPct: number; serverCpuPct: number; serverCpuS: number; otherCpuPct: number } {
    const wallS = (performance.now() - this.t) / 1000;
    const u = process.cpuUsage(this.own);
    const genS = (u.user + u.system) / 1e6;
    const serverCpuS = this.target.cpuSeconds() - this.server;
    const machineS = machineBusySeconds() - this.machine;
    const pct = (x: number) => Math.round((x / wallS) * 1000) / 10;
    return {
      wallS: r2(wallS),
      generatorCpuPct: pct(genS),
      serverCpuPct: pct(serverCpuS),
      serverCpuS: r2(serverCpuS),
      otherCpuPct: Math.max(0, pct(machineS - genS - serverCpuS)),
    };
  }
}

/** Waits (up to maxWaitS) until other processes have used under 15 % of a core for 3 seconds
 * in a row: on a shared machine, measure in a quiet moment. Returns the seconds waited. */
export async function waitForQuiet(target: ImapTarget, maxWaitS = 90): Promise<{ waitedS: number; quiet: boolean }> {
  const t0 = performance.now();
  let calm = 0;
  while ((performance.now() - t0) / 1000 < maxWaitS) {
    const w = new CpuWindow(target);
    await sleep(1000);
    calm = w.end().otherCpuPct < 15 ? calm + 1 : 0;
    if (calm >= 3) return { waitedS: r2((performance.now() - t0) / 1000), quiet: true };
  }
  return { waitedS: r2((performance.now() - t0) / 1000), quiet: false };
}

// ---------------------------------------------------------------------------------------------
// 1. The mix

export const MIX_COMMANDS = ['LOGIN', 'SELECT', 'FETCH 50 (FLAGS ENVELOPE)', 'FETCH BODY.PEEK[]', 'STORE \\Seen', 'UID SEARCH', 'IDLE/DONE', 'LOGOUT'] as const;
type MixCommand = (typeof MIX_COMMANDS)[number];

// ASCII surnames and words that occur in the generated From fields
const FROM_TERMS = ['Berg', 'Dahl', 'Hansen', 'Jensen', 'Lind', 'Olsen', 'Rossi', 'Wang', 'Fischer', 'Costa'];

export interface MixOptions {
  clients: number;
  durationS: number;
  warmupS: number;
  user: BenchUser;
  seed: number;
  /** Keep each client's connection (one LOGIN, no LOGOUT) and loop SELECT..IDLE on it. */
  persistent?: boolean;
  /** SEARCH FROM in 1 of 5 sessions (default); false: always SEARCH UNSEEN. */
  fromSearch?: boolean;
}

export interface MixResult {
  persistent: boolean;
  fromSearch: boolean;
  clients: number;
  durationS: number;
  ops: number;
  opsPerSec: number;
  sessions: number;
  sessionsPerSec: number;
  errors: number;
  firstErrors: string[];
  latencyMs: Record<string, { count: number; p50: number; p99: number; mean: number }>;
  mailboxMessages: number;
  generatorCpuPct: number;
  serverCpuPct: number;
  /** CPU used by other processes on the machine meanwhile (noise: should be near 0). */
  otherCpuPct: number;
  /** Server CPU milliseconds per operation (efficiency, independent of the generator's share). */
  serverCpuMsPerOp: number;
}

/**
 * N clients, each looping sessions (persistent: one connection per client, LOGIN once, then
 * sessions of SELECT..IDLE/DONE on it, as desktop and mobile clients that stay connected do): connect, LOGIN, SELECT INBOX, FETCH a:b (FLAGS ENVELOPE) of
 * 50 consecutive messages at a random place, FETCH n BODY.PEEK[] of one of them, STORE n
 * +FLAGS (\Seen) (-FLAGS in 1 of 5 sessions: "mark as unread", which keeps the unseen share
 * steady at the initial ~20 %), UID SEARCH UNSEEN (UID SEARCH FROM "<surname>" in 1 of 5
 * sessions), IDLE then DONE as soon as the server says "+", LOGOUT. Every command is one op.
 * Runs warmupS seconds unmeasured, then durationS seconds measured.
 */
export async function runMix(target: ImapTarget, o: MixOptions): Promise<MixResult> {
  const lat = new Map<MixCommand, number[]>(MIX_COMMANDS.map((c) => [c, []]));
  let measuring = false;
  let stopping = false;
  let ops = 0;
  let sessions = 0;
  let errors = 0;
  let mailboxMessages = 0;
  const firstErrors: string[] = [];

  const timed = async <T>(cmd: MixCommand, p: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await p();
    if (measuring) {
      lat.get(cmd)!.push(performance.now() - t);
      ops++;
    }
    return r;
  };

  const client = async (n: number) => {
    const rand = rng(o.seed * 7919 + n);
    let session = 0;
    let c: ImapClient | null = null;
    while (!stopping) {
      session++;
      try {
        if (!c || !o.persistent) {
          c = await ImapClient.connect(target.port);
          const cc = c;
          const login = () => cc.ok(`LOGIN ${quote(o.user.address)} ${quote(o.user.password)}`, false);
          if (o.persistent) await login();
          else await timed('LOGIN', login);
        }
        const cc = c;
        const sel = await timed('SELECT', () => cc.ok('SELECT INBOX'));
        const total = exists(sel);
        mailboxMessages = total;
        if (total < 1) throw new Error('empty mailbox');
        const a = 1 + Math.floor(rand() * Math.max(1, total - 49));
        const b = Math.min(total, a + 49);
        const f = await timed('FETCH 50 (FLAGS ENVELOPE)', () => cc.ok(`FETCH ${a}:${b} (FLAGS ENVELOPE)`, false));
        if (f.fetches < b - a + 1) throw new Error(`FETCH ${a}:${b} returned ${f.fetches} FETCH responses`);
        const m = a + Math.floor(rand() * (b - a + 1));
        const body = await timed('FETCH BODY.PEEK[]', () => cc.ok(`FETCH ${m} BODY.PEEK[]`, false));
        if (body.literalBytes < 100) throw new Error(`FETCH ${m} BODY.PEEK[] returned ${body.literalBytes} octets of literal`);
        const unread = rand() < 0.2;
        await timed('STORE \\Seen', () => cc.ok(`STORE ${m} ${unread ? '-' : '+'}FLAGS (\\Seen)`, false));
        const search = o.fromSearch !== false && session % 5 === 0 ? `UID SEARCH FROM ${quote(FROM_TERMS[Math.floor(rand() * FROM_TERMS.length)]!)}` : 'UID SEARCH UNSEEN';
        const s = await timed('UID SEARCH', () => cc.ok(search));
        if (!s.lines.some((l) => /^\* SEARCH/i.test(l))) throw new Error(`${search}: no * SEARCH response`);
        await timed('IDLE/DONE', async () => {
          await cc.idle();
          return cc.done();
        });
        if (!o.persistent) {
          await timed('LOGOUT', () => cc.logout());
          c = null;
        }
        if (measuring) sessions++;
      } catch (e) {
        c?.destroy();
        c = null;
        if (stopping && !measuring) break;
        errors++;
        if (firstErrors.length < 5) firstErrors.push(`client ${n} session ${session}: ${(e as Error).message}`);
        await sleep(100);
      }
    }
    if (c) await c.logout().catch(() => c!.destroy());
  };

  const running = Array.from({ length: o.clients }, (_, n) => client(n));
  await sleep(o.warmupS * 1000);
  measuring = true;
  const cpu = new CpuWindow(target);
  const t0 = performance.now();
  await sleep(o.durationS * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpuStats = cpu.end();
  stopping = true;
  await Promise.all(running);

  const latencyMs: MixResult['latencyMs'] = {};
  for (const [cmd, a] of lat) {
    if (!a.length) continue;
    a.sort((x, y) => x - y);
    latencyMs[cmd] = { count: a.length, p50: r2(percentile(a, 50)), p99: r2(percentile(a, 99)), mean: r2(a.reduce((s, x) => s + x, 0) / (a.length || 1)) };
  }
  return {
    persistent: o.persistent === true,
    fromSearch: o.fromSearch !== false,
    clients: o.clients,
    durationS: r2(elapsed),
    ops,
    opsPerSec: Math.round(ops / elapsed),
    sessions,
    sessionsPerSec: r2(sessions / elapsed),
    errors,
    firstErrors,
    latencyMs,
    mailboxMessages,
    generatorCpuPct: cpuStats.generatorCpuPct,
    serverCpuPct: cpuStats.serverCpuPct,
    otherCpuPct: cpuStats.otherCpuPct,
    serverCpuMsPerOp: ops ? r2((cpuStats.serverCpuS * 1000) / ops) : NaN,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Flag sync of a large mailbox

export interface FlagSyncResult {
  messages: number;
  runs: { totalMs: number; selectMs: number; fetchMs: number }[];
  medianMs: number;
  medianSelectMs: number;
  medianFetchMs: number;
  /** FETCH responses of the last run. */
  fetchResponses: number;
  generatorCpuPct: number;
  serverCpuPct: number;
  otherCpuPct: number;
}

/** LOGIN (untimed), then SELECT INBOX + UID FETCH 1:* (FLAGS) until the tagged OK, `runs` times. */
export async function runFlagSync(target: ImapTarget, user: BenchUser, runs: number): Promise<FlagSyncResult> {
  const out: FlagSyncResult['runs'] = [];
  let messages = 0;
  let fetchResponses = 0;
  const cpu = new CpuWindow(target);
  for (let i = 0; i < runs; i++) {
    const c = await login(target.port, user);
    const t0 = performance.now();
    const sel = await c.ok('SELECT INBOX');
    const t1 = performance.now();
    const f = await c.ok('UID FETCH 1:* (FLAGS)', false);
    const t2 = performance.now();
    messages = exists(sel);
    fetchResponses = f.fetches;
    if (f.fetches < messages) throw new Error(`UID FETCH 1:* (FLAGS) returned ${f.fetches} FETCH responses for ${messages} messages`);
    out.push({ totalMs: r2(t2 - t0), selectMs: r2(t1 - t0), fetchMs: r2(t2 - t1) });
    await c.logout();
  }
  const c = cpu.end();
  return {
    messages,
    runs: out,
    medianMs: r2(median(out.map((r) => r.totalMs))),
    medianSelectMs: r2(median(out.map((r) => r.selectMs))),
    medianFetchMs: r2(median(out.map((r) => r.fetchMs))),
    fetchResponses,
    generatorCpuPct: c.generatorCpuPct,
    serverCpuPct: c.serverCpuPct,
    otherCpuPct: c.otherCpuPct,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. CONDSTORE/QRESYNC resync after 100 changes

/** Number of UIDs in an IMAP sequence set such as "1:3,7,9:10". */
export function uidSetMembers(set: string): number[] {
  const out: number[] = [];
  for (const part of set.split(',')) {
    const [a, b] = part.split(':');
    const x = Number(a);
    const y = b === undefined ? x : Number(b);
    for (let u = Math.min(x, y); u <= Math.max(x, y); u++) out.push(u);
  }
  return out;
}

function uidSet(uids: number[]): string {
  const s = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}:${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface ResyncResult {
  rounds: { ms: number; fetchLines: number; vanished: number; changedFound: number; expungedFound: number }[];
  medianMs: number;
  flagChanges: number;
  expunges: number;
  /** Every round reported all 80 flag changes and all 20 expunges. */
  complete: boolean;
  problems: string[];
}

async function enableQresync(c: ImapClient): Promise<void> {
  const r = await c.ok('ENABLE QRESYNC');
  if (!r.lines.some((l) => /^\* ENABLED\b.*\bQRESYNC\b/i.test(l))) throw new Error('ENABLE QRESYNC: no "* ENABLED QRESYNC" (' + r.lines.join(' | ') + ')');
}

/**
 * Client A enables QRESYNC, selects INBOX and remembers UIDVALIDITY and HIGHESTMODSEQ; client B
 * then makes 100 changes (80 single-message UID STORE toggling \Flagged, 20 messages set
 * \Deleted and removed with UID EXPUNGE); client A reconnects with SELECT INBOX (QRESYNC
 * (uidvalidity modseq)), timed until the tagged OK, and its FETCH and VANISHED (EARLIER)
 * responses are checked against the 100 changes.
 */
export async function runResync(target: ImapTarget, user: BenchUser, rounds: number, seed: number): Promise<ResyncResult> {
  const rand = rng(seed);
  const out: ResyncResult['rounds'] = [];
  const problems: string[] = [];
  for (let round = 0; round < rounds; round++) {
    // A: the state it will resynchronise from
    const a = await login(target.port, user);
    await enableQresync(a);
    const sel = await a.ok('SELECT INBOX');
    const validity = responseCode(sel, 'UIDVALIDITY');
    const modseq = responseCode(sel, 'HIGHESTMODSEQ');
    if (validity === null || modseq === null) throw new Error(`SELECT with QRESYNC enabled gave no UIDVALIDITY/HIGHESTMODSEQ: ${sel.lines.join(' | ').slice(0, 600)}`);
    const all = await a.ok('UID SEARCH ALL');
    const uids = all.lines.filter((l) => /^\* SEARCH/i.test(l)).flatMap((l) => l.split(' ').slice(2).map(Number));
    await a.logout();
    if (uids.length < 200) throw new Error('mailbox too small for the resync test');

    // B: 100 changes
    const pick = new Set<number>();
    while (pick.size < 100) pick.add(uids[Math.floor(rand() * uids.length)]!);
    const chosen = [...pick];
    const flagged = chosen.slice(0, 80);
    const expunged = chosen.slice(80);
    const b = await login(target.port, user);
    await b.ok('SELECT INBOX', false);
    const cur = await b.ok(`UID FETCH ${uidSet(flagged)} (UID FLAGS)`);
    const isFlagged = new Map<number, boolean>();
    for (const l of cur.lines) {
      const u = /\bUID (\d+)/i.exec(l);
      const f = /FLAGS \(([^)]*)\)/i.exec(l);
      if (u && f) isFlagged.set(Number(u[1]), /\\Flagged/i.test(f[1]!));
    }
    for (const u of flagged) await b.ok(`UID STORE ${u} ${isFlagged.get(u) ? '-' : '+'}FLAGS.SILENT (\\Flagged)`, false);
    await b.ok(`UID STORE ${uidSet(expunged)} +FLAGS.SILENT (\\Deleted)`, false);
    await b.ok(`UID EXPUNGE ${uidSet(expunged)}`, false);
    await b.logout();

    // A again: resync
    const a2 = await login(target.port, user);
    await enableQresync(a2);
    const t0 = performance.now();
    const rs = await a2.ok(`SELECT INBOX (QRESYNC (${validity} ${modseq}))`);
    const ms = performance.now() - t0;
    await a2.logout();
    const fetched = new Set<number>();
    let fetchLines = 0;
    const vanished = new Set<number>();
    for (const l of rs.lines) {
      if (/^\* \d+ FETCH/i.test(l)) {
        fetchLines++;
        const u = /\bUID (\d+)/i.exec(l);
        if (u) fetched.add(Number(u[1]));
      }
      const v = /^\* VANISHED \(EARLIER\) ([\d:,]+)/i.exec(l);
      if (v) for (const u of uidSetMembers(v[1]!)) vanished.add(u);
    }
    const changedFound = flagged.filter((u) => fetched.has(u)).length;
    const expungedFound = expunged.filter((u) => vanished.has(u)).length;
    if (changedFound < 80) problems.push(`round ${round}: ${changedFound}/80 flag changes reported in FETCH (UID ...) lines`);
    if (expungedFound < 20) problems.push(`round ${round}: ${expungedFound}/20 expunged UIDs in VANISHED (EARLIER)`);
    out.push({ ms: r2(ms), fetchLines, vanished: vanished.size, changedFound, expungedFound });
  }
  return {
    rounds: out,
    medianMs: r2(median(out.map((r) => r.ms))),
    flagChanges: 80,
    expunges: 20,
    complete: problems.length === 0,
    problems,
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Memory of idle connections

export interface IdleResult {
  connections: number;
  mailboxMessages: number;
  openSeconds: number;
  beforeKB: number;
  afterKB: number;
  perConnectionKB: number;
  /** Measured again after all were closed. */
  afterCloseKB: number;
  failed: number;
  firstErrors: string[];
  memoryMeasure: string;
}

/** Opens `count` connections that each LOGIN, SELECT INBOX and IDLE; server memory before and
 * after. A first round of `concurrency` connections is opened and closed before the baseline so
 * that memory the server keeps after its first logins (e.g. password-hash buffers) is in it. */
export async function runIdle(target: ImapTarget, user: BenchUser, count: number, concurrency = 100): Promise<IdleResult> {
  const localAddresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
  const open = async (n: number, into: ImapClient[], errs: string[]): Promise<number> => {
    let next = 0;
    let failed = 0;
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        try {
          const c = await login(target.port, user, localAddresses[i % localAddresses.length]);
          await c.ok('SELECT INBOX', false);
          await c.idle();
          into.push(c);
        } catch (e) {
          failed++;
          if (errs.length < 5) errs.push((e as Error).message);
        }
      }
    }));
    return failed;
  };
  const closeAll = async (cs: ImapClient[]) => {
    for (const c of cs) c.destroy();
    cs.length = 0;
    await sleep(2000);
  };

  const errs: string[] = [];
  const warm: ImapClient[] = [];
  await open(concurrency, warm, errs);
  let mailboxMessages = 0;
  {
    const c = await login(target.port, user);
    mailboxMessages = exists(await c.ok('SELECT INBOX'));
    await c.logout();
  }
  await closeAll(warm);
  await sleep(3000);
  const beforeKB = target.memoryKB();
  const conns: ImapClient[] = [];
  const t0 = performance.now();
  const failed = await open(count, conns, errs);
  const openSeconds = (performance.now() - t0) / 1000;
  await sleep(5000);
  const afterKB = target.memoryKB();
  const alive = conns.filter((c) => !c.isClosed).length;
  const dropped = conns.length - alive;
  await closeAll(conns);
  await sleep(3000);
  const afterCloseKB = target.memoryKB();
  return {
    connections: alive,
    mailboxMessages,
    openSeconds: r2(openSeconds),
    beforeKB,
    afterKB,
    perConnectionKB: alive ? r2((afterKB - beforeKB) / alive) : NaN,
    afterCloseKB,
    failed: failed + dropped,
    firstErrors: errs,
    memoryMeasure: target.name === 'fjord' ? 'VmRSS of the server process' : 'PSS summed over all Dovecot processes',
  };
}
