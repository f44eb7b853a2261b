// Starting the real system for tests: in-process (startSystem) or as a child process (`fjord serve`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
  stop(): Promise<void>;
}

/** Starts the whole system in this process on a fresh data folder with SMTP on a free port. */
export async function startTestSystem(configJson: Record<string, unknown> = {}, dataDir = tempDir()): Promise<TestSystem> {
  fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ hostname: 'mx.fjord.test', listen: { smtp: '127.0.0.1:0' }, ...configJson }));
  const config = loadConfig({ dataDir });
  const system = await startSystem(config, silentLogger());
  return {
    system,
    dataDir,
    smtpPort: system.addresses.smtp!.port,
    stop: async () => {
      await system.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
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
  /** Everything the server printed so far. */
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns `fjord serve` and waits for its SMTP listener. */
export function spawnServer(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [FJORD_BIN, 'serve', '--data', dataDir, '--smtp', '127.0.0.1:0', '--hostname', 'mx.fjord.test', '--no-demo', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"listen":"[^"]*:(\d+)","msg":"smtp listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, smtpPort: Number(m[1]), output: () => out, exited });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${out}`));
    });
  });
}
