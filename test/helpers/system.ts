// Starting the real system for tests: in-process (startSystem) or as a child process (`fjord serve`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './paths.js';
import { loadConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/log/logger.js';
import { startSystem, type RunningSystem } from '../../src/app/start.js';
import { hashPassword } from '../../src/auth/password.js';

export const FJORD_BIN = path.join(REPO_ROOT, 'bin', 'fjord.js');

export function tempDir(prefix = 'fjord-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestSystem {
  system: RunningSystem;
  dataDir: string;
  smtpPort: number;
  /** 0 when the IMAP listener is off. */
  imapPort: number;
  /** 0 when the POP3 listener is off. */
  pop3Port: number;
  /** Submission with STARTTLS (587's role) and with implicit TLS (465's role); 0 when off. */
  submissionPort: number;
  submissionsPort: number;
  stop(): Promise<void>;
}

/** A DNS server address where nothing listens: lookups fail at once (ECONNREFUSED), so tests
 * never wait on the host's resolver (a test that needs DNS passes its own --dns or config dns, which wins). */
const NO_DNS = ['--dns', '127.0.0.1:9'];

/** Starts the whole system in this process on a fresh data folder with SMTP on a free port. */
export async function startTestSystem(configJson: Record<string, unknown> = {}, dataDir = tempDir()): Promise<TestSystem> {
  // No greeting delay unless a test asks: the pregreet wait would slow every SMTP test.
  const spam = { pregreetMs: 0, ...(configJson.spam as object | undefined) };
  fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ hostname: 'mx.fjord.test', dns: NO_DNS[1], ...configJson, spam, listen: { smtp: '127.0.0.1:0', imap: '127.0.0.1:0', imaps: 'off', pop3: '127.0.0.1:0', pop3s: 'off', submission: '127.0.0.1:0', submissions: '127.0.0.1:0', ...(configJson.listen as object | undefined) } }));
  const config = loadConfig({ dataDir });
  const system = await startSystem(config, silentLogger());
  return {
    system,
    dataDir,
    smtpPort: system.addresses.smtp?.port ?? 0,
    imapPort: system.addresses.imap?.port ?? 0,
    pop3Port: system.addresses.pop3?.port ?? 0,
    submissionPort: system.addresses.submission?.port ?? 0,
    submissionsPort: system.addresses.submissions?.port ?? 0,
    stop: async () => {
      await system.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs fn against a fresh in-process system with these accounts (password "secret"), then
 * stops it whatever happens. */
export async function withTestSystem(accounts: string[], fn: (sys: TestSystem) => Promise<void>): Promise<void> {
  const sys = await startTestSystem();
  try {
    for (const a of accounts) await addAccount(sys.system, a);
    await fn(sys);
  } finally {
    await sys.stop();
  }
}

let hashCache: Promise<string> | null = null;
/** Adds a domain (if missing) and an account with password "secret" (hash computed once). */
export async function addAccount(system: RunningSystem, address: string, quota: { bytes?: number; messages?: number } = {}) {
  const domain = address.split('@')[1];
  if (!(await system.store.getDomain(domain))) await system.store.addDomain(domain);
  hashCache ??= hashPassword('secret');
  return system.store.addAccount({ address, passwordHash: await hashCache, quotaBytes: quota.bytes, quotaMessages: quota.messages });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [FJORD_BIN, ...args], { env: { ...process.env, ...opts.env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

export interface ServerProcess {
  proc: ChildProcess;
  smtpPort: number;
  imapPort: number;
  /** Everything the server printed so far. */
  output(): string;
  exited: Promise<number | null>;
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Spawns `fjord serve` on a free port and waits until its SMTP listener accepts connections. */
export async function spawnServer(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const smtpPort = await freePort();
  const imapPort = await freePort();
  const proc = spawn(process.execPath, [...(process.env.FJORD_NODE_ARGS ? process.env.FJORD_NODE_ARGS.split(" ") : []), FJORD_BIN, 'serve', '--data', dataDir, '--smtp', `127.0.0.1:${smtpPort}`, '--imap', `127.0.0.1:${imapPort}`, '--imaps', 'off', '--pop3', 'off', '--pop3s', 'off', '--submission', 'off', '--submissions', 'off', '--hostname', 'mx.fjord.test', '--no-demo', ...NO_DNS, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r((exitCode = code))));
  proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(smtpPort))) {
    if (exitCode !== undefined) throw new Error(`server exited (${exitCode}) before listening: ${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('server did not start: ' + out);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, smtpPort, imapPort, output: () => out, exited };
}
