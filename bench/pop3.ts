// POP3 download (`npm run bench pop3`): one client downloads a 1,000-message maildrop of ~20 KB
// messages from Fjord's POP3 server and from Dovecot's (Debian's dovecot-pop3d, configured and
// started here on loopback by bench/imap/dovecot.ts), both running in the same run, populated
// with the same bytes (bench/imap/messages.ts, profile '20k').
//
// A session: connect (plain TCP, loopback), USER/PASS, STAT, LIST, then RETR 1..1000, then QUIT
// (no DELE: the maildrop stays for the next pass). Mode 'sequential' (the headline figure) sends
// one RETR at a time and waits for the whole message before the next, as fetchmail and most
// mail clients do; mode 'pipelined' (RFC 2449 PIPELINING, both servers announce it) sends all
// 1,000 RETRs at once and reads the answers in order. Every byte is read, the dot-stuffing is
// undone and each message's size checked against LIST; the untimed warm-up pass also compares
// every message byte for byte with what was stored. Timing covers the whole session (connect to
// QUIT's answer); the RETR phase alone is recorded too. Each server gets one untimed warm-up
// pass, then 3 timed passes per mode, the servers taking turns; the median pass is reported.
// Ratio = Fjord msg/s / Dovecot msg/s (higher is better for Fjord).
import net from 'node:net';
import { hashPassword } from '../src/auth/password.js';
import { MessageFactory, BENCH_DOMAIN } from './imap/messages.js';
import { DovecotSetup, dovecotAvailable, dovecotPop3Available, dovecotVersion } from './imap/dovecot.js';
import { FjordSetup } from './imap/fjord.js';
import type { ImapTarget } from './imap/target.js';
import { CpuWindow } from './imap/workloads.js';

export type Pop3Mode = 'sequential' | 'pipelined';

export interface Pop3Pass {
  totalS: number;
  loginS: number;
  retrS: number;
  msgPerSec: number;
  MBPerSec: number;
  serverCpuS: number;
  otherCpuPct: number;
}

export interface Pop3ServerResult {
  /** Median pass (by total seconds) of each mode, and every pass's msg/s. */
  [mode: string]: (Pop3Pass & { runs: number[] }) | undefined;
}

export interface Pop3BenchResult {
  messages: number;
  totalMB: number;
  avgKB: number;
  dovecotVersion: string | null;
  client: string;
  servers: Record<string, Pop3ServerResult>;
  /** Fjord msg/s ÷ Dovecot msg/s per mode (median passes). */
  ratio: Partial<Record<Pop3Mode, number>>;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const USER = { address: `pop@${BENCH_DOMAIN}`, password: 'pop3-bench-password-1' };

// ---------------------------------------------------------------------------------------------
// A minimal POP3 client: answers are read in order; multi-line answers end at CRLF.CRLF.

interface Waiter {
  multi: boolean;
  resolve(v: { status: string; body: Buffer | null }): void;
  reject(e: Error): void;
}

const TERM = Buffer.from('\r\n.\r\n');

class Pop3Client {
  private buf: Buffer = Buffer.alloc(0);
  /** Where the search for the terminator of the pending multi-line answer resumes. */
  private scan = 0;
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.drain();
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const w of this.waiters.splice(0)) w.reject(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static async connect(port: number): Promise<{ client: Pop3Client; greeting: string }> {
    const socket = net.connect(port, '127.0.0.1');
    const client = new Pop3Client(socket);
    const greeting = await client.expect(false);
    return { client, greeting: greeting.status };
  }

  private expect(multi: boolean): Promise<{ status: string; body: Buffer | null }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ multi, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      const eol = this.buf.indexOf('\r\n');
      if (eol === -1) return;
      const status = this.buf.subarray(0, eol).toString('latin1');
      if (!w.multi || !status.startsWith('+OK')) {
        this.buf = this.buf.subarray(eol + 2);
        this.waiters.shift();
        if (status.startsWith('+OK')) w.resolve({ status, body: null });
        else w.reject(new Error(`server said: ${status}`));
        continue;
      }
      // the body starts after the status line; an empty body is just ".\r\n"
      const from = Math.max(eol, this.scan);
      const t = this.buf.indexOf(TERM, from);
      if (t === -1) {
        this.scan = Math.max(eol, this.buf.length - TERM.length);
        return;
      }
      const body = this.buf.subarray(eol + 2, t + 2);
      this.buf = this.buf.subarray(t + TERM.length);
      this.scan = 0;
      this.waiters.shift();
      w.resolve({ status, body });
    }
  }

  /** Sends a command; resolves with the "+OK" line (and the still dot-stuffed body of a
   * multi-line answer, up to and including its last CRLF); rejects on "-ERR". */
  send(command: string, multi = false): Promise<{ status: string; body: Buffer | null }> {
    this.socket.write(command + '\r\n');
    return this.expect(multi);
  }

  /** Several commands in one write (PIPELINING); answers in order. */
  sendMany(commands: string[], multi: boolean): Promise<{ status: string; body: Buffer | null }>[] {
    this.socket.write(commands.map((c) => c + '\r\n').join(''));
    return commands.map(() => this.expect(multi));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Octets of a dot-stuffed body once unstuffed (a leading "." on a line is dropped). */
function unstuffedSize(body: Buffer): number {
  let dots = body.length > 0 && body[0] === 0x2e ? 1 : 0;
  for (let i = body.indexOf('\n.'); i !== -1 && i < body.length - 1; i = body.indexOf('\n.', i + 2)) dots++;
  return body.length - dots;
}

function unstuff(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length);
  let w = 0;
  let lineStart = true;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (!(lineStart && c === 0x2e)) out[w++] = c;
    lineStart = c === 0x0a;
  }
  return out.subarray(0, w);
}

/** One download session. `expected`: the stored messages in order; with `verify`, each RETR is
 * compared with it byte for byte (else only its size with LIST's). */
async function downloadSession(port: number, mode: Pop3Mode, expected: Buffer[], verify: boolean): Promise<{ totalS: number; loginS: number; retrS: number; bytes: number }> {
  const t0 = performance.now();
  const { client } = await Pop3Client.connect(port);
  try {
    await client.send(`USER ${USER.address}`);
    await client.send(`PASS ${USER.password}`);
    const tLogin = performance.now();
    const stat = /^\+OK (\d+) (\d+)/.exec((await client.send('STAT')).status);
    if (!stat) throw new Error('bad STAT answer');
    const count = Number(stat[1]);
    const expectedOctets = expected.reduce((a, b) => a + b.length, 0);
    if (count !== expected.length || Number(stat[2]) !== expectedOctets) {
      throw new Error(`STAT says ${count} messages, ${stat[2]} octets; stored ${expected.length}, ${expectedOctets}`);
    }
    const list = (await client.send('LIST', true)).body!.toString('latin1').split('\r\n').filter(Boolean);
    const sizes = new Map<number, number>();
    for (const l of list) {
      const [n, s] = l.split(' ');
      sizes.set(Number(n), Number(s));
    }
    if (sizes.size !== count) throw new Error(`LIST gave ${sizes.size} lines for ${count} messages`);
    let bytes = 0;
    const check = (n: number, body: Buffer) => {
      const size = unstuffedSize(body);
      if (size !== sizes.get(n)) throw new Error(`RETR ${n}: ${size} octets, LIST said ${sizes.get(n)}`);
      if (verify && !unstuff(body).equals(expected[n - 1]!)) throw new Error(`RETR ${n}: not the stored bytes`);
      bytes += size;
    };
    const tRetr = performance.now();
    if (mode === 'sequential') {
      for (let n = 1; n <= count; n++) check(n, (await client.send(`RETR ${n}`, true)).body!);
    } else {
      const answers = client.sendMany(Array.from({ length: count }, (_, i) => `RETR ${i + 1}`), true);
      for (let n = 1; n <= count; n++) check(n, (await answers[n - 1]!).body!);
    }
    const tDone = performance.now();
    await client.send('QUIT');
    const tEnd = performance.now();
    return { totalS: (tEnd - t0) / 1000, loginS: (tLogin - t0) / 1000, retrS: (tDone - tRetr) / 1000, bytes };
  } finally {
    client.close();
  }
}

async function timedPass(target: ImapTarget, mode: Pop3Mode, expected: Buffer[]): Promise<Pop3Pass> {
  const w = new CpuWindow(target);
  const s = await downloadSession(target.pop3Port!, mode, expected, false);
  const cpu = w.end();
  return {
    totalS: r3(s.totalS),
    loginS: r3(s.loginS),
    retrS: r3(s.retrS),
    msgPerSec: Math.round(expected.length / s.totalS),
    MBPerSec: r1(s.bytes / 1e6 / s.totalS),
    serverCpuS: cpu.serverCpuS,
    otherCpuPct: cpu.otherCpuPct,
  };
}

export async function benchPop3(opts: { messages?: number; runs?: number; modes?: Pop3Mode[]; log?: (s: string) => void } = {}): Promise<Pop3BenchResult> {
  const count = opts.messages ?? 1000;
  const runs = opts.runs ?? 3;
  const modes = opts.modes ?? ['sequential', 'pipelined'];
  const log = opts.log ?? ((s: string) => console.log(s));

  const wantDovecot = dovecotAvailable() && dovecotPop3Available();
  if (!wantDovecot) log('pop3: Dovecot POP3 is not installed (apt-get install -y dovecot-core dovecot-pop3d): Fjord only');

  const hash = await hashPassword(USER.password);
  const fjordSetup = await FjordSetup.create();
  const doveSetup = wantDovecot ? new DovecotSetup('maildir') : null;
  const targets: ImapTarget[] = [];
  const servers: Pop3BenchResult['servers'] = {};
  try {
    const accountId = await fjordSetup.addUser(USER.address, hash);
    doveSetup?.addUser(USER.address, hash);
    const fw = fjordSetup.writer(accountId);
    const dw = doveSetup?.writer(USER.address);
    const factory = new MessageFactory(20_000, count, '20k', USER.address);
    const expected: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const m = factory.next();
      expected.push(m.raw);
      dw?.add(m);
      await fw.add(m);
    }
    await fw.finish();
    dw?.finish();
    await fjordSetup.closeStore();
    const totalBytes = expected.reduce((a, b) => a + b.length, 0);

    targets.push(await fjordSetup.start(10, {}, { pop3: true }));
    if (doveSetup) targets.push(await doveSetup.start(10, { pop3: true }));

    // warm-up (untimed): also checks every message byte for byte
    for (const t of targets) {
      servers[t.name] = {};
      await downloadSession(t.pop3Port!, 'sequential', expected, true);
    }
    const passes: Record<string, Record<string, Pop3Pass[]>> = {};
    for (const mode of modes) {
      for (let i = 0; i < runs; i++) {
        for (const t of targets) {
          ((passes[t.name] ??= {})[mode] ??= []).push(await timedPass(t, mode, expected));
        }
      }
    }
    for (const t of targets) {
      for (const mode of modes) {
        const all = [...passes[t.name]![mode]!].sort((a, b) => a.totalS - b.totalS);
        servers[t.name]![mode] = { ...all[Math.floor(all.length / 2)]!, runs: passes[t.name]![mode]!.map((p) => p.msgPerSec) };
      }
    }
    const ratio: Pop3BenchResult['ratio'] = {};
    if (servers.fjord && servers.dovecot) {
      for (const mode of modes) ratio[mode] = r2(servers.fjord[mode]!.msgPerSec / servers.dovecot[mode]!.msgPerSec);
    }
    return {
      messages: count,
      totalMB: r1(totalBytes / 1e6),
      avgKB: r1(totalBytes / count / 1000),
      dovecotVersion: wantDovecot ? dovecotVersion() : null,
      client: 'one connection, plain TCP on 127.0.0.1, USER/PASS, STAT, LIST, RETR 1..n (no DELE), QUIT; sequential = one RETR at a time, pipelined = all RETRs in one write',
      servers,
      ratio,
    };
  } finally {
    for (const t of targets) {
      try {
        await t.stop();
      } catch {
        // already gone
      }
    }
    fjordSetup.remove();
    doveSetup?.remove();
  }
}

/** One line per server and mode, then the ratios. */
export function describePop3(r: Pop3BenchResult): string[] {
  const out: string[] = [];
  for (const [name, res] of Object.entries(r.servers)) {
    for (const [mode, p] of Object.entries(res)) {
      if (!p || typeof p !== 'object') continue;
      out.push(`POP3 download, ${r.messages} × ${r.avgKB} KB, one client, ${mode}: ${name} ${p.msgPerSec} msg/s, ${p.MBPerSec} MB/s, ` +
        `${p.totalS} s total (login ${Math.round(p.loginS * 1000)} ms, RETRs ${p.retrS} s), server CPU ${p.serverCpuS} s (median of ${p.runs.join(', ')} msg/s)`);
    }
  }
  for (const [mode, ratio] of Object.entries(r.ratio)) out.push(`POP3 ${mode}: Fjord/Dovecot = ${ratio} (msg/s, higher is better)`);
  return out;
}
