// SMTP-to-mailbox throughput: 20 concurrent clients pipelining MAIL/RCPT/DATA into a real
// `fjord serve` process (fsync on), messages/s until every message is in its mailbox, and the
// latency from the end of DATA to the 250.
import fs from 'node:fs';
import { SmtpTalk, makeMessage, dotStuff } from '../test/helpers/smtp-client.js';
import { spawnServer, tempDir } from '../test/helpers/system.js';
import { openStore } from '../src/store/index.js';
import { hashPassword } from '../src/auth/password.js';
import { TestDnsServer } from '../test/helpers/dns-server.js';
import { trainFromCorpus, CORPUS } from './spam-train.js';
import path from 'node:path';

export interface SmtpBenchResult {
  name: string;
  messages: number;
  sizes: number[];
  clients: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
}

const ACCOUNTS = 20;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface SmtpBenchOptions {
  /** Send real messages (the corpus test split, loopback only) instead of generated ones. */
  corpus?: boolean;
  /** Run the spam filter (SPF/DKIM/DMARC through a loopback DNS server, rules, a Bayes
   * database trained on part of the corpus, reputation) — the default, as in production. */
  filter?: boolean;
  /** The loopback DNS server answers after this long, like a real resolver (default 0). */
  dnsDelayMs?: number;
  /** spam.analysis.threads (0: content analysis on the main thread); the default when absent. */
  analysisThreads?: number;
}

export async function benchSmtpInbound(name: string, sizes: number[], total: number, clients = 20, opts: SmtpBenchOptions = {}): Promise<SmtpBenchResult> {
  const filter = opts.filter ?? true;
  const data = tempDir('fjord-bench-');
  // Every DNS lookup the filter makes is answered at once by a loopback server: the figure is
  // the filter's own cost, not a remote resolver's.
  const dns = await TestDnsServer.start();
  dns.delayMs = opts.dnsDelayMs ?? 0;
  dns.add('example.net', { type: 'TXT', data: 'v=spf1 ip4:127.0.0.0/8 -all' });
  dns.add('_dmarc.example.net', { type: 'TXT', data: 'v=DMARC1; p=none' });
  fs.writeFileSync(`${data}/config.json`, JSON.stringify({ spam: { enabled: filter, ...(opts.analysisThreads !== undefined ? { analysis: { threads: opts.analysisThreads } } : {}) } }));
  const store = await openStore({ dataDir: data });
  if (filter) await trainFromCorpus(store, 400);
  await store.addDomain('bench.test');
  const hash = await hashPassword('bench');
  for (let i = 0; i < ACCOUNTS; i++) await store.addAccount({ address: `user${i}@bench.test`, passwordHash: hash });
  await store.close();
  const server = await spawnServer(data, ['--log-level', 'warn', '--dns', dns.address]);
  // Pre-build the wire form of each size once; the Message-ID differs per message.
  const bodies = opts.corpus ? corpusBodies(total) : sizes.map((size, k) => dotStuff(makeMessage({ to: 'user@bench.test', subject: `bench ${size}`, size, messageId: `bench-${k}@bench.test` })));
  if (bodies.length === 0) throw new Error('no corpus messages (needs ../shared beside the repo)');
  const latencies: number[] = [];
  let refused = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, n) => {
      const c = await SmtpTalk.connect(server.smtpPort);
      await c.read();
      await c.cmd('EHLO bench.example.net');
      for (;;) {
        const i = next++;
        if (i >= total) break;
        const body = bodies[i % bodies.length];
        c.write(`MAIL FROM:<bench@example.net> BODY=8BITMIME\r\nRCPT TO:<user${(n + i) % ACCOUNTS}@bench.test>\r\nDATA\r\n`);
        const [m, r, d] = [await c.read(), await c.read(), await c.read()];
        if (m.code !== 250 || r.code !== 250 || d.code !== 354) throw new Error(`unexpected reply ${m.code} ${r.code} ${d.code}`);
        const s = performance.now();
        c.write(body);
        const done = await c.read();
        // Real spam may be refused by the filter: an answer too (it is in quarantine, not a mailbox).
        if (done.code === 550 && opts.corpus) refused++;
        else if (done.code !== 250) throw new Error('DATA refused: ' + done.text);
        latencies.push(performance.now() - s);
      }
      await c.quit();
    }),
  );
  const accepted = performance.now() - t0;
  // Delivered = committed in the store (a second connection sees the accounts' counters).
  const check = await openStore({ dataDir: data });
  const storedCount = async () => (await check.listAccounts()).reduce((n, a) => n + a.usedMessages, 0);
  let stored = 0;
  while ((stored = await storedCount()) < total - refused) await new Promise((r) => setTimeout(r, 10));
  const delivered = performance.now() - t0;
  await check.close();
  server.proc.kill('SIGTERM');
  await server.exited;
  await dns.close();
  fs.rmSync(data, { recursive: true, force: true });
  if (stored !== total - refused) throw new Error(`expected ${total - refused} stored messages, found ${stored}`);
  latencies.sort((a, b) => a - b);
  return {
    name,
    messages: total,
    sizes,
    clients,
    acceptedPerSec: Math.round(total / (accepted / 1000)),
    deliveredPerSec: Math.round(total / (delivered / 1000)),
    latencyMs: { p50: +percentile(latencies, 50).toFixed(2), p99: +percentile(latencies, 99).toFixed(2), max: +latencies[latencies.length - 1].toFixed(2) },
  };
}

/** Test-split messages of the spam corpus in SMTP wire form (CRLF, dot-stuffed, no mbox "From "
 * line), skipping the few an MX refuses outright (lines over 998 octets, NUL, bare CR). */
function corpusBodies(max: number): Buffer[] {
  const labels = path.join(CORPUS, 'labels.tsv');
  if (!fs.existsSync(labels)) return [];
  const out: Buffer[] = [];
  for (const line of fs.readFileSync(labels, 'utf8').split('\n').slice(1)) {
    const [file, , , split] = line.split('\t');
    if (split !== 'test' || out.length >= max) continue;
    let raw = fs.readFileSync(path.join(CORPUS, file!));
    if (raw.subarray(0, 5).toString() === 'From ') raw = raw.subarray(raw.indexOf(10) + 1);
    const text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
    if (/[\0\r](?!\n)/.test(text) || text.split('\r\n').some((l) => l.length > 998)) continue;
    out.push(dotStuff(Buffer.from(text, 'latin1')));
  }
  return out;
}
