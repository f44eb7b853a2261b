// Remote MTAs and a ready-made queue + sender for the outbound tests: Postfix's smtp-sink (a
// real foreign SMTP server, dumping what it receives) and smtp-server instances where a test
// needs state (4xx then 2xx, TLS, counting connections), on loopback addresses 127.0.0.x / ::1,
// all on the one port the sender is configured to use (config.outbound.port).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import selfsigned from 'selfsigned';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { loadConfig, type Config } from '../../../src/config/config.js';
import type { OutboundConfig } from '../../../src/config/outbound.js';
import type { Resolver } from '../../../src/dns/resolver.js';
import { silentLogger } from '../../../src/log/logger.js';
import { OutboundQueue } from '../../../src/smtp/outbound/queue.js';
import { OutboundSender, type OutboundResult } from '../../../src/smtp/outbound/sender.js';
import { tempDir } from '../../helpers/system.js';

export const SINK = '/usr/sbin/smtp-sink';

/** A port free on the loopback addresses the tests use (checked on 127.0.0.1 and ::1). */
export async function freeSharedPort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const ok = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '::1'].map((h) => canBind(port, h)));
    if (ok.every(Boolean)) return port;
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Postfix's smtp-sink on host:port dumping every transaction into its own file. */
export class Sink {
  private out = '';
  private base = 0;
  private constructor(
    readonly proc: ChildProcess,
    readonly dir: string,
  ) {
    proc.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  static async start(host: string, port: number, extra: string[] = []): Promise<Sink> {
    const dir = tempDir('fjord-sink-');
    const listen = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const proc = spawn(SINK, ['-u', 'root', '-c', '-d', `${dir}/%M.`, ...extra, listen, '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sink = new Sink(proc, dir);
    await waitFor(() => canConnect(port, host), 10_000, `smtp-sink on ${listen}`);
    // the probe above is a session too: wait until the counter shows it, then discount it
    await waitFor(() => sink.rawSessions() >= 1, 10_000, 'smtp-sink probe session');
    sink.base = sink.rawSessions();
    return sink;
  }

  private rawSessions(): number {
    const all = [...this.out.matchAll(/sess=(\d+)/g)];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  }

  /** SMTP sessions (connections) that ended since start. */
  sessions(): number {
    return this.rawSessions() - this.base;
  }

  /** Received transactions: envelope (from the X- headers smtp-sink adds) and the message as
   * received, with smtp-sink's own header lines and final empty line removed (LF line ends). */
  messages(): { mailFrom: string; rcpts: string[]; helo: string; body: string }[] {
    return fs
      .readdirSync(this.dir)
      .sort()
      .map((f) => {
        const text = fs.readFileSync(path.join(this.dir, f), 'latin1');
        const lines = text.split('\n');
        const rcpts: string[] = [];
        let mailFrom = '';
        let helo = '';
        let i = 0;
        for (; i < lines.length; i++) {
          const l = lines[i];
          if (l.startsWith('X-Rcpt-Args: ')) rcpts.push(l.slice(13).replace(/^<|>.*$/g, ''));
          else if (l.startsWith('X-Mail-Args: ')) mailFrom = l.slice(13).replace(/^<([^>]*)>.*$/, '$1');
          else if (l.startsWith('X-Helo-Args: ')) helo = l.slice(13);
          else if (l.startsWith('Received: ')) break;
        }
        // Received: is three lines (two folded), then the message, then one empty line
        const body = lines.slice(i + 3).join('\n').replace(/\n$/, '');
        return { mailFrom, rcpts, helo, body };
      });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Received {
  mailFrom: string;
  rcpts: string[];
  raw: Buffer;
  secure: boolean;
  servername: string | undefined;
  /** The RFC 3461 parameters of MAIL and of each RCPT (only when the remote offers DSN). */
  dsn?: { mail: { ret?: string | null; envid?: string | null } | null; rcpts: ({ notify?: string[]; orcpt?: string } | null)[] };
}

/** An smtp-server remote: counts connections, keeps every message byte for byte, and lets a
 * test decide each RCPT's and each DATA's answer. */
export class TestRemote {
  connections = 0;
  readonly received: Received[] = [];
  rcpt: (address: string, n: number) => { code: number; text: string } | null = () => null;
  data: (n: number) => { code: number; text: string } | null = () => null;
  private rcptCount = 0;
  private dataCount = 0;

  private constructor(readonly server: SMTPServer) {}

  /** tls: offer STARTTLS with this certificate; starttls false: refuse the STARTTLS command. */
  /** dsn: offer the DSN extension (RFC 3461) and keep the parameters each transaction carried. */
  static async start(host: string, port: number, opts: { tls?: { key: string; cert: string }; starttls?: boolean; dsn?: boolean } = {}): Promise<TestRemote> {
    let remote!: TestRemote;
    const err = (r: { code: number; text: string }) => Object.assign(new Error(r.text), { responseCode: r.code });
    const server = new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: opts.starttls === false ? ['AUTH', 'STARTTLS'] : ['AUTH'],
      hideSTARTTLS: !opts.tls,
      hideDSN: !opts.dsn,
      ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
      size: 10 * 1024 * 1024,
      onConnect(_s: SMTPServerSession, cb: (e?: Error | null) => void) {
        remote.connections++;
        cb();
      },
      onRcptTo(address, _s, cb) {
        const r = remote.rcpt(address.address, ++remote.rcptCount);
        cb(r ? err(r) : null);
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const r = remote.data(++remote.dataCount);
          if (r) return cb(err(r));
          remote.received.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcpts: session.envelope.rcptTo.map((a) => a.address),
            raw: Buffer.concat(chunks),
            secure: session.secure,
            servername: session.servername || undefined,
            dsn: {
              mail: (session.envelope as { dsn?: { ret?: string | null; envid?: string | null } }).dsn ?? null,
              rcpts: session.envelope.rcptTo.map((a) => (a as { dsn?: { notify?: string[]; orcpt?: string } }).dsn ?? null),
            },
          });
          cb(null, 'Ok: queued');
        });
      },
    });
    remote = new TestRemote(server);
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return remote;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A test CA and certificates it signs (EC P-256, quick to make). */
export async function makeCa() {
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'Fjord Outbound Test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return {
    cert: ca.cert,
    key: ca.private,
    async issue(...names: string[]): Promise<{ key: string; cert: string }> {
      const leaf = await selfsigned.generate([{ name: 'commonName', value: names[0] }], {
        keyType: 'ec',
        algorithm: 'sha256',
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) },
        ],
      });
      return { key: leaf.private, cert: leaf.cert };
    },
  };
}

/** A self-signed certificate no CA vouches for. */
export async function selfSignedCert(name: string): Promise<{ key: string; cert: string }> {
  const p = await selfsigned.generate([{ name: 'commonName', value: name }], { keyType: 'ec', algorithm: 'sha256' });
  return { key: p.private, cert: p.cert };
}

export interface Dsn {
  to: string;
  raw: Buffer;
}

export interface Harness {
  dataDir: string;
  config: Config;
  queue: OutboundQueue;
  sender: OutboundSender;
  dsns: Dsn[];
  results: OutboundResult[];
  close(): Promise<void>;
}

/** A queue on a fresh data folder and a started sender using `resolver`; local senders are
 * those @fjord.test. */
export function harness(
  resolver: Resolver,
  port: number,
  outbound: Partial<OutboundConfig> = {},
  opts: { dataDir?: string; start?: boolean; deliverLocal?: (to: string, raw: Buffer) => Promise<void> } = {},
): Harness {
  const dataDir = opts.dataDir ?? tempDir('fjord-outbound-');
  const base = loadConfig({ dataDir });
  const config: Config = { ...base, hostname: 'mx.fjord.test', outbound: { ...base.outbound, port, retrySchedule: [1], connectTimeout: 3000, commandTimeout: 10_000, dataTimeout: 10_000, ...outbound } };
  const queue = OutboundQueue.open(dataDir);
  const dsns: Dsn[] = [];
  const results: OutboundResult[] = [];
  const sender = new OutboundSender({
    queue,
    config,
    resolver,
    logger: silentLogger(),
    deliverLocal: async (to, raw) => {
      await opts.deliverLocal?.(to, raw); // may throw: a failed local delivery
      dsns.push({ to, raw });
    },
    isLocal: async (a) => a.toLowerCase().endsWith('@fjord.test'),
    onResult: (r) => results.push(r),
  });
  if (opts.start !== false) sender.start();
  return {
    dataDir,
    config,
    queue,
    sender,
    dsns,
    results,
    close: async () => {
      await sender.stop();
      queue.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small message with CRLF line ends (and a line starting with a dot, to check stuffing). */
export function message(subject: string, extra = ''): Buffer {
  return Buffer.from(
    'From: Alice <alice@fjord.test>\r\n' +
      'To: Bob <bob@example.test>\r\n' +
      `Subject: ${subject}\r\n` +
      'Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n' +
      `Message-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@fjord.test>\r\n` +
      'MIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      '\r\n' +
      'Hello Bob,\r\n' +
      '.a line that starts with a dot\r\n' +
      '..and two\r\n' +
      `${extra}` +
      'Bye.\r\n',
  );
}

export interface ParsedDsn {
  /** Top-level header fields (lower-case names, unfolded). */
  headers: Map<string, string>;
  reportType: string | null;
  parts: { type: string; body: Buffer }[];
  /** Per-message fields of the message/delivery-status part. */
  perMessage: Map<string, string>;
  /** Per-recipient field blocks. */
  perRecipient: Map<string, string>[];
}

function fieldBlocks(text: string): Map<string, string>[] {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .filter((b) => b.trim())
    .map((b) => {
      const m = new Map<string, string>();
      for (const line of b.replace(/\n[ \t]+/g, ' ').split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) m.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      return m;
    });
}

/** Parses a DSN with the project's MIME parser. */
export async function parseDsn(raw: Buffer): Promise<ParsedDsn> {
  const { parseMessage, decodedParam } = await import('../../../src/mime/index.js');
  const p = parseMessage(raw);
  const head = raw.subarray(0, p.tree.bodyStart).toString('utf8');
  const headers = fieldBlocks(head)[0] ?? new Map<string, string>();
  const parts = (p.tree.parts ?? []).map((x) => ({ type: `${x.type}/${x.subtype}`, body: raw.subarray(x.bodyStart, x.bodyEnd) }));
  const status = parts.find((x) => x.type === 'message/delivery-status');
  const blocks = status ? fieldBlocks(status.body.toString('utf8')) : [];
  return {
    headers,
    reportType: p.tree.type === 'multipart' && p.tree.subtype === 'report' ? decodedParam(p.tree.params, 'report-type') : null,
    parts,
    perMessage: blocks[0] ?? new Map(),
    perRecipient: blocks.slice(1),
  };
}
