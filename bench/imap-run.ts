// `npm run bench:imap`: Fjord's IMAP server and Dovecot (Debian's dovecot-imapd, configured and
// started here on loopback) on the same messages, in the same run:
//   mix     20 clients looping LOGIN, SELECT, FETCH 50 (FLAGS ENVELOPE), FETCH BODY.PEEK[], STORE
//           \Seen, UID SEARCH, IDLE/DONE, LOGOUT on a 10,000-message INBOX: ops/s, per-command
//           p50/p99; once with a connection + LOGIN per session, once on persistent connections
//   100k    SELECT + UID FETCH 1:* (FLAGS) on a 100,000-message INBOX: latency (median of 5)
//   resync  SELECT (QRESYNC ...) after 100 changes made by another client: latency, completeness
//   idle    memory per idle connection (LOGIN, SELECT INBOX, IDLE): 10,000 connections to Fjord,
//           500 to Dovecot (one process each)
// Figures go to bench/results/imap-<date>.json (and imap-latest.json for a complete run).
// This machine is shared: each measurement waits for a quiet moment, records the CPU other
// processes used meanwhile, and is repeated (twice at most) when that exceeded 15 % of a core.
// Usage: node dist/bench/imap-run.js [mix|100k|resync|idle] [--clients N] [--duration S] [--quick]
//   [--warmup S] [--servers fjord,dovecot] [--messages N] [--big N] [--idle N] [--dovecot-idle N]
//   [--runs N] [--rounds N] [--seed N] [--keep] [--no-wait] [--dovecot-format maildir|sdbox|mdbox]
//   [--no-from-search]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawn, execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { hashPassword } from '../src/auth/password.js';
import { MessageFactory, BENCH_DOMAIN, type Profile } from './imap/messages.js';
import { DovecotSetup, dovecotAvailable, dovecotVersion, type DovecotFormat } from './imap/dovecot.js';
import { FjordSetup } from './imap/fjord.js';
import { ImapClient, quote } from './imap/client.js';
import { raiseFdLimit, type BenchUser, type ImapTarget } from './imap/target.js';
import { runMix, runFlagSync, runResync, runIdle, waitForQuiet, MIX_COMMANDS, type MixResult, type FlagSyncResult, type ResyncResult, type IdleResult } from './imap/workloads.js';

const PARTS = ['mix', '100k', 'resync', 'idle'] as const;
type Part = (typeof PARTS)[number];

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    clients: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean' },
    servers: { type: 'string' },
    messages: { type: 'string' },
    big: { type: 'string' },
    idle: { type: 'string' },
    'dovecot-idle': { type: 'string' },
    runs: { type: 'string' },
    rounds: { type: 'string' },
    seed: { type: 'string' },
    keep: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
    'dovecot-format': { type: 'string' },
    'no-from-search': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`usage: node dist/bench/imap-run.js [${PARTS.join('|')}] [--clients N] [--duration S] [--warmup S] [--quick]
  [--servers fjord,dovecot] [--messages N] [--big N] [--idle N] [--dovecot-idle N] [--runs N] [--rounds N] [--seed N] [--keep] [--no-wait] [--dovecot-format maildir|sdbox|mdbox] [--no-from-search]`);
  process.exit(0);
}
const part = positionals[0];
if (part !== undefined && part !== 'all' && !(PARTS as readonly string[]).includes(part)) {
  console.error(`unknown part "${part}": one of ${PARTS.join(', ')}`);
  process.exit(2);
}
const parts: Part[] = part === undefined || part === 'all' ? [...PARTS] : [part as Part];
const quick = values.quick === true;
const int = (v: string | undefined, full: number, q: number): number => {
  if (v === undefined) return quick ? q : full;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
  return n;
};
const opt = {
  clients: int(values.clients, 20, 20),
  durationS: int(values.duration, 20, 5),
  warmupS: int(values.warmup, 5, 2),
  messages: int(values.messages, 10_000, 2_000),
  big: int(values.big, 100_000, 10_000),
  idle: int(values.idle, 10_000, 500),
  dovecotIdle: int(values['dovecot-idle'], 500, 200),
  runs: int(values.runs, 5, 3),
  rounds: int(values.rounds, 5, 2),
  seed: int(values.seed, 20251101, 20251101),
  fromSearch: values['no-from-search'] !== true,
  dovecotFormat: (values['dovecot-format'] ?? 'maildir') as DovecotFormat,
  servers: (values.servers ?? 'fjord,dovecot').split(',').map((s) => s.trim()).filter(Boolean),
};

// The idle test holds thousands of sockets in this process: raise the fd limit by re-executing
// under a shell that raised it (root may raise the hard limit too).
const needFds = (parts.includes('idle') ? Math.max(opt.idle, opt.dovecotIdle) : 0) + opt.clients + 1000;
const softLimit = Number(execFileSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
if (Number.isFinite(softLimit) && softLimit < needFds && !process.env.FJORD_BENCH_REEXEC) {
  const want = Math.max(65536, needFds);
  const child = spawn('bash', ['-c', `${raiseFdLimit(want)}exec "$0" "$@"`, process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, FJORD_BENCH_REEXEC: '1' } });
  child.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
  await new Promise(() => {});
}

if (!['maildir', 'sdbox', 'mdbox'].includes(opt.dovecotFormat)) throw new Error('--dovecot-format: maildir, sdbox or mdbox');

const PASSWORD = 'bench-password-1';
const USERS: Record<'mix' | 'big', BenchUser> = {
  mix: { address: `bench@${BENCH_DOMAIN}`, password: PASSWORD },
  big: { address: `big@${BENCH_DOMAIN}`, password: PASSWORD },
};

const r1 = (x: number) => Math.round(x * 10) / 10;
const warnings: string[] = [];
/** Other processes used a share of the 2 cores while we measured: the figures are not clean. */
function noisy(otherPct: number, what: string): void {
  if (otherPct > 15) {
    const w = `${what}: other processes used ${otherPct} % CPU (100 % = one core) during the measurement: figures disturbed`;
    warnings.push(w);
    console.log(`  WARNING: ${w}`);
  }
}
const log = (s: string) => console.log(s);
const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US') : String(n));
const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? Math.round((a / b) * 100) / 100 : null;

interface ServerResult {
  startError?: string;
  importSeconds?: Record<string, number>;
  error?: string;
  firstSelectMs?: Record<string, number>;
  mix?: MixResult | { error: string };
  mixPersistent?: MixResult | { error: string };
  flagSync100k?: FlagSyncResult | { error: string };
  resync?: ResyncResult | { error: string };
  idle?: IdleResult | { error: string };
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  quick,
  parts,
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  options: opt,
};

// ---------------------------------------------------------------------------------------------
const wantFjord = opt.servers.includes('fjord');
let wantDovecot = opt.servers.includes('dovecot');
if (wantDovecot && !dovecotAvailable()) {
  log('dovecot is not installed (apt-get install -y dovecot-imapd): Fjord only');
  wantDovecot = false;
}
if (wantDovecot) results.dovecotVersion = dovecotVersion();

const mailboxes: { key: 'mix' | 'big'; count: number; profile: Profile }[] = [];
if (parts.some((p) => p !== '100k')) mailboxes.push({ key: 'mix', count: opt.messages, profile: 'mix' });
if (parts.includes('100k')) mailboxes.push({ key: 'big', count: opt.big, profile: 'small' });

let fjordSetup: FjordSetup | null = null;
let doveSetup: DovecotSetup | null = null;
const serverResults: Record<string, ServerResult> = {};
results.servers = serverResults;

try {
  // Populate both servers from one pass of the generator (identical bytes, dates and flags).
  const hash = await hashPassword(PASSWORD);
  if (wantFjord) fjordSetup = await FjordSetup.create();
  if (wantDovecot) doveSetup = new DovecotSetup(opt.dovecotFormat);
  const population: Record<string, unknown> = {};
  results.population = population;
  for (const mb of mailboxes) {
    const user = USERS[mb.key];
    const accountId = fjordSetup ? await fjordSetup.addUser(user.address, hash) : 0;
    doveSetup?.addUser(user.address, hash);
    const fw = fjordSetup?.writer(accountId);
    const dw = doveSetup?.writer(user.address);
    const factory = new MessageFactory(opt.seed + (mb.key === 'big' ? 1 : 0), mb.count, mb.profile, user.address);
    let genMs = 0, fjordMs = 0, doveMs = 0, bytes = 0;
    for (let i = 0; i < mb.count; i++) {
      let t = performance.now();
      const m = factory.next();
      bytes += m.raw.length;
      genMs += performance.now() - t;
      if (dw) {
        t = performance.now();
        dw.add(m);
        doveMs += performance.now() - t;
      }
      if (fw) {
        t = performance.now();
        await fw.add(m);
        fjordMs += performance.now() - t;
      }
    }
    let t = performance.now();
    if (fw) await fw.finish();
    fjordMs += performance.now() - t;
    t = performance.now();
    dw?.finish();
    doveMs += performance.now() - t;
    population[mb.key] = {
      user: user.address, messages: mb.count, profile: mb.profile, totalMB: r1(bytes / 1e6), avgKB: r1(bytes / mb.count / 1000),
      generateS: r1(genMs / 1000), fjordStoreS: fjordSetup ? r1(fjordMs / 1000) : null, dovecotMaildirS: doveSetup ? r1(doveMs / 1000) : null,
    };
    log(`populated ${user.address}: ${fmt(mb.count)} messages (${mb.profile}), ${r1(bytes / 1e6)} MB, avg ${r1(bytes / mb.count / 1000)} KB; ` +
      `generated in ${r1(genMs / 1000)} s` + (fjordSetup ? `, Fjord store API ${r1(fjordMs / 1000)} s` : '') + (doveSetup ? `, Dovecot Maildir files ${r1(doveMs / 1000)} s` : ''));
  }
  await fjordSetup?.closeStore();

  const maxClients = Math.max(opt.clients, parts.includes('idle') ? opt.idle : 0) + 200;
  const servers: { name: 'fjord' | 'dovecot'; start: () => Promise<ImapTarget> }[] = [];
  if (fjordSetup) servers.push({ name: 'fjord', start: () => fjordSetup!.start(maxClients) });
  if (doveSetup) servers.push({ name: 'dovecot', start: () => doveSetup!.start(Math.max(opt.clients, parts.includes('idle') ? opt.dovecotIdle : 0) + 200) });

  for (const s of servers) {
    const res: ServerResult = {};
    serverResults[s.name] = res;
    log(`\n=== ${s.name} ===`);
    let target: ImapTarget;
    try {
      target = await s.start();
      if (s.name === 'dovecot' && doveSetup && Object.keys(doveSetup.importSeconds).length) {
        res.importSeconds = { ...doveSetup.importSeconds };
        log(`doveadm import into ${doveSetup.format}: ${Object.entries(doveSetup.importSeconds).map(([u, t]) => `${u} ${t} s`).join(', ')}`);
      }
    } catch (e) {
      res.startError = (e as Error).message;
      log(`${s.name} did not start: ${res.startError.slice(0, 2000)}`);
      continue;
    }
    try {
      // Warm-up: one SELECT of each mailbox (builds Dovecot's index; Fjord's equivalent), timed.
      res.firstSelectMs = {};
      for (const mb of mailboxes) {
        const c = await ImapClient.connect(target.port);
        await c.ok(`LOGIN ${quote(USERS[mb.key].address)} ${quote(PASSWORD)}`);
        const t = performance.now();
        await c.ok('SELECT INBOX', false);
        res.firstSelectMs[mb.key] = r1(performance.now() - t);
        await c.logout();
      }
      log(`first (cold) SELECT: ${Object.entries(res.firstSelectMs).map(([k, v]) => `${k} ${fmt(v)} ms`).join(', ')}`);

      // Other processes on this (shared, 2-core) machine disturb the figures: wait for a quiet
      // moment first, and measure again (twice at most) when others still used > 15 % of a core.
      const guard = async <T>(name: string, f: () => Promise<T>): Promise<T | { error: string }> => {
        try {
          let best: T | null = null;
          for (let attempt = 0; attempt < 3; attempt++) {
            if (!values['no-wait']) {
              const q = await waitForQuiet(target);
              if (!q.quiet) log(`  (machine still busy after ${q.waitedS} s of waiting for a quiet moment: measuring anyway)`);
              else if (q.waitedS > 5) log(`  (waited ${q.waitedS} s for other processes to calm down)`);
            }
            const r = await f();
            const other = (x: T) => (x as { otherCpuPct?: number }).otherCpuPct ?? 0;
            if (best === null || other(r) < other(best)) best = r;
            if (values['no-wait'] || other(r) <= 15) break;
            if (attempt < 2) log(`  (other processes used ${other(r)} % CPU meanwhile: measuring ${name} again)`);
          }
          return best!;
        } catch (e) {
          const error = (e as Error).message;
          log(`${s.name} ${name} failed: ${error}`);
          return { error };
        }
      };
      if (parts.includes('mix')) {
        for (const persistent of [false, true]) {
          const key = persistent ? 'mixPersistent' : 'mix';
          const r = await guard(key, () => runMix(target, { clients: opt.clients, durationS: opt.durationS, warmupS: opt.warmupS, user: USERS.mix, seed: opt.seed, persistent, fromSearch: opt.fromSearch }));
          res[key] = r;
          if ('error' in r) continue;
          log(`${persistent ? 'mix on persistent connections (LOGIN once per client)' : 'mix, a connection + LOGIN per session'}, ${r.clients} clients, ${r.durationS} s on ${fmt(r.mailboxMessages)} messages: ` +
            `${fmt(r.opsPerSec)} ops/s, ${r.sessionsPerSec} sessions/s, ${r.errors} errors; server CPU ${r.serverCpuPct} % (${r.serverCpuMsPerOp} ms/op), generator CPU ${r.generatorCpuPct} %, other processes ${r.otherCpuPct} %`);
          noisy(r.otherCpuPct, `${s.name} ${key}`);
          for (const c of MIX_COMMANDS) {
            const l = r.latencyMs[c];
            if (l) log(`  ${c.padEnd(26)} n=${String(l.count).padStart(6)}  p50 ${String(l.p50).padStart(7)} ms  p99 ${String(l.p99).padStart(7)} ms`);
          }
          for (const e of r.firstErrors) log(`  error: ${e}`);
        }
      }
      if (parts.includes('100k')) {
        res.flagSync100k = await guard('100k', () => runFlagSync(target, USERS.big, opt.runs));
        if (!('error' in res.flagSync100k)) {
          const f = res.flagSync100k;
          log(`SELECT + UID FETCH 1:* (FLAGS), ${fmt(f.messages)} messages: median ${fmt(f.medianMs)} ms (SELECT ${fmt(f.medianSelectMs)} + FETCH ${fmt(f.medianFetchMs)}); runs ${f.runs.map((r) => r.totalMs).join(', ')} ms; other processes ${f.otherCpuPct} % CPU`);
          noisy(f.otherCpuPct, `${s.name} 100k`);
        }
      }
      if (parts.includes('resync')) {
        res.resync = await guard('resync', () => runResync(target, USERS.mix, opt.rounds, opt.seed + 2));
        if (!('error' in res.resync)) {
          const r = res.resync;
          log(`QRESYNC resync after 80 flag changes + 20 expunges: median ${r.medianMs} ms; ` +
            `${r.complete ? 'all changes reported' : 'INCOMPLETE: ' + r.problems.join('; ')} (rounds: ${r.rounds.map((x) => `${x.ms} ms ${x.fetchLines} FETCH ${x.vanished} VANISHED`).join(', ')})`);
        }
      }
      if (parts.includes('idle')) {
        const n = s.name === 'fjord' ? opt.idle : opt.dovecotIdle;
        if (n > 0) {
          // on a freshly started server: memory left over from the mix (grown heaps) would
          // otherwise absorb the connections and understate their cost
          await target.stop();
          target = await s.start();
          res.idle = await guard('idle', () => runIdle(target, USERS.mix, n));
          if (!('error' in res.idle)) {
            const i = res.idle;
            log(`idle: ${fmt(i.connections)} connections (LOGIN, SELECT INBOX of ${fmt(i.mailboxMessages)} messages, IDLE) opened in ${i.openSeconds} s; ` +
              `${i.memoryMeasure} ${fmt(i.beforeKB)} KB → ${fmt(i.afterKB)} KB: ${i.perConnectionKB} KB per connection (after closing: ${fmt(i.afterCloseKB)} KB)` +
              (i.failed ? `; ${i.failed} failed: ${i.firstErrors.join(' | ')}` : '') +
              (s.name === 'fjord' && i.connections < 5000 ? ' (few connections: heap slack left by the warm-up makes this figure unreliable; use ≥ 5,000)' : ''));
          }
        }
      }
    } catch (e) {
      res.error = (e as Error).message;
      log(`${s.name} failed: ${res.error}\n--- server log ---\n${target.log().slice(-3000)}`);
    } finally {
      await target.stop();
    }
  }
} finally {
  if (!values.keep) {
    fjordSetup?.remove();
    doveSetup?.remove();
  } else {
    log(`kept: ${fjordSetup?.dir ?? ''} ${doveSetup?.dir ?? ''}`);
  }
}

// ---------------------------------------------------------------------------------------------
const ok = <T extends object>(x: T | { error: string } | undefined): T | undefined => (x && !('error' in x) ? (x as T) : undefined);
const fj = serverResults.fjord;
const dv = serverResults.dovecot;
const fMix = ok<MixResult>(fj?.mix), dMix = ok<MixResult>(dv?.mix);
const fMixP = ok<MixResult>(fj?.mixPersistent), dMixP = ok<MixResult>(dv?.mixPersistent);
const fSync = ok<FlagSyncResult>(fj?.flagSync100k), dSync = ok<FlagSyncResult>(dv?.flagSync100k);
const fRes = ok<ResyncResult>(fj?.resync), dRes = ok<ResyncResult>(dv?.resync);
const fIdle = ok<IdleResult>(fj?.idle), dIdle = ok<IdleResult>(dv?.idle);
const comparison = {
  mixOpsPerSec: { fjord: fMix?.opsPerSec ?? null, dovecot: dMix?.opsPerSec ?? null, ratio: ratio(fMix?.opsPerSec, dMix?.opsPerSec) },
  mixPersistentOpsPerSec: { fjord: fMixP?.opsPerSec ?? null, dovecot: dMixP?.opsPerSec ?? null, ratio: ratio(fMixP?.opsPerSec, dMixP?.opsPerSec) },
  flagSync100kMs: { fjord: fSync?.medianMs ?? null, dovecot: dSync?.medianMs ?? null, ratio: ratio(fSync?.medianMs, dSync?.medianMs) },
  resyncMs: { fjord: fRes?.medianMs ?? null, dovecot: dRes?.medianMs ?? null, ratio: ratio(fRes?.medianMs, dRes?.medianMs) },
  idleKBPerConnection: { fjord: fIdle?.perConnectionKB ?? null, dovecot: dIdle?.perConnectionKB ?? null },
};
const targets = {
  mixOpsAtLeastDovecot: comparison.mixOpsPerSec.ratio === null ? null : comparison.mixOpsPerSec.ratio >= 1,
  flagSync100kUnder1s: fSync ? fSync.medianMs < 1000 : null,
  idleAtMost50KB: fIdle ? fIdle.perConnectionKB <= 50 : null,
};
results.comparison = comparison;
results.warnings = warnings;
results.targets = targets;

log('\n=== summary (ratio = Fjord / Dovecot: for ops/s higher is better, for ms lower is better) ===');
const show = (v: number | null, unit: string) => (v === null ? 'n/a' : `${fmt(v)} ${unit}`);
if (parts.includes('mix')) log(`mix ops/s:                 Fjord ${show(comparison.mixOpsPerSec.fjord, '')} Dovecot ${show(comparison.mixOpsPerSec.dovecot, '')} ratio ${comparison.mixOpsPerSec.ratio ?? 'n/a'} (target ≥ 1)`);
if (parts.includes('mix')) log(`mix ops/s, persistent:     Fjord ${show(comparison.mixPersistentOpsPerSec.fjord, '')} Dovecot ${show(comparison.mixPersistentOpsPerSec.dovecot, '')} ratio ${comparison.mixPersistentOpsPerSec.ratio ?? 'n/a'}`);
if (parts.includes('100k')) log(`100k SELECT+FLAGS sync:    Fjord ${show(comparison.flagSync100kMs.fjord, 'ms')} Dovecot ${show(comparison.flagSync100kMs.dovecot, 'ms')} ratio ${comparison.flagSync100kMs.ratio ?? 'n/a'} (target Fjord < 1000 ms)`);
if (parts.includes('resync')) log(`QRESYNC after 100 changes: Fjord ${show(comparison.resyncMs.fjord, 'ms')} Dovecot ${show(comparison.resyncMs.dovecot, 'ms')} ratio ${comparison.resyncMs.ratio ?? 'n/a'}`);
if (parts.includes('mix')) log(`load generator CPU (mix):  ${[fMix, fMixP, dMix, dMixP].filter((x) => x).map((x) => `${x!.generatorCpuPct} %`).join(', ')} of one core`);
if (parts.includes('idle')) log(`idle memory/connection:    Fjord ${show(comparison.idleKBPerConnection.fjord, 'KB')} Dovecot ${show(comparison.idleKBPerConnection.dovecot, 'KB')} (target Fjord ≤ 50 KB)`);

for (const w of warnings) log(`WARNING: ${w}`);

const dir = path.join(REPO_ROOT, 'bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const stamp = `${results.date as string}`.replace(/[:.]/g, '-');
// imap-latest.json only for a complete run: every part, both servers, full sizes
const complete = !quick && parts.length === PARTS.length && wantFjord && wantDovecot;
const file = path.join(dir, `imap-${complete ? '' : 'partial-'}${stamp}.json`);
fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
if (complete) fs.writeFileSync(path.join(dir, 'imap-latest.json'), JSON.stringify(results, null, 2) + '\n');
log(`results written to ${path.relative(REPO_ROOT, file)}${complete ? ' and bench/results/imap-latest.json' : ''}`);
process.exit(0);
