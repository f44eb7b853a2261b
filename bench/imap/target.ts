// What the workloads need of a server under test, whichever it is.
import net from 'node:net';

export interface ImapTarget {
  name: 'fjord' | 'dovecot';
  port: number;
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

/** A port that was free a moment ago. */
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

/** Resolves once the port greets with "* OK"; throws when `dead()` says the process exited. */
export async function waitForGreeting(port: number, dead: () => string | null, timeoutMs = 60_000): Promise<void> {
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
    if (line !== null && line.startsWith('* OK')) return;
    if (Date.now() > deadline) throw new Error(`no IMAP greeting on port ${port} within ${timeoutMs} ms (last: ${line})`);
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
