// What the workloads need of a server under test, whichever it is.
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';

export interface ImapTarget {
  name: 'fjord' | 'dovecot';
  port: number;
  /** The POP3 port, when the server was started with POP3 on. */
  pop3Port?: number;
  /** Root process of the server (for CPU and memory readings). */
  pid: number;
  /** CPU seconds the server (all its processes) has used so far. */
  cpuSeconds(): number;
  /** Memory of the server: RSS of its one process (Fjord) or PSS summed over its processes
   * (Dovecot), in KB. */
  memoryKB(): number;
  /** The server's log, for error reports. */
  log(): string;
  stop(): Promise<void>;
}

export interface BenchUser {
  address: string;
  password: string;
}

export { freePort } from '../../test/helpers/system.js';

/** Resolves once the port greets with `greeting` ("* OK": IMAP, "+OK": POP3); throws when
 * `dead()` says the process exited. */
export async function waitForGreeting(port: number, dead: () => string | null, timeoutMs = 60_000, greeting = '* OK'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = dead();
    if (why !== null) throw new Error(why);
    const line = await new Promise<string | null>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let buf = '';
      const t = setTimeout(() => {
        s.destroy();
        resolve(null);
      }, 2000);
      s.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\n')) {
          clearTimeout(t);
          s.destroy();
          resolve(buf.split('\r\n')[0]!);
        }
      });
      s.on('error', () => {
        clearTimeout(t);
        resolve(null);
      });
    });
    if (line !== null && line.startsWith(greeting)) return;
    if (Date.now() > deadline) throw new Error(`no "${greeting}" greeting on port ${port} within ${timeoutMs} ms (last: ${line})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Children to kill whatever happens (exit, error, signal). */
const children = new Set<{ kill(sig?: NodeJS.Signals): boolean }>();
let hooked = false;
export function killOnExit(child: { kill(sig?: NodeJS.Signals): boolean }): () => void {
  children.add(child);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        for (const c of children) c.kill('SIGKILL');
        process.exit(130);
      });
    }
  }
  return () => children.delete(child);
}

/** Shell prefix that raises the open-files limit to `want`, or as far as the hard limit allows. */
export function raiseFdLimit(want: number): string {
  return `{ ulimit -n ${want} 2>/dev/null || ulimit -n $(ulimit -Hn); } && `;
}

export interface ServerChild {
  proc: ChildProcess;
  /** The last 50 KB the child printed. */
  output(): string;
  /** Exit code once it exited, undefined while it runs. */
  exitCode(): number | null | undefined;
  exited: Promise<void>;
  /** Stop killing it on our exit (after it was stopped). */
  unhook(): void;
}

/** Starts a server under `bash -c script args...` with a raised fd limit, killed if we exit. */
export function spawnServerChild(script: string, args: string[], maxClients: number, env?: NodeJS.ProcessEnv): ServerChild {
  const proc = spawn('bash', ['-c', `${raiseFdLimit(Math.max(65536, maxClients * 4))}${script}`, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}),
  });
  const unhook = killOnExit(proc);
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-50_000)));
  proc.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-50_000)));
  let exit: number | null | undefined;
  const exited = new Promise<void>((r) => proc.on('exit', (code) => ((exit = code), r())));
  return { proc, output: () => out, exitCode: () => exit, exited, unhook };
}
