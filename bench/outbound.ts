// Outbound throughput: authenticated clients submit 20 KB messages (STARTTLS + AUTH, one
// connection each, several messages per connection) to a real `fjord serve` process, each to a
// recipient at one of 20 remote domains; Postfix's smtp-sink plays every remote MTA (their MX
// records, served by a loopback DNS server, point at it). fsync is on throughout: the
// submission's 250 waits for the outbound queue's commit. Figures: messages/s accepted by
// submission, and messages/s until the sink has received every one.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import { spawnServer, tempDir, freePort } from '../test/helpers/system.js';
import { TestDnsServer } from '../test/helpers/dns-server.js';
import { openStore } from '../src/store/index.js';
import { hashPassword } from '../src/auth/password.js';

export interface OutboundBenchResult {
  name: string;
  messages: number;
  size: number;
  clients: number;
  destinations: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
}

const SMTP_SINK = fs.existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';

/** Starts smtp-sink on 127.0.0.1:port, accepting everything and keeping nothing. */
async function startSink(port: number) {
  const p = spawn(SMTP_SINK, ['-u', 'root', `127.0.0.1:${port}`, '1000'], { stdio: ['ignore', 'pipe', 'ignore'] });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return p;
}

export async function benchOutbound(total = 2000, size = 20_000, clients = 10, destinations = 20): Promise<OutboundBenchResult> {
  const data = tempDir('fjord-bench-out-');
  const dns = await TestDnsServer.start();
  const sinkPort = await freePort();
  for (let d = 0; d < destinations; d++) {
    dns.add(`dest${d}.test`, { type: 'MX', data: { preference: 10, exchange: `mx.dest${d}.test` } });
    dns.add(`mx.dest${d}.test`, { type: 'A', data: '127.0.0.1' });
  }
  fs.writeFileSync(`${data}/config.json`, JSON.stringify({
    spam: { enabled: false },
    outbound: { port: sinkPort },
    sending: { limits: { messagesPerHour: 1e9, messagesPerDay: 1e9, distinctRecipientsPerDay: 1e9 }, freezeScore: 1e12 },
  }));
  const store = await openStore({ dataDir: data });
  await store.addDomain('bench.test');
  const hash = await hashPassword('bench');
  for (let i = 0; i < clients; i++) await store.addAccount({ address: `user${i}@bench.test`, passwordHash: hash });
  await store.close();
  const sink = await startSink(sinkPort);
  const subPort = await freePort();
  const server = await spawnServer(data, ['--dns', dns.address, '--submission', `127.0.0.1:${subPort}`, '--no-demo']);
  const body = 'x'.repeat(76) + '\r\n';
  const text = body.repeat(Math.ceil(size / body.length)).slice(0, size);
  try {
    let sent = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      const tr = nodemailer.createTransport({ host: '127.0.0.1', port: subPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: `user${c}@bench.test`, pass: 'bench' }, pool: true, maxConnections: 1, maxMessages: Infinity });
      while (sent < total) {
        const n = sent++;
        await tr.sendMail({ from: `user${c}@bench.test`, to: `r${n}@dest${n % destinations}.test`, subject: `bench ${n}`, text });
      }
      tr.close();
    }));
    const accepted = performance.now() - t0;
    // Delivered once no recipient is pending (read from the queue database, read-only: cheaper
    // than running `fjord queue list` in a loop).
    const db = new Database(path.join(data, 'queue', 'outbound.db'), { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const pending = db.prepare("SELECT count(*) AS n FROM recipients WHERE state = 'pending'");
    while ((pending.get() as { n: number }).n > 0) await new Promise((r) => setTimeout(r, 50));
    const failed = (db.prepare("SELECT count(*) AS n FROM recipients WHERE state = 'failed'").get() as { n: number }).n;
    db.close();
    if (failed > 0) throw new Error(`${failed} recipients failed`);
    const delivered = performance.now() - t0;
    return {
      name: `outbound-${size / 1000}KB-${destinations}-destinations`,
      messages: total, size, clients, destinations,
      acceptedPerSec: Math.round(total / (accepted / 1000)),
      deliveredPerSec: Math.round(total / (delivered / 1000)),
    };
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
    sink.kill('SIGTERM');
    await dns.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
}
