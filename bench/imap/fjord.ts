// Fjord for the benchmark: a data folder populated through the store API, then `fjord serve` in a
// child process with SMTP off and IMAP on a free loopback port (POP3 off, or on a second free
// port with `start(n, {}, { pop3: true })`; POP3S always off).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/index.js';
import type { DeliveryItem, Store } from '../../src/store/types.js';
import { parseMessage } from '../../src/mime/index.js';
import { REPO_ROOT } from '../../test/helpers/paths.js';
import type { GeneratedMessage } from './messages.js';
import { BENCH_DOMAIN } from './messages.js';
import { freePort, spawnServerChild, waitForGreeting, type ImapTarget } from './target.js';
import { rssKB, treeCpuSeconds } from './proc.js';

const BATCH = 500;

export class FjordSetup {
  private constructor(readonly dir: string, private readonly store: Store) {}

  static async create(): Promise<FjordSetup> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fjord-bench-imap-'));
    const store = await openStore({ dataDir: dir });
    await store.addDomain(BENCH_DOMAIN);
    return new FjordSetup(dir, store);
  }

  async addUser(address: string, passwordHash: string): Promise<number> {
    return (await this.store.addAccount({ address, passwordHash })).id;
  }

  /** Delivers messages to the account's INBOX in batches of 500 (parsing included). */
  writer(accountId: number): { add(m: GeneratedMessage): Promise<void>; finish(): Promise<void> } {
    let batch: DeliveryItem[] = [];
    let n = 0;
    // one batch in flight while the next is generated and parsed (UIDs stay in order: a batch
    // starts only after the previous one committed)
    let inFlight: Promise<void> = Promise.resolve();
    const flush = async () => {
      await inFlight;
      if (!batch.length) return;
      const items = batch;
      batch = [];
      inFlight = this.store.deliver(items).then((out) => {
        const bad = out.find((o) => o.status !== 'delivered');
        if (bad) throw new Error('fjord store refused a bench message: ' + bad.status);
      });
    };
    return {
      add: async (m) => {
        batch.push({ deliveryKey: `bench-${accountId}-${n++}`, accountId, raw: m.raw, parsed: parseMessage(m.raw), flags: m.flags, internalDate: m.internalDate });
        if (batch.length >= BATCH) await flush();
      },
      finish: async () => {
        await flush();
        await inFlight;
      },
    };
  }

  async closeStore(): Promise<void> {
    await this.store.close();
  }

  /** Spawns `fjord serve` with IMAP on a free port (config.json `listen.imap`, SMTP off), and
   * with `pop3` POP3 on another (`--pop3 127.0.0.1:PORT --pop3s off`). */
  async start(maxClients: number, extraEnv: Record<string, string> = {}, opts: { pop3?: boolean } = {}): Promise<ImapTarget> {
    const port = await freePort();
    let pop3Port: number | null = null;
    if (opts.pop3) {
      do pop3Port = await freePort();
      while (pop3Port === port);
    }
    fs.writeFileSync(path.join(this.dir, 'config.json'), JSON.stringify({
      hostname: 'imap.bench.test',
      // POP3 off unless asked for (its defaults would take the fixed ports 1110 and 1995)
      listen: { smtp: 'off', imap: `127.0.0.1:${port}`, imaps: 'off', pop3: 'off', pop3s: 'off' },
      imap: { maxClients: maxClients + 100 },
      log: { level: 'warn' },
    }, null, 2));
    // The CLI of the very build this bench was compiled into (bin/fjord.js always loads dist/):
    // <outDir>/bench/imap/fjord.js -> <outDir>/src/cli/main.js. With the thread-pool size
    // bin/fjord.js sets.
    const built = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    const bin = fs.existsSync(built) ? built : path.join(REPO_ROOT, 'bin', 'fjord.js');
    const nodeArgs = process.env.FJORD_NODE_ARGS ? process.env.FJORD_NODE_ARGS.split(' ') : [];
    const pop3Args = pop3Port !== null ? ['--pop3', `127.0.0.1:${pop3Port}`, '--pop3s', 'off'] : [];
    const child = spawnServerChild('exec "$0" "$@"', [process.execPath, ...nodeArgs, bin, 'serve', '--data', this.dir, '--no-demo', ...pop3Args],
      maxClients, { UV_THREADPOOL_SIZE: '16', ...process.env, ...extraEnv });
    const { proc, exited, unhook } = child;
    const out = child.output;
    try {
      const dead = () => (child.exitCode() !== undefined ? `fjord serve exited (${child.exitCode()}): ${out()}` : null);
      await waitForGreeting(port, dead, 30_000);
      if (pop3Port !== null) await waitForGreeting(pop3Port, dead, 30_000, '+OK');
    } catch (e) {
      proc.kill('SIGKILL');
      await exited;
      unhook();
      throw new Error(`${(e as Error).message}\n--- fjord output ---\n${out().slice(-3000)}`);
    }
    const pid = proc.pid!;
    return {
      name: 'fjord',
      port,
      ...(pop3Port !== null ? { pop3Port } : {}),
      pid,
      cpuSeconds: () => treeCpuSeconds(pid),
      memoryKB: () => rssKB(pid),
      log: out,
      stop: async () => {
        if (child.exitCode() === undefined) {
          proc.kill('SIGTERM');
          const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(t);
        }
        unhook();
      },
    };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
